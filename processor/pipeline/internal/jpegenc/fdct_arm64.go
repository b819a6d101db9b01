//go:build !purego

package jpegenc

// hasAsm: this file's assembly is built (NEON, which every arm64 CPU has).
const hasAsm = true

// fdctSIMD is fdctGo with NEON: fdctCols and fdctRows on 4 columns or rows at once, one int32
// lane each, the same int32 operations on the same values, so every coefficient is fdctGo's.
//
//go:noescape
func fdctSIMD(b *block)

// fdctK are fdctCols' and fdctRows' multipliers as the assembly takes them, by index (fdctK*
// below, the same numbers as fdct_arm64.s's K*): each rotation (dctBox) as kcos, ksin-kcos,
// kcos+ksin, the three multipliers dctBox uses, and the two √2 scalings.
var fdctK = func() (k [fdctKN]int32) {
	box := func(i int, kcos, ksin int32) { k[i], k[i+1], k[i+2] = kcos, ksin-kcos, kcos+ksin }
	box(fdctKCol47, c(cos3, 18), c(sin3, 18))
	k[fdctKColSqrt2] = c(sqrt2, 12)
	box(fdctKCol56, c(cos1, 18), c(sin1, 18))
	box(fdctKCol23, c(sqrt2_cos6, 18), c(sqrt2_sin6, 18))
	box(fdctKRow47, c(cos3, 14), c(sin3, 14))
	k[fdctKRowSqrt2] = c(sqrt2, 14)
	box(fdctKRow56, c(cos1, 14), c(sin1, 14))
	box(fdctKRow23, c(sqrt2_cos6, 14), c(sqrt2_sin6, 14))
	return k
}()

// The indexes of fdctK. The assembly loads it whole into V20-V24 (20 lanes).
const (
	fdctKCol47    = 0
	fdctKColSqrt2 = 3
	fdctKCol56    = 4
	fdctKCol23    = 7
	fdctKRow47    = 10
	fdctKRowSqrt2 = 13
	fdctKRow56    = 14
	fdctKRow23    = 17
	fdctKN        = 20
)
