package pipeline

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	_ "image/png"

	_ "golang.org/x/image/webp"

	"medicpx/processor/pipeline/internal/jpegtest"
)

func TestSniff(t *testing.T) {
	jpg := readFixture(t, "valid/orient6.jpg")
	png := readFixture(t, "valid/opaque.png")
	tests := []struct {
		name   string
		head   []byte
		ext    string
		want   string // MIME, or "" when rejected
		reason Reason
	}{
		{"jpeg as jpg", jpg, "jpg", "image/jpeg", ""},
		{"jpeg as JPEG", jpg, "JPEG", "image/jpeg", ""},
		{"png as png", png, ".png", "image/png", ""},
		{"png as jpg", png, "jpg", "", ReasonMismatch},
		{"jpeg as bmp", jpg, "bmp", "", ReasonUnsupported},
		{"text as png", []byte("hello, world"), "png", "", ReasonUnsupported},
		{"nothing", nil, "png", "", ReasonEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ, err := Sniff(tt.head, tt.ext)
			if tt.reason != "" {
				r, ok := AsRejected(err)
				if !ok || r.Reason != tt.reason {
					t.Fatalf("Sniff = %v, %v; want rejection %s", typ, err, tt.reason)
				}
				return
			}
			if err != nil || typ.MIME != tt.want {
				t.Fatalf("Sniff = %v, %v; want %s", typ, err, tt.want)
			}
		})
	}
}

// thumb is what a test expects of one thumbnail: its pixel size and encoding.
type thumb struct {
	w, h int
	ext  string
}

func TestRun(t *testing.T) {
	tests := []struct {
		file   string // under testdata/images; "" with data for generated input
		data   func() []byte
		reason Reason // "" for a valid image
		detail string // substring of the rejection's detail
		// valid images
		mime          string
		width, height int // as displayed
		frames        int
		thumbs        map[int]thumb // by target size
		check         func(t *testing.T, res *Result)
	}{
		{file: "valid/orient6.jpg", mime: "image/jpeg", width: 500, height: 800, frames: 1,
			thumbs: map[int]thumb{1280: {500, 800, "jpg"}, 320: {200, 320, "jpg"}}, check: checkUpright},
		{file: "valid/alpha.png", mime: "image/png", width: 120, height: 80, frames: 1,
			thumbs: map[int]thumb{1280: {120, 80, "png"}, 320: {120, 80, "png"}}, check: checkAlpha},
		{file: "valid/opaque.png", mime: "image/png", width: 200, height: 100, frames: 1,
			thumbs: map[int]thumb{1280: {200, 100, "jpg"}, 320: {200, 100, "jpg"}}},
		{file: "valid/still.gif", mime: "image/gif", width: 64, height: 48, frames: 1,
			thumbs: map[int]thumb{1280: {64, 48, "jpg"}, 320: {64, 48, "jpg"}}, check: centreColour(blue)},
		{file: "valid/animated.gif", mime: "image/gif", width: 64, height: 48, frames: 3,
			thumbs: map[int]thumb{1280: {64, 48, "jpg"}, 320: {64, 48, "jpg"}}, check: centreColour(red)},
		{file: "valid/lossy.webp", mime: "image/webp", width: 150, height: 100, frames: 1,
			thumbs: map[int]thumb{1280: {150, 100, "jpg"}, 320: {150, 100, "jpg"}}},
		{file: "valid/lossless.webp", mime: "image/webp", width: 75, height: 100, frames: 1,
			thumbs: map[int]thumb{1280: {75, 100, "png"}, 320: {75, 100, "png"}}},
		{file: "valid/cmyk.jpg", mime: "image/jpeg", width: 150, height: 103, frames: 1,
			thumbs: map[int]thumb{1280: {150, 103, "jpg"}, 320: {150, 103, "jpg"}}, check: checkCMYKColours},
		{file: "valid/16bit.png", mime: "image/png", width: 100, height: 60, frames: 1,
			thumbs: map[int]thumb{1280: {100, 60, "jpg"}, 320: {100, 60, "jpg"}},
			check:  centreColour(color.NRGBA{128, 64, 192, 255})},
		{file: "generated/small-first-frame.gif", data: smallFirstFrameGIF, mime: "image/gif", width: 64, height: 48, frames: 2,
			thumbs: map[int]thumb{1280: {64, 48, "png"}, 320: {64, 48, "png"}}, check: checkSmallFirstFrame},

		{file: "hostile/empty.jpg", reason: ReasonEmpty},
		{file: "hostile/too-large.jpg", data: tooLarge, reason: ReasonTooLarge},
		{file: "hostile/html.jpg", reason: ReasonUnsupported},
		{file: "hostile/svg.png", reason: ReasonUnsupported},
		{file: "hostile/pdf.jpg", reason: ReasonUnsupported, detail: "application/pdf"},
		{file: "hostile/elf.jpg", reason: ReasonUnsupported, detail: "executable"},
		{file: "hostile/png-as.jpg", reason: ReasonMismatch},
		{file: "hostile/truncated.jpg", reason: ReasonCorrupt},
		{file: "hostile/garbage.jpg", reason: ReasonCorrupt},
		{file: "hostile/trailing-zip.jpg", reason: ReasonTrailingData},
		{file: "hostile/bomb.png", reason: ReasonTooManyPixels},
		{file: "hostile/frames.gif", reason: ReasonTooComplex, detail: "2500 frames"}, // over MaxAnimationFrames
		{file: "hostile/broken-chunk.webp", reason: ReasonCorrupt},
		{file: "hostile/animated.webp", reason: ReasonAnimatedWebP, detail: "animated WebP"},
		{file: "hostile/scans.jpg", reason: ReasonTooComplex, detail: "scans"},
		{file: "hostile/apng.png", reason: ReasonAnimatedPNG},
		// The review's scan bomb as it was found: a DC scan, then 1,000 refinements of a
		// 7000x7000 image, 172-189 KB. The old decoder accepted it after 10-20 s of CPU.
		{file: "generated/scan-bomb.jpg", data: func() []byte { return jpegtest.Bomb(7000, 7000, 1000) }, reason: ReasonTooComplex},
		// The review's APNG: 5,000 frames of garbage behind a valid default image.
		{file: "generated/apng-5000.png", data: func() []byte { return makeAPNG(5000) }, reason: ReasonAnimatedPNG},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var data []byte
			if tt.data != nil {
				data = tt.data()
			} else {
				data = readFixture(t, tt.file)
			}
			res, err := Run(data, strings.TrimPrefix(filepath.Ext(tt.file), "."))
			if tt.reason != "" {
				r, ok := AsRejected(err)
				if !ok {
					t.Fatalf("Run = %+v, %v; want rejection %s", res, err, tt.reason)
				}
				if r.Reason != tt.reason || !strings.Contains(r.Detail, tt.detail) {
					t.Fatalf("rejected %s (%s); want %s containing %q", r.Reason, r.Detail, tt.reason, tt.detail)
				}
				return
			}
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.Type.MIME != tt.mime || res.Width != tt.width || res.Height != tt.height || res.Frames != tt.frames {
				t.Errorf("Result = %s %dx%d %d frames; want %s %dx%d %d frames",
					res.Type.MIME, res.Width, res.Height, res.Frames, tt.mime, tt.width, tt.height, tt.frames)
			}
			if _, _, err := image.Decode(bytes.NewReader(res.Original)); err != nil {
				t.Errorf("stripped original does not decode: %v", err)
			}
			if len(res.Thumbnails) != len(tt.thumbs) {
				t.Fatalf("%d thumbnails; want %d", len(res.Thumbnails), len(tt.thumbs))
			}
			for _, th := range res.Thumbnails {
				want, ok := tt.thumbs[th.Size]
				if !ok {
					t.Fatalf("unexpected thumbnail size %d", th.Size)
				}
				img, format, err := image.Decode(bytes.NewReader(th.Data))
				if err != nil {
					t.Fatalf("thumbnail %d does not decode: %v", th.Size, err)
				}
				got := thumb{img.Bounds().Dx(), img.Bounds().Dy(), map[string]string{"jpeg": "jpg", "png": "png"}[format]}
				if got != want || th.Width != want.w || th.Height != want.h || th.Ext != want.ext {
					t.Errorf("thumbnail %d = %+v (declared %dx%d %s); want %+v", th.Size, got, th.Width, th.Height, th.Ext, want)
				}
				if wantCT := "image/" + map[string]string{"jpg": "jpeg", "png": "png"}[want.ext]; th.ContentType != wantCT {
					t.Errorf("thumbnail %d content type %q; want %q", th.Size, th.ContentType, wantCT)
				}
			}
			if tt.check != nil {
				tt.check(t, res)
			}
		})
	}
}

func decodeThumb(t *testing.T, res *Result, size int) image.Image {
	t.Helper()
	for _, th := range res.Thumbnails {
		if th.Size == size {
			img, _, err := image.Decode(bytes.NewReader(th.Data))
			if err != nil {
				t.Fatal(err)
			}
			return img
		}
	}
	t.Fatalf("no %d thumbnail", size)
	return nil
}

func near(c color.Color, want color.NRGBA, tol int) bool {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	d := func(a, b uint8) bool { return int(a)-int(b) <= tol && int(b)-int(a) <= tol }
	return d(n.R, want.R) && d(n.G, want.G) && d(n.B, want.B) && d(n.A, want.A)
}

// checkUpright: the red square stored top-left must be displayed top-right, in both thumbnails.
func checkUpright(t *testing.T, res *Result) {
	for _, size := range []int{320, 1280} {
		img := decodeThumb(t, res, size)
		b := img.Bounds()
		corners := map[string]image.Point{
			"top-left": {b.Min.X + 5, b.Min.Y + 5}, "top-right": {b.Max.X - 6, b.Min.Y + 5},
			"bottom-left": {b.Min.X + 5, b.Max.Y - 6}, "bottom-right": {b.Max.X - 6, b.Max.Y - 6},
		}
		for name, p := range corners {
			isRed := near(img.At(p.X, p.Y), red, 40)
			if isRed != (name == "top-right") {
				t.Errorf("%d: %s corner red=%v (%v); the red square belongs top-right only", size, name, isRed, img.At(p.X, p.Y))
			}
		}
	}
}

// checkAlpha: transparent stays transparent and the opaque half keeps its colour.
func checkAlpha(t *testing.T, res *Result) {
	img := decodeThumb(t, res, 320)
	if _, _, _, a := img.At(10, 40).RGBA(); a != 0 {
		t.Errorf("left half alpha %d; want 0", a)
	}
	if c := img.At(100, 40); !near(c, green, 2) {
		t.Errorf("right half %v; want %v", c, green)
	}
}

func centreColour(want color.NRGBA) func(*testing.T, *Result) {
	return func(t *testing.T, res *Result) {
		for _, size := range []int{320, 1280} {
			img := decodeThumb(t, res, size)
			b := img.Bounds()
			if c := img.At(b.Dx()/2, b.Dy()/2); !near(c, want, 6) {
				t.Errorf("%d: centre %v; want %v", size, c, want)
			}
		}
	}
}

// checkCMYKColours compares the thumbnail's mean colour with image/jpeg's own CMYK rendering of
// the source: a wrong CMYK conversion (inverted Adobe values, ignored K) shifts it far off.
func checkCMYKColours(t *testing.T, res *Result) {
	src, err := jpeg.Decode(bytes.NewReader(readFixture(t, "valid/cmyk.jpg")))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := src.(*image.CMYK); !ok {
		t.Fatalf("fixture decodes to %T; want *image.CMYK", src)
	}
	want, got := meanColour(src), meanColour(decodeThumb(t, res, 320))
	for i := range want {
		if d := want[i] - got[i]; d > 4 || d < -4 {
			t.Errorf("mean colour %v; want %v (within 4)", got, want)
			break
		}
	}
}

func meanColour(img image.Image) [3]float64 {
	var sum [3]float64
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, _ := img.At(x, y).RGBA()
			sum[0] += float64(r >> 8)
			sum[1] += float64(g >> 8)
			sum[2] += float64(bb >> 8)
		}
	}
	n := float64(b.Dx() * b.Dy())
	return [3]float64{sum[0] / n, sum[1] / n, sum[2] / n}
}

// TestBombMemoryFlat: the 3.6-gigapixel PNG is refused from its header, having allocated almost
// nothing (a full decode would need 3.6 GB).
func TestBombMemoryFlat(t *testing.T) {
	data := readFixture(t, "hostile/bomb.png")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Run(data, "png")
	runtime.ReadMemStats(&after)
	if r, ok := AsRejected(err); !ok || r.Reason != ReasonTooManyPixels {
		t.Fatalf("Run = %v; want rejection too_many_pixels", err)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 16<<20 {
		t.Fatalf("allocated %d bytes rejecting the bomb; want < 16 MB", d)
	} else {
		t.Logf("allocated %d bytes", d)
	}
}

// TestShrinkMatchesFullConversion: the box shrink straight from YCbCr planes gives the colours of
// a conversion of every pixel followed by averaging, within rounding, for each subsampling.
func TestShrinkMatchesFullConversion(t *testing.T) {
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422} {
		src := image.NewYCbCr(image.Rect(0, 0, 37, 23), ratio)
		// In-gamut values, as a photo has: averaging and converting commute only without clamping.
		for i := range src.Y {
			src.Y[i] = uint8(80 + i%97)
		}
		for i := range src.Cb {
			src.Cb[i], src.Cr[i] = uint8(108+i%41), uint8(140-i%29)
		}
		const k = 4
		got := shrink(src, k)
		ref := image.NewNRGBA(src.Rect)
		for y := range 23 {
			for x := range 37 {
				ref.Set(x, y, src.At(x, y))
			}
		}
		want := shrink(ref, k) // the generic premultiplied path over converted pixels
		if got.Rect != want.Rect {
			t.Fatalf("%v: %v vs %v", ratio, got.Rect, want.Rect)
		}
		for i := range got.Pix {
			if d := int(got.Pix[i]) - int(want.Pix[i]); d > 3 || d < -3 {
				t.Fatalf("%v: byte %d = %d; want %d", ratio, i, got.Pix[i], want.Pix[i])
			}
		}
	}
}

// smallFirstFrameGIF: a 64x48 screen whose first frame is a 16x16 red square at (8, 8).
func smallFirstFrameGIF() []byte {
	frame := image.NewPaletted(image.Rect(8, 8, 24, 24), gifPalette) // all index 0: red
	g := &gif.GIF{
		Image:  []*image.Paletted{frame, palettedFill(64, 48, 1)},
		Delay:  []int{10, 10},
		Config: image.Config{Width: 64, Height: 48, ColorModel: gifPalette},
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// checkSmallFirstFrame: the frame lands where it was placed; the rest of the screen is clear.
func checkSmallFirstFrame(t *testing.T, res *Result) {
	img := decodeThumb(t, res, 320)
	if c := img.At(15, 15); !near(c, red, 2) {
		t.Errorf("inside the frame %v; want red", c)
	}
	if _, _, _, a := img.At(40, 30).RGBA(); a != 0 {
		t.Errorf("outside the frame alpha %d; want 0", a)
	}
}

// TestDecodeBudget: every format's decoder stops when the upload's decode budget is spent, and the
// upload is rejected as too complex; when the caller's context ends instead, the error is not a
// rejection, since the upload may be fine and must be tried again.
func TestDecodeBudget(t *testing.T) {
	files := []string{"valid/orient6.jpg", "valid/cmyk.jpg", "valid/opaque.png", "valid/16bit.png",
		"valid/still.gif", "valid/animated.gif", "valid/lossy.webp", "valid/lossless.webp"}
	for _, name := range files {
		data := readFixture(t, name)
		ext := strings.TrimPrefix(filepath.Ext(name), ".")
		t.Run(name, func(t *testing.T) {
			if _, err := Run(data, ext); err != nil {
				t.Fatalf("with the normal budget: %v", err)
			}

			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err := RunContext(ctx, data, ext)
			if _, rejected := AsRejected(err); rejected || !errors.Is(err, context.Canceled) {
				t.Errorf("caller's context cancelled: error %v; want context.Canceled, not a rejection", err)
			}

			defer func(b time.Duration) { decodeBudget = b }(decodeBudget)
			decodeBudget = 0
			_, err = Run(data, ext)
			if r, ok := AsRejected(err); !ok || r.Reason != ReasonTooComplex {
				t.Errorf("no budget: error %v; want a %s rejection", err, ReasonTooComplex)
			}
		})
	}
}

// TestAnimationLimits: an animation is refused from its block structure, before any frame is
// decoded, once it has more than MaxAnimationFrames frames or its frames times its screen come to
// more than MaxAnimationPixels, what a viewer's browser composites; stills and ordinary
// animations pass, up to the limits exactly.
func TestAnimationLimits(t *testing.T) {
	tests := []struct {
		name   string
		ext    string
		data   func() []byte
		reason Reason // "" for accepted
		detail string // substring of the rejection's detail
		frames int    // of an accepted one
	}{
		// Issue 16's bomb: 23 KB that cost a student's browser 650 MB and a core.
		{name: "1000 1x1 frames on 50 MP", data: func() []byte { return animatedGIF(10000, 5000, 1000, 1) },
			reason: ReasonTooComplex, detail: "1000 frames × 10000x5000 (50 MP) = 50000 MP, more than 200 MP"},
		{name: "5 frames on 50 MP", data: func() []byte { return animatedGIF(10000, 5000, 5, 1) },
			reason: ReasonTooComplex, detail: "5 frames × 10000x5000 (50 MP) = 250 MP"},
		{name: "4 frames on 50 MP is 200 MP", data: func() []byte { return animatedGIF(10000, 5000, 4, 1) }, frames: 4},
		{name: "500 frames on 800x500 is 200 MP", data: func() []byte { return animatedGIF(800, 500, 500, 1) }, frames: 500},
		{name: "500 frames on 800x501", data: func() []byte { return animatedGIF(800, 501, 500, 1) },
			reason: ReasonTooComplex, detail: "= 200.4 MP, more than 200 MP"},
		{name: "501 frames of 10x10", data: func() []byte { return animatedGIF(10, 10, 501, 10) },
			reason: ReasonTooComplex, detail: "501 frames, more than 500"},
		{name: "hostile/frames.gif", data: func() []byte { return readFixture(t, "hostile/frames.gif") },
			reason: ReasonTooComplex, detail: "2500 frames, more than 500"},
		{name: "most frames in 10 MiB", data: mostFramesGIF, reason: ReasonTooComplex, detail: "frames, more than 500"},
		// The frames' own areas are bounded lower, for what decoding them costs here
		// (MaxFramePixels, too_many_frames), but checked after the two bounds above.
		{name: "3 whole frames of 20 MP", data: func() []byte { return wholeFramesGIF(5000, 4000, 3) },
			reason: ReasonTooManyFrames},
		{name: "11 whole frames of 20 MP", data: func() []byte { return wholeFramesGIF(5000, 4000, 11) },
			reason: ReasonTooComplex, detail: "11 frames × 5000x4000 (20 MP) = 220 MP"},
		{name: "100 frames of 500x500", data: func() []byte { return animatedGIF(500, 500, 100, 500) }, frames: 100},
		{name: "still 50 MP", data: func() []byte { return animatedGIF(10000, 5000, 1, 1) }, frames: 1},
		// Animated WebP is refused whatever its size (ReasonAnimatedWebP), so the bound never
		// applies to it: its frames count as one, and the animation check, after the frame
		// limits, is what refuses it. Only a canvas over the pixel cap is refused before that.
		{name: "animated WebP: 5 frames on 50 MP", ext: "webp",
			data:   func() []byte { return must(animatedWebP(10000, 5000, 5)) },
			reason: ReasonAnimatedWebP},
		{name: "animated WebP: 1000 frames on 75x100", ext: "webp",
			data:   func() []byte { return must(animatedWebP(75, 100, 1000)) },
			reason: ReasonAnimatedWebP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, ext := tt.data(), tt.ext
			if ext == "" {
				ext = "gif"
			}
			res, err := Run(data, ext)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				if res.Frames != tt.frames {
					t.Errorf("%d frames; want %d", res.Frames, tt.frames)
				}
				return
			}
			r, ok := AsRejected(err)
			if !ok || r.Reason != tt.reason || !strings.Contains(r.Detail, tt.detail) {
				t.Fatalf("Run = %v; want rejection %s containing %q", err, tt.reason, tt.detail)
			}
		})
	}
}

// TestAnimationBombMemoryFlat: issue 16's GIF (1,000 one-pixel frames on a 50-megapixel screen,
// 23 KB) is refused having allocated almost nothing: no frame decoded, no screen drawn (50 MB).
func TestAnimationBombMemoryFlat(t *testing.T) {
	data := animatedGIF(10000, 5000, 1000, 1)
	if len(data) > 30_000 {
		t.Fatalf("the bomb is %d bytes; want about 23 KB", len(data))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := Run(data, "gif")
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if r, ok := AsRejected(err); !ok || r.Reason != ReasonTooComplex {
		t.Fatalf("Run = %v; want rejection too_complex", err)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
		t.Fatalf("allocated %d bytes rejecting the bomb; want < 1 MB", d)
	} else {
		t.Logf("%d bytes: allocated %d bytes in %v", len(data), d, elapsed)
	}
}

func must(data []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return data
}
