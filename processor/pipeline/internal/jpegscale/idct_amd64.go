//go:build !purego

package jpegscale

import "golang.org/x/sys/cpu"

// simdImpl: AVX2 where the CPU has it (VPMULLD multiplies 8 int32 lanes at once); otherwise
// (GOAMD64=v1 machines without AVX2) pure Go.
var simdImpl = func() string {
	if cpu.X86.HasAVX2 {
		return "avx2"
	}
	return ""
}()

// idctStoreSIMD is idctStoreGo for every position of b: dequantize by qn (natural order),
// transform, level-shift, clip, and store 8 rows of 8 bytes at dst, stride apart. It reads b and
// leaves it as it was.
//
//go:noescape
func idctStoreSIMD(b *block, qn *block, dst *byte, stride int)

// scaledIDCT4x4SIMD is scaledIDCT4x4Go with premultiplied4x4's signed table w, for the
// positions in nz (a subset of keep4x4).
//
//go:noescape
func scaledIDCT4x4SIMD(b *block, nz uint64, w *[blockSize][16]int32, dst *byte, stride int)
