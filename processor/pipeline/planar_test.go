package pipeline

import (
	"bytes"
	"image"
	"math/rand/v2"
	"testing"
)

// TestHalvePlanesMatchesBoxes: shrinkPlanes' 2x2 fast paths (4:4:4, and 4:2:0 whose chroma passes
// through) make exactly what the general box loop makes, at even and odd sizes.
func TestHalvePlanesMatchesBoxes(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 2))
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio420} {
		for _, size := range []image.Point{{1, 1}, {1, 7}, {7, 1}, {2, 2}, {3, 3}, {16, 9}, {17, 10}, {37, 23}, {1280, 960}, {321, 241}} {
			src := image.NewYCbCr(image.Rect(0, 0, size.X, size.Y), ratio)
			for _, p := range [][]byte{src.Y, src.Cb, src.Cr} {
				for i := range p {
					p[i] = uint8(rng.Uint32())
				}
			}
			got := shrinkPlanes(src, 2)
			want := shrinkBoxes(image.NewYCbCr(got.Rect, image.YCbCrSubsampleRatio444), src, 2)
			if got.Rect != want.Rect {
				t.Fatalf("%v %v: %v; want %v", ratio, size, got.Rect, want.Rect)
			}
			for name, planes := range map[string][2][]byte{"Y": {got.Y, want.Y}, "Cb": {got.Cb, want.Cb}, "Cr": {got.Cr, want.Cr}} {
				if !bytes.Equal(planes[0], planes[1]) {
					t.Errorf("%v %v: plane %s differs from the box loop", ratio, size, name)
				}
			}
		}
	}
}

// BenchmarkShrinkPlanes halves a 1280x960 image (the 320 px thumbnail's first step) with the fast
// paths and with the general box loop, side by side.
func BenchmarkShrinkPlanes(b *testing.B) {
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio420} {
		src := image.NewYCbCr(image.Rect(0, 0, 1280, 960), ratio)
		for i := range src.Y {
			src.Y[i] = uint8(i * 7)
		}
		b.Run(ratio.String()+"/fast", func(b *testing.B) {
			for b.Loop() {
				shrinkPlanes(src, 2)
			}
		})
		b.Run(ratio.String()+"/boxes", func(b *testing.B) {
			for b.Loop() {
				shrinkBoxes(image.NewYCbCr(image.Rect(0, 0, 640, 480), image.YCbCrSubsampleRatio444), src, 2)
			}
		})
	}
}
