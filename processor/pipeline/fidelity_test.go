package pipeline

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"math"
	"testing"

	"github.com/disintegration/imaging"

	"medicpx/infra/testenv/phonesamples"
	"medicpx/processor/metastrip"
)

// Thumbnail fidelity: the pipeline decodes a large JPEG at 1/2, 1/4 or 1/8 scale straight from
// its coefficients (jpegscale) and shrinks by boxes before a last Lanczos step, where the
// reference decodes every pixel (image/jpeg), applies the EXIF orientation and resizes with
// Lanczos in one go. Each thumbnail's pixels, before encoding, must be within thumbMaxMeanDiff
// per RGB channel on average (in 8-bit units) and at least thumbMinPSNR of the reference. On the
// real phone photos this measured a worst mean difference of 0.49 and a worst PSNR of 49.8 dB
// (a 320 px thumbnail: shrunk by boxes to twice its size, then by Lanczos, as Pillow does).
// Storing the thumbnails at JPEG quality 82 costs more than that (mean 1.2 to 4.5 and PSNR 33 to
// 43 dB against the same reference, logged by the test), and a full-resolution decode does
// nothing about it.
const (
	thumbMaxMeanDiff = 0.6  // of 255
	thumbMinPSNR     = 49.0 // dB
)

// TestThumbnailsMatchFullDecode holds every thumbnail of every complete real phone photo to a
// full-resolution decode, oriented and resized, within the figures above. Four of the photos
// (2688 to 4080 px) are decoded reduced, the others at full size.
func TestThumbnailsMatchFullDecode(t *testing.T) {
	dir := phonesamples.Dir(t)
	reduced := 0
	for _, f := range phonesamples.Files {
		if f.Rejected != "" {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			primary := phonesamples.Read(t, dir, f)[:f.EOI]
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(primary))
			if err != nil {
				t.Fatal(err)
			}
			// What Run does, keeping the pixels before they are encoded.
			img, err := formats["image/jpeg"].decode(context.Background(), primary)
			if err != nil {
				t.Fatal(err)
			}
			if img.Bounds().Dx() < cfg.Width {
				reduced++
			}
			pics := thumbnailPixels(img, cfg.Width, cfg.Height, metastrip.Orientation(primary, "image/jpeg"))
			res, err := Run(primary, "jpg")
			if err != nil {
				t.Fatalf("Run: %v", err)
			}

			full, err := imaging.Decode(bytes.NewReader(primary), imaging.AutoOrientation(true))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range pics {
				pb := p.img.Bounds()
				want := imaging.Resize(full, pb.Dx(), pb.Dy(), imaging.Lanczos)
				mean, psnr := compareRGB(p.img, want)
				var stored Thumbnail
				for _, th := range res.Thumbnails {
					if th.Size == p.size {
						stored = th
					}
				}
				decoded, err := jpeg.Decode(bytes.NewReader(stored.Data))
				if err != nil {
					t.Fatalf("stored thumbnail %d: %v", p.size, err)
				}
				sMean, sPSNR := compareRGB(decoded, want)
				t.Logf("%d px (%dx%d, decoded at %dx%d): mean difference %.2f, PSNR %.1f dB; as stored %.2f, %.1f dB",
					p.size, pb.Dx(), pb.Dy(), img.Bounds().Dx(), img.Bounds().Dy(), mean, psnr, sMean, sPSNR)
				if mean > thumbMaxMeanDiff || psnr < thumbMinPSNR {
					t.Errorf("thumbnail %d: mean difference %.2f (at most %.1f), PSNR %.1f dB (at least %.0f)",
						p.size, mean, thumbMaxMeanDiff, psnr, thumbMinPSNR)
				}
			}
		})
	}
	if reduced < 4 {
		t.Errorf("only %d photos were decoded reduced: the test proves too little", reduced)
	}
}

// compareRGB returns the mean absolute difference per RGB channel of two same-sized images, in
// 8-bit units, and their PSNR.
func compareRGB(a image.Image, b *image.NRGBA) (mean, psnr float64) {
	r := b.Rect
	if a.Bounds().Size() != r.Size() {
		return math.Inf(1), 0
	}
	var sum, sq float64
	ab := a.Bounds()
	for y := range r.Dy() {
		for x := range r.Dx() {
			cr, cg, cb, _ := a.At(ab.Min.X+x, ab.Min.Y+y).RGBA()
			p := b.Pix[b.PixOffset(x, y):]
			for i, c := range []uint32{cr >> 8, cg >> 8, cb >> 8} {
				d := float64(c) - float64(p[i])
				sum += math.Abs(d)
				sq += d * d
			}
		}
	}
	n := float64(3 * r.Dx() * r.Dy())
	return sum / n, 10 * math.Log10(255*255/(sq/n))
}
