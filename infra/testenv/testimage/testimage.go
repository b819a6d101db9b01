// Package testimage draws the stand-in patient photo that tests and the smoke test upload, so
// none of them needs a committed file.
package testimage

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
)

// JPEG is a w×h photo-like JPEG (quality 85): a skin-toned gradient with a dark disc in the
// middle, like a lesion, so that a broken thumbnail is visible in a screenshot.
func JPEG(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(180 + x%60), uint8(120 + y/20), uint8(100 + (x+y)/40), 255})
		}
	}
	r := h / 8
	for y := h/2 - r; y < h/2+r; y++ {
		for x := w/2 - r; x < w/2+r; x++ {
			if (x-w/2)*(x-w/2)+(y-h/2)*(y-h/2) < r*r {
				img.Set(x, y, color.RGBA{140, 40, 50, 255})
			}
		}
	}
	var buf bytes.Buffer
	_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}) // cannot fail on a bytes.Buffer
	return buf.Bytes()
}
