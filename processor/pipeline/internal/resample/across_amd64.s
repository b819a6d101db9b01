//go:build !purego

#include "textflag.h"

// acrossSIMD with AVX2, 8 outputs a step: Y0..Y3 each hold two outputs' int32 partial sums,
// x+p in the low half and x+p+4 in the high one (the table's order), 8 taps a step: VPMOVZXBW
// widens 8 source bytes to int16, VPMADDWD multiplies them by the int16 weights and adds the
// products in pairs into int32 lanes. Three VPHADDDs then add each output's 4 lanes, in the
// order x..x+3 | x+4..x+7. Every sum is RowsGo's exactly (NewAcross's fits keeps it inside
// int32); VPSRAD is Go's >> on int32 and VPACKSSDW, which saturates, meets values already inside
// int16.
//
// Registers: DI out, SI the row + chunks*8, DX start, R8 the table, CX the chunk's offset from
// -chunks*8 up to 0, AX BX R9..R14 the 8 outputs' source addresses (+ chunks*8), Y15 the rounding.

// PAIR: one chunk of outputs a (low half) and b (high half) into accumulator acc.
#define PAIR(a, b, acc, x0, x1, y0, off) \
	VPMOVZXBW (a)(CX*1), x0; \
	VPMOVZXBW (b)(CX*1), x1; \
	VINSERTI128 $1, x1, y0, y0; \
	VPMADDWD off(R8), y0, y0; \
	VPADDD y0, acc, acc

// func acrossSIMD(out *int16, row *byte, start *int, w *int16, groups, chunks int)
TEXT ·acrossSIMD(SB), NOSPLIT, $0-48
	MOVQ out+0(FP), DI
	MOVQ row+8(FP), SI
	MOVQ start+16(FP), DX
	MOVQ w+24(FP), R8
	MOVQ chunks+40(FP), CX
	SHLQ $3, CX
	ADDQ CX, SI
	MOVL $128, AX // 1 << (WeightBits-MidBits-1)
	MOVQ AX, X15
	VPBROADCASTD X15, Y15

group:
	MOVQ 0(DX), R9
	MOVQ 8(DX), R10
	MOVQ 16(DX), R11
	MOVQ 24(DX), R12
	MOVQ 32(DX), R13
	MOVQ 40(DX), R14
	MOVQ 48(DX), AX
	MOVQ 56(DX), BX
	ADDQ SI, R9
	ADDQ SI, R10
	ADDQ SI, R11
	ADDQ SI, R12
	ADDQ SI, R13
	ADDQ SI, R14
	ADDQ SI, AX
	ADDQ SI, BX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	MOVQ chunks+40(FP), CX
	SHLQ $3, CX
	NEGQ CX

chunk:
	PAIR(R9, R13, Y0, X4, X5, Y4, 0)
	PAIR(R10, R14, Y1, X6, X7, Y6, 32)
	PAIR(R11, AX, Y2, X8, X9, Y8, 64)
	PAIR(R12, BX, Y3, X10, X11, Y10, 96)
	ADDQ $128, R8
	ADDQ $8, CX
	JNZ chunk

	VPHADDD Y1, Y0, Y4 // x, x+1 | x+4, x+5: 2 lanes each
	VPHADDD Y3, Y2, Y5 // x+2, x+3 | x+6, x+7
	VPHADDD Y5, Y4, Y4 // x..x+3 | x+4..x+7
	VPADDD Y15, Y4, Y4
	VPSRAD $8, Y4, Y4 // WeightBits - MidBits
	VPACKSSDW Y4, Y4, Y4 // words x..x+3, x..x+3 | x+4..x+7, x+4..x+7
	VPERMQ $0x08, Y4, Y4 // x..x+7 in the low half
	VMOVDQU X4, (DI)
	ADDQ $16, DI
	ADDQ $64, DX
	DECQ groups+32(FP)
	JNZ group

	VZEROUPPER
	RET

// downSIMD with AVX2, 16 outputs a step, two rows at a time: VPUNPCKLWD and VPUNPCKHWD
// interleave the two rows' int16 samples, VPMADDWD multiplies each pair by the two rows' weights
// and adds them into int32 (Y0: outputs 0-3 | 8-11, Y1: 4-7 | 12-15). Every sum is DownGo's
// exactly (downFits keeps it inside int32), VPSRAD is Go's >>, and the two saturating packs clip
// to [0, 255] as DownGo's min and max do.
//
// Registers: DI dst, SI the row pointers, DX the weights, R8 pairs, CX the byte offset into the
// rows, R9 chunks left, R10 R11 R12 the inner loop's pointers and count, Y15 the rounding.

// func downSIMD(dst *byte, rows **int16, w *int16, pairs, chunks int)
TEXT ·downSIMD(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ rows+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ pairs+24(FP), R8
	MOVQ chunks+32(FP), R9
	MOVL $0x80000, AX // 1 << (WeightBits+MidBits-1)
	MOVQ AX, X15
	VPBROADCASTD X15, Y15
	XORQ CX, CX

dchunk:
	MOVQ SI, R10
	MOVQ DX, R11
	MOVQ R8, R12
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1

dpair:
	MOVQ 0(R10), AX
	MOVQ 8(R10), BX
	VMOVDQU (AX)(CX*1), Y2
	VMOVDQU (BX)(CX*1), Y3
	VPUNPCKLWD Y3, Y2, Y4
	VPUNPCKHWD Y3, Y2, Y5
	VPBROADCASTD (R11), Y6
	VPMADDWD Y6, Y4, Y4
	VPMADDWD Y6, Y5, Y5
	VPADDD Y4, Y0, Y0
	VPADDD Y5, Y1, Y1
	ADDQ $16, R10
	ADDQ $4, R11
	DECQ R12
	JNZ dpair

	VPADDD Y15, Y0, Y0
	VPADDD Y15, Y1, Y1
	VPSRAD $20, Y0, Y0 // WeightBits + MidBits
	VPSRAD $20, Y1, Y1
	VPACKSSDW Y1, Y0, Y0 // words 0-7 | 8-15
	VPACKUSWB Y0, Y0, Y0 // bytes 0-7, 0-7 | 8-15, 8-15
	VPERMQ $0x08, Y0, Y0
	VMOVDQU X0, (DI)
	ADDQ $16, DI
	ADDQ $32, CX
	DECQ R9
	JNZ dchunk

	VZEROUPPER
	RET
