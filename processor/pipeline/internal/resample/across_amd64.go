//go:build !purego

package resample

// hasAsm: this file's assembly is built; simd.Impl says whether the CPU runs it.
const hasAsm = true

// acrossSIMD makes groups*8 outputs of one row at out from row (readable up to every output's
// start + chunks*8) with the prepared table w (Across.w16) and start.
//
//go:noescape
func acrossSIMD(out *int16, row *byte, start *int, w *int16, groups, chunks int)

// downSIMD makes chunks*16 outputs at dst from the 2*pairs rows at rows, with the int16 weights
// w (one per row).
//
//go:noescape
func downSIMD(dst *byte, rows **int16, w *int16, pairs, chunks int)
