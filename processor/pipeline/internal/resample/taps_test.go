package resample

import (
	"reflect"
	"testing"
)

// TestLanczosCached: Lanczos answers what lanczos computes, for each size the second time from
// tapsCache (the same arrays), and a cache that fills up starts over instead of growing.
func TestLanczosCached(t *testing.T) {
	sizes := [][3]int{{1280, 2016, 1}, {1280, 2016, 2}, {960, 1512, 2}, {320, 1280, 1}, {7, 7, 1}, {5, 3, 1}, {1, 4032, 4}}
	for _, s := range sizes {
		want := lanczos(s[0], s[1], s[2])
		first := Lanczos(s[0], s[1], s[2])
		again := Lanczos(s[0], s[1], s[2])
		if !reflect.DeepEqual(first, want) || !reflect.DeepEqual(again, want) {
			t.Fatalf("Lanczos%v differs from lanczos", s)
		}
		if &again.Weights[0] != &first.Weights[0] || &again.Start[0] != &first.Start[0] {
			t.Errorf("Lanczos%v computed again: not from the cache", s)
		}
	}
	for i := range 3 * tapsCacheMax {
		Lanczos(10+i, 1000, 1)
		tapsCache.mu.Lock()
		n := len(tapsCache.m)
		tapsCache.mu.Unlock()
		if n > tapsCacheMax {
			t.Fatalf("%d cached taps, want at most %d", n, tapsCacheMax)
		}
	}
}

// BenchmarkLanczos: the taps of a 12-megapixel photo decoded at 1/2 (2016x1512, 4:2:0) for the
// 1280 px thumbnail, computed (baseline) and from the cache.
func BenchmarkLanczos(b *testing.B) {
	each := func(f func(dst, src, sub int) Taps) {
		f(1280, 2016, 1)
		f(960, 1512, 1)
		f(1280, 2016, 2)
		f(960, 1512, 2)
	}
	b.Run("computed", func(b *testing.B) {
		for b.Loop() {
			each(lanczos)
		}
	})
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			each(Lanczos)
		}
	})
}
