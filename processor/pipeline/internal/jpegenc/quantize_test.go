package jpegenc

import (
	"math/rand/v2"
	"testing"
)

// TestQuantizeSIMDMatchesGo: quantizeSIMD (the assembly where this build and machine have it,
// else quantizeNatGo) and zigzagMask give the coefficients and the mask quantizeGo gives, for both
// tables at qualities from 1 to 100, on random transforms of random pixels, on coefficients
// anywhere in ±2^17 (beyond anything fdct produces), and on the extremes.
func TestQuantizeSIMDMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	var blocks []block
	var b block
	for _, v := range []int32{0, 1, -1, 1 << 17, -(1 << 17), 4, -4} {
		for i := range b {
			b[i] = v
		}
		blocks = append(blocks, b)
	}
	for range 20000 {
		for i := range b {
			b[i] = int32(rng.IntN(256))
		}
		fdctGo(&b)
		blocks = append(blocks, b)
		for i := range b {
			switch rng.IntN(4) {
			case 0:
				b[i] = 0
			case 1:
				b[i] = int32(rng.IntN(33)) - 16
			default:
				b[i] = int32(rng.IntN(1<<18)) - 1<<17
			}
		}
		blocks = append(blocks, b)
	}
	for _, quality := range []int{1, 10, 50, 75, 82, 95, 100} {
		var e encoder
		e.init(quality)
		for q := range 2 {
			for n, in := range blocks {
				want, got, nat := in, in, in
				wantMask := quantizeGo(&want, &e.recip[q], &e.half[q])
				natMask := quantizeNatGo(&nat, &e.recipNat[q], &e.halfNat[q])
				gotNat := quantizeSIMD(&got, &e.recipNat[q], &e.halfNat[q])
				if nat != want || zigzagMask(natMask) != wantMask {
					t.Fatalf("quality %d table %d block %d: quantizeNatGo gives %v (mask %x)\nquantizeGo %v (mask %x)",
						quality, q, n, nat, zigzagMask(natMask), want, wantMask)
				}
				if got != nat || gotNat != natMask {
					t.Fatalf("quality %d table %d block %d (%q): quantizeSIMD gives %v (mask %x)\nquantizeNatGo %v (mask %x)",
						quality, q, n, simdImpl, got, gotNat, nat, natMask)
				}
			}
		}
	}
}

// BenchmarkQuantize: one block's quantization and mask, the assembly's (with zigzagMask, where
// there is assembly) and quantizeGo side by side, on the transform of random pixels.
func BenchmarkQuantize(b *testing.B) {
	var e encoder
	e.init(82)
	rng := rand.New(rand.NewPCG(1, 1))
	var in block
	for i := range in {
		in[i] = int32(rng.IntN(256))
	}
	fdctGo(&in)
	var sink uint64
	b.Run("simd", func(b *testing.B) {
		for b.Loop() {
			blk := in
			sink += zigzagMask(quantizeSIMD(&blk, &e.recipNat[0], &e.halfNat[0]))
		}
	})
	b.Run("go", func(b *testing.B) {
		for b.Loop() {
			blk := in
			sink += quantizeGo(&blk, &e.recip[0], &e.half[0])
		}
	})
	_ = sink
}
