package resample

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"medicpx/processor/pipeline/internal/simd"
	"runtime"
	"slices"
	"testing"
)

// TestSIMDSelected: this package runs the assembly simd chose for the machine (its assembly is
// built wherever simd.Impl names one, so the comparisons below compare it, also under
// qemu-aarch64); simd's TestImpl holds that choice to the machine.
func TestSIMDSelected(t *testing.T) {
	if simdImpl != simd.Impl || useSIMD != (simd.Impl != "") {
		t.Fatalf("GOARCH %s: simdImpl %q, useSIMD %v; simd.Impl %q", runtime.GOARCH, simdImpl, useSIMD, simd.Impl)
	}
	t.Logf("GOARCH %s: passes across and down in %q", runtime.GOARCH, cmp.Or(simdImpl, "go"))
}

// lanczosCases are the tables the thumbnails make (a 5120, 4032 or 2016 px wide decode to
// 1280, the 1280 to 320, 640 to 320, a half-width chroma plane folded, sub 2 or 4), odd widths,
// fewer outputs than one block of the assembly, enlargements (chroma of a small image), a copy
// (n = 1), and reductions far past any the caller makes (n in the hundreds).
var lanczosCases = []struct{ dst, src, sub int }{
	{1280, 5120, 1}, {1280, 4032, 1}, {1280, 2016, 1}, {320, 1280, 1}, {320, 640, 1},
	{1280, 2016, 2}, {1280, 4032, 2}, {320, 1280, 2}, {720, 3024, 4}, {320, 2016, 2},
	{1281, 2017, 1}, {1279, 4031, 2}, {321, 641, 1}, {317, 1999, 3}, {9, 17, 1}, {15, 15, 1},
	{7, 13, 1}, {3, 5, 2}, {1, 1, 1}, {8, 8, 1}, {13, 7, 1}, {1280, 640, 2}, {100, 37, 2},
	{1280, 1280, 1}, {40, 5120, 1}, {24, 4032, 2}, {64, 9000, 1},
}

// testRows are the rows every table is tried on: all 0, all 255, random, runs of 0 and 255 of
// every length up to 40 (the extremes of ringing, where negative lobes meet 0 or 255), and
// a single bright sample in the dark.
func testRows(rng *rand.Rand, w int) [][]byte {
	rows := [][]byte{make([]byte, w), make([]byte, w), make([]byte, w), make([]byte, w)}
	for i := range w {
		rows[1][i] = 255
		rows[2][i] = byte(rng.UintN(256))
	}
	rows[3][w/2] = 255
	for run := 1; run <= 40; run += 3 {
		r := make([]byte, w)
		for i := range r {
			if i/run%2 == 0 {
				r[i] = 255
			}
		}
		rows = append(rows, r)
	}
	return rows
}

// rowsBothWays filters the pairs of rows with a (assembly where it runs) and with RowsGo, and
// fails on the first value that differs. Each row is also given with no capacity past its end,
// so that the assembly must read it from a copy.
func rowsBothWays(t *testing.T, a *Across, rows [][]byte) {
	t.Helper()
	outs := len(a.start)
	got0, got1 := make([]int16, outs), make([]int16, outs)
	want0, want1 := make([]int16, outs), make([]int16, outs)
	packed := make([]int64, len(rows[0]))
	for i, r0 := range rows {
		r1 := rows[(i+1)%len(rows)]
		for _, tight := range []bool{false, true} {
			if tight {
				r0, r1 = slices.Clip(r0), slices.Clip(r1)
			} else {
				// Room past the end, full of bytes the zero weights must not let in.
				r0 = append(slices.Clip(r0), slices.Repeat([]byte{255}, 64)...)[:len(r0)]
				r1 = append(slices.Clip(r1), slices.Repeat([]byte{255}, 64)...)[:len(r1)]
			}
			clear(got0)
			clear(got1)
			a.Rows(got0, got1, r0, r1)
			RowsGo(want0, want1, r0, r1, a.start, a.n, a.weights, packed)
			for x := range outs {
				if got0[x] != want0[x] || got1[x] != want1[x] {
					t.Fatalf("rows %d, %d (tight %v), output %d of %d: %d, %d; Go %d, %d", i, (i+1)%len(rows), tight, x, outs, got0[x], got1[x], want0[x], want1[x])
				}
			}
		}
	}
}

// TestRowsMatchGo: Rows, by the assembly, makes RowsGo's values for every table the thumbnails
// use and more, on random and extreme rows.
func TestRowsMatchGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 1))
	for _, c := range lanczosCases {
		t.Run(fmt.Sprintf("%d_from_%d_sub%d", c.dst, c.src, c.sub), func(t *testing.T) {
			a := NewAcross(Lanczos(c.dst, c.src, c.sub))
			if a.w16 == nil {
				t.Fatalf("n %d: the Lanczos table does not fit the assembly", a.n)
			}
			rowsBothWays(t, a, testRows(rng, (c.src+c.sub-1)/c.sub))
		})
	}
}

// TestHostileTablesMatchGo: tables at the edge of what fits the assembly (int16 weights whose
// magnitudes add up to just under the bound, random signs and starts, every n from 1 to 70),
// and just past it, where Rows must stay in Go, give RowsGo's values too.
func TestHostileTablesMatchGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 2))
	const bound = (1<<23 - 1 - 1<<(WeightBits-MidBits-1)) / 255 // the largest sum of magnitudes that fits
	for n := 1; n <= 70; n++ {
		for _, c := range []struct {
			name string
			abs  int  // the sum of magnitudes of every output's weights
			fit  bool // whether the assembly takes it
		}{
			{"at the bound", bound, true},
			{"past the bound", bound + 1, false},
			{"lanczos-sized", 1 << WeightBits, true},
		} {
			t.Run(fmt.Sprintf("n%d %s", n, c.name), func(t *testing.T) {
				const outs, src = 37, 300
				tp := Taps{Start: make([]int, outs), N: n, Weights: make([]int32, outs*n)}
				for x := range outs {
					tp.Start[x] = rng.IntN(src - n + 1)
					ws := tp.Weights[x*n : x*n+n]
					// Spread abs over the taps, unevenly (each magnitude at most 1<<15 - 1),
					// with random signs.
					mags := make([]int, n)
					for j := range mags {
						mags[j] = c.abs / n
						if j < c.abs%n {
							mags[j]++
						}
					}
					for range 2 * n {
						i, j := rng.IntN(n), rng.IntN(n)
						if room := min(mags[i], 1<<15-1-mags[j]); room > 0 && i != j {
							d := rng.IntN(room + 1)
							mags[i], mags[j] = mags[i]-d, mags[j]+d
						}
					}
					for j, m := range mags {
						ws[j] = int32(min(m, 1<<15)) // past int16 when n is too small to hold abs
						if rng.IntN(2) == 0 {
							ws[j] = -int32(min(m, 1<<15))
						}
					}
				}
				a := NewAcross(tp)
				fit := c.fit && c.abs <= n*(1<<15-1)
				if (a.w16 != nil) != fit {
					t.Fatalf("assembly table %v, want %v", a.w16 != nil, fit)
				}
				rowsBothWays(t, a, testRows(rng, src))
			})
		}
	}
}

// BenchmarkRows times the pass across of two 2016 px rows to 1280 px (10 taps) and the other
// sizes the thumbnails use, by the assembly and by Go, side by side.
func BenchmarkRows(b *testing.B) {
	for _, c := range []struct{ dst, src, sub int }{{1280, 2016, 1}, {1280, 2016, 2}, {1280, 4032, 1}, {1280, 5120, 1}, {320, 1280, 1}} {
		a := NewAcross(Lanczos(c.dst, c.src, c.sub))
		rng := rand.New(rand.NewPCG(1, 2))
		rows := testRows(rng, (c.src+c.sub-1)/c.sub)
		out0, out1 := make([]int16, c.dst), make([]int16, c.dst)
		for _, asm := range []bool{true, false} {
			name := cmp.Or(simdImpl, "go")
			if !asm {
				name = "go"
			} else if simdImpl == "" {
				continue
			}
			b.Run(fmt.Sprintf("%d_from_%d_sub%d_n%d/%s", c.dst, c.src, c.sub, a.n, name), func(b *testing.B) {
				defer SetAssembly(SetAssembly(asm))
				for b.Loop() {
					a.Rows(out0, out1, rows[2], rows[1])
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(c.dst), "ns/pair")
			})
		}
	}
}
