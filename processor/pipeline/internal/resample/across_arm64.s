//go:build !purego

#include "textflag.h"

// acrossSIMD with NEON, 8 outputs a step, 8 taps a step: V0..V7 hold the int32 partial sums of
// outputs x..x+7 (4 lanes each); USHLL widens 8 source bytes to int16, SMLAL and SMLAL2
// multiply them by the int16 weights into int32 and add. ADDP then adds each output's 4 lanes,
// and RSHRN rounds, shifts and narrows: (s + 1<<7) >> 8 taken to 16 bits, which is Go's
// int16((s + 128) >> 8). Every sum is RowsGo's exactly (NewAcross's fits keeps it inside int32).
//
// Go's assembler has no SMLAL, USHLL, ADDP on .4S or RSHRN, so they are WORDs from register
// numbers (checked against llvm-mc -triple=aarch64 -show-encoding).
// Registers: R0 out, R1 row, R2 start, R3 the table, R4 groups left, R5 chunks, R6 chunks left,
// R7..R14 the source addresses of outputs x..x+7.

#define SMLAL4S(d, n, m) WORD $(0x0E608000 | ((m)<<16) | ((n)<<5) | (d))
#define SMLAL24S(d, n, m) WORD $(0x4E608000 | ((m)<<16) | ((n)<<5) | (d))
#define UXTL8H(d, n) WORD $(0x2F08A400 | ((n)<<5) | (d))
#define ADDP4S(d, n, m) WORD $(0x4EA0BC00 | ((m)<<16) | ((n)<<5) | (d))
#define RSHRN4H8(d, n) WORD $(0x0F188C00 | ((n)<<5) | (d))
#define RSHRN28H8(d, n) WORD $(0x4F188C00 | ((n)<<5) | (d))
#define ZERO(d) WORD $(0x6F00E400 | (d))

// TAP: one chunk of the output whose source is at a and whose sums are in V(acc), with the
// next 8 weights of the table; t and w are scratch register numbers.
#define TAP(a, acc, t, w, vt, vw) \
	VLD1.P 8(a), [vt.B8]; \
	UXTL8H(t, t); \
	VLD1.P 16(R3), [vw.H8]; \
	SMLAL4S(acc, t, w); \
	SMLAL24S(acc, t, w)

// func acrossSIMD(out *int16, row *byte, start *int, w *int16, groups, chunks int)
TEXT ·acrossSIMD(SB), NOSPLIT, $0-48
	MOVD out+0(FP), R0
	MOVD row+8(FP), R1
	MOVD start+16(FP), R2
	MOVD w+24(FP), R3
	MOVD groups+32(FP), R4
	MOVD chunks+40(FP), R5

group:
	LDP.P 16(R2), (R7, R8)
	LDP.P 16(R2), (R9, R10)
	LDP.P 16(R2), (R11, R12)
	LDP.P 16(R2), (R13, R14)
	ADD R1, R7, R7
	ADD R1, R8, R8
	ADD R1, R9, R9
	ADD R1, R10, R10
	ADD R1, R11, R11
	ADD R1, R12, R12
	ADD R1, R13, R13
	ADD R1, R14, R14
	ZERO(0)
	ZERO(1)
	ZERO(2)
	ZERO(3)
	ZERO(4)
	ZERO(5)
	ZERO(6)
	ZERO(7)
	MOVD R5, R6

chunk:
	// The table's order: x, x+4, x+1, x+5, x+2, x+6, x+3, x+7.
	TAP(R7, 0, 16, 17, V16, V17)
	TAP(R11, 4, 18, 19, V18, V19)
	TAP(R8, 1, 20, 21, V20, V21)
	TAP(R12, 5, 22, 23, V22, V23)
	TAP(R9, 2, 24, 25, V24, V25)
	TAP(R13, 6, 26, 27, V26, V27)
	TAP(R10, 3, 28, 29, V28, V29)
	TAP(R14, 7, 30, 31, V30, V31)
	SUBS $1, R6, R6
	BNE chunk

	ADDP4S(16, 0, 1) // x, x+1: 2 lanes each
	ADDP4S(17, 2, 3)
	ADDP4S(18, 16, 17) // x..x+3
	ADDP4S(16, 4, 5)
	ADDP4S(17, 6, 7)
	ADDP4S(19, 16, 17) // x+4..x+7
	RSHRN4H8(20, 18)
	RSHRN28H8(20, 19)
	VST1.P [V20.H8], 16(R0)
	SUBS $1, R4, R4
	BNE group
	RET

// downSIMD with NEON, 16 outputs a step: V0..V3 hold their int32 sums (4 lanes each); each
// row's 16 int16 samples are multiplied by its weight (DUP) and added by SMLAL and SMLAL2.
// SRSHR is Go's (s + 1<<19) >> 20 (without its int32 overflow, which downFits rules out), and
// the saturating narrows SQXTUN (to uint16) and UQXTN (to uint8) clip to [0, 255] as DownGo's
// min and max do.
//
// Registers: R0 dst, R1 the row pointers, R2 the weights, R3 pairs, R4 chunks left, R5 the byte
// offset into the rows, R6 R7 R8 the inner loop's pointers and count, R9 R10 rows, R11 R12
// weights.

#define SRSHR4S20(d, n) WORD $(0x4F2C2400 | ((n)<<5) | (d))
#define SQXTUN4S(d, n) WORD $(0x2E612800 | ((n)<<5) | (d))
#define SQXTUN24S(d, n) WORD $(0x6E612800 | ((n)<<5) | (d))
#define UQXTN8H(d, n) WORD $(0x2E214800 | ((n)<<5) | (d))
#define UQXTN28H(d, n) WORD $(0x6E214800 | ((n)<<5) | (d))

// ROW: the 16 samples in V(a), V(a+1) times the weight in V(w), into V0..V3.
#define ROW(a, b, w) \
	SMLAL4S(0, a, w); SMLAL24S(1, a, w); SMLAL4S(2, b, w); SMLAL24S(3, b, w)

// func downSIMD(dst *byte, rows **int16, w *int16, pairs, chunks int)
TEXT ·downSIMD(SB), NOSPLIT, $0-40
	MOVD dst+0(FP), R0
	MOVD rows+8(FP), R1
	MOVD w+16(FP), R2
	MOVD pairs+24(FP), R3
	MOVD chunks+32(FP), R4
	MOVD $0, R5

dchunk:
	MOVD R1, R6
	MOVD R2, R7
	MOVD R3, R8
	ZERO(0)
	ZERO(1)
	ZERO(2)
	ZERO(3)

dpair:
	LDP.P 16(R6), (R9, R10)
	ADD R5, R9, R9
	ADD R5, R10, R10
	VLD1 (R9), [V16.H8, V17.H8]
	VLD1 (R10), [V18.H8, V19.H8]
	MOVH.P 2(R7), R11
	MOVH.P 2(R7), R12
	VDUP R11, V20.H8
	VDUP R12, V21.H8
	ROW(16, 17, 20)
	ROW(18, 19, 21)
	SUBS $1, R8, R8
	BNE dpair

	SRSHR4S20(0, 0)
	SRSHR4S20(1, 1)
	SRSHR4S20(2, 2)
	SRSHR4S20(3, 3)
	SQXTUN4S(22, 0)
	SQXTUN24S(22, 1)
	SQXTUN4S(23, 2)
	SQXTUN24S(23, 3)
	UQXTN8H(24, 22)
	UQXTN28H(24, 23)
	VST1.P [V24.B16], 16(R0)
	ADD $32, R5, R5
	SUBS $1, R4, R4
	BNE dchunk
	RET
