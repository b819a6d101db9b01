package jpegscale

import "medicpx/processor/pipeline/internal/simd"

// The assembly versions of the inverse transforms (idct_amd64.s with AVX2, idct_arm64.s with
// NEON) compute exactly what the Go functions they stand for compute: the same int32 (8 x 8) or
// int64 (4 x 4) operations on the same values, lane by lane, so they store the same bytes, which
// simd_test.go checks block by block and image by image. The Go functions stay the reference
// and the path for other GOARCHes, for the purego build tag, and for amd64 without AVX2.

// simdImpl names the assembly this package runs (simd.Impl: what the machine offers), or is
// empty when this build has none (hasAsm).
var simdImpl = func() string {
	if hasAsm {
		return simd.Impl
	}
	return ""
}()

// useSIMD says whether idctStore and scaledIDCT4x4 take the assembly: simdImpl names it ("avx2",
// "neon") or is empty. Tests switch it off to get the pure-Go output from the same build.
var useSIMD = simdImpl != ""

// idctK are the 8 x 8 transform's multipliers and offsets as idctRows and idctCols use them, for
// the assembly, by index (idctK* below): each rotation (dctBox) as kcos, ksin-kcos, kcos+ksin.
var idctK = [16]int32{
	idctKRow23:      c(sqrt2inv_cos6, 18),
	idctKRow23 + 1:  -c(sqrt2inv_sin6, 18) - c(sqrt2inv_cos6, 18),
	idctKRow23 + 2:  c(sqrt2inv_cos6, 18) - c(sqrt2inv_sin6, 18),
	idctKRowInv2:    c(sqrt2inv, 8),
	idctK47:         c(cos3, 12),
	idctK47 + 1:     -c(sin3, 12) - c(cos3, 12),
	idctK47 + 2:     c(cos3, 12) - c(sin3, 12),
	idctK56:         c(cos1, 12),
	idctK56 + 1:     -c(sin1, 12) - c(cos1, 12),
	idctK56 + 2:     c(cos1, 12) - c(sin1, 12),
	idctKCol23:      c(sqrt2inv_cos6, 12),
	idctKCol23 + 1:  -c(sqrt2inv_sin6, 12) - c(sqrt2inv_cos6, 12),
	idctKCol23 + 2:  c(sqrt2inv_cos6, 12) - c(sqrt2inv_sin6, 12),
	idctKColInv2:    c(sqrt2inv, 14),
	idctKRound:      1 << 19,
	idctKLevelShift: 128,
}

// The indexes of idctK; the assembly has the same numbers (times 4, as byte offsets, on amd64).
const (
	idctKRow23      = 0
	idctKRowInv2    = 3
	idctK47         = 4
	idctK56         = 7
	idctKCol23      = 10
	idctKColInv2    = 13
	idctKRound      = 14
	idctKLevelShift = 15
)

// idctStore is idctStoreGo, by the assembly where there is one. A block with only its DC term
// stays in Go: filling 64 bytes with one value costs less than any transform.
func idctStore(b *block, nz uint64, qn *block, dst []byte, stride int) {
	if nz == 1 {
		idctStoreDC(b, qn, dst, stride)
		return
	}
	// The assembly does not check bounds: a patch too short for the 8 rows goes to Go, which
	// panics where it would have.
	if useSIMD && stride >= 8 && len(dst) >= 7*stride+8 {
		idctStoreSIMD(b, qn, &dst[0], stride)
		return
	}
	idctStoreGo(b, nz, qn, dst, stride)
}

// Assembly names the assembly transforms this build and CPU use ("avx2", "neon"), or is empty
// when the decoder runs pure Go.
func Assembly() string { return simdImpl }

// SetAssembly switches the assembly transforms on or off (on has no effect where there are none)
// and returns whether they were on: for benchmarks that time the decoder both ways in one run.
// The output is the same either way.
func SetAssembly(on bool) (was bool) {
	was = useSIMD
	useSIMD = on && simdImpl != ""
	return was
}
