//go:build !purego

package jpegenc

// hasAsm: this file's assembly is built; simd.Impl says whether the CPU runs it.
const hasAsm = true

// fdctSIMD is fdctGo with AVX2 (fdct_amd64.s): fdctCols on the 8 columns at once, one int32 lane
// each, then, after a transpose in registers, fdctRows on the 8 rows at once, and a transpose
// back. The coefficients are fdctGo's, bit for bit.
//
//go:noescape
func fdctSIMD(b *block)

// fdctK are fdctCols' and fdctRows' multipliers and offsets, each repeated in the 8 int32 lanes
// of a YMM register so that the assembly multiplies or adds by it straight from memory, by index
// (fdctK* below): each rotation (dctBox) as kcos, ksin-kcos, kcos+ksin, the three multipliers
// dctBox uses.
var fdctK = func() (k [fdctKN][8]int32) {
	set := func(i int, v int32) {
		for j := range k[i] {
			k[i][j] = v
		}
	}
	box := func(i int, kcos, ksin int32) {
		set(i, kcos)
		set(i+1, ksin-kcos)
		set(i+2, kcos+ksin)
	}
	box(fdctKCol47, c(cos3, 18), c(sin3, 18))
	box(fdctKCol56, c(cos1, 18), c(sin1, 18))
	box(fdctKCol23, c(sqrt2_cos6, 18), c(sqrt2_sin6, 18))
	set(fdctKColSqrt2, c(sqrt2, 12))
	box(fdctKRow47, c(cos3, 14), c(sin3, 14))
	box(fdctKRow56, c(cos1, 14), c(sin1, 14))
	box(fdctKRow23, c(sqrt2_cos6, 14), c(sqrt2_sin6, 14))
	set(fdctKRowSqrt2, c(sqrt2, 14))
	set(fdctKLevelShift, 128*8)
	set(fdctKRound, 1<<17)
	return k
}()

// The indexes of fdctK; the assembly has the same numbers (times 32, as byte offsets).
const (
	fdctKCol47      = 0
	fdctKCol56      = 3
	fdctKCol23      = 6
	fdctKColSqrt2   = 9
	fdctKRow47      = 10
	fdctKRow56      = 13
	fdctKRow23      = 16
	fdctKRowSqrt2   = 19
	fdctKLevelShift = 20
	fdctKRound      = 21
	fdctKN          = 22
)
