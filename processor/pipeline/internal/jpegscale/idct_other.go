//go:build purego || !(amd64 || arm64)

package jpegscale

import "unsafe"

// hasAsm: this build has no assembly (the purego tag, or a GOARCH without it).
const hasAsm = false

// idctStoreSIMD is idctStoreGo here (useSIMD is false, so nothing calls it but tests).
// Like the assembly, it leaves b as it was.
func idctStoreSIMD(b *block, qn *block, dst *byte, stride int) {
	c := *b
	idctStoreGo(&c, ^uint64(0), qn, unsafe.Slice(dst, 7*stride+8), stride)
}

// scaledIDCT4x4SIMD is scaledIDCT4x4Go here, on the unsigned part of w widened back to int.
func scaledIDCT4x4SIMD(b *block, nz uint64, w *[blockSize][16]int32, dst *byte, stride int) {
	var wide [blockSize][4]int
	for i := range w {
		for j := range 4 {
			wide[i][j] = int(w[i][j])
		}
	}
	scaledIDCT4x4Go(b, nz, &wide, unsafe.Slice(dst, 3*stride+4), stride)
}
