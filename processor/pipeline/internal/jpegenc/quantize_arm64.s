//go:build !purego

#include "textflag.h"

// quantizeSIMD(b *block, recip *[64]uint32, half *[64]int32) uint64, with NEON: quantizeNatGo on
// four coefficients at once, one int32 lane each. n = |v| + half (ABS, ADD); n*recip is a 64-bit
// product (UMULL for the low two lanes, UMULL2 for the high two), whose high halves, the
// quotients, SHRN and SHRN2 narrow back into four lanes; v's sign s = v>>31 is applied as
// (a^s) - s. The mask's four bits for the lanes are their non-zero tests (CMTST) weighed 1, 2, 4,
// 8 and added up (ADDV).
//
// Go's assembler has none of ABS, UMULL, SHRN, SSHR, vector SUB, CMTST or ADDV, so those are
// encoded as WORDs from register numbers (the Arm A64 encodings; SSHR4S and SUB4S as in
// fdct_arm64.s).
// Registers: V0 v, V1 n, V2 half, V3 recip, V4 V5 the products, V6 the quotients, V7 the sign,
// V8 the lanes' bits, V31 the weights.

#define ABS4S(d, n) WORD $(0x4EA0B800 | ((n)<<5) | (d))
#define UMULL2S(d, n, m) WORD $(0x2EA0C000 | ((m)<<16) | ((n)<<5) | (d))
#define UMULL24S(d, n, m) WORD $(0x6EA0C000 | ((m)<<16) | ((n)<<5) | (d))
#define SHRN2S32(d, n) WORD $(0x0F208400 | ((n)<<5) | (d))
#define SHRN24S32(d, n) WORD $(0x4F208400 | ((n)<<5) | (d))
#define SSHR4S(d, n, s) WORD $(0x4F000400 | ((64-(s))<<16) | ((n)<<5) | (d))
#define SUB4S(d, n, m) WORD $(0x6EA08400 | ((m)<<16) | ((n)<<5) | (d))
#define CMTST4S(d, n, m) WORD $(0x4EA08C00 | ((m)<<16) | ((n)<<5) | (d))
#define ADDV4S(d, n) WORD $(0x4EB1B800 | ((n)<<5) | (d))

TEXT ·quantizeSIMD(SB), NOSPLIT, $0-32
	MOVD b+0(FP), R0
	MOVD recip+8(FP), R1
	MOVD half+16(FP), R2
	MOVD $0x0000000200000001, R6
	MOVD $0x0000000800000004, R7
	VMOV R6, V31.D[0]
	VMOV R7, V31.D[1]
	MOVD $0, R3 // the mask
	MOVD $0, R4 // the lanes' bit offset: 0, 4, ..., 60
loop:
	VLD1 (R0), [V0.S4]
	ABS4S(1, 0)
	VLD1.P 16(R2), [V2.S4]
	VADD V2.S4, V1.S4, V1.S4
	VLD1.P 16(R1), [V3.S4]
	UMULL2S(4, 1, 3)
	UMULL24S(5, 1, 3)
	SHRN2S32(6, 4)
	SHRN24S32(6, 5)
	SSHR4S(7, 0, 31)
	VEOR V7.B16, V6.B16, V6.B16
	SUB4S(6, 6, 7)
	VST1.P [V6.S4], 16(R0)
	CMTST4S(8, 6, 6)
	VAND V31.B16, V8.B16, V8.B16
	ADDV4S(8, 8)
	VMOV V8.S[0], R5
	LSL R4, R5, R5
	ORR R5, R3, R3
	ADD $4, R4
	CMP $64, R4
	BLT loop
	MOVD R3, ret+24(FP)
	RET
