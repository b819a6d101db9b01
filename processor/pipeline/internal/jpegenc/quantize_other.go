//go:build purego || !(amd64 || arm64)

package jpegenc

// quantizeSIMD is quantizeNatGo here (useSIMD is false, so nothing calls it but tests).
func quantizeSIMD(b *block, recip *[blockSize]uint32, half *[blockSize]int32) uint64 {
	return quantizeNatGo(b, recip, half)
}
