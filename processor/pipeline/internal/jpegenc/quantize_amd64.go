//go:build !purego

package jpegenc

// quantizeSIMD is quantizeNatGo with AVX2 (quantize_amd64.s): eight coefficients at once, the
// 32 x 32-bit products into 64 bits by VPMULUDQ, on the even lanes and then the odd. The quantized
// coefficients and the mask are quantizeNatGo's, bit for bit.
//
//go:noescape
func quantizeSIMD(b *block, recip *[blockSize]uint32, half *[blockSize]int32) uint64
