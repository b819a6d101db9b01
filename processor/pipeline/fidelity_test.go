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
// per sample on average (in 8-bit units) and at least thumbMinPSNR of the reference, compared as
// the JPEG encoder takes them: luma per pixel, chroma at 4:2:0 (compareEncoded). On the real phone
// photos this measures a worst mean difference of 0.48 and a worst PSNR of 51.5 dB (a 320 px
// thumbnail of a 12 MP photo: shrunk by boxes to twice its size, then by Lanczos, as Pillow
// does). Until the resize made its chroma at 4:2:0 (resample.Halved) the thumbnails were compared
// in RGB at full chroma: worst 0.49 and 49.8 dB then, and 0.34 and 52.9 dB for those 4:4:4
// pixels in this comparison. Storing the thumbnails at JPEG quality 82 costs more than either
// (mean 1.2 to 4.5 and PSNR 33 to 43 dB in RGB against the same reference, logged by the test as
// "as stored", and the same to 0.01 with either resize), and a full-resolution decode does nothing
// about it.
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
				mean, psnr := compareEncoded(p.img, want)
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

// compareEncoded compares two same-sized pictures as a JPEG encoder takes them: luma per pixel
// and chroma averaged over 2x2 squares (4:2:0), in JFIF's YCbCr, returning the mean absolute
// difference per sample (8-bit units) and the PSNR over all of them. A thumbnail's JPEG has
// 4:2:0 chroma whatever it was handed (jpegenc averages full chroma so), and resizePlanes makes
// it at that resolution directly; compared in RGB, its 8-bit chroma's rounding alone would count
// 1.4 to 1.8 times (a JPEG requantizes it far more coarsely). The reference is converted without
// rounding.
func compareEncoded(got image.Image, want *image.NRGBA) (mean, psnr float64) {
	if got.Bounds().Size() != want.Rect.Size() {
		return math.Inf(1), 0
	}
	a, b := planes420(got), planes420(want)
	var sum, sq float64
	for i := range a {
		d := a[i] - b[i]
		sum += math.Abs(d)
		sq += d * d
	}
	n := float64(len(a))
	return sum / n, 10 * math.Log10(255*255/(sq/n))
}

// planes420 is img's luma, one value a pixel row by row, followed by its Cb and Cr averaged over
// each 2x2 square (a partial one at the right or bottom edge averaging the pixels it has), as a
// JPEG encoder subsamples them. A 4:2:0 *image.YCbCr starting at (0, 0) has that chroma already:
// its samples are taken as they are.
func planes420(img image.Image) []float64 {
	r := img.Bounds()
	w, h := r.Dx(), r.Dy()
	cw, ch := (w+1)/2, (h+1)/2
	out := make([]float64, w*h+2*cw*ch)
	cb, cr, n := out[w*h:][:cw*ch], out[w*h+cw*ch:], make([]float64, cw*ch)
	m, planar := img.(*image.YCbCr)
	planar = planar && m.SubsampleRatio == image.YCbCrSubsampleRatio420 && r.Min == (image.Point{})
	for y := range h {
		for x := range w {
			c := y/2*cw + x/2
			if planar {
				ci := m.COffset(x, y)
				out[y*w+x], cb[c], cr[c], n[c] = float64(m.Y[m.YOffset(x, y)]), float64(m.Cb[ci]), float64(m.Cr[ci]), 1
				continue
			}
			r16, g16, b16, _ := img.At(r.Min.X+x, r.Min.Y+y).RGBA()
			R, G, B := float64(r16>>8), float64(g16>>8), float64(b16>>8)
			out[y*w+x] = 0.299*R + 0.587*G + 0.114*B
			cb[c] += -0.168736*R - 0.331264*G + 0.5*B + 128
			cr[c] += 0.5*R - 0.418688*G - 0.081312*B + 128
			n[c]++
		}
	}
	for c := range n {
		cb[c], cr[c] = cb[c]/n[c], cr[c]/n[c]
	}
	return out
}
