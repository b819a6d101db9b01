package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"slices"
	"sync"

	"github.com/disintegration/imaging"

	"medicpx/processor/pipeline/internal/jpegenc"
	"medicpx/shared/imagepolicy"
)

// JPEGQuality of thumbnails: visually clean at thumbnail sizes, about half the bytes of 95.
const JPEGQuality = 82

// thumbnails makes one thumbnail per imagepolicy.ThumbnailSizes (see thumbnailPixels) and
// encodes each.
func thumbnails(img image.Image, srcW, srcH, orientation int) ([]Thumbnail, error) {
	transparent := !isOpaque(img)
	pics := thumbnailPixels(img, srcW, srcH, orientation)
	// Each picture is encoded on its own goroutine (a single upload's encodes use both cores).
	thumbs := make([]Thumbnail, len(pics))
	errs := make([]error, len(pics))
	var wg sync.WaitGroup
	for i, p := range pics {
		if i > 0 && pics[i-1].img == p.img {
			continue // never upscaled: a small source gives the same picture for every size
		}
		wg.Go(func() {
			if thumbs[i], errs[i] = encode(p.img, transparent); errs[i] != nil {
				errs[i] = fmt.Errorf("thumbnail %d: %w", p.size, errs[i])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i, p := range pics {
		if i > 0 && pics[i-1].img == p.img {
			thumbs[i] = thumbs[i-1]
		}
		thumbs[i].Size = p.size
	}
	// Callers expect the order of imagepolicy.ThumbnailSizes.
	slices.SortFunc(thumbs, func(a, b Thumbnail) int {
		return slices.Index(imagepolicy.ThumbnailSizes, a.Size) - slices.Index(imagepolicy.ThumbnailSizes, b.Size)
	})
	return thumbs, nil
}

// sizedPixels is one thumbnail before encoding: an *image.NRGBA, or the decoder's *image.YCbCr
// when that is already the thumbnail (then it is encoded without a conversion to RGB and back).
type sizedPixels struct {
	size int // the longest-edge target
	img  image.Image
}

// thumbnailPixels resizes img to every imagepolicy.ThumbnailSizes, largest first, each smaller
// one from the previous result so the full-size image is read once. Orientation (the EXIF value,
// 1..8) is applied to the small image, where it costs almost nothing. Where a size would not
// shrink the previous picture, the same image is returned again.
//
// img is the decoded srcW x srcH image, possibly already reduced by the decoder (JPEG: see
// jpegscale): thumbnail sizes come from the source's dimensions, so they are the same whichever
// way it was decoded, and the pixels from img.
func thumbnailPixels(img image.Image, srcW, srcH, orientation int) []sizedPixels {
	sizes := slices.Clone(imagepolicy.ThumbnailSizes)
	slices.SortFunc(sizes, func(a, b int) int { return b - a })

	b := img.Bounds()
	sw, sh := b.Dx(), b.Dy()
	dispW, dispH := srcW, srcH
	if swapsAxes(orientation) {
		dispW, dispH = srcH, srcW
	}
	if y, ok := img.(*image.YCbCr); ok {
		return thumbnailPlanes(y, dispW, dispH, orientation, sizes)
	}

	// The largest thumbnail, in stored orientation: an integer box shrink that keeps at least the
	// target size (cheap, reads every source pixel once, no full-size copy), then a Lanczos step
	// for the remaining factor of less than two.
	tw, th := fit(srcW, srcH, sizes[0])
	k := max(1, min(sw/tw, sh/th))
	n := shrink(img, k)
	if n.Rect.Dx() != tw || n.Rect.Dy() != th {
		n = imaging.Resize(n, tw, th, imaging.Lanczos)
	}
	var cur image.Image = orient(n, orientation)

	pics := make([]sizedPixels, 0, len(sizes))
	for _, size := range sizes {
		w, h := fit(dispW, dispH, size)
		if cb := cur.Bounds(); w != cb.Dx() || h != cb.Dy() {
			// As Pillow's thumbnail (reducing_gap 2): a box shrink by the integer factor that
			// leaves at least twice the target, then Lanczos, which then reads a quarter of
			// the pixels or fewer.
			n := cur.(*image.NRGBA)
			if k := min(cb.Dx()/w, cb.Dy()/h) / 2; k > 1 {
				n = shrink(n, k)
			}
			cur = imaging.Resize(n, w, h, imaging.Lanczos)
		}
		pics = append(pics, sizedPixels{size, cur})
	}
	return pics
}

// thumbnailPlanes is thumbnailPixels for a YCbCr image (a JPEG), on its planes (see planar.go):
// the same box shrinks and Lanczos steps, in stored orientation; each result is oriented as it
// is handed out, and stays YCbCr when upright.
func thumbnailPlanes(src *image.YCbCr, dispW, dispH, orientation int, sizes []int) []sizedPixels {
	cur := src
	pics := make([]sizedPixels, 0, len(sizes))
	var last image.Image
	for i, size := range sizes {
		w, h := fit(dispW, dispH, size)
		if swapsAxes(orientation) {
			w, h = h, w // stored orientation
		}
		if cb := cur.Rect; w != cb.Dx() || h != cb.Dy() {
			// The largest: boxes to at least the target, Lanczos for the rest (less than 2x).
			// The others: boxes to at least twice the target, then Lanczos, as Pillow does.
			k := min(cb.Dx()/w, cb.Dy()/h)
			if i > 0 {
				k /= 2
			}
			if k > 1 {
				cur = shrinkPlanes(cur, k)
			}
			if cb := cur.Rect; w != cb.Dx() || h != cb.Dy() {
				cur = resizePlanes(cur, w, h)
			}
			last = nil
		}
		if last == nil {
			last = cur
			if orientation > 1 {
				last = orient(toNRGBA(cur), orientation)
			}
		}
		pics = append(pics, sizedPixels{size, last})
	}
	return pics
}

// fit scales w x h so that its longest edge is at most size, never up.
func fit(w, h, size int) (int, int) {
	if w <= size && h <= size {
		return w, h
	}
	if w >= h {
		return size, max(1, (h*size+w/2)/w)
	}
	return max(1, (w*size+h/2)/h), size
}

func swapsAxes(orientation int) bool { return orientation >= 5 && orientation <= 8 }

// orient turns an image stored with an EXIF orientation into the upright one.
func orient(img *image.NRGBA, orientation int) *image.NRGBA {
	switch orientation {
	case 2:
		return imaging.FlipH(img)
	case 3:
		return imaging.Rotate180(img)
	case 4:
		return imaging.FlipV(img)
	case 5:
		return imaging.Transpose(img)
	case 6:
		return imaging.Rotate270(img) // 270° counter-clockwise: a quarter turn clockwise
	case 7:
		return imaging.Transverse(img)
	case 8:
		return imaging.Rotate90(img)
	}
	return img
}

func isOpaque(img image.Image) bool {
	if o, ok := img.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if _, _, _, a := img.At(x, y).RGBA(); a != 0xffff {
				return false
			}
		}
	}
	return true
}

func encode(img image.Image, transparent bool) (Thumbnail, error) {
	b := img.Bounds()
	t := Thumbnail{Width: b.Dx(), Height: b.Dy()}
	if m, ok := img.(*image.NRGBA); ok {
		if transparent {
			t.Ext, t.ContentType = "png", "image/png"
			var buf bytes.Buffer
			if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, m); err != nil {
				return t, err
			}
			t.Data = buf.Bytes()
			return t, nil
		}
		// Every pixel is opaque, so the NRGBA bytes are also valid premultiplied RGBA, which
		// image/jpeg encodes on its fast path instead of calling At per pixel.
		img = &image.RGBA{Pix: m.Pix, Stride: m.Stride, Rect: m.Rect}
	}
	// An *image.RGBA or the decoder's *image.YCbCr: jpegenc's fast paths (image/jpeg's bytes).
	t.Ext, t.ContentType = "jpg", "image/jpeg"
	var err error
	t.Data, err = jpegenc.Append(nil, img, &jpeg.Options{Quality: JPEGQuality})
	return t, err
}

// shrink averages k x k boxes (partial at the right and bottom edges) into an 8-bit NRGBA image.
// It reads the source in its own layout, row by row, so no full-size converted copy is made.
func shrink(img image.Image, k int) *image.NRGBA {
	b := img.Bounds()
	dw, dh := (b.Dx()+k-1)/k, (b.Dy()+k-1)/k
	dst := image.NewNRGBA(image.Rect(0, 0, dw, dh))
	if src, ok := img.(*image.YCbCr); ok {
		shrinkYCbCr(dst, src, k)
	} else {
		shrinkRGBA(dst, img, k)
	}
	return dst
}

// shrinkYCbCr averages in YCbCr, which is linear in RGB (shrinkPlanes: the box sums stay on the
// planes' bytes), and converts once per output pixel.
func shrinkYCbCr(dst *image.NRGBA, src *image.YCbCr, k int) {
	p := shrinkPlanes(src, k) // 4:4:4, so one offset serves all three planes
	for y := range dst.Rect.Dy() {
		row := dst.Pix[y*dst.Stride:]
		for x := range dst.Rect.Dx() {
			i := y*p.YStride + x
			r, g, b := color.YCbCrToRGB(p.Y[i], p.Cb[i], p.Cr[i])
			q := row[4*x : 4*x+4 : 4*x+4]
			q[0], q[1], q[2], q[3] = r, g, b, 0xff
		}
	}
}

// shrinkRGBA averages premultiplied 16-bit RGBA, so transparent pixels do not bleed their colour
// and 16-bit sources keep their precision until the final rounding.
func shrinkRGBA(dst *image.NRGBA, img image.Image, k int) {
	b := img.Bounds()
	sw, sh := b.Dx(), b.Dy()
	dw, dh := dst.Rect.Dx(), dst.Rect.Dy()
	scan := rowScanner(img)
	line := make([]uint32, 4*sw)
	sums := make([]uint32, 4*dw)
	for oy := range dh {
		clear(sums)
		y0, y1 := oy*k, min(oy*k+k, sh)
		for y := y0; y < y1; y++ {
			scan(b.Min.Y+y, line)
			for x := range sw {
				s := sums[4*(x/k) : 4*(x/k)+4 : 4*(x/k)+4]
				p := line[4*x : 4*x+4 : 4*x+4]
				s[0] += p[0]
				s[1] += p[1]
				s[2] += p[2]
				s[3] += p[3]
			}
		}
		row := dst.Pix[oy*dst.Stride:]
		for ox := range dw {
			n := uint32((y1 - y0) * (min(ox*k+k, sw) - ox*k))
			s := sums[4*ox : 4*ox+4 : 4*ox+4]
			a := (s[3] + n/2) / n
			p := row[4*ox : 4*ox+4 : 4*ox+4]
			if a == 0 {
				p[0], p[1], p[2], p[3] = 0, 0, 0, 0
				continue
			}
			for c := range 3 {
				v := (s[c] + n/2) / n // premultiplied, 16-bit
				p[c] = uint8(min(0xffff, uint64(v)*0xffff/uint64(a)) >> 8)
			}
			p[3] = uint8(a >> 8)
		}
	}
}

// rowScanner returns a function that writes row y of img as premultiplied 16-bit RGBA into line
// (4 values a pixel). The common decoder outputs get a direct loop; the rest go through At.
func rowScanner(img image.Image) func(y int, line []uint32) {
	b := img.Bounds()
	switch src := img.(type) {
	case *image.NRGBA:
		return func(y int, line []uint32) {
			pix := src.Pix[src.PixOffset(b.Min.X, y):]
			for x := range b.Dx() {
				p := pix[4*x : 4*x+4 : 4*x+4]
				a := uint32(p[3])
				line[4*x] = uint32(p[0]) * a * 0x101 / 0xff
				line[4*x+1] = uint32(p[1]) * a * 0x101 / 0xff
				line[4*x+2] = uint32(p[2]) * a * 0x101 / 0xff
				line[4*x+3] = a * 0x101
			}
		}
	case *image.RGBA:
		return func(y int, line []uint32) {
			pix := src.Pix[src.PixOffset(b.Min.X, y):]
			for i := range 4 * b.Dx() {
				line[i] = uint32(pix[i]) * 0x101
			}
		}
	case *image.Gray:
		return func(y int, line []uint32) {
			pix := src.Pix[src.PixOffset(b.Min.X, y):]
			for x := range b.Dx() {
				v := uint32(pix[x]) * 0x101
				line[4*x], line[4*x+1], line[4*x+2], line[4*x+3] = v, v, v, 0xffff
			}
		}
	case *image.Paletted:
		var lut [256][4]uint32 // indices past the palette stay transparent black
		for i, c := range src.Palette {
			r, g, bb, a := c.RGBA()
			lut[i] = [4]uint32{r, g, bb, a}
		}
		return func(y int, line []uint32) {
			pix := src.Pix[src.PixOffset(b.Min.X, y):]
			for x := range b.Dx() {
				copy(line[4*x:4*x+4], lut[pix[x]][:])
			}
		}
	case *image.CMYK:
		return func(y int, line []uint32) {
			pix := src.Pix[src.PixOffset(b.Min.X, y):]
			for x := range b.Dx() {
				p := pix[4*x : 4*x+4 : 4*x+4]
				r, g, bb := color.CMYKToRGB(p[0], p[1], p[2], p[3])
				line[4*x], line[4*x+1], line[4*x+2], line[4*x+3] = uint32(r)*0x101, uint32(g)*0x101, uint32(bb)*0x101, 0xffff
			}
		}
	case *image.Gray16:
		return func(y int, line []uint32) {
			pix := src.Pix[src.PixOffset(b.Min.X, y):]
			for x := range b.Dx() {
				v := uint32(pix[2*x])<<8 | uint32(pix[2*x+1])
				line[4*x], line[4*x+1], line[4*x+2], line[4*x+3] = v, v, v, 0xffff
			}
		}
	case *image.NRGBA64:
		return func(y int, line []uint32) {
			pix := src.Pix[src.PixOffset(b.Min.X, y):]
			for x := range b.Dx() {
				p := pix[8*x : 8*x+8 : 8*x+8]
				a := uint32(p[6])<<8 | uint32(p[7])
				for c := range 3 {
					line[4*x+c] = uint32(uint64(uint32(p[2*c])<<8|uint32(p[2*c+1])) * uint64(a) / 0xffff)
				}
				line[4*x+3] = a
			}
		}
	case *image.RGBA64:
		return func(y int, line []uint32) {
			pix := src.Pix[src.PixOffset(b.Min.X, y):]
			for i := range 4 * b.Dx() {
				line[i] = uint32(pix[2*i])<<8 | uint32(pix[2*i+1])
			}
		}
	}
	return func(y int, line []uint32) {
		for x := range b.Dx() {
			r, g, bb, a := img.At(b.Min.X+x, y).RGBA()
			line[4*x], line[4*x+1], line[4*x+2], line[4*x+3] = r, g, bb, a
		}
	}
}
