//go:build !purego

#include "textflag.h"

// idctStoreSIMD with NEON: idctRows and idctCols (dct.go) on 4 rows or columns at once, one
// int32 lane each, twice per pass. Every step is the Go step on the same int32 values (MUL and
// ADD wrap as Go's int32 does, SSHR is Go's >> on int32), so the bytes stored are idctStoreGo's.
//
// Go's assembler has no vector MUL, SSHR or saturating narrows, so the arithmetic is encoded
// here as WORDs from register numbers (checked against llvm-mc -triple=aarch64 -show-encoding).
// Registers: V0-V15 the block (8 rows of 2 x 4 lanes), V16-V18 scratch, V20-V23 idctK,
// V24 the rounding offset, V25 the level shift.

#define ADD4S(d, n, m) WORD $(0x4EA08400 | ((m)<<16) | ((n)<<5) | (d))
#define SUB4S(d, n, m) WORD $(0x6EA08400 | ((m)<<16) | ((n)<<5) | (d))
#define MUL4S(d, n, m) WORD $(0x4EA09C00 | ((m)<<16) | ((n)<<5) | (d))
// MULK: d = n * idctK[k] (MUL by element: lane k%4 of V20 + k/4).
#define MULK(d, n, k) WORD $(0x4F808000 | (((k)&1)<<21) | ((20+((k)>>2))<<16) | ((((k)>>1)&1)<<11) | ((n)<<5) | (d))
#define SHL4S(d, n, s) WORD $(0x4F005400 | ((32+(s))<<16) | ((n)<<5) | (d))
#define SSHR4S(d, n, s) WORD $(0x4F000400 | ((64-(s))<<16) | ((n)<<5) | (d))
#define MOVV(d, n) WORD $(0x4EA01C00 | ((n)<<16) | ((n)<<5) | (d))
#define TRN1S(d, n, m) WORD $(0x4E802800 | ((m)<<16) | ((n)<<5) | (d))
#define TRN2S(d, n, m) WORD $(0x4E806800 | ((m)<<16) | ((n)<<5) | (d))
#define TRN1D(d, n, m) WORD $(0x4EC02800 | ((m)<<16) | ((n)<<5) | (d))
#define TRN2D(d, n, m) WORD $(0x4EC06800 | ((m)<<16) | ((n)<<5) | (d))
// SQXTUN, SQXTUN2 (int32 to uint16, saturating) and UQXTN (uint16 to uint8, saturating): the
// clip to [0, 255].
#define SQXTUN4S(d, n) WORD $(0x2E612800 | ((n)<<5) | (d))
#define SQXTUN24S(d, n) WORD $(0x6E612800 | ((n)<<5) | (d))
#define UQXTN8H(d, n) WORD $(0x2E214800 | ((n)<<5) | (d))

// BFLY: a, b = a+b, a-b.
#define BFLY(a, b) SUB4S(18, a, b); ADD4S(a, a, b); MOVV(b, 18)

// DCTBOX: x0, x1 = dctBox(x0, x1, kcos, ksin), idctK[k] = kcos, [k+1] = ksin-kcos,
// [k+2] = kcos+ksin.
#define DCTBOX(x0, x1, k) \
	ADD4S(16, x0, x1); MULK(16, 16, k); MULK(17, x1, k+1); ADD4S(17, 17, 16); \
	MULK(x0, x0, k+2); SUB4S(x1, 16, x0); MOVV(x0, 17)

// TRANSPOSE4: the 4 x 4 matrix with rows a0..a3, transposed in place.
#define TRANSPOSE4(a0, a1, a2, a3) \
	TRN1S(16, a0, a1); TRN2S(17, a0, a1); TRN1S(18, a2, a3); TRN2S(19, a2, a3); \
	TRN1D(a0, 16, 18); TRN1D(a1, 17, 19); TRN2D(a2, 16, 18); TRN2D(a3, 17, 19)

// ROWPASS: idctRows on 4 rows; the arguments are positions 0..7 of a row, named by what
// idctRows calls them (x0 := x[0], x7 := x[1], ...); afterwards position k holds xk.
#define ROWPASS(x0, x7, x2, x5, x1, x6, x3, x4) \
	SHL4S(x0, x0, 17); SHL4S(x1, x1, 17); BFLY(x0, x1); \
	DCTBOX(x2, x3, 0); BFLY(x1, x2); BFLY(x0, x3); \
	SHL4S(x4, x4, 7); SHL4S(x7, x7, 7); BFLY(x7, x4); \
	MULK(x6, x6, 3); MULK(x5, x5, 3); BFLY(x7, x5); BFLY(x4, x6); \
	SSHR4S(x4, x4, 2); SSHR4S(x7, x7, 2); DCTBOX(x4, x7, 4); \
	SSHR4S(x5, x5, 2); SSHR4S(x6, x6, 2); DCTBOX(x5, x6, 7); \
	BFLY(x0, x7); BFLY(x1, x6); BFLY(x2, x5); BFLY(x3, x4)

// COLPASS: idctCols on 4 columns, arguments as ROWPASS's (rows 0..7), then the shift to Q10.0
// and the level shift; afterwards row k holds xk.
#define COLPASS(x0, x7, x2, x5, x1, x6, x3, x4) \
	ADD4S(x0, x0, 24); BFLY(x0, x1); SSHR4S(x0, x0, 2); SSHR4S(x1, x1, 2); \
	SSHR4S(x2, x2, 13); SSHR4S(x3, x3, 13); DCTBOX(x2, x3, 10); BFLY(x1, x2); BFLY(x0, x3); \
	BFLY(x7, x4); \
	SSHR4S(x5, x5, 13); MULK(x5, x5, 13); SSHR4S(x6, x6, 13); MULK(x6, x6, 13); \
	BFLY(x7, x5); BFLY(x4, x6); \
	SSHR4S(x4, x4, 14); SSHR4S(x7, x7, 14); DCTBOX(x4, x7, 4); \
	SSHR4S(x5, x5, 14); SSHR4S(x6, x6, 14); DCTBOX(x5, x6, 7); \
	BFLY(x0, x7); BFLY(x1, x6); BFLY(x2, x5); BFLY(x3, x4); \
	SSHR4S(x0, x0, 18); SSHR4S(x1, x1, 18); SSHR4S(x2, x2, 18); SSHR4S(x3, x3, 18); \
	SSHR4S(x4, x4, 18); SSHR4S(x5, x5, 18); SSHR4S(x6, x6, 18); SSHR4S(x7, x7, 18); \
	ADD4S(x0, x0, 25); ADD4S(x1, x1, 25); ADD4S(x2, x2, 25); ADD4S(x3, x3, 25); \
	ADD4S(x4, x4, 25); ADD4S(x5, x5, 25); ADD4S(x6, x6, 25); ADD4S(x7, x7, 25)

// STOREROW: one row (lo = columns 0-3, hi = 4-7) clipped to 8 bytes at R2, then R2 += stride.
#define STOREROW(lo, hi) SQXTUN4S(16, lo); SQXTUN24S(16, hi); UQXTN8H(16, 16); VST1.P [V16.B8], (R2)(R3)

// func idctStoreSIMD(b *block, qn *block, dst *byte, stride int)
TEXT ·idctStoreSIMD(SB), NOSPLIT, $0-32
	MOVD b+0(FP), R0
	MOVD qn+8(FP), R1
	MOVD dst+16(FP), R2
	MOVD stride+24(FP), R3
	MOVD $·idctK(SB), R4
	VLD1 (R4), [V20.S4, V21.S4, V22.S4, V23.S4]
	MOVW 56(R4), R5
	VDUP R5, V24.S4
	MOVW 60(R4), R5
	VDUP R5, V25.S4

	// Row r in V(2r) (columns 0-3) and V(2r+1) (4-7), dequantized.
	VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 64(R0), [V4.S4, V5.S4, V6.S4, V7.S4]
	VLD1.P 64(R0), [V8.S4, V9.S4, V10.S4, V11.S4]
	VLD1.P 64(R0), [V12.S4, V13.S4, V14.S4, V15.S4]
	VLD1.P 64(R1), [V16.S4, V17.S4, V18.S4, V19.S4]
	MUL4S(0, 0, 16); MUL4S(1, 1, 17); MUL4S(2, 2, 18); MUL4S(3, 3, 19)
	VLD1.P 64(R1), [V16.S4, V17.S4, V18.S4, V19.S4]
	MUL4S(4, 4, 16); MUL4S(5, 5, 17); MUL4S(6, 6, 18); MUL4S(7, 7, 19)
	VLD1.P 64(R1), [V16.S4, V17.S4, V18.S4, V19.S4]
	MUL4S(8, 8, 16); MUL4S(9, 9, 17); MUL4S(10, 10, 18); MUL4S(11, 11, 19)
	VLD1.P 64(R1), [V16.S4, V17.S4, V18.S4, V19.S4]
	MUL4S(12, 12, 16); MUL4S(13, 13, 17); MUL4S(14, 14, 18); MUL4S(15, 15, 19)

	// Transposed: column k of rows 0-3 in V0, V2, V4, V6 (k < 4), V1, V3, V5, V7 (k >= 4);
	// of rows 4-7 in V8 ... V14, V9 ... V15.
	TRANSPOSE4(0, 2, 4, 6)
	TRANSPOSE4(1, 3, 5, 7)
	TRANSPOSE4(8, 10, 12, 14)
	TRANSPOSE4(9, 11, 13, 15)
	ROWPASS(0, 2, 4, 6, 1, 3, 5, 7)
	ROWPASS(8, 10, 12, 14, 9, 11, 13, 15)

	// Column k (rows 0-3) is now in V0, V1, V4, V5, V7, V6, V3, V2 (rows 4-7: V8, V9, V12, V13,
	// V15, V14, V11, V10). Transposed back: row r's columns 0-3 in V0, V1, V4, V5, V8, V9, V12,
	// V13 and columns 4-7 in V7, V6, V3, V2, V15, V14, V11, V10.
	TRANSPOSE4(0, 1, 4, 5)
	TRANSPOSE4(7, 6, 3, 2)
	TRANSPOSE4(8, 9, 12, 13)
	TRANSPOSE4(15, 14, 11, 10)
	COLPASS(0, 1, 4, 5, 8, 9, 12, 13)
	COLPASS(7, 6, 3, 2, 15, 14, 11, 10)

	// Row k is xk: rows 0..7 are V0, V8, V4, V12, V13, V5, V9, V1 (columns 0-3) and V7, V15,
	// V3, V11, V10, V2, V14, V6 (4-7).
	STOREROW(0, 7)
	STOREROW(8, 15)
	STOREROW(4, 3)
	STOREROW(12, 11)
	STOREROW(13, 10)
	STOREROW(5, 2)
	STOREROW(9, 14)
	STOREROW(1, 6)
	RET

// scaledIDCT4x4SIMD with NEON: every coefficient in nz times its 16 signed weights (see
// weights4x4), added into the 16 outputs, 2 int64 lanes a register, by SMLAL/SMLAL2 (int32
// times int32 into int64 exactly, added wrapping as Go's int does, even for a hostile block).
// Then boxRound (SSHR is the 64-bit arithmetic shift) and clampLevel: the saturating narrows
// from int64 to uint32, uint16 and uint8 clip to [0, 255].

// SMLAL, SMLAL2 (by element, lane 0): d += the low (high) two int32 lanes of n times m.S[0].
#define SMLALS(d, n, m) WORD $(0x0F802000 | ((m)<<16) | ((n)<<5) | (d))
#define SMLAL2S(d, n, m) WORD $(0x4F802000 | ((m)<<16) | ((n)<<5) | (d))
#define ADD2D(d, n, m) WORD $(0x4EE08400 | ((m)<<16) | ((n)<<5) | (d))
#define SSHR2D(d, n, s) WORD $(0x4F000400 | ((128-(s))<<16) | ((n)<<5) | (d))
#define SQXTUN2D(d, n) WORD $(0x2EA12800 | ((n)<<5) | (d))
#define SQXTUN22D(d, n) WORD $(0x6EA12800 | ((n)<<5) | (d))
#define UQXTN4S(d, n) WORD $(0x2E614800 | ((n)<<5) | (d))
#define UQXTN24S(d, n) WORD $(0x6E614800 | ((n)<<5) | (d))
#define UQXTN28H(d, n) WORD $(0x6E214800 | ((n)<<5) | (d))

// ROUND: r = boxRound(r) + 128 (V21 = 1<<23, V22 = 128).
#define ROUND(r) ADD2D(r, r, 21); SSHR2D(r, r, 24); ADD2D(r, r, 22)

// From the 16 bytes T0[0..3], T1[0..3], T2[0..3], T3[0..3] to the patch's rows (see the same
// table in idct_amd64.s).
DATA rows4x4<>+0(SB)/8, $0x0607030204050100
DATA rows4x4<>+8(SB)/8, $0x0c0d09080e0f0b0a
GLOBL rows4x4<>(SB), RODATA|NOPTR, $16

// func scaledIDCT4x4SIMD(b *block, nz uint64, w *[blockSize][16]int32, dst *byte, stride int)
TEXT ·scaledIDCT4x4SIMD(SB), NOSPLIT, $0-40
	MOVD b+0(FP), R0
	MOVD nz+8(FP), R1
	MOVD w+16(FP), R2
	MOVD dst+24(FP), R3
	MOVD stride+32(FP), R4

	// The sums T0 = ee+oe+eo+oo, T1 = ee-oe+eo-oo, T2 = ee+oe-eo-oo, T3 = ee-oe-eo+oo of
	// scaledIDCT4x4Go: Tk's outputs j = 0, 1 in V(2k), j = 2, 3 in V(2k+1).
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	VEOR V4.B16, V4.B16, V4.B16
	VEOR V5.B16, V5.B16, V5.B16
	VEOR V6.B16, V6.B16, V6.B16
	VEOR V7.B16, V7.B16, V7.B16
	CBZ R1, sums
loop:
	RBIT R1, R5
	CLZ R5, R5
	MOVW (R0)(R5<<2), R6
	VMOV R6, V16.S[0]
	ADD R5<<6, R2, R7 // 16 int32 weights a position
	VLD1 (R7), [V17.S4, V18.S4, V19.S4, V20.S4]
	SMLALS(0, 17, 16)
	SMLAL2S(1, 17, 16)
	SMLALS(2, 18, 16)
	SMLAL2S(3, 18, 16)
	SMLALS(4, 19, 16)
	SMLAL2S(5, 19, 16)
	SMLALS(6, 20, 16)
	SMLAL2S(7, 20, 16)
	SUB $1, R1, R8
	AND R8, R1, R1
	CBNZ R1, loop

sums:
	MOVD $0x800000, R9
	VDUP R9, V21.D2
	MOVD $128, R9
	VDUP R9, V22.D2
	ROUND(0); ROUND(1); ROUND(2); ROUND(3); ROUND(4); ROUND(5); ROUND(6); ROUND(7)
	SQXTUN2D(24, 0); SQXTUN22D(24, 1) // T0 as 4 x uint32
	SQXTUN2D(25, 2); SQXTUN22D(25, 3)
	SQXTUN2D(26, 4); SQXTUN22D(26, 5)
	SQXTUN2D(27, 6); SQXTUN22D(27, 7)
	UQXTN4S(28, 24); UQXTN24S(28, 25) // T0, T1 as uint16
	UQXTN4S(29, 26); UQXTN24S(29, 27)
	UQXTN8H(30, 28); UQXTN28H(30, 29) // all 16 as bytes
	MOVD $rows4x4<>(SB), R9
	VLD1 (R9), [V31.B16]
	VTBL V31.B16, [V30.B16], V29.B16

	VMOV V29.S[0], R10
	MOVW R10, (R3)
	ADD R4, R3
	VMOV V29.S[1], R10
	MOVW R10, (R3)
	ADD R4, R3
	VMOV V29.S[2], R10
	MOVW R10, (R3)
	ADD R4, R3
	VMOV V29.S[3], R10
	MOVW R10, (R3)
	RET
