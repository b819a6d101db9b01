//go:build purego || !(amd64 || arm64)

package resample

// hasAsm: this build has no assembly (the purego tag, or a GOARCH without it).
const hasAsm = false

// acrossSIMD is never called here (useSIMD is false).
func acrossSIMD(out *int16, row *byte, start *int, w *int16, groups, chunks int) {
	panic("resample: no assembly in this build")
}

// downSIMD is never called here (useSIMD is false).
func downSIMD(dst *byte, rows **int16, w *int16, pairs, chunks int) {
	panic("resample: no assembly in this build")
}
