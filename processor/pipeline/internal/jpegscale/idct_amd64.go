//go:build !purego

package jpegscale

// hasAsm: this file's assembly is built; simd.Impl says whether the CPU runs it.
const hasAsm = true

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
