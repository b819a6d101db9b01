//go:build purego || !(amd64 || arm64)

package jpegenc

// hasAsm: this build has no assembly (the purego tag, or a GOARCH without it).
const hasAsm = false

// fdctSIMD is fdctGo here (useSIMD is false, so nothing calls it but tests).
func fdctSIMD(b *block) { fdctGo(b) }
