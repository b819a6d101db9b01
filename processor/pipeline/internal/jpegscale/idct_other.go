//go:build purego || !(amd64 || arm64)

package jpegscale

import "unsafe"

// simdImpl is empty: this build has no assembly (the purego tag, or a GOARCH without it).
const simdImpl = ""

// idctStoreSIMD is idctStoreGo here (useSIMD is false, so nothing calls it but tests).
// Like the assembly, it leaves b as it was.
func idctStoreSIMD(b *block, qn *block, dst *byte, stride int) {
	c := *b
	idctStoreGo(&c, ^uint64(0), qn, unsafe.Slice(dst, 7*stride+8), stride)
}
