//go:build !purego

#include "textflag.h"

// fdctSIMD with AVX2: fdctCols and fdctRows (dct.go) on all 8 columns or rows at once, one int32
// lane each. Every step is the Go step on the same int32 values (VPADDD, VPSUBD and VPMULLD wrap
// as Go's int32 + - * do, VPSLLD is Go's << and VPSRAD Go's >> on int32), in the same order
// around each shift, so the 64 coefficients stored are fdctGo's.
//
// Each 1-D pass keeps its 8 inputs x0..x7 in one bank of registers (Y0-Y7 or Y8-Y15) and uses
// the other bank as scratch; a transpose moves the block from one bank to the other.

// BFLY: a, b = a+b, a-b.
#define BFLY(a, b, t) VPSUBD b, a, t; VPADDD b, a, a; VMOVDQU t, b

// DCTBOX: x0, x1 = dctBox(x0, x1, kcos, ksin), with fdctK[k] = kcos, [k+1] = ksin-kcos,
// [k+2] = kcos+ksin, 8 lanes each (R8 points at fdctK; k is a byte offset): ksum = kcos*(x0+x1),
// y0 = ksum + (ksin-kcos)*x1, y1 = ksum - (kcos+ksin)*x0, as dctBox does.
#define DCTBOX(x0, x1, k, t0, t1) \
	VPADDD x1, x0, t0; VPMULLD k(R8), t0, t0; \
	VPMULLD k+32(R8), x1, t1; VPADDD t1, t0, t1; \
	VPMULLD k+64(R8), x0, x0; VPSUBD x0, t0, x1; VMOVDQU t1, x0

// TRANSPOSE: the 8 x 8 int32 matrix whose rows are r0..r7 into t0..t7 (rows of the transpose);
// r0..r7 are overwritten. (jpegscale's idct_amd64.s has the same.)
#define TRANSPOSE(r0, r1, r2, r3, r4, r5, r6, r7, t0, t1, t2, t3, t4, t5, t6, t7) \
	VPUNPCKLDQ r1, r0, t0; VPUNPCKHDQ r1, r0, t1; \
	VPUNPCKLDQ r3, r2, t2; VPUNPCKHDQ r3, r2, t3; \
	VPUNPCKLDQ r5, r4, t4; VPUNPCKHDQ r5, r4, t5; \
	VPUNPCKLDQ r7, r6, t6; VPUNPCKHDQ r7, r6, t7; \
	VPUNPCKLQDQ t2, t0, r0; VPUNPCKHQDQ t2, t0, r1; \
	VPUNPCKLQDQ t3, t1, r2; VPUNPCKHQDQ t3, t1, r3; \
	VPUNPCKLQDQ t6, t4, r4; VPUNPCKHQDQ t6, t4, r5; \
	VPUNPCKLQDQ t7, t5, r6; VPUNPCKHQDQ t7, t5, r7; \
	VPERM2I128 $0x20, r4, r0, t0; VPERM2I128 $0x31, r4, r0, t4; \
	VPERM2I128 $0x20, r5, r1, t1; VPERM2I128 $0x31, r5, r1, t5; \
	VPERM2I128 $0x20, r6, r2, t2; VPERM2I128 $0x31, r6, r2, t6; \
	VPERM2I128 $0x20, r7, r3, t3; VPERM2I128 $0x31, r7, r3, t7

// Byte offsets into fdctK (fdct_amd64.go's indexes times 32).
#define K_COL47 0
#define K_COL56 96
#define K_COL23 192
#define K_COLSQRT2 288
#define K_ROW47 320
#define K_ROW56 416
#define K_ROW23 512
#define K_ROWSQRT2 608
#define K_LEVEL 640
#define K_ROUND 672

// func fdctSIMD(b *block)
TEXT ·fdctSIMD(SB), NOSPLIT, $0-8
	MOVQ b+0(FP), AX
	LEAQ ·fdctK(SB), R8

	// Rows 0..7 in Y0..Y7: lane i is column i, so fdctCols runs on all columns at once, x0..x7
	// being Y0..Y7. (The encoder's samples are 0..255, but nothing here depends on it: the same
	// wrapping operations give fdctGo's results for any int32 input.)
	VMOVDQU 0(AX), Y0
	VMOVDQU 32(AX), Y1
	VMOVDQU 64(AX), Y2
	VMOVDQU 96(AX), Y3
	VMOVDQU 128(AX), Y4
	VMOVDQU 160(AX), Y5
	VMOVDQU 192(AX), Y6
	VMOVDQU 224(AX), Y7

	// fdctCols stage 1: four butterflies.
	BFLY(Y0, Y7, Y8)
	BFLY(Y1, Y6, Y8)
	BFLY(Y2, Y5, Y8)
	BFLY(Y3, Y4, Y8)

	// Stage 2: two boxes and two butterflies.
	DCTBOX(Y4, Y7, K_COL47, Y8, Y9)
	DCTBOX(Y5, Y6, K_COL56, Y8, Y9)
	BFLY(Y0, Y3, Y8)
	BFLY(Y1, Y2, Y8)

	// Stage 3: one box and three butterflies; x0 = (x0 - 128*8) << 18, x1 = x1 << 18.
	DCTBOX(Y2, Y3, K_COL23, Y8, Y9)
	BFLY(Y0, Y1, Y8)
	VPSUBD K_LEVEL(R8), Y0, Y0
	VPSLLD $18, Y0, Y0
	VPSLLD $18, Y1, Y1
	BFLY(Y4, Y6, Y8)
	BFLY(Y7, Y5, Y8)

	// Stage 4: two √2 scalings, x = (x >> 12) * c(sqrt2, 12), and one butterfly.
	VPSRAD $12, Y5, Y5
	VPMULLD K_COLSQRT2(R8), Y5, Y5
	VPSRAD $12, Y6, Y6
	VPMULLD K_COLSQRT2(R8), Y6, Y6
	BFLY(Y7, Y4, Y8)

	// fdctCols stores row 0 x0, 1 x7, 2 x2, 3 x5, 4 x1, 5 x6, 6 x3, 7 x4: that is, rows 0..7 are
	// Y0, Y7, Y2, Y5, Y1, Y6, Y3, Y4. Their columns 0..7 in Y8..Y15: lane i is row i, so
	// fdctRows runs on all rows at once, x0..x7 = x[0]..x[7] being Y8..Y15.
	TRANSPOSE(Y0, Y7, Y2, Y5, Y1, Y6, Y3, Y4, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15)

	// fdctRows stage 1: four butterflies.
	BFLY(Y8, Y15, Y0)
	BFLY(Y9, Y14, Y0)
	BFLY(Y10, Y13, Y0)
	BFLY(Y11, Y12, Y0)

	// Stage 2: two boxes, on x >> 14, and two butterflies.
	VPSRAD $14, Y12, Y12
	VPSRAD $14, Y15, Y15
	DCTBOX(Y12, Y15, K_ROW47, Y0, Y1)
	VPSRAD $14, Y13, Y13
	VPSRAD $14, Y14, Y14
	DCTBOX(Y13, Y14, K_ROW56, Y0, Y1)
	BFLY(Y8, Y11, Y0)
	BFLY(Y9, Y10, Y0)

	// Stage 3: one box, on x >> 14, and three butterflies.
	VPSRAD $14, Y10, Y10
	VPSRAD $14, Y11, Y11
	DCTBOX(Y10, Y11, K_ROW23, Y0, Y1)
	BFLY(Y8, Y9, Y0)
	BFLY(Y12, Y14, Y0)
	BFLY(Y15, Y13, Y0)

	// Stage 4: two √2 scalings, x = (x >> 14) * c(sqrt2, 14), and one butterfly.
	VPSRAD $14, Y13, Y13
	VPMULLD K_ROWSQRT2(R8), Y13, Y13
	VPSRAD $14, Y14, Y14
	VPMULLD K_ROWSQRT2(R8), Y14, Y14
	BFLY(Y15, Y12, Y0)

	// Cut from Q13.18 to Q13.0: x = (x + 1<<17) >> 18.
	VMOVDQU K_ROUND(R8), Y0
	VPADDD Y0, Y8, Y8
	VPADDD Y0, Y9, Y9
	VPADDD Y0, Y10, Y10
	VPADDD Y0, Y11, Y11
	VPADDD Y0, Y12, Y12
	VPADDD Y0, Y13, Y13
	VPADDD Y0, Y14, Y14
	VPADDD Y0, Y15, Y15
	VPSRAD $18, Y8, Y8
	VPSRAD $18, Y9, Y9
	VPSRAD $18, Y10, Y10
	VPSRAD $18, Y11, Y11
	VPSRAD $18, Y12, Y12
	VPSRAD $18, Y13, Y13
	VPSRAD $18, Y14, Y14
	VPSRAD $18, Y15, Y15

	// fdctRows stores x[0] x0, x[1] x7, x[2] x2, x[3] x5, x[4] x1, x[5] x6, x[6] x3, x[7] x4:
	// columns 0..7 are Y8, Y15, Y10, Y13, Y9, Y14, Y11, Y12. Back to rows 0..7 in Y0..Y7.
	TRANSPOSE(Y8, Y15, Y10, Y13, Y9, Y14, Y11, Y12, Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7)
	VMOVDQU Y0, 0(AX)
	VMOVDQU Y1, 32(AX)
	VMOVDQU Y2, 64(AX)
	VMOVDQU Y3, 96(AX)
	VMOVDQU Y4, 128(AX)
	VMOVDQU Y5, 160(AX)
	VMOVDQU Y6, 192(AX)
	VMOVDQU Y7, 224(AX)
	VZEROUPPER
	RET
