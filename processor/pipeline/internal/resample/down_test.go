package resample

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// downBothWays filters every output row of d from src (source row i is src[i]) with Row and
// with DownGo, and fails on the first byte that differs.
func downBothWays(t *testing.T, d *Down, src [][]int16, width int) {
	t.Helper()
	got, want := make([]byte, width), make([]byte, width)
	n := d.t.N
	for y, first := range d.t.Start {
		rows := src[first : first+n]
		clear(got)
		d.Row(got, y, rows)
		DownGo(want, rows, d.t.Weights[y*n:y*n+n])
		for x := range want {
			if got[x] != want[x] {
				t.Fatalf("output row %d, x %d of %d: %d; Go %d", y, x, width, got[x], want[x])
			}
		}
	}
}

// testPlane is h rows of w int16 samples: the kinds of rows every table is tried on, as the
// pass across leaves them (ringing past 0 and 255 included), and the int16 extremes.
func testPlane(rng *rand.Rand, w, h int) [][]int16 {
	plane := make([][]int16, h)
	for y := range plane {
		r := make([]int16, w)
		for x := range r {
			switch y % 5 {
			case 0: // what the pass across makes of random bytes, ringing included
				r[x] = int16(rng.IntN(21000+8000) - 4000)
			case 1:
				r[x] = 255 << MidBits
			case 2: // the int16 extremes
				r[x] = []int16{-1 << 15, 1<<15 - 1}[rng.IntN(2)]
			case 3:
				r[x] = int16(rng.IntN(1 << 16))
			}
		}
		plane[y] = r
	}
	return plane
}

// TestDownMatchesGo: Row, by the assembly, makes DownGo's bytes for the heights the thumbnails
// use and more, odd widths included.
func TestDownMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 4))
	for _, c := range lanczosCases {
		for _, width := range []int{1280, 16, 17, 5, 1283} {
			t.Run(fmt.Sprintf("%d_from_%d_sub%d_w%d", c.dst, c.src, c.sub, width), func(t *testing.T) {
				d := NewDown(Lanczos(c.dst, c.src, c.sub))
				if d.w16 == nil {
					t.Fatalf("n %d: the Lanczos table does not fit the assembly", d.t.N)
				}
				downBothWays(t, d, testPlane(rng, width, (c.src+c.sub-1)/c.sub), width)
			})
		}
	}
}

// TestHostileDownMatchesGo: tables whose weights' magnitudes add up to just under what fits
// the assembly, with random signs, every n from 1 to 40, on int16 extremes; and just past it,
// where Row stays in Go.
func TestHostileDownMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 5))
	const bound = (1<<31 - 1 - 1<<(WeightBits+MidBits-1)) >> 15 // the largest sum of magnitudes that fits
	for n := 1; n <= 40; n++ {
		for _, c := range []struct {
			name string
			abs  int
			fit  bool
		}{{"at the bound", bound, true}, {"past the bound", bound + 1, false}} {
			t.Run(fmt.Sprintf("n%d %s", n, c.name), func(t *testing.T) {
				const outs, src, width = 23, 90, 100
				tp := Taps{Start: make([]int, outs), N: n, Weights: make([]int32, outs*n)}
				fit := c.fit && c.abs <= n*(1<<15-1)
				for y := range outs {
					tp.Start[y] = rng.IntN(src - n + 1)
					ws := tp.Weights[y*n : y*n+n]
					left := c.abs
					for j := range ws {
						m := min(left, 1<<15-1)
						if j == n-1 {
							m = min(left, 1<<15) // past int16 when n is too small to hold abs
						}
						left -= m
						ws[j] = int32(m)
						if rng.IntN(2) == 0 {
							ws[j] = -ws[j]
						}
					}
				}
				d := NewDown(tp)
				if (d.w16 != nil) != fit {
					t.Fatalf("assembly table %v, want %v", d.w16 != nil, fit)
				}
				downBothWays(t, d, testPlane(rng, width, src), width)
			})
		}
	}
}

// BenchmarkDown times the pass down of whole 1280 px wide planes, by the assembly and by Go
// (DownGo, the plain reference; BenchmarkResizePlanes in pipeline times the packed Go loop
// resizePlane runs without the assembly), side by side.
func BenchmarkDown(b *testing.B) {
	for _, c := range []struct{ dst, src, sub int }{{960, 1512, 1}, {960, 1512, 2}, {720, 2880, 1}} {
		d := NewDown(Lanczos(c.dst, c.src, c.sub))
		plane := testPlane(rand.New(rand.NewPCG(1, 2)), 1280, (c.src+c.sub-1)/c.sub)
		out := make([]byte, 1280)
		for _, asm := range []bool{true, false} {
			if asm && simdImpl == "" {
				continue
			}
			name := simdImpl
			if !asm {
				name = "go"
			}
			b.Run(fmt.Sprintf("%d_from_%d_sub%d_n%d/%s", c.dst, c.src, c.sub, d.t.N, name), func(b *testing.B) {
				defer SetAssembly(SetAssembly(asm))
				for b.Loop() {
					for y, first := range d.t.Start {
						d.Row(out, y, plane[first:first+d.t.N])
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(c.dst*1280), "ns/px")
			})
		}
	}
}
