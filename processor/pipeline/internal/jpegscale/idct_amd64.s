//go:build !purego

#include "textflag.h"

// idctStoreSIMD with AVX2: idctRows and idctCols (dct.go) on all 8 rows or columns at once, one
// int32 lane each. Every step is the Go step on the same int32 values (VPMULLD and VPADDD wrap
// as Go's int32 does, VPSRAD is Go's >> on int32), so the bytes stored are idctStoreGo's.
//
// Each 1-D pass keeps its 8 inputs x0..x7 in one bank of registers (Y0-Y7 or Y8-Y15) and uses
// the other bank as scratch; a transpose moves the block from one bank to the other.

// BFLY: a, b = a+b, a-b.
#define BFLY(a, b, t) VPSUBD b, a, t; VPADDD b, a, a; VMOVDQU t, b

// DCTBOX: x0, x1 = dctBox(x0, x1, kcos, ksin), with idctK[k] = kcos, [k+1] = ksin-kcos,
// [k+2] = kcos+ksin (R8 points at idctK; k is a byte offset).
#define DCTBOX(x0, x1, k, t0, t1, t2) \
	VPADDD x1, x0, t0; VPBROADCASTD k(R8), t2; VPMULLD t2, t0, t0; \
	VPBROADCASTD k+4(R8), t2; VPMULLD t2, x1, t1; VPADDD t0, t1, t1; \
	VPBROADCASTD k+8(R8), t2; VPMULLD t2, x0, x0; VPSUBD x0, t0, x1; VMOVDQU t1, x0

// MULK: x *= idctK[k].
#define MULK(x, k, t) VPBROADCASTD k(R8), t; VPMULLD t, x, x

// TRANSPOSE: the 8 x 8 int32 matrix whose rows are r0..r7 into t0..t7 (rows of the transpose);
// r0..r7 are overwritten.
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

// Byte offsets into idctK (idct_simd.go's indexes times 4).
#define K_ROW23 0
#define K_ROWINV2 12
#define K_47 16
#define K_56 28
#define K_COL23 40
#define K_COLINV2 52
#define K_ROUND 56
#define K_LEVEL 60

// The dwords of VPACKUSWB's result (rows 0-3 low halves, then high halves) put back in row order.
DATA packRows<>+0(SB)/4, $0
DATA packRows<>+4(SB)/4, $4
DATA packRows<>+8(SB)/4, $1
DATA packRows<>+12(SB)/4, $5
DATA packRows<>+16(SB)/4, $2
DATA packRows<>+20(SB)/4, $6
DATA packRows<>+24(SB)/4, $3
DATA packRows<>+28(SB)/4, $7
GLOBL packRows<>(SB), RODATA|NOPTR, $32

// func idctStoreSIMD(b *block, qn *block, dst *byte, stride int)
TEXT ·idctStoreSIMD(SB), NOSPLIT, $0-32
	MOVQ b+0(FP), AX
	MOVQ qn+8(FP), BX
	MOVQ dst+16(FP), DI
	MOVQ stride+24(FP), SI
	LEAQ ·idctK(SB), R8

	// Dequantize: rows 0..7 in Y0..Y7.
	VMOVDQU 0(AX), Y0
	VMOVDQU 32(AX), Y1
	VMOVDQU 64(AX), Y2
	VMOVDQU 96(AX), Y3
	VMOVDQU 128(AX), Y4
	VMOVDQU 160(AX), Y5
	VMOVDQU 192(AX), Y6
	VMOVDQU 224(AX), Y7
	VPMULLD 0(BX), Y0, Y0
	VPMULLD 32(BX), Y1, Y1
	VPMULLD 64(BX), Y2, Y2
	VPMULLD 96(BX), Y3, Y3
	VPMULLD 128(BX), Y4, Y4
	VPMULLD 160(BX), Y5, Y5
	VPMULLD 192(BX), Y6, Y6
	VPMULLD 224(BX), Y7, Y7

	// Columns 0..7 in Y8..Y15: lane r is row r, so idctRows runs on all rows at once.
	TRANSPOSE(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15)

	// idctRows: x0 = x[0] is Y8, x7 = x[1] Y9, x2 Y10, x5 Y11, x1 Y12, x6 Y13, x3 Y14, x4 Y15.
	VPSLLD $17, Y8, Y8
	VPSLLD $17, Y12, Y12
	BFLY(Y8, Y12, Y0)
	DCTBOX(Y10, Y14, K_ROW23, Y0, Y1, Y2)
	BFLY(Y12, Y10, Y0)
	BFLY(Y8, Y14, Y0)
	VPSLLD $7, Y15, Y15
	VPSLLD $7, Y9, Y9
	BFLY(Y9, Y15, Y0)
	MULK(Y13, K_ROWINV2, Y0)
	MULK(Y11, K_ROWINV2, Y0)
	BFLY(Y9, Y11, Y0)
	BFLY(Y15, Y13, Y0)
	VPSRAD $2, Y15, Y15
	VPSRAD $2, Y9, Y9
	DCTBOX(Y15, Y9, K_47, Y0, Y1, Y2)
	VPSRAD $2, Y11, Y11
	VPSRAD $2, Y13, Y13
	DCTBOX(Y11, Y13, K_56, Y0, Y1, Y2)
	BFLY(Y8, Y9, Y0)
	BFLY(Y12, Y13, Y0)
	BFLY(Y10, Y11, Y0)
	BFLY(Y14, Y15, Y0)

	// x[k] = xk: the columns in order are x0 Y8, x1 Y12, x2 Y10, x3 Y14, x4 Y15, x5 Y11, x6 Y13,
	// x7 Y9. Back to rows 0..7 in Y0..Y7: lane i is column i, so idctCols runs on all at once.
	TRANSPOSE(Y8, Y12, Y10, Y14, Y15, Y11, Y13, Y9, Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7)

	// idctCols: x0 = row 0 is Y0, x7 Y1, x2 Y2, x5 Y3, x1 Y4, x6 Y5, x3 Y6, x4 Y7.
	VPBROADCASTD K_ROUND(R8), Y8
	VPADDD Y8, Y0, Y0
	BFLY(Y0, Y4, Y8)
	VPSRAD $2, Y0, Y0
	VPSRAD $2, Y4, Y4
	VPSRAD $13, Y2, Y2
	VPSRAD $13, Y6, Y6
	DCTBOX(Y2, Y6, K_COL23, Y8, Y9, Y10)
	BFLY(Y4, Y2, Y8)
	BFLY(Y0, Y6, Y8)
	BFLY(Y1, Y7, Y8)
	VPSRAD $13, Y3, Y3
	MULK(Y3, K_COLINV2, Y8)
	VPSRAD $13, Y5, Y5
	MULK(Y5, K_COLINV2, Y8)
	BFLY(Y1, Y3, Y8)
	BFLY(Y7, Y5, Y8)
	VPSRAD $14, Y7, Y7
	VPSRAD $14, Y1, Y1
	DCTBOX(Y7, Y1, K_47, Y8, Y9, Y10)
	VPSRAD $14, Y3, Y3
	VPSRAD $14, Y5, Y5
	DCTBOX(Y3, Y5, K_56, Y8, Y9, Y10)
	BFLY(Y0, Y1, Y8)
	BFLY(Y4, Y5, Y8)
	BFLY(Y2, Y3, Y8)
	BFLY(Y6, Y7, Y8)

	// Row k is xk: row 0 Y0, 1 Y4, 2 Y2, 3 Y6, 4 Y7, 5 Y3, 6 Y5, 7 Y1. Shift to Q10.0, level
	// shift, and clip to bytes with the saturating packs (int32 to int16 to uint8).
	VPBROADCASTD K_LEVEL(R8), Y8
	VPSRAD $18, Y0, Y0
	VPSRAD $18, Y1, Y1
	VPSRAD $18, Y2, Y2
	VPSRAD $18, Y3, Y3
	VPSRAD $18, Y4, Y4
	VPSRAD $18, Y5, Y5
	VPSRAD $18, Y6, Y6
	VPSRAD $18, Y7, Y7
	VPADDD Y8, Y0, Y0
	VPADDD Y8, Y1, Y1
	VPADDD Y8, Y2, Y2
	VPADDD Y8, Y3, Y3
	VPADDD Y8, Y4, Y4
	VPADDD Y8, Y5, Y5
	VPADDD Y8, Y6, Y6
	VPADDD Y8, Y7, Y7
	VPACKSSDW Y4, Y0, Y9  // rows 0, 1
	VPACKSSDW Y6, Y2, Y10 // rows 2, 3
	VPACKSSDW Y3, Y7, Y11 // rows 4, 5
	VPACKSSDW Y1, Y5, Y12 // rows 6, 7
	VPACKUSWB Y10, Y9, Y9
	VPACKUSWB Y12, Y11, Y11
	VMOVDQU packRows<>(SB), Y13
	VPERMD Y9, Y13, Y9
	VPERMD Y11, Y13, Y11

	LEAQ (SI)(SI*2), R9
	MOVQ X9, (DI)
	VPEXTRQ $1, X9, (DI)(SI*1)
	VEXTRACTI128 $1, Y9, X10
	MOVQ X10, (DI)(SI*2)
	VPEXTRQ $1, X10, (DI)(R9*1)
	LEAQ (DI)(SI*4), DI
	MOVQ X11, (DI)
	VPEXTRQ $1, X11, (DI)(SI*1)
	VEXTRACTI128 $1, Y11, X12
	MOVQ X12, (DI)(SI*2)
	VPEXTRQ $1, X12, (DI)(R9*1)
	VZEROUPPER
	RET

// scaledIDCT4x4SIMD with AVX2: scaledIDCT4x4Go's loop, its four sums by parity 4 int64 lanes
// each, VPMULDQ multiplying the int32 coefficient by the int32 weight into int64 exactly and
// VPADDQ adding as Go's int does (both wrap alike even for a hostile block). Then the 16 outputs,
// rounded and clipped as boxRound and clampLevel do (AVX2 has no 64-bit arithmetic shift: the
// sign is ORed back in). (Adding each coefficient into the 16 outputs at once with the signed
// weights, as the NEON version does, measured slower here: 4 times the multiplies.)

// ROUNDCLAMP: t = clampLevel(boxRound(t)) in each int64 lane (Y8 = 1<<23, Y9 = 128, Y10 = 255,
// Y11 = 0; s is scratch).
#define ROUNDCLAMP(t, s) \
	VPADDQ Y8, t, t; VPCMPGTQ t, Y11, s; VPSRLQ $24, t, t; VPSLLQ $40, s, s; VPOR s, t, t; \
	VPADDQ Y9, t, t; VPCMPGTQ t, Y11, s; VPANDN t, s, t; \
	VPCMPGTQ Y10, t, s; VPANDN t, s, t; VPAND Y10, s, s; VPOR s, t, t

DATA round4x4<>+0(SB)/8, $0x800000
GLOBL round4x4<>(SB), RODATA|NOPTR, $8
DATA level4x4<>+0(SB)/8, $128
GLOBL level4x4<>(SB), RODATA|NOPTR, $8
DATA max4x4<>+0(SB)/8, $255
GLOBL max4x4<>(SB), RODATA|NOPTR, $8

// The low dwords of 4 qwords into the low 4 dwords.
DATA low4x4<>+0(SB)/4, $0
DATA low4x4<>+4(SB)/4, $2
DATA low4x4<>+8(SB)/4, $4
DATA low4x4<>+12(SB)/4, $6
DATA low4x4<>+16(SB)/4, $0
DATA low4x4<>+20(SB)/4, $2
DATA low4x4<>+24(SB)/4, $4
DATA low4x4<>+28(SB)/4, $6
GLOBL low4x4<>(SB), RODATA|NOPTR, $32

// From the 16 bytes T0[0..3], T1[0..3], T2[0..3], T3[0..3] to the patch's rows: row 0 is T0[0],
// T0[1], T1[1], T1[0]; row 1 T0[2], T0[3], T1[3], T1[2]; row 2 T2[2], T2[3], T3[3], T3[2]; row
// 3 T2[0], T2[1], T3[1], T3[0] (scaledIDCT4x4Go's top and bottom, x and 3-x).
DATA rows4x4<>+0(SB)/8, $0x0607030204050100
DATA rows4x4<>+8(SB)/8, $0x0c0d09080e0f0b0a
GLOBL rows4x4<>(SB), RODATA|NOPTR, $16

// CLASS adds the coefficients of nz (DX) at the positions of mask, each times its weights, into
// acc (AX the block, BX the weights; R10 R11 R13 Y12 Y13 scratch); loop and done are its labels.
#define CLASS(mask, acc, loop, done) \
	MOVQ $mask, R13; ANDQ DX, R13; JZ done; \
loop: \
	BSFQ R13, R10; VPBROADCASTD (AX)(R10*4), Y12; \
	MOVQ R10, R11; SHLQ $6, R11; VPMOVZXDQ (BX)(R11*1), Y13; \
	VPMULDQ Y13, Y12, Y13; VPADDQ Y13, acc, acc; \
	LEAQ -1(R13), R11; ANDQ R11, R13; JNZ loop; \
done:

// func scaledIDCT4x4SIMD(b *block, nz uint64, w *[blockSize][16]int32, dst *byte, stride int)
TEXT ·scaledIDCT4x4SIMD(SB), NOSPLIT, $0-40
	MOVQ b+0(FP), AX
	MOVQ nz+8(FP), DX
	MOVQ w+16(FP), BX
	MOVQ dst+24(FP), DI
	MOVQ stride+32(FP), SI

	// scaledIDCT4x4Go's four sums by parity, ee, oe, eo, oo, in Y4..Y7, lane j = output m + 2n:
	// each coefficient times its weights w[nat][0:4] (the signs of sum T0, all +) added to its
	// parity's sum. The positions of each parity are one mask of nz (even or odd columns, bits
	// 0x55 or 0xaa of a row's byte; even or odd rows, every other byte), each looped over into
	// its own register. One loop over nz adding into the sums in memory, by a table of their
	// offsets, took twice the time on a block of 64 coefficients and 1.4 times on 16
	// (BenchmarkScaledIDCT4x4: 56 and 17 ns against 26 and 12): each add waited on the store
	// before it.
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	CLASS(0x0055005500550055, Y4, eeloop, eedone)
	CLASS(0x00aa00aa00aa00aa, Y5, oeloop, oedone)
	CLASS(0x5500550055005500, Y6, eoloop, eodone)
	CLASS(0xaa00aa00aa00aa00, Y7, ooloop, oodone)

	// T0 = ee+oe+eo+oo, T1 = ee-oe+eo-oo, T2 = ee+oe-eo-oo, T3 = ee-oe-eo+oo in Y0..Y3, as
	// (ee±eo) ± (oe±oo).
	VPADDQ Y6, Y4, Y0
	VPSUBQ Y6, Y4, Y1
	VPADDQ Y7, Y5, Y2
	VPSUBQ Y7, Y5, Y3
	VPADDQ Y2, Y0, Y4 // T0
	VPSUBQ Y2, Y0, Y5 // T1
	VPADDQ Y3, Y1, Y6 // T2
	VPSUBQ Y3, Y1, Y7 // T3
	VMOVDQU Y4, Y0
	VMOVDQU Y5, Y1
	VMOVDQU Y6, Y2
	VMOVDQU Y7, Y3

	VPBROADCASTQ round4x4<>(SB), Y8
	VPBROADCASTQ level4x4<>(SB), Y9
	VPBROADCASTQ max4x4<>(SB), Y10
	VPXOR Y11, Y11, Y11
	ROUNDCLAMP(Y0, Y12)
	ROUNDCLAMP(Y1, Y12)
	ROUNDCLAMP(Y2, Y12)
	ROUNDCLAMP(Y3, Y12)

	// Each lane is now 0..255: the packs below do not saturate.
	VMOVDQU low4x4<>(SB), Y12
	VPERMD Y0, Y12, Y0
	VPERMD Y1, Y12, Y1
	VPERMD Y2, Y12, Y2
	VPERMD Y3, Y12, Y3
	VPACKUSDW X1, X0, X0
	VPACKUSDW X3, X2, X2
	VPACKUSWB X2, X0, X0
	VPSHUFB rows4x4<>(SB), X0, X0

	LEAQ (SI)(SI*2), R9
	VPEXTRD $0, X0, (DI)
	VPEXTRD $1, X0, (DI)(SI*1)
	VPEXTRD $2, X0, (DI)(SI*2)
	VPEXTRD $3, X0, (DI)(R9*1)
	VZEROUPPER
	RET
