package jpegenc

import (
	"math/rand/v2"
	"testing"
)

// TestFDCTSIMDMatchesGo: the assembly transform (where this build and machine have it) gives
// every coefficient fdctGo gives, on random blocks, on the extremes of the encoder's input range
// (its samples are 0..255, the DC level shift done inside the transform) and on patterns that
// drive each butterfly to its bounds.
func TestFDCTSIMDMatchesGo(t *testing.T) {
	if simdImpl == "" {
		t.Skip("no assembly in this build or on this CPU (purego tag, another GOARCH, or amd64 without AVX2): fdct is fdctGo")
	}
	var blocks []block
	var b block
	for _, v := range []int32{0, 255, 128, 1} {
		for i := range b {
			b[i] = v
		}
		blocks = append(blocks, b)
	}
	for i := range b { // checkerboards and stripes: the highest frequencies at full swing
		x, y := i%8, i/8
		b[i] = 255 * int32((x+y)%2)
	}
	blocks = append(blocks, b)
	for i := range b {
		b[i] = 255 * int32(i%2)
	}
	blocks = append(blocks, b)
	for i := range b {
		b[i] = 255 * int32((i/8)%2)
	}
	blocks = append(blocks, b)
	rng := rand.New(rand.NewPCG(7, 11))
	for range 100000 {
		for i := range b {
			switch rng.IntN(8) {
			case 0:
				b[i] = 0
			case 1:
				b[i] = 255
			default:
				b[i] = int32(rng.IntN(256))
			}
		}
		blocks = append(blocks, b)
	}
	for n, in := range blocks {
		want, got := in, in
		fdctGo(&want)
		fdctSIMD(&got)
		if got != want {
			t.Fatalf("block %d (%s): %v\nfdctGo gives %v", n, simdImpl, got, want)
		}
	}
}

// BenchmarkFDCT: the transform of one block, assembly (where there is one) and Go side by side.
// The calls are direct: through a function value the block would escape, and its allocation
// would be most of what is timed.
func BenchmarkFDCT(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	var in block
	for i := range in {
		in[i] = int32(rng.IntN(256))
	}
	for _, impl := range []string{simdImpl, "go"} {
		if impl == "" {
			continue
		}
		b.Run(impl, func(b *testing.B) {
			var x block
			for b.Loop() {
				x = in
				if impl == "go" {
					fdctGo(&x)
				} else {
					fdctSIMD(&x)
				}
			}
		})
	}
}
