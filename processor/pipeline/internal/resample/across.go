// Package resample is the inner loops of the thumbnail resampler (processor/pipeline's
// resizePlane): the pass across (Across, each output sample a weighted sum of n consecutive
// source bytes, kept as int16) and the pass down (Down, each output byte a weighted sum of n
// such rows, rounded and clipped), in fixed point. It is its own package so that its assembly
// (across_amd64.s with AVX2, across_arm64.s with NEON) and the tests that hold it to the Go code
// run fast, also under qemu-aarch64.
//
// The assembly computes exactly what RowsGo and DownGo compute: the same int32 sums of the same
// products, rounded, shifted and clipped the same way, so it stores the same values. A table
// whose weights do not fit int16, or whose sums could leave the range where the two agree,
// stays in Go.
package resample

import "medicpx/processor/pipeline/internal/simd"

const (
	// WeightBits is the fixed-point precision of the filter weights: sums of (8+MidBits)-bit
	// samples times weights of at most about 1.3 stay inside int32.
	WeightBits = 14
	// MidBits are the fractional bits kept between the passes: the pass across stores its sums,
	// unclipped, as int16 with 6 fractional bits (ringing past 0 or 255 included), so the
	// result is rounded and clipped once.
	MidBits = 6
)

// simdImpl names the assembly this package runs (simd.Impl: what the machine offers), or is
// empty when this build has none (hasAsm).
var simdImpl = func() string {
	if hasAsm {
		return simd.Impl
	}
	return ""
}()

// useSIMD says whether Rows and Row take the assembly: simdImpl names it ("avx2", "neon") or is empty.
// Tests and benchmarks switch it off to get the pure-Go output from the same build.
var useSIMD = simdImpl != ""

// Assembly names the assembly this build and CPU use ("avx2", "neon"), or is empty when both
// passes run pure Go.
func Assembly() string { return simdImpl }

// SetAssembly switches the assembly on or off (on has no effect where there is none) and returns
// whether it was on: for benchmarks that time both in one run. The output is the same either way.
func SetAssembly(on bool) (was bool) {
	was = useSIMD
	useSIMD = on && simdImpl != ""
	return was
}

// block is how many outputs the assembly makes at once, chunk how many taps it takes per step.
const (
	block = 8
	chunk = 8
)

// Across is one axis's filter table, prepared for the assembly, with the scratch the pass needs.
// It is not safe for concurrent use (each goroutine resizing a plane makes its own).
type Across struct {
	start   []int   // the first source sample of each output
	n       int     // weights per output
	weights []int32 // n per output, zero-padded

	// The assembly's table: the weights as int16, each output's padded with zeros to chunks
	// of chunk, laid out block by block, then chunk by chunk, in the order
	// x, x+4, x+1, x+5, x+2, x+6, x+3, x+7 (AVX2 takes x and x+4 in one register's two
	// halves). nil when the table does not fit (see fits).
	w16    []int16
	chunks int
	need   int // bytes the assembly may read of a row: max start + chunks*chunk

	packed []int64 // RowsGo's scratch
	pad    []byte  // a row copied where it is too short for the assembly's reads
}

// NewAcross prepares the table t for the pass across.
func NewAcross(t Taps) *Across {
	start, n, weights := t.Start, t.N, t.Weights
	a := &Across{start: start, n: n, weights: weights}
	if !fits(start, n, weights) {
		return a
	}
	a.chunks = (n + chunk - 1) / chunk
	outs := len(start) / block * block
	a.w16 = make([]int16, outs*a.chunks*chunk)
	order := [block]int{0, 4, 1, 5, 2, 6, 3, 7}
	for b := 0; b < outs; b += block {
		for c := range a.chunks {
			dst := a.w16[(b*a.chunks+c*block)*chunk:]
			for i, o := range order {
				x := b + o
				for j := range chunk {
					if k := c*chunk + j; k < n {
						dst[i*chunk+j] = int16(weights[x*n+k])
					}
				}
			}
		}
	}
	for x := range outs {
		a.need = max(a.need, start[x]+a.chunks*chunk)
	}
	return a
}

// fits says whether the assembly computes this table exactly: every weight is an int16
// (VPMADDWD and SMLAL multiply int16s), and every output's sum of 8-bit samples, rounded, stays
// within ±2^23, so that neither the int32 sums overflow nor the int16 results saturate (the
// AVX2 pack saturates where Go's int16 conversion wraps). Lanczos weights, whose magnitudes add
// up to about 1.3 << WeightBits, are far inside.
func fits(start []int, n int, weights []int32) bool {
	for x := range start {
		var abs int64
		for _, w := range weights[x*n : x*n+n] {
			if w < -1<<15 || w >= 1<<15 {
				return false
			}
			abs += int64(max(w, -w))
		}
		if abs*255+1<<(WeightBits-MidBits-1) >= 1<<23 {
			return false
		}
	}
	return true
}

// Rows filters rows r0 and r1 (of equal length) across into out0 and out1 (len(start) outputs
// each), as int16 with MidBits fractional bits: RowsGo's values, by the assembly where it runs.
func (a *Across) Rows(out0, out1 []int16, r0, r1 []byte) {
	outs := len(a.start)
	out0, out1 = out0[:outs], out1[:outs]
	from := 0
	if useSIMD && a.w16 != nil && outs >= block {
		r1 = r1[:len(r0)]
		from = outs / block * block
		w := &a.w16[0]
		acrossSIMD(&out0[0], &a.readable(r0)[0], &a.start[0], w, from/block, a.chunks)
		acrossSIMD(&out1[0], &a.readable(r1)[0], &a.start[0], w, from/block, a.chunks)
		if from == outs {
			return
		}
	}
	if len(a.packed) < len(r0) {
		a.packed = make([]int64, len(r0))
	}
	RowsGo(out0[from:], out1[from:], r0, r1, a.start[from:], a.n, a.weights[from*a.n:], a.packed)
}

// readable returns r, or a copy of it, with a.need bytes the assembly may read: past the end of
// a row its zero weights meet whatever bytes follow (the plane's next row), but never memory
// outside the slice's capacity.
func (a *Across) readable(r []byte) []byte {
	if cap(r) >= a.need {
		return r[:max(len(r), a.need)]
	}
	if cap(a.pad) < a.need {
		a.pad = make([]byte, a.need)
	}
	a.pad = a.pad[:a.need]
	copy(a.pad, r)
	return a.pad
}

// RowsGo filters rows r0 and r1 across with the table start, n, weights into out0 and out1, as
// int16 with MidBits fractional bits. The two rows go through one multiply a tap: each pixel
// pair is packed into one int64 (r0's in the low 32 bits, r1's above) and the sum S0 + S1<<32
// taken in int64. Each row's sum fits an int32 (8-bit samples times weights of 14 bits whose
// magnitudes add up to less than 2), so the int64 holds it exactly and the low half is S0, the
// rest S1: the same integers as filtering each row on its own. packed is scratch of len(r0).
func RowsGo(out0, out1 []int16, r0, r1 []byte, start []int, n int, weights []int32, packed []int64) {
	packed = packed[:len(r0)]
	r1 = r1[:len(r0)]
	for i, v := range r0 {
		packed[i] = int64(v) | int64(r1[i])<<32
	}
	out1 = out1[:len(out0)]
	for x := range out0 {
		ws := weights[x*n : x*n+n]
		in := packed[start[x]:][:len(ws)]
		var s0, s1 int64
		j := 0
		for ; j+2 <= len(ws); j += 2 {
			w2, p := ws[j:j+2:j+2], in[j:j+2:j+2]
			s0 += p[0] * int64(w2[0])
			s1 += p[1] * int64(w2[1])
		}
		if j < len(ws) {
			s0 += in[j] * int64(ws[j])
		}
		sum := s0 + s1
		lo := int32(sum)
		hi := int32((sum - int64(lo)) >> 32)
		out0[x] = int16((lo + 1<<(WeightBits-MidBits-1)) >> (WeightBits - MidBits))
		out1[x] = int16((hi + 1<<(WeightBits-MidBits-1)) >> (WeightBits - MidBits))
	}
}
