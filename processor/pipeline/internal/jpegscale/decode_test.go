package jpegscale

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// go test ./processor/pipeline/internal/jpegscale -run TestSeedCorpus -update rewrites the
// FuzzDecodeScaled seed corpus.
var update = flag.Bool("update", false, "rewrite testdata/fuzz/FuzzDecodeScaled")

// goTestdata reads one of the JPEGs in the Go distribution's src/image/testdata: libjpeg-made
// files covering every subsampling ratio image/jpeg supports, progressive and baseline, gray,
// CMYK, RGB and restart intervals, all 150x103 (not a multiple of 8 or 16).
func goTestdata(t testing.TB, name string) []byte {
	t.Helper()
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "src/image/testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

var goFiles = []string{
	"video-001.jpeg",
	"video-001.progressive.jpeg",
	"video-001.221212.jpeg",
	"video-001.cmyk.jpeg",
	"video-001.rgb.jpeg",
	"video-001.restart2.jpeg",
	"video-001.separate.dc.progression.jpeg",
	"video-001.separate.dc.progression.progressive.jpeg",
	"video-001.q50.410.jpeg",
	"video-001.q50.410.progressive.jpeg",
	"video-001.q50.411.jpeg",
	"video-001.q50.411.progressive.jpeg",
	"video-001.q50.420.jpeg",
	"video-001.q50.420.progressive.jpeg",
	"video-001.q50.422.jpeg",
	"video-001.q50.422.progressive.jpeg",
	"video-001.q50.440.jpeg",
	"video-001.q50.440.progressive.jpeg",
	"video-001.q50.444.jpeg",
	"video-001.q50.444.progressive.jpeg",
	"video-005.gray.jpeg",
	"video-005.gray.q50.jpeg",
	"video-005.gray.q50.progressive.jpeg",
	"video-005.gray.q50.2x2.jpeg",
	"video-005.gray.q50.2x2.progressive.jpeg",
}

// picture paints a w x h test picture: smooth gradients with hard edges and fine stripes, so
// box averaging is exercised on both flat and busy blocks.
func picture(w, h int, gray bool) image.Image {
	var img interface {
		image.Image
		Set(x, y int, c color.Color)
	}
	if gray {
		img = image.NewGray(image.Rect(0, 0, w, h))
	} else {
		img = image.NewRGBA(image.Rect(0, 0, w, h))
	}
	for y := range h {
		for x := range w {
			r := uint8(x * 255 / max(1, w-1))
			g := uint8(y * 255 / max(1, h-1))
			b := uint8(0x30)
			if (x/3+y/5)%2 == 0 {
				b = 0xe0
			}
			if x > w/2 && y > h/2 {
				r, g = 255-r, 0
			}
			img.Set(x, y, color.RGBA{r, g, b, 255})
		}
	}
	return img
}

// encoded is a picture through Go's own encoder: baseline, 4:2:0 for colour, odd sizes.
func encoded(t testing.TB, w, h int, gray bool, quality int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, picture(w, h, gray), &jpeg.Options{Quality: quality}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type testFile struct {
	name string
	data []byte
}

func testFiles(t testing.TB) []testFile {
	var files []testFile
	for _, name := range goFiles {
		files = append(files, testFile{name, goTestdata(t, name)})
	}
	for _, c := range []struct {
		w, h int
		gray bool
	}{
		{1, 1, false}, {7, 5, false}, {17, 9, true}, {33, 65, false}, {250, 131, false},
		{601, 397, false}, {397, 601, true},
	} {
		files = append(files, testFile{fmt.Sprintf("go-%dx%d-gray=%v", c.w, c.h, c.gray), encoded(t, c.w, c.h, c.gray, 90)})
	}
	return files
}

// channels are the values of the pixel at (x, y) in img's own colour space (Y, Cb, Cr; gray;
// C, M, Y, K; R, G, B, A), where averaging is what the decoder does. Converting first would
// measure the conversion's non-linearity (CMYK's products, YCbCr's clamping), not the decoder.
func channels(img image.Image, x, y int) [4]uint8 {
	switch m := img.(type) {
	case *image.YCbCr:
		c := m.YCbCrAt(x, y)
		return [4]uint8{c.Y, c.Cb, c.Cr}
	case *image.Gray:
		return [4]uint8{m.GrayAt(x, y).Y}
	case *image.CMYK:
		c := m.CMYKAt(x, y)
		return [4]uint8{c.C, c.M, c.Y, c.K}
	case *image.RGBA:
		c := m.RGBAAt(x, y)
		return [4]uint8{c.R, c.G, c.B, c.A}
	}
	panic(fmt.Sprintf("unexpected %T", img))
}

// boxMeans is img averaged over s x s boxes (partial at the right and bottom edges), channel by
// channel: what DecodeScaled should give.
func boxMeans(img image.Image, s int) [][4]float64 {
	b := img.Bounds()
	dw, dh := (b.Dx()+s-1)/s, (b.Dy()+s-1)/s
	out := make([][4]float64, dw*dh)
	for oy := range dh {
		for ox := range dw {
			var sum [4]float64
			n := 0
			for y := oy * s; y < min(oy*s+s, b.Dy()); y++ {
				for x := ox * s; x < min(ox*s+s, b.Dx()); x++ {
					for i, v := range channels(img, b.Min.X+x, b.Min.Y+y) {
						sum[i] += float64(v)
					}
					n++
				}
			}
			for i := range sum {
				out[oy*dw+ox][i] = sum[i] / float64(n)
			}
		}
	}
	return out
}

// decodeEveryWay decodes data from memory (DecodeScaledBytes, which reads entropy-coded data
// eight bytes at a time), from a bytes.Reader and from a reader that gives one byte per Read
// (DecodeScaled, through a window refilled at every possible position), and fails the test
// unless all three give the same image or the same error.
func decodeEveryWay(t testing.TB, data []byte, minLong int) (image.Image, error) {
	t.Helper()
	img, err := DecodeScaledBytes(data, minLong)
	for name, r := range map[string]io.Reader{
		"bytes.Reader":  bytes.NewReader(data),
		"OneByteReader": iotest.OneByteReader(bytes.NewReader(data)),
	} {
		img2, err2 := DecodeScaled(r, minLong)
		if fmt.Sprint(err2) != fmt.Sprint(err) {
			t.Fatalf("DecodeScaled from a %s: error %v; from memory: %v", name, err2, err)
		}
		if !reflect.DeepEqual(img2, img) {
			t.Fatalf("DecodeScaled from a %s: the image differs from the one decoded from memory", name)
		}
	}
	return img, err
}

// progressive reports whether data's frame header is SOF2 (progressive DCT).
func progressive(data []byte) bool {
	for i := 2; i+4 <= len(data) && data[i] == 0xff; i += 2 + (int(data[i+2])<<8 | int(data[i+3])) {
		if m := data[i+1]; 0xc0 <= m && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc {
			return m == sof2Marker
		}
	}
	return false
}

// lossyBounds are how far a reduced image may be from image/jpeg's output box-averaged, per
// channel: the mean absolute difference, the worst pixel, and the share of pixels off by more
// than the 1 of rounding. The reduced decode is the box mean of the unclipped inverse transform,
// computed from the coefficients (see scaledIDCT), clipped once; image/jpeg clips every pixel to
// [0, 255] first. Where a block rings past black or white the two differ. On these files (the
// worst are the q50 libjpeg frames and the RGB one: hard black/white edges with ringing) this
// measured at most a mean of 0.43, one pixel off by 14.0 and 7.2% of pixels off by more than 1 at
// 1/2; 0.47, 8.0 and 11% at 1/4; 0.49, 4.2 and 15% at 1/8. Photos seldom clip: the pipeline's
// thumbnails are held to a full-resolution decode on real phone photos (TestThumbnailsMatchFullDecode).
var lossyBounds = map[int]struct{ mean, worst, over1 float64 }{
	2: {mean: 0.6, worst: 16, over1: 0.09},
	4: {mean: 0.6, worst: 10, over1: 0.13},
	8: {mean: 0.6, worst: 5, over1: 0.17},
}

// TestDecodeScaledMatchesImageJPEG: at every scale, the result has image/jpeg's type and the
// reduced size, and its pixels are image/jpeg's full decode box-averaged, within lossyBounds. At
// scale 1 it is image/jpeg's output exactly.
func TestDecodeScaledMatchesImageJPEG(t *testing.T) {
	for _, f := range testFiles(t) {
		ref, err := jpeg.Decode(bytes.NewReader(f.data))
		if err != nil {
			t.Fatalf("%s: image/jpeg: %v", f.name, err)
		}
		rb := ref.Bounds()
		long := max(rb.Dx(), rb.Dy())
		for _, s := range []int{1, 2, 4, 8} {
			t.Run(fmt.Sprintf("%s/1:%d", f.name, s), func(t *testing.T) {
				minLong := long / s
				if s == 1 {
					minLong = long
				}
				want := Scale(rb.Dx(), rb.Dy(), minLong)
				if long >= 8 && want != s {
					t.Fatalf("Scale(%d, %d, %d) = %d, want %d", rb.Dx(), rb.Dy(), minLong, want, s)
				}
				got, err := decodeEveryWay(t, f.data, minLong)
				if err != nil {
					t.Fatal(err)
				}
				if gt, rt := fmt.Sprintf("%T", got), fmt.Sprintf("%T", ref); gt != rt {
					t.Errorf("type %s, image/jpeg gives %s", gt, rt)
				}
				gb := got.Bounds()
				if wantB := image.Rect(0, 0, (rb.Dx()+want-1)/want, (rb.Dy()+want-1)/want); gb != wantB {
					t.Fatalf("bounds %v, want %v", gb, wantB)
				}
				means := boxMeans(ref, want)
				bound := lossyBounds[want]
				var diff, worst, over1 [4]float64
				for y := range gb.Dy() {
					for x := range gb.Dx() {
						c := channels(got, gb.Min.X+x, gb.Min.Y+y)
						m := means[y*gb.Dx()+x]
						for i, v := range c {
							d := float64(v) - m[i]
							if want == 1 && d != 0 {
								t.Fatalf("pixel (%d,%d) = %v, image/jpeg has %v", x, y, c, m)
							}
							diff[i] += max(d, -d)
							worst[i] = max(worst[i], d, -d)
							if d > 1 || d < -1 {
								over1[i]++
							}
						}
					}
				}
				n := float64(gb.Dx() * gb.Dy())
				for i, d := range diff {
					if want == 1 {
						continue // compared exactly above
					}
					if mean := d / n; mean > bound.mean {
						t.Errorf("channel %d: mean absolute difference %.2f", i, mean)
					}
					if worst[i] > bound.worst || over1[i]/n > bound.over1 {
						t.Errorf("channel %d: a pixel differs by %.1f, %.1f%% by more than 1", i, worst[i], 100*over1[i]/n)
					}
				}
			})
		}
	}
}

func TestScale(t *testing.T) {
	for _, c := range []struct{ w, h, minLong, want int }{
		{5120, 2880, 1280, 4},
		{2880, 5120, 1280, 4},
		{5119, 2880, 1280, 2}, // 5119/4 = 1279: one pixel short of the target
		{10240, 100, 1280, 8},
		{2560, 1440, 1280, 2},
		{2559, 1440, 1280, 1},
		{1280, 720, 1280, 1},
		{100, 100, 1280, 1},
	} {
		if got := Scale(c.w, c.h, c.minLong); got != c.want {
			t.Errorf("Scale(%d, %d, %d) = %d, want %d", c.w, c.h, c.minLong, got, c.want)
		}
	}
}

// corruptions are damaged versions of valid files: truncations, garbage after the header, and
// random byte changes. Whatever image/jpeg makes of each, DecodeScaled must agree.
func corruptions(t testing.TB) []testFile {
	out := []testFile{{"go-truncated-progressive", goTestdata(t, "video-001.progressive.truncated.jpeg")}}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, f := range testFiles(t) {
		if len(f.data) < 200 {
			continue
		}
		for _, frac := range []int{10, 33, 50, 90, 99} {
			out = append(out, testFile{fmt.Sprintf("%s-cut%d%%", f.name, frac), f.data[:len(f.data)*frac/100]})
		}
		garbage := bytes.Clone(f.data[:len(f.data)/3])
		for range len(f.data) / 2 {
			garbage = append(garbage, byte(rng.IntN(256)))
		}
		out = append(out, testFile{f.name + "-garbage", garbage})
		for i := range 40 {
			mutated := bytes.Clone(f.data)
			for range 1 + i%4 {
				mutated[rng.IntN(len(mutated))] = byte(rng.IntN(256))
			}
			out = append(out, testFile{fmt.Sprintf("%s-mutation%d", f.name, i), mutated})
		}
	}
	return out
}

// TestCorruptInputsFailAsImageJPEG: every damaged input is accepted or rejected as image/jpeg
// does it, with the same error text, at every scale, and never panics.
func TestCorruptInputsFailAsImageJPEG(t *testing.T) {
	rejected := 0
	for _, f := range corruptions(t) {
		_, refErr := jpeg.Decode(bytes.NewReader(f.data))
		if refErr != nil {
			rejected++
		}
		for _, minLong := range []int{0, 20, 1 << 20} {
			_, err := decodeEveryWay(t, f.data, minLong)
			if fmt.Sprint(err) != fmt.Sprint(refErr) {
				t.Errorf("%s, minLongEdge %d: error %v, image/jpeg gives %v", f.name, minLong, err, refErr)
			}
		}
	}
	// The table must really hold bad input, or the test proves nothing.
	if rejected < 100 {
		t.Errorf("only %d corrupt inputs were rejected by image/jpeg", rejected)
	}
}

// seeds is the FuzzDecodeScaled seed corpus: small valid files of each kind and a few broken ones.
func seeds(t testing.TB) map[string][]byte {
	gray := encoded(t, 17, 9, true, 75)
	colour := encoded(t, 33, 65, false, 75)
	return map[string][]byte{
		"go-gray":             gray,
		"go-420":              colour,
		"go-420-truncated":    colour[:len(colour)/2],
		"go-420-garbage":      append(bytes.Clone(colour[:len(colour)/3]), bytes.Repeat([]byte{0xa5, 0xff, 0x13}, 200)...),
		"libjpeg-444":         goTestdata(t, "video-001.q50.444.jpeg"),
		"libjpeg-420-prog":    goTestdata(t, "video-001.q50.420.progressive.jpeg"),
		"libjpeg-gray-prog":   goTestdata(t, "video-005.gray.q50.2x2.progressive.jpeg"),
		"libjpeg-restart":     goTestdata(t, "video-001.restart2.jpeg"),
		"libjpeg-cmyk":        goTestdata(t, "video-001.cmyk.jpeg"),
		"libjpeg-prog-cut":    goTestdata(t, "video-001.progressive.truncated.jpeg"),
		"libjpeg-410-prog":    goTestdata(t, "video-001.q50.410.progressive.jpeg"),
		"libjpeg-sep-dc-prog": goTestdata(t, "video-001.separate.dc.progression.progressive.jpeg"),
	}
}

const seedDir = "testdata/fuzz/FuzzDecodeScaled"

// TestSeedCorpus checks that the committed seed corpus is current; -update rewrites it.
func TestSeedCorpus(t *testing.T) {
	for name, data := range seeds(t) {
		seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nint(%d)\n", data, 16)
		path := filepath.Join(seedDir, name)
		if *update {
			if err := os.MkdirAll(seedDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(seed), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (regenerate with: go test ./processor/pipeline/internal/jpegscale -run TestSeedCorpus -update)", err)
		}
		if string(got) != seed {
			t.Errorf("%s is stale (regenerate with -update)", path)
		}
	}
}

// FuzzDecodeScaled: DecodeScaled never panics, fails exactly when image/jpeg fails and with the
// same error, and otherwise returns the reduced size Scale promises. The one exception is a file
// over the work limits (ErrTooComplex), which image/jpeg would decode, slowly.
func FuzzDecodeScaled(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, minLongEdge int) {
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
		if err == nil && cfg.Width*cfg.Height > 1e6 {
			return // keeps each run fast; size is not what is being fuzzed
		}
		_, refErr := jpeg.Decode(bytes.NewReader(data))
		img, err := decodeEveryWay(t, data, minLongEdge)
		if errors.Is(err, ErrTooComplex) {
			return
		}
		if fmt.Sprint(err) != fmt.Sprint(refErr) {
			t.Fatalf("error %v, image/jpeg gives %v", err, refErr)
		}
		if err != nil {
			return
		}
		s := Scale(cfg.Width, cfg.Height, minLongEdge)
		if want := image.Rect(0, 0, (cfg.Width+s-1)/s, (cfg.Height+s-1)/s); img.Bounds() != want {
			t.Fatalf("bounds %v, want %v", img.Bounds(), want)
		}
	})
}
