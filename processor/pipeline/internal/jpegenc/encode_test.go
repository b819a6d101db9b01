package jpegenc

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// phoneDir holds real phone photos beside the repository (../shared/samples/phone; never
// copied in). Tests that want real texture use them when present.
const phoneDir = "../../../../../shared/samples/phone"

// ratios are every chroma layout image.YCbCr has.
var ratios = []image.YCbCrSubsampleRatio{
	image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
	image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
}

// fill sets every sample of the images' planes (or pixels) from kind: "noise" (large
// coefficients of both signs, many 0xff bytes in the stream), "smooth" (mostly zero AC
// coefficients, long runs), "flat" (nothing but DC) or "edges" (runs of 16 and more zeros
// between non-zero coefficients: ZRL codes).
func fill(pix []byte, stride, w, h int, kind string, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 1))
	for y := range h {
		for x := range w {
			var v int
			switch kind {
			case "noise":
				v = r.IntN(256)
			case "smooth":
				v = 128 + int(60*float64(x)/float64(w+1)) - int(40*float64(y)/float64(h+1)) + int(seed%7)
			case "flat":
				v = int(seed * 37 % 256)
			case "edges":
				if (x/3+y/5)%4 == 0 {
					v = 250
				} else {
					v = 5
				}
			}
			pix[y*stride+x] = byte(v)
		}
	}
}

func newYCbCr(r image.Rectangle, ratio image.YCbCrSubsampleRatio, kind string, seed uint64) *image.YCbCr {
	m := image.NewYCbCr(r, ratio)
	fill(m.Y, m.YStride, r.Dx(), r.Dy(), kind, seed)
	cw, ch := m.CStride, len(m.Cb)/max(m.CStride, 1)
	fill(m.Cb, m.CStride, cw, ch, kind, seed+1)
	fill(m.Cr, m.CStride, cw, ch, kind, seed+2)
	return m
}

func newRGBA(r image.Rectangle, kind string, seed uint64) *image.RGBA {
	m := image.NewRGBA(r)
	fill(m.Pix, m.Stride, 4*r.Dx(), r.Dy(), kind, seed)
	for i := 3; i < len(m.Pix); i += 4 {
		m.Pix[i] = 0xff
	}
	return m
}

func newGray(r image.Rectangle, kind string, seed uint64) *image.Gray {
	m := image.NewGray(r)
	fill(m.Pix, m.Stride, r.Dx(), r.Dy(), kind, seed)
	return m
}

// same fails t unless Encode writes exactly what image/jpeg.Encode writes for m at quality q,
// and Append appends it.
func same(t *testing.T, m image.Image, q int) {
	t.Helper()
	var want, got bytes.Buffer
	if err := jpeg.Encode(&want, m, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	if err := Encode(&got, m, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		w, g := want.Bytes(), got.Bytes()
		i := 0
		for i < min(len(w), len(g)) && w[i] == g[i] {
			i++
		}
		t.Fatalf("%T %v q%d: %d bytes, image/jpeg %d; first difference at byte %d", m, m.Bounds(), q, len(g), len(w), i)
	}
	// Append keeps what dst held and adds the same bytes after it.
	prefix := []byte("kept")
	app, err := Append(prefix, m, &jpeg.Options{Quality: q})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(app, append([]byte("kept"), want.Bytes()...)) {
		t.Fatalf("%T %v q%d: Append gave %d bytes, want 4 + %d", m, m.Bounds(), q, len(app), want.Len())
	}
}

// TestEncodeMatchesImageJPEG compares Encode's output with image/jpeg's, byte for byte, for
// every image type with a fast path, every chroma layout, sizes on and off the 8 and 16 pixel
// grid (the edge MCUs repeat border pixels), odd and even origins (the 4:2:0 fast path needs
// an even one) and qualities from 1 to 100.
func TestEncodeMatchesImageJPEG(t *testing.T) {
	sizes := []image.Point{{1, 1}, {2, 3}, {8, 8}, {9, 7}, {16, 16}, {17, 15}, {31, 33}, {48, 32}, {67, 45}}
	origins := []image.Point{{0, 0}, {1, 3}, {2, 4}, {-5, -2}}
	kinds := []string{"noise", "smooth", "flat", "edges"}
	qualities := []int{1, 25, 50, 75, 82, 95, 100}
	var n int
	for _, sz := range sizes {
		for _, o := range origins {
			r := image.Rectangle{o, o.Add(sz)}
			for ki, kind := range kinds {
				seed := uint64(sz.X*1000 + sz.Y*10 + ki)
				q := qualities[(sz.X+sz.Y+ki+o.X+len(qualities))%len(qualities)]
				for _, ratio := range ratios {
					same(t, newYCbCr(r, ratio, kind, seed), q)
				}
				same(t, newRGBA(r, kind, seed), q)
				same(t, newGray(r, kind, seed), q)
				n += len(ratios) + 2
			}
		}
	}
	for _, q := range []int{-3, 0, 1, 2, 10, 49, 50, 51, 82, 99, 100, 101} {
		r := image.Rect(0, 0, 40, 24)
		same(t, newYCbCr(r, image.YCbCrSubsampleRatio444, "noise", uint64(q+10)), q)
		same(t, newYCbCr(r, image.YCbCrSubsampleRatio420, "smooth", uint64(q+10)), q)
		n += 2
	}
	t.Logf("%d images the same bytes as image/jpeg", n)
}

// TestEncodeSubImages encodes views into a larger image, whose rows are longer than the view
// (a stride the fast paths must follow) and whose origin is anywhere.
func TestEncodeSubImages(t *testing.T) {
	big := image.Rect(0, 0, 70, 50)
	views := []image.Rectangle{image.Rect(3, 5, 51, 37), image.Rect(16, 16, 48, 48), image.Rect(1, 1, 70, 50)}
	for _, v := range views {
		for _, ratio := range ratios {
			same(t, newYCbCr(big, ratio, "noise", 3).SubImage(v), 82)
		}
		same(t, newRGBA(big, "noise", 4).SubImage(v), 82)
		same(t, newGray(big, "smooth", 5).SubImage(v), 82)
	}
}

// TestEncodeOtherImages: images without a fast path go to image/jpeg, and what it refuses
// is refused.
func TestEncodeOtherImages(t *testing.T) {
	n := image.NewNRGBA(image.Rect(0, 0, 20, 10))
	for i := range n.Pix {
		n.Pix[i] = byte(i * 7)
	}
	same(t, n, 82)
	p := image.NewPaletted(image.Rect(0, 0, 9, 9), color.Palette{color.Black, color.White})
	p.Pix[3] = 1
	same(t, p, 82)
	if err := Encode(new(bytes.Buffer), image.NewGray(image.Rect(0, 0, 1<<16, 1)), nil); err == nil {
		t.Error("a 65536 pixel wide image was encoded")
	}
	same(t, image.NewRGBA(image.Rect(0, 0, 0, 0)), 82)
}

// TestEncodePhoto encodes real camera texture (crops of a phone photo, at thumbnail size) in
// the layouts the pipeline hands over.
func TestEncodePhoto(t *testing.T) {
	m := photo(t)
	for _, r := range []image.Rectangle{image.Rect(0, 0, 1280, 720), image.Rect(1001, 777, 1321, 957)} {
		for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio420} {
			same(t, relayout(m, r, ratio), 82)
		}
		same(t, toRGBA(m, r), 82)
	}
}

// TestReciprocalDivision checks the quantization's multiply-and-shift against division for
// every divisor the tables can hold (8 times 1..255) and every dividend up to 2^18, beyond
// anything fdct produces; so does the assembly's 32-bit reciprocal32.
func TestReciprocalDivision(t *testing.T) {
	for q := uint32(1); q <= 255; q++ {
		d := 8 * q
		m, m32 := reciprocal(d), uint64(reciprocal32(d))
		for n := uint64(0); n < 1<<18; n++ {
			if got, want := (n*m)>>recipShift, n/uint64(d); got != want {
				t.Fatalf("%d/%d: %d, want %d", n, d, got, want)
			}
			if got, want := (n*m32)>>32, n/uint64(d); got != want {
				t.Fatalf("%d/%d by reciprocal32: %d, want %d", n, d, got, want)
			}
		}
	}
}

// FuzzEncode compares Encode with image/jpeg on images built from the fuzzer's bytes.
func FuzzEncode(f *testing.F) {
	f.Add([]byte{0, 17, 9, 82, 1, 2, 3, 255, 255, 0, 128})
	f.Add([]byte{2, 40, 33, 5, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{7, 3, 60, 100, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 4 {
			return
		}
		kind, w, h, q := int(data[0]), 1+int(data[1])%80, 1+int(data[2])%80, int(data[3])
		pix := data[4:]
		r := image.Rect(int(data[0]>>4)%3, 0, 0, 0)
		r.Max = r.Min.Add(image.Pt(w, h))
		var m image.Image
		at := func(i int) byte {
			if len(pix) == 0 {
				return 0
			}
			return pix[i%len(pix)]
		}
		switch kind % 8 {
		case 6:
			g := image.NewGray(r)
			for i := range g.Pix {
				g.Pix[i] = at(i)
			}
			m = g
		case 7:
			c := image.NewRGBA(r)
			for i := range c.Pix {
				c.Pix[i] = at(i)
			}
			m = c
		default:
			y := image.NewYCbCr(r, ratios[kind%8])
			for i := range y.Y {
				y.Y[i] = at(i)
			}
			for i := range y.Cb {
				y.Cb[i], y.Cr[i] = at(3*i+1), at(5*i+2)
			}
			m = y
		}
		same(t, m, q)
	})
}

// photo decodes a real phone photo, or skips the test.
func photo(tb testing.TB) *image.YCbCr {
	tb.Helper()
	name := filepath.Join(phoneDir, "pixel3axl_motionphoto.jpg")
	data, err := os.ReadFile(name)
	if err != nil {
		tb.Skipf("no %s: the real phone samples live in ../shared/samples/phone beside the repository (%v)", name, err)
	}
	m, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	y, ok := m.(*image.YCbCr)
	if !ok {
		tb.Fatalf("%s decodes to %T", name, m)
	}
	return y
}

// relayout copies the r part of m into a new image with the given chroma layout, as the
// pipeline's box shrink hands over 4:4:4 and the decoder and the Lanczos resize 4:2:0.
func relayout(m *image.YCbCr, r image.Rectangle, ratio image.YCbCrSubsampleRatio) *image.YCbCr {
	dst := image.NewYCbCr(image.Rect(0, 0, r.Dx(), r.Dy()), ratio)
	for y := range r.Dy() {
		for x := range r.Dx() {
			sx, sy := r.Min.X+x, r.Min.Y+y
			dst.Y[dst.YOffset(x, y)] = m.Y[m.YOffset(sx, sy)]
			dst.Cb[dst.COffset(x, y)] = m.Cb[m.COffset(sx, sy)]
			dst.Cr[dst.COffset(x, y)] = m.Cr[m.COffset(sx, sy)]
		}
	}
	return dst
}

func toRGBA(m *image.YCbCr, r image.Rectangle) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := range r.Dy() {
		for x := range r.Dx() {
			dst.Set(x, y, m.At(r.Min.X+x, r.Min.Y+y))
		}
	}
	return dst
}

// BenchmarkEncode times image/jpeg and Encode (with the transform's assembly where there is one,
// and without: jpegenc-go) on the same images, side by side: the two
// thumbnail sizes in 4:4:4 (as the pipeline's box shrink hands them over; its Lanczos resize
// hands over 4:2:0, the layout of a 12 MP image below), an RGBA thumbnail
// (a PNG or GIF source) and a 12 MP 4:2:0 image (a converted HEIC original). Real camera
// texture when ../shared/samples/phone is present, else a smooth synthetic picture.
func BenchmarkEncode(b *testing.B) {
	var src *image.YCbCr
	if fileExists(filepath.Join(phoneDir, "pixel3axl_motionphoto.jpg")) {
		src = photo(b)
	} else {
		b.Logf("no %s: synthetic images instead of a real photo's texture", phoneDir)
		src = newYCbCr(image.Rect(0, 0, 4032, 3024), image.YCbCrSubsampleRatio420, "smooth", 1)
	}
	cases := []struct {
		name string
		img  image.Image
	}{
		{"1280x720/ycbcr444", relayout(src, image.Rect(0, 0, 1280, 720), image.YCbCrSubsampleRatio444)},
		{"320x180/ycbcr444", relayout(src, image.Rect(1000, 1000, 1320, 1180), image.YCbCrSubsampleRatio444)},
		{"1280x720/rgba", toRGBA(src, image.Rect(0, 0, 1280, 720))},
		{fmt.Sprintf("%dx%d/ycbcr420", src.Rect.Dx(), src.Rect.Dy()), src},
	}
	for _, c := range cases {
		for _, enc := range []struct {
			name string
			fn   func(*bytes.Buffer, image.Image, *jpeg.Options) error
		}{
			{"image-jpeg", func(w *bytes.Buffer, m image.Image, o *jpeg.Options) error { return jpeg.Encode(w, m, o) }},
			{"jpegenc", func(w *bytes.Buffer, m image.Image, o *jpeg.Options) error { return Encode(w, m, o) }},
			// The same without the transform's assembly (fdctGo), where there is one.
			{"jpegenc-go", func(w *bytes.Buffer, m image.Image, o *jpeg.Options) error {
				saved := useSIMD
				useSIMD = false
				defer func() { useSIMD = saved }()
				return Encode(w, m, o)
			}},
		} {
			b.Run(c.name+"/"+enc.name, func(b *testing.B) {
				var buf bytes.Buffer
				px := c.img.Bounds().Dx() * c.img.Bounds().Dy()
				b.SetBytes(int64(px))
				for b.Loop() {
					buf.Reset()
					if err := enc.fn(&buf, c.img, &jpeg.Options{Quality: 82}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}
