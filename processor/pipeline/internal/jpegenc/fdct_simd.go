package jpegenc

import "medicpx/processor/pipeline/internal/simd"

// The assembly versions of the forward transform (fdct_amd64.s with AVX2, fdct_arm64.s with
// NEON) compute exactly what fdctGo computes: the same int32 operations on the same values, lane
// by lane (Go's int32 + - * wrap as the vector instructions do, and >> is the arithmetic shift),
// so every coefficient, and so every encoded byte, is the same; fdct_test.go checks that block by
// block and encode_test.go image by image. fdctGo stays the reference and the path for other
// GOARCHes, for the purego build tag, and for amd64 without AVX2. The quantizer's assembly
// (quantize_amd64.s, quantize_arm64.s) follows the same rules: quantizeNatGo is what it computes,
// and quantizeGo, which it must match (quantize_test.go), is the path without it.

// simdImpl names the assembly this package runs (simd.Impl: what the machine offers), or is
// empty when this build has none (hasAsm).
var simdImpl = func() string {
	if hasAsm {
		return simd.Impl
	}
	return ""
}()

// useSIMD says whether fdct and writeBlock's quantization take the assembly. Tests switch it off
// to get the pure-Go output from the same build.
var useSIMD = simdImpl != ""

// fdct is image/jpeg's forward DCT of b, in place (fdctGo).
func fdct(b *block) {
	if useSIMD {
		fdctSIMD(b)
		return
	}
	fdctGo(b)
}
