//go:build !purego

#include "textflag.h"

// fdctSIMD with NEON: fdctCols and fdctRows (dct.go) on 4 columns or rows at once, one int32
// lane each, twice per pass. Every step is the Go step on the same int32 values (ADD, SUB and
// MUL wrap as Go's int32 does, SSHR is Go's >> on int32, SHL is Go's <<), so the coefficients
// stored are fdctGo's.
//
// Go's assembler has no vector MUL or SSHR, so the arithmetic is encoded here as WORDs from
// register numbers (the macros of jpegscale/idct_arm64.s, checked against
// llvm-mc -triple=aarch64 -show-encoding).
// Registers: V0-V15 the block (8 rows of 2 x 4 lanes), V16-V19 scratch, V20-V24 fdctK,
// V26 the DC level shift (128*8), V27 the rounding offset (1<<17).

#define ADD4S(d, n, m) WORD $(0x4EA08400 | ((m)<<16) | ((n)<<5) | (d))
#define SUB4S(d, n, m) WORD $(0x6EA08400 | ((m)<<16) | ((n)<<5) | (d))
// MULK: d = n * fdctK[k] (MUL by element: lane k%4 of V20 + k/4).
#define MULK(d, n, k) WORD $(0x4F808000 | (((k)&1)<<21) | ((20+((k)>>2))<<16) | ((((k)>>1)&1)<<11) | ((n)<<5) | (d))
#define SHL4S(d, n, s) WORD $(0x4F005400 | ((32+(s))<<16) | ((n)<<5) | (d))
#define SSHR4S(d, n, s) WORD $(0x4F000400 | ((64-(s))<<16) | ((n)<<5) | (d))
#define MOVV(d, n) WORD $(0x4EA01C00 | ((n)<<16) | ((n)<<5) | (d))
#define TRN1S(d, n, m) WORD $(0x4E802800 | ((m)<<16) | ((n)<<5) | (d))
#define TRN2S(d, n, m) WORD $(0x4E806800 | ((m)<<16) | ((n)<<5) | (d))
#define TRN1D(d, n, m) WORD $(0x4EC02800 | ((m)<<16) | ((n)<<5) | (d))
#define TRN2D(d, n, m) WORD $(0x4EC06800 | ((m)<<16) | ((n)<<5) | (d))

// fdctK (fdct_arm64.go, built from dct.go's c()): the multipliers by index, the K* below, which
// must be fdct_arm64.go's; each rotation (dctBox) as kcos, ksin-kcos, kcos+ksin.
#define KCOL47    0  // c(cos3, 18) = 217965, c(sin3, 18) = 145639
#define KCOLSQRT2 3  // c(sqrt2, 12)
#define KCOL56    4  // c(cos1, 18) = 257107, c(sin1, 18) = 51142
#define KCOL23    7  // c(sqrt2_cos6, 18) = 141871, c(sqrt2_sin6, 18) = 342508
#define KROW47    10 // c(cos3, 14) = 13623, c(sin3, 14) = 9102
#define KROWSQRT2 13 // c(sqrt2, 14)
#define KROW56    14 // c(cos1, 14) = 16069, c(sin1, 14) = 3196
#define KROW23    17 // c(sqrt2_cos6, 14) = 8867, c(sqrt2_sin6, 14) = 21407

// BFLY: a, b = a+b, a-b.
#define BFLY(a, b) SUB4S(18, a, b); ADD4S(a, a, b); MOVV(b, 18)

// DCTBOX: x0, x1 = dctBox(x0, x1, kcos, ksin), fdctK[k] = kcos, [k+1] = ksin-kcos,
// [k+2] = kcos+ksin.
#define DCTBOX(x0, x1, k) \
	ADD4S(16, x0, x1); MULK(16, 16, k); MULK(17, x1, k+1); ADD4S(17, 17, 16); \
	MULK(x0, x0, k+2); SUB4S(x1, 16, x0); MOVV(x0, 17)

// TRANSPOSE4: the 4 x 4 matrix with rows a0..a3, transposed in place.
#define TRANSPOSE4(a0, a1, a2, a3) \
	TRN1S(16, a0, a1); TRN2S(17, a0, a1); TRN1S(18, a2, a3); TRN2S(19, a2, a3); \
	TRN1D(a0, 16, 18); TRN1D(a1, 17, 19); TRN2D(a2, 16, 18); TRN2D(a3, 17, 19)

// COLPASS: fdctCols on 4 columns; the arguments are rows 0..7 (x0 := b[0*8+i], ...).
// Afterwards row 0 of the result is in x0, row 1 in x7, 2 in x2, 3 in x5, 4 in x1, 5 in x6,
// 6 in x3, 7 in x4 (fdctCols' stores).
#define COLPASS(x0, x1, x2, x3, x4, x5, x6, x7) \
	BFLY(x0, x7); BFLY(x1, x6); BFLY(x2, x5); BFLY(x3, x4); \
	DCTBOX(x4, x7, KCOL47); DCTBOX(x5, x6, KCOL56); \
	BFLY(x0, x3); BFLY(x1, x2); \
	DCTBOX(x2, x3, KCOL23); \
	BFLY(x0, x1); \
	SUB4S(x0, x0, 26); SHL4S(x0, x0, 18); SHL4S(x1, x1, 18); \
	BFLY(x4, x6); BFLY(x7, x5); \
	SSHR4S(x5, x5, 12); MULK(x5, x5, KCOLSQRT2); SSHR4S(x6, x6, 12); MULK(x6, x6, KCOLSQRT2); \
	BFLY(x7, x4)

// ROWPASS: fdctRows on 4 rows (transposed: the arguments are positions 0..7 of a row,
// x0 := x[0], ...), with the cut to Q13.0. Afterwards position 0 of the result is in x0, 1 in
// x7, 2 in x2, 3 in x5, 4 in x1, 5 in x6, 6 in x3, 7 in x4 (fdctRows' stores).
#define ROWPASS(x0, x1, x2, x3, x4, x5, x6, x7) \
	BFLY(x0, x7); BFLY(x1, x6); BFLY(x2, x5); BFLY(x3, x4); \
	SSHR4S(x4, x4, 14); SSHR4S(x7, x7, 14); DCTBOX(x4, x7, KROW47); \
	SSHR4S(x5, x5, 14); SSHR4S(x6, x6, 14); DCTBOX(x5, x6, KROW56); \
	BFLY(x0, x3); BFLY(x1, x2); \
	SSHR4S(x2, x2, 14); SSHR4S(x3, x3, 14); DCTBOX(x2, x3, KROW23); \
	BFLY(x0, x1); BFLY(x4, x6); BFLY(x7, x5); \
	SSHR4S(x5, x5, 14); MULK(x5, x5, KROWSQRT2); SSHR4S(x6, x6, 14); MULK(x6, x6, KROWSQRT2); \
	BFLY(x7, x4); \
	ADD4S(x0, x0, 27); ADD4S(x1, x1, 27); ADD4S(x2, x2, 27); ADD4S(x3, x3, 27); \
	ADD4S(x4, x4, 27); ADD4S(x5, x5, 27); ADD4S(x6, x6, 27); ADD4S(x7, x7, 27); \
	SSHR4S(x0, x0, 18); SSHR4S(x1, x1, 18); SSHR4S(x2, x2, 18); SSHR4S(x3, x3, 18); \
	SSHR4S(x4, x4, 18); SSHR4S(x5, x5, 18); SSHR4S(x6, x6, 18); SSHR4S(x7, x7, 18)

// func fdctSIMD(b *block)
TEXT ·fdctSIMD(SB), NOSPLIT, $0-8
	MOVD b+0(FP), R0
	MOVD R0, R1
	MOVD $·fdctK(SB), R2
	VLD1.P 64(R2), [V20.S4, V21.S4, V22.S4, V23.S4]
	VLD1 (R2), [V24.S4]
	MOVD $1024, R3
	VDUP R3, V26.S4
	MOVD $0x20000, R3
	VDUP R3, V27.S4

	// Row r in V(2r) (columns 0-3) and V(2r+1) (4-7).
	VLD1.P 64(R1), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 64(R1), [V4.S4, V5.S4, V6.S4, V7.S4]
	VLD1.P 64(R1), [V8.S4, V9.S4, V10.S4, V11.S4]
	VLD1 (R1), [V12.S4, V13.S4, V14.S4, V15.S4]

	COLPASS(0, 2, 4, 6, 8, 10, 12, 14)
	COLPASS(1, 3, 5, 7, 9, 11, 13, 15)

	// Rows 0..7 are now V0, V14, V4, V10, V2, V12, V6, V8 (columns 0-3) and V1, V15, V5, V11,
	// V3, V13, V7, V9 (4-7). Transposed: position k of rows 0-3 in V0, V14, V4, V10 (k < 4),
	// V1, V15, V5, V11 (k >= 4); of rows 4-7 in V2, V12, V6, V8, V3, V13, V7, V9.
	TRANSPOSE4(0, 14, 4, 10)
	TRANSPOSE4(1, 15, 5, 11)
	TRANSPOSE4(2, 12, 6, 8)
	TRANSPOSE4(3, 13, 7, 9)
	ROWPASS(0, 14, 4, 10, 1, 15, 5, 11)
	ROWPASS(2, 12, 6, 8, 3, 13, 7, 9)

	// Position k (rows 0-3) is now in V0, V11, V4, V15, V14, V5, V10, V1 (rows 4-7: V2, V9,
	// V6, V13, V12, V7, V8, V3). Transposed back: rows 0-7 columns 0-3 in V0, V11, V4, V15,
	// V2, V9, V6, V13 and columns 4-7 in V14, V5, V10, V1, V12, V7, V8, V3.
	TRANSPOSE4(0, 11, 4, 15)
	TRANSPOSE4(14, 5, 10, 1)
	TRANSPOSE4(2, 9, 6, 13)
	TRANSPOSE4(12, 7, 8, 3)

	VST1.P [V0.S4], 16(R0)
	VST1.P [V14.S4], 16(R0)
	VST1.P [V11.S4], 16(R0)
	VST1.P [V5.S4], 16(R0)
	VST1.P [V4.S4], 16(R0)
	VST1.P [V10.S4], 16(R0)
	VST1.P [V15.S4], 16(R0)
	VST1.P [V1.S4], 16(R0)
	VST1.P [V2.S4], 16(R0)
	VST1.P [V12.S4], 16(R0)
	VST1.P [V9.S4], 16(R0)
	VST1.P [V7.S4], 16(R0)
	VST1.P [V6.S4], 16(R0)
	VST1.P [V8.S4], 16(R0)
	VST1.P [V13.S4], 16(R0)
	VST1 [V3.S4], (R0)
	RET
