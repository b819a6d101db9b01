package resample

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestLanczosCached: Lanczos answers what lanczos computes, for each size the second time from
// tapsCache (the same arrays), and a cache that fills up starts over instead of growing.
func TestLanczosCached(t *testing.T) {
	sizes := [][3]int{{1280, 2016, 1}, {1280, 2016, 2}, {960, 1512, 2}, {320, 1280, 1}, {7, 7, 1}, {5, 3, 1}, {1, 4032, 4}}
	for _, s := range sizes {
		want := lanczos(s[0], s[1], s[2], 1)
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

// TestHalvedAveragesPairs: each output of Halved is the average of two of Lanczos's (the last
// alone when the size is odd), on a row of random samples, to within the weights' rounding; and
// it reads no sample outside the source.
func TestHalvedAveragesPairs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range [][3]int{{1280, 2016, 2}, {853, 2016, 2}, {1280, 2016, 1}, {320, 640, 1}, {7, 7, 1}, {5, 7, 2}, {1, 4032, 4}, {241, 1536, 2}} {
		dst, src, sub := s[0], s[1], s[2]
		row := make([]float64, (src+sub-1)/sub)
		for i := range row {
			row[i] = float64(rng.IntN(256))
		}
		apply := func(tp Taps, i int) float64 {
			var v float64
			for k, w := range tp.Weights[i*tp.N : (i+1)*tp.N] {
				v += float64(w) * row[tp.Start[i]+k] // out of range panics
			}
			return v / (1 << WeightBits)
		}
		full, half := Lanczos(dst, src, sub), Halved(dst, src, sub)
		if len(half.Start) != (dst+1)/2 {
			t.Fatalf("Halved%v: %d outputs, want %d", s, len(half.Start), (dst+1)/2)
		}
		for i := range half.Start {
			want := apply(full, 2*i)
			if 2*i+1 < dst {
				want = (want + apply(full, 2*i+1)) / 2
			}
			if got := apply(half, i); math.Abs(got-want) > 0.05 {
				t.Fatalf("Halved%v output %d = %.3f, the average of Lanczos's is %.3f", s, i, got, want)
			}
		}
	}
}

// BenchmarkLanczos: the taps of a 12-megapixel photo decoded at 1/2 (2016x1512, 4:2:0) for the
// 1280 px thumbnail, luma's (Lanczos) and chroma's (Halved), computed (baseline) and from the
// cache.
func BenchmarkLanczos(b *testing.B) {
	each := func(f func(dst, src, sub, span int) Taps) {
		f(1280, 2016, 1, 1)
		f(960, 1512, 1, 1)
		f(1280, 2016, 2, 2)
		f(960, 1512, 2, 2)
	}
	b.Run("computed", func(b *testing.B) {
		for b.Loop() {
			each(lanczos)
		}
	})
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			each(cached)
		}
	})
}
