//go:build !purego

package jpegscale

// simdImpl: NEON, which every arm64 CPU has.
const simdImpl = "neon"

// idctStoreSIMD is idctStoreGo for every position of b: dequantize by qn (natural order),
// transform, level-shift, clip, and store 8 rows of 8 bytes at dst, stride apart. It reads b and
// leaves it as it was.
//
//go:noescape
func idctStoreSIMD(b *block, qn *block, dst *byte, stride int)
