package jpegscale

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	mbits "math/bits"
	"reflect"
	"runtime"
	"testing"

	"medicpx/processor/pipeline/internal/jpegtest"
)

// withKept makes every reduced store keep the coefficients keep passes, or, with keep nil, makes
// every progressive image use the full store (the decoder before reducedStore), until t ends.
func withKept(t *testing.T, keep func(kx, ky int) bool) {
	saved := keptByScale
	t.Cleanup(func() { keptByScale = saved })
	for i := range keptByScale {
		for j := range keptByScale[i] {
			if keep == nil {
				keptByScale[i][j] = nil
			} else if saved[i][j] != nil {
				keptByScale[i][j] = newKeptCoeffs(keep)
			}
		}
	}
}

func decodeAll(t *testing.T, files []testFile, minLong func(w, h int) int) []image.Image {
	t.Helper()
	var out []image.Image
	for _, f := range files {
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(f.data))
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		img, err := DecodeScaled(bytes.NewReader(f.data), minLong(cfg.Width, cfg.Height))
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		out = append(out, img)
	}
	return out
}

// TestReducedStoreParsesAsFullStore: a reduced store that keeps every coefficient gives the full
// store's pixels exactly, on every progressive file (libjpeg's successive-approximation scripts,
// separate DC scans, every subsampling), so its bit-stream parsing — non-zero bits in place of
// values — and its edge blocks lose nothing; only keptByScale's choice changes pixels.
func TestReducedStoreParsesAsFullStore(t *testing.T) {
	var files []testFile
	for _, f := range testFiles(t) {
		if progressive(f.data) {
			files = append(files, f)
		}
	}
	if len(files) < 10 {
		t.Fatalf("only %d progressive files", len(files))
	}
	for _, s := range []int{4, 8} {
		t.Run(fmt.Sprintf("1:%d", s), func(t *testing.T) {
			minLong := func(w, h int) int { return max(w, h) / s }
			var full, reduced []image.Image
			t.Run("full", func(t *testing.T) {
				withKept(t, nil)
				full = decodeAll(t, files, minLong)
			})
			t.Run("reduced", func(t *testing.T) {
				withKept(t, func(kx, ky int) bool { return true })
				reduced = decodeAll(t, files, minLong)
			})
			for i, f := range files {
				if !reflect.DeepEqual(full[i], reduced[i]) {
					t.Errorf("%s: a reduced store keeping every coefficient differs from the full store", f.name)
				}
			}
		})
	}
}

// TestReducedStoreSavesMemory: decoding a 1024x768 progressive 4:4:4 image at 1/4 and 1/8
// allocates less than with the full store by at least what the store saves, 128 bytes per block
// less 8 for the non-zero bits and 2 per kept coefficient (25 at 1/4, the DC at 1/8).
func TestReducedStoreSavesMemory(t *testing.T) {
	const w, h = 1024, 768
	data := progressive444(t, w, h)
	blocks := 3 * (w / 8) * (h / 8)
	allocated := func(t *testing.T, fullStore bool, minLong int) uint64 {
		if fullStore {
			withKept(t, nil)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		img, err := DecodeScaled(bytes.NewReader(data), minLong)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		if got := img.Bounds().Dx(); got != minLong {
			t.Fatalf("width %d, want %d", got, minLong)
		}
		return after.TotalAlloc - before.TotalAlloc
	}
	for _, c := range []struct {
		scale, kept int
	}{
		{4, 25},
		{8, 1},
	} {
		t.Run(fmt.Sprintf("1:%d", c.scale), func(t *testing.T) {
			var full, reduced uint64
			t.Run("full", func(t *testing.T) { full = allocated(t, true, w/c.scale) })
			t.Run("reduced", func(t *testing.T) { reduced = allocated(t, false, w/c.scale) })
			// 1% spare for the stores' own headers.
			want := uint64(blocks*(2*blockSize-8-2*c.kept)) * 99 / 100
			t.Logf("full store: %d bytes allocated, reduced: %d (%.2fx), saving %d, want >= %d", full, reduced, float64(reduced)/float64(full), full-reduced, want)
			if reduced > full || full-reduced < want {
				t.Errorf("allocated %d bytes with the reduced store, %d with the full one: saving less than %d", reduced, full, want)
			}
		})
	}
}

// progressive444 encodes a w x h (multiples of 8) 4:4:4 progressive JPEG with spectral
// selection: an interleaved DC scan, then one scan of AC coefficients 1-63 per component. The
// coefficients are a made-up pattern, not a picture: only their count matters here. The Huffman
// tables give every symbol one code length (4 bits for DC sizes, 8 for AC run/size pairs), so
// codes are just symbol indexes.
func progressive444(t testing.TB, w, h int) []byte {
	t.Helper()
	var out bytes.Buffer
	segment := func(marker byte, body ...byte) {
		out.Write([]byte{0xff, marker, byte((len(body) + 2) >> 8), byte(len(body) + 2)})
		out.Write(body)
	}
	out.Write([]byte{0xff, soiMarker})
	segment(dqtMarker, append([]byte{0}, bytes.Repeat([]byte{4}, blockSize)...)...)
	segment(sof2Marker, 8, byte(h>>8), byte(h), byte(w>>8), byte(w), 3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0)
	dcSyms := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	acSyms := []byte{0x00, 0xf0}
	for run := range 16 {
		for size := 1; size <= 10; size++ {
			acSyms = append(acSyms, byte(run<<4|size))
		}
	}
	table := func(class byte, length int, syms []byte) []byte {
		counts := make([]byte, 16)
		counts[length-1] = byte(len(syms))
		return append(append([]byte{class << 4}, counts...), syms...)
	}
	segment(dhtMarker, append(table(0, 4, dcSyms), table(1, 8, acSyms)...)...)
	code := func(syms []byte, sym byte) uint32 { return uint32(bytes.IndexByte(syms, sym)) }

	bx, by := w/8, h/8
	coeff := func(c, x, y, zig int) int {
		if zig == 0 {
			return (x*7+y*3+c*11)%61 - 30
		}
		if zig < 10 || zig == 40 && (x+y)%3 == 0 {
			return (x+y*zig+c)%7 - 3
		}
		return 0
	}
	bw := jpegtest.BitWriter{Out: &out}
	value := func(v int) (size int, bits uint32) {
		size = mbits.Len(uint(max(v, -v)))
		if v < 0 {
			v += 1<<size - 1
		}
		return size, uint32(v)
	}

	segment(sosMarker, 3, 1, 0, 2, 0, 3, 0, 0, 0, 0)
	var pred [3]int
	for y := range by {
		for x := range bx {
			for c := range 3 {
				dc := coeff(c, x, y, 0)
				size, bits := value(dc - pred[c])
				pred[c] = dc
				bw.Put(code(dcSyms, byte(size)), 4)
				bw.Put(bits, size)
			}
		}
	}
	bw.Flush()
	for c := range 3 {
		segment(sosMarker, 1, byte(c+1), 0, 1, 63, 0)
		for y := range by {
			for x := range bx {
				run := 0
				for zig := 1; zig < blockSize; zig++ {
					v := coeff(c, x, y, zig)
					if v == 0 {
						run++
						continue
					}
					for ; run > 15; run -= 16 {
						bw.Put(code(acSyms, 0xf0), 8)
					}
					size, bits := value(v)
					bw.Put(code(acSyms, byte(run<<4|size)), 8)
					bw.Put(bits, size)
					run = 0
				}
				if run > 0 {
					bw.Put(code(acSyms, 0x00), 8) // EOB: an end-of-band run of 1
				}
			}
		}
		bw.Flush()
	}
	out.Write([]byte{0xff, eoiMarker})

	// The file must be valid JPEG, or the test measures an error path.
	if _, err := jpeg.Decode(bytes.NewReader(out.Bytes())); err != nil {
		t.Fatalf("generated progressive JPEG: %v", err)
	}
	return out.Bytes()
}
