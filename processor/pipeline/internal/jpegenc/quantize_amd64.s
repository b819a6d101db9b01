//go:build !purego

#include "textflag.h"

// quantizeSIMD(b *block, recip *[64]uint32, half *[64]int32) uint64, with AVX2: quantizeNatGo
// on eight coefficients (one row of the block) at once, one int32 lane each. n = |v| + half
// (VPABSD, VPADDD); n*recip is a 64-bit product, made by VPMULUDQ on the even lanes and, shifted
// down 32 bits, on the odd ones; its high half is the quotient (the even products shifted back
// down, the odd ones blended in where they already lie); VPSIGND gives it v's sign (and 0 where
// v is 0, where the quotient is 0 too). The mask's byte for the row is its lanes not equal to 0
// (VPCMPEQD, VMOVMSKPS, inverted).
TEXT ·quantizeSIMD(SB), NOSPLIT, $0-32
	MOVQ b+0(FP), DI
	MOVQ recip+8(FP), SI
	MOVQ half+16(FP), DX
	VPXOR Y15, Y15, Y15
	XORQ AX, AX // the mask
	XORQ CX, CX // the row's bit offset: 0, 8, ..., 56
row:
	VMOVDQU (DI), Y0   // v
	VPABSD Y0, Y1
	VPADDD (DX), Y1, Y1 // n
	VMOVDQU (SI), Y2    // recip
	VPMULUDQ Y2, Y1, Y3 // even lanes' products
	VPSRLQ $32, Y1, Y4
	VPSRLQ $32, Y2, Y5
	VPMULUDQ Y5, Y4, Y4 // odd lanes' products
	VPSRLQ $32, Y3, Y3
	VPBLENDD $0xAA, Y4, Y3, Y3 // the quotients: even ones from Y3, odd ones (high halves) from Y4
	VPSIGND Y0, Y3, Y3
	VMOVDQU Y3, (DI)
	VPCMPEQD Y15, Y3, Y6
	VMOVMSKPS Y6, BX
	NOTQ BX
	ANDQ $0xff, BX
	SHLQ CX, BX
	ORQ BX, AX
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $8, CX
	CMPQ CX, $64
	JLT row
	VZEROUPPER
	MOVQ AX, ret+24(FP)
	RET
