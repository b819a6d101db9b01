package pipeline

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"flag"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"medicpx/processor/pipeline/internal/jpegtest"
	"medicpx/shared/imagepolicy"
)

// go test ./processor/pipeline -run TestFixtures -update regenerates the committed fixtures and
// the fuzz seed corpus. Every fixture is made here, from code or from small BSD-licensed images
// in the Go distribution and golang.org/x/image, so the repository holds nothing of unknown origin.
var update = flag.Bool("update", false, "regenerate testdata/images and the FuzzRun seed corpus")

const fixtureDir = "../../testdata/images"

// Colours the fixtures are painted with, so tests can find them again in thumbnails.
var (
	red   = color.NRGBA{220, 20, 20, 255}
	blue  = color.NRGBA{30, 60, 200, 255}
	green = color.NRGBA{20, 180, 40, 255}
)

// fixtureMakers builds every committed fixture, keyed by its path under testdata/images.
var fixtureMakers = map[string]func() ([]byte, error){
	"valid/orient6.jpg":         makeOrient6JPEG,
	"valid/alpha.png":           makeAlphaPNG,
	"valid/opaque.png":          makeOpaquePNG,
	"valid/still.gif":           makeStillGIF,
	"valid/animated.gif":        makeAnimatedGIF,
	"valid/lossy.webp":          func() ([]byte, error) { return xImageTestdata("blue-purple-pink.lossy.webp") },
	"valid/lossless.webp":       func() ([]byte, error) { return xImageTestdata("gopher-doc.with-alpha.lossless.webp") },
	"valid/cmyk.jpg":            func() ([]byte, error) { return goTestdata("video-001.cmyk.jpeg") },
	"valid/16bit.png":           make16BitPNG,
	"hostile/empty.jpg":         func() ([]byte, error) { return []byte{}, nil },
	"hostile/html.jpg":          constant("<!DOCTYPE html>\n<html><head><title>x</title></head><body><script>alert(1)</script></body></html>\n"),
	"hostile/svg.png":           constant(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="alert(1)"><rect width="10" height="10"/></svg>` + "\n"),
	"hostile/pdf.jpg":           constant("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"),
	"hostile/elf.jpg":           makeELF,
	"hostile/png-as.jpg":        makeOpaquePNG,
	"hostile/truncated.jpg":     makeTruncatedJPEG,
	"hostile/garbage.jpg":       makeGarbageJPEG,
	"hostile/trailing-zip.jpg":  makeTrailingZipJPEG,
	"hostile/bomb.png":          makeBombPNG,
	"hostile/frames.gif":        makeManyFramesGIF,
	"hostile/broken-chunk.webp": makeBrokenChunkWebP,
	"hostile/animated.webp":     makeAnimatedWebP,
	"hostile/scans.jpg":         makeScansJPEG,
	"hostile/apng.png":          func() ([]byte, error) { return makeAPNG(200), nil },
}

func constant(s string) func() ([]byte, error) {
	return func() ([]byte, error) { return []byte(s), nil }
}

// TestFixtures checks that every fixture exists and is small; with -update it writes them first.
func TestFixtures(t *testing.T) {
	if *update {
		for name, mk := range fixtureMakers {
			data, err := mk()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			path := filepath.Join(fixtureDir, name)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			ext := strings.TrimPrefix(filepath.Ext(name), ".")
			seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nstring(%q)\n", data, ext)
			seedPath := filepath.Join("testdata/fuzz/FuzzRun", strings.NewReplacer("/", "-", ".", "-").Replace(name))
			if err := os.MkdirAll(filepath.Dir(seedPath), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(seedPath, []byte(seed), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name := range fixtureMakers {
		fi, err := os.Stat(filepath.Join(fixtureDir, name))
		if err != nil {
			t.Fatalf("%v (regenerate with: go test ./processor/pipeline -run TestFixtures -update)", err)
		}
		if fi.Size() >= 100_000 {
			t.Errorf("%s is %d bytes; fixtures must stay under 100 KB", name, fi.Size())
		}
	}
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatalf("%v (regenerate with: go test ./processor/pipeline -run TestFixtures -update)", err)
	}
	return data
}

// tooLarge is 10 MiB + 1 of a JPEG's first bytes and padding: made at test time, never committed.
func tooLarge() []byte {
	data := make([]byte, imagepolicy.MaxBytes+1)
	copy(data, "\xff\xd8\xff\xe0\x00\x10JFIF\x00")
	return data
}

func encodeJPEG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85})
	return buf.Bytes(), err
}

func encodePNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	err := png.Encode(&buf, img)
	return buf.Bytes(), err
}

func fill(img *image.NRGBA, r image.Rectangle, c color.NRGBA) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetNRGBA(x, y, c)
		}
	}
}

// withEXIFOrientation inserts, right after SOI, an APP1 segment whose EXIF holds only the
// orientation tag.
func withEXIFOrientation(jpg []byte, orientation uint16) []byte {
	var tiff bytes.Buffer
	le := binary.LittleEndian
	tiff.WriteString("II*\x00")
	_ = binary.Write(&tiff, le, uint32(8))                  // IFD0 offset
	_ = binary.Write(&tiff, le, uint16(1))                  // one entry
	_ = binary.Write(&tiff, le, [4]uint16{0x0112, 3, 1, 0}) // tag, SHORT, count 1 (low half)
	_ = binary.Write(&tiff, le, [2]uint16{orientation, 0})  // value, padding
	_ = binary.Write(&tiff, le, uint32(0))                  // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

// makeOrient6JPEG: 800x500 as stored, blue with a red square in the stored top-left corner, and
// EXIF orientation 6 (turn a quarter clockwise to display): upright it is 500x800 with the red
// square top-right.
func makeOrient6JPEG() ([]byte, error) {
	img := image.NewNRGBA(image.Rect(0, 0, 800, 500))
	fill(img, img.Rect, blue)
	fill(img, image.Rect(0, 0, 160, 160), red)
	jpg, err := encodeJPEG(img)
	if err != nil {
		return nil, err
	}
	return withEXIFOrientation(jpg, 6), nil
}

// makeAlphaPNG: 120x80, the left half fully transparent, the right half green.
func makeAlphaPNG() ([]byte, error) {
	img := image.NewNRGBA(image.Rect(0, 0, 120, 80))
	fill(img, image.Rect(60, 0, 120, 80), green)
	return encodePNG(img)
}

func makeOpaquePNG() ([]byte, error) {
	img := image.NewNRGBA(image.Rect(0, 0, 200, 100))
	fill(img, img.Rect, green)
	fill(img, image.Rect(0, 0, 50, 50), red)
	return encodePNG(img)
}

var gifPalette = color.Palette{red, green, blue, color.NRGBA{255, 255, 255, 255}}

func palettedFill(w, h int, index uint8) *image.Paletted {
	p := image.NewPaletted(image.Rect(0, 0, w, h), gifPalette)
	for i := range p.Pix {
		p.Pix[i] = index
	}
	return p
}

func makeStillGIF() ([]byte, error) {
	var buf bytes.Buffer
	err := gif.Encode(&buf, palettedFill(64, 48, 2), nil)
	return buf.Bytes(), err
}

// makeAnimatedGIF: three 64x48 frames, red, green, blue; the thumbnail must be red.
func makeAnimatedGIF() ([]byte, error) {
	g := &gif.GIF{Delay: []int{10, 10, 10}}
	for i := range 3 {
		g.Image = append(g.Image, palettedFill(64, 48, uint8(i)))
	}
	var buf bytes.Buffer
	err := gif.EncodeAll(&buf, g)
	return buf.Bytes(), err
}

// make16BitPNG: 100x60 at 16 bits a channel, one colour whose 8-bit rendering is (128, 64, 192).
func make16BitPNG() ([]byte, error) {
	img := image.NewNRGBA64(image.Rect(0, 0, 100, 60))
	for y := range 60 {
		for x := range 100 {
			img.SetNRGBA64(x, y, color.NRGBA64{0x8080, 0x4040, 0xC0C0, 0xFFFF})
		}
	}
	return encodePNG(img)
}

func goTestdata(name string) ([]byte, error) {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return nil, err
	}
	return os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "src/image/testdata", name))
}

func xImageTestdata(name string) ([]byte, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "golang.org/x/image").Output()
	if err != nil {
		return nil, err
	}
	return os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "testdata", name))
}

// makeELF: a 64-bit ELF header, as an executable renamed to .jpg starts.
func makeELF() ([]byte, error) {
	b := make([]byte, 128)
	copy(b, "\x7fELF\x02\x01\x01")
	binary.LittleEndian.PutUint16(b[16:], 2)    // ET_EXEC
	binary.LittleEndian.PutUint16(b[18:], 0x3E) // x86-64
	return b, nil
}

// noisyJPEG has enough entropy-coded data that cutting it in half lands inside the scan.
func noisyJPEG() ([]byte, error) {
	img := image.NewNRGBA(image.Rect(0, 0, 160, 120))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.UintN(256))
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	return encodeJPEG(img)
}

func makeTruncatedJPEG() ([]byte, error) {
	jpg, err := noisyJPEG()
	return jpg[:len(jpg)/2], err
}

// makeGarbageJPEG: SOI and a JFIF APP0, then 4 KB of random bytes.
func makeGarbageJPEG() ([]byte, error) {
	b := []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
	rng := rand.New(rand.NewPCG(3, 4))
	for range 4096 {
		b = append(b, uint8(rng.UintN(256)))
	}
	return b, nil
}

// makeTrailingZipJPEG: a valid JPEG with a ZIP archive appended after EOI.
func makeTrailingZipJPEG() ([]byte, error) {
	img := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	fill(img, img.Rect, green)
	jpg, err := encodeJPEG(img)
	if err != nil {
		return nil, err
	}
	var z bytes.Buffer
	zw := zip.NewWriter(&z)
	w, err := zw.Create("payload.sh")
	if err != nil {
		return nil, err
	}
	if _, err := w.Write([]byte("#!/bin/sh\necho owned\n")); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return append(jpg, z.Bytes()...), nil
}

func pngChunk(typ string, body []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	out = append(out, typ...)
	out = append(out, body...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(append([]byte(typ), body...)))
}

// makeBombPNG: a 60,000 x 60,000 grey PNG header (3.6 gigapixels) and the first 50 rows of a
// zlib stream of zero rows, truncated: a few KB that must be refused from the header alone.
func makeBombPNG() ([]byte, error) {
	const side = 60_000
	ihdr := binary.BigEndian.AppendUint32(nil, side)
	ihdr = binary.BigEndian.AppendUint32(ihdr, side)
	ihdr = append(ihdr, 8, 0, 0, 0, 0) // 8-bit greyscale, deflate, adaptive filter, no interlace
	var z bytes.Buffer
	zw, err := zlib.NewWriterLevel(&z, zlib.BestCompression)
	if err != nil {
		return nil, err
	}
	row := make([]byte, side+1)
	for range 50 {
		if _, err := zw.Write(row); err != nil {
			return nil, err
		}
	}
	if err := zw.Flush(); err != nil { // no Close: the stream stays unfinished, like the file
		return nil, err
	}
	out := append([]byte{}, pngSignature...)
	out = append(out, pngChunk("IHDR", ihdr)...)
	return append(out, pngChunk("IDAT", z.Bytes())...), nil
}

// makeManyFramesGIF: 2,500 one-pixel frames, about 40 KB.
func makeManyFramesGIF() ([]byte, error) {
	g := &gif.GIF{Config: image.Config{Width: 16, Height: 16, ColorModel: gifPalette}}
	for i := range 2500 {
		p := image.NewPaletted(image.Rect(i%16, 0, i%16+1, 1), gifPalette)
		g.Image = append(g.Image, p)
		g.Delay = append(g.Delay, 0)
	}
	var buf bytes.Buffer
	err := gif.EncodeAll(&buf, g)
	return buf.Bytes(), err
}

// animatedGIF: frames frames on a w x h logical screen, each a solid square of side frameSide at
// the top left, red, green and blue in turn, shown for 1/10 s. With frameSide 1 the file is about
// 23 bytes a frame, whatever the screen: 1,000 frames on 50 megapixels take 23 KB.
func animatedGIF(w, h, frames, frameSide int) []byte {
	g := &gif.GIF{Config: image.Config{Width: w, Height: h, ColorModel: gifPalette}}
	for i := range frames {
		p := image.NewPaletted(image.Rect(0, 0, frameSide, frameSide), gifPalette)
		for j := range p.Pix {
			p.Pix[j] = uint8(i % 3)
		}
		g.Image = append(g.Image, p)
		g.Delay = append(g.Delay, 10)
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// onePixelFrame splits a 16x16 GIF of one one-pixel frame, with no graphic control extension,
// into its header (with the global palette) and the frame's blocks (image descriptor, LZW data).
func onePixelFrame() (header, frame []byte) {
	var buf bytes.Buffer
	g := &gif.GIF{Image: []*image.Paletted{palettedFill(1, 1, 0)}, Delay: []int{0},
		Config: image.Config{Width: 16, Height: 16, ColorModel: gifPalette}}
	if err := gif.EncodeAll(&buf, g); err != nil {
		panic(err)
	}
	one := buf.Bytes()
	n := 13 + 3*len(gifPalette)
	if one[n] != 0x2C {
		panic(fmt.Sprintf("block 0x%02X after the header; want an image descriptor", one[n]))
	}
	return one[:n], one[n : len(one)-1]
}

// mostFramesGIF: a 16x16 GIF of as many one-pixel frames as fit in MaxBytes (about 700,000), the
// most image descriptors the GIF walk can be made to count.
func mostFramesGIF() []byte {
	header, frame := onePixelFrame()
	out := slices.Clone(header)
	for len(out)+len(frame)+1 <= int(imagepolicy.MaxBytes) {
		out = append(out, frame...)
	}
	return append(out, 0x3B)
}

// wholeFramesGIF: frames image descriptors each covering a whole w x h screen, made from
// onePixelFrame with the sizes rewritten, so the file is tiny. Its LZW data is one pixel, far
// short of the frame: only a check of the block structure refuses it for its size (a decode
// would call it corrupt).
func wholeFramesGIF(w, h, frames int) []byte {
	header, frame := onePixelFrame()
	out := slices.Clone(header)
	binary.LittleEndian.PutUint16(out[6:], uint16(w))
	binary.LittleEndian.PutUint16(out[8:], uint16(h))
	binary.LittleEndian.PutUint16(frame[5:], uint16(w))
	binary.LittleEndian.PutUint16(frame[7:], uint16(h))
	for range frames {
		out = append(out, frame...)
	}
	return append(out, 0x3B)
}

// makeBrokenChunkWebP: a valid lossy WebP whose VP8 chunk claims far more bytes than exist.
func makeBrokenChunkWebP() ([]byte, error) {
	b, err := xImageTestdata("blue-purple-pink.lossy.webp")
	if err != nil {
		return nil, err
	}
	if string(b[12:16]) != "VP8 " {
		return nil, fmt.Errorf("unexpected first chunk %q", b[12:16])
	}
	binary.LittleEndian.PutUint32(b[16:], 0x00FFFFF0)
	return b, nil
}

func riffChunk(fourcc string, body []byte) []byte {
	out := append([]byte(fourcc), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	out = append(out, body...)
	if len(body)%2 == 1 {
		out = append(out, 0)
	}
	return out
}

func uint24(v int) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16)} }

// makeAnimatedWebP: VP8X with the animation flag, ANIM, and two ANMF frames that each hold the
// VP8L bitstream of a small lossless image from golang.org/x/image's testdata.
func makeAnimatedWebP() ([]byte, error) { return animatedWebP(75, 100, 2) }

// animatedWebP: the animation of makeAnimatedWebP, frames frames of the 75x100 image at the
// top left of a cw x ch canvas.
func animatedWebP(cw, ch, frames int) ([]byte, error) {
	still, err := xImageTestdata("gopher-doc.1bpp.lossless.webp")
	if err != nil {
		return nil, err
	}
	if string(still[12:16]) != "VP8L" {
		return nil, fmt.Errorf("unexpected first chunk %q", still[12:16])
	}
	n := binary.LittleEndian.Uint32(still[16:])
	vp8l := riffChunk("VP8L", still[20:20+n])
	const w, h = 75, 100
	vp8x := append([]byte{0x02, 0, 0, 0}, uint24(cw-1)...)
	vp8x = append(vp8x, uint24(ch-1)...)
	body := []byte("WEBP")
	body = append(body, riffChunk("VP8X", vp8x)...)
	body = append(body, riffChunk("ANIM", []byte{0, 0, 0, 0, 0, 0})...)
	for range frames {
		frame := append(uint24(0), uint24(0)...)
		frame = append(frame, uint24(w-1)...)
		frame = append(frame, uint24(h-1)...)
		frame = append(frame, uint24(100)...)
		frame = append(frame, 0)
		body = append(body, riffChunk("ANMF", append(frame, vp8l...))...)
	}
	return append([]byte("RIFF"), append(binary.LittleEndian.AppendUint32(nil, uint32(len(body))), body...)...), nil
}

// makeScansJPEG: the scan bomb of the security review, cut to fit the fixture size limit. A
// 7000x7000 grey progressive JPEG with 1,001 full-band AC scans and no DC scan (whose one bit a
// block would take 96 KB): 83 KB asking for a thousand passes over 765,625 blocks.
// image/jpeg decodes it, to flat grey, in 10-20 s of CPU.
func makeScansJPEG() ([]byte, error) {
	scans := []jpegtest.Scan{jpegtest.AC}
	for range 1000 {
		scans = append(scans, jpegtest.Refine)
	}
	return jpegtest.Progressive(7000, 7000, scans), nil
}

// makeAPNG: an animated PNG whose default image is a valid 16x16 grey square and whose other
// frames-1 frames are garbage: random bytes in fdAT chunks that no decoder here ever reads, but
// that a browser would try to play.
func makeAPNG(frames int) []byte {
	rng := rand.New(rand.NewPCG(9, 9))
	ihdr := binary.BigEndian.AppendUint32(nil, 16)
	ihdr = binary.BigEndian.AppendUint32(ihdr, 16)
	ihdr = append(ihdr, 8, 0, 0, 0, 0) // 8-bit greyscale
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(bytes.Repeat([]byte{0}, 16*17)) // 16 rows: filter byte 0 and 16 black pixels
	zw.Close()
	fcTL := func(seq uint32) []byte {
		b := binary.BigEndian.AppendUint32(nil, seq)
		for _, v := range []uint32{16, 16, 0, 0} { // width, height, x, y
			b = binary.BigEndian.AppendUint32(b, v)
		}
		return append(b, 0, 1, 0, 10, 0, 0) // delay 1/10 s, no dispose, source blend
	}
	out := append([]byte{}, pngSignature...)
	out = append(out, pngChunk("IHDR", ihdr)...)
	actl := binary.BigEndian.AppendUint32(nil, uint32(frames))
	out = append(out, pngChunk("acTL", binary.BigEndian.AppendUint32(actl, 0))...) // loop forever
	out = append(out, pngChunk("fcTL", fcTL(0))...)
	out = append(out, pngChunk("IDAT", z.Bytes())...)
	seq := uint32(1)
	for range frames - 1 {
		out = append(out, pngChunk("fcTL", fcTL(seq))...)
		garbage := binary.BigEndian.AppendUint32(nil, seq+1)
		for range 8 {
			garbage = append(garbage, byte(rng.IntN(256)))
		}
		out = append(out, pngChunk("fdAT", garbage)...)
		seq += 2
	}
	return append(out, pngChunk("IEND", nil)...)
}
