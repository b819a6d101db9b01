//go:build !purego

package jpegenc

// hasAsm: this file's assembly is built (NEON, which every arm64 CPU has).
const hasAsm = true

// fdctSIMD is fdctGo with NEON: fdctCols and fdctRows on 4 columns or rows at once, one int32
// lane each, the same int32 operations on the same values, so every coefficient is fdctGo's.
//
//go:noescape
func fdctSIMD(b *block)
