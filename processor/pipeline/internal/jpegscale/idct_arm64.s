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
