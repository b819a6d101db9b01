package pipeline

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"medicpx/infra/testenv/phonesamples"
	"medicpx/processor/metastrip"
	"medicpx/processor/pipeline/internal/resample"
)

// bothWays returns what make gives with the pass across in assembly and in pure Go (the same
// values where there is no assembly: TestSIMDSelected in resample says where there is).
func bothWays[T any](make func() T) (asm, pure T) {
	defer resample.SetAssembly(resample.SetAssembly(true))
	asm = make()
	resample.SetAssembly(false)
	return asm, make()
}

// TestResizePlanesSIMDMatchesGo: resizePlanes makes the same planes with the assembly as
// without, for every chroma subsampling, odd sizes, reductions and enlargements.
func TestResizePlanesSIMDMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 3))
	ratios := []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	}
	sizes := []struct{ sw, sh, w, h int }{
		{2016, 1512, 1280, 960}, {2017, 1135, 1280, 720}, {1280, 960, 320, 240}, {641, 481, 320, 240},
		{333, 97, 1280, 373}, {19, 11, 7, 5},
	}
	for _, r := range ratios {
		for _, s := range sizes {
			t.Run(fmt.Sprintf("%v_%dx%d_to_%dx%d", r, s.sw, s.sh, s.w, s.h), func(t *testing.T) {
				src := image.NewYCbCr(image.Rect(0, 0, s.sw, s.sh), r)
				for _, p := range [][]byte{src.Y, src.Cb, src.Cr} {
					for i := range p {
						// Smooth areas, edges and noise: a gradient broken by 0/255 bars.
						switch v := rng.IntN(16); {
						case v == 0:
							p[i] = 0
						case v == 1:
							p[i] = 255
						default:
							p[i] = byte(i/7 + rng.IntN(9))
						}
					}
				}
				asm, pure := bothWays(func() *image.YCbCr { return resizePlanes(src, s.w, s.h) })
				if !reflect.DeepEqual(asm, pure) {
					t.Fatal("the planes differ with and without the assembly")
				}
			})
		}
	}
}

// TestThumbnailsSIMDMatchGo: every thumbnail of the test JPEGs and of the real phone photos
// (read in place from ../shared/samples/phone; skipped, naming it, when it is absent) has the
// same pixels with the assembly as without.
func TestThumbnailsSIMDMatchGo(t *testing.T) {
	type sample struct {
		name string
		data []byte
	}
	var samples []sample
	files, err := filepath.Glob(filepath.Join(fixtureDir, "[vm]*", "*.jpg")) // valid, metadata
	if err != nil || len(files) < 3 {
		t.Fatalf("%d valid test JPEGs in %s: %v", len(files), fixtureDir, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		samples = append(samples, sample{filepath.Base(f), data})
	}
	t.Run("phone", func(t *testing.T) {
		dir := phonesamples.Dir(t)
		for _, f := range phonesamples.Files {
			if f.Rejected == "" {
				samples = append(samples, sample{f.Name, phonesamples.Read(t, dir, f)[:f.EOI]})
			}
		}
	})
	for _, s := range samples {
		t.Run(s.name, func(t *testing.T) {
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(s.data))
			if err != nil {
				t.Fatal(err)
			}
			img, err := formats["image/jpeg"].decode(context.Background(), s.data)
			if err != nil {
				t.Fatal(err)
			}
			orientation := metastrip.Orientation(s.data, "image/jpeg")
			asm, pure := bothWays(func() []sizedPixels { return thumbnailPixels(img, cfg.Width, cfg.Height, orientation) })
			if len(asm) == 0 || len(asm) != len(pure) {
				t.Fatalf("%d thumbnails with the assembly, %d without", len(asm), len(pure))
			}
			for i := range asm {
				if asm[i].size != pure[i].size || !reflect.DeepEqual(asm[i].img, pure[i].img) {
					t.Fatalf("the %d px thumbnail differs with and without the assembly", pure[i].size)
				}
			}
		})
	}
}

// BenchmarkResizePlanes times resizePlanes as a 12 MP phone photo's 1280 px thumbnail makes it
// (decoded at half size, 2016x1512 4:2:0, to 1280x960), with the assembly and in pure Go, side
// by side.
func BenchmarkResizePlanes(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	src := image.NewYCbCr(image.Rect(0, 0, 2016, 1512), image.YCbCrSubsampleRatio420)
	for _, p := range [][]byte{src.Y, src.Cb, src.Cr} {
		for i := range p {
			p[i] = byte(rng.UintN(256))
		}
	}
	for _, asm := range []bool{true, false} {
		name := cmp.Or(resample.Assembly(), "go")
		if !asm {
			name = "go"
		} else if resample.Assembly() == "" {
			continue
		}
		b.Run(name, func(b *testing.B) {
			defer resample.SetAssembly(resample.SetAssembly(asm))
			for b.Loop() {
				resizePlanes(src, 1280, 960)
			}
		})
	}
}
