//go:build !purego

package jpegenc

// quantizeSIMD is quantizeNatGo with NEON (quantize_arm64.s): four coefficients at once, the
// 32 x 32-bit products into 64 bits by UMULL and UMULL2, their high halves narrowed back by SHRN
// and SHRN2. The quantized
// coefficients and the mask are quantizeNatGo's, bit for bit.
//
//go:noescape
func quantizeSIMD(b *block, recip *[blockSize]uint32, half *[blockSize]int32) uint64
