package metastrip

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/image/webp"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatalf("%v (generate with: go test ./processor/metastrip/ -run TestFixtures -update)", err)
	}
	return b
}

func mustStrip(t *testing.T, data []byte, mime string) []byte {
	t.Helper()
	out, err := Strip(data, mime)
	if err != nil {
		t.Fatalf("Strip: %v", err)
	}
	return out
}

// assertNoSecrets fails for every planted string still present anywhere in b.
func assertNoSecrets(t *testing.T, b []byte) {
	t.Helper()
	for _, s := range secrets {
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("stripped file still contains %q", s)
		}
	}
}

// assertIdempotent checks that stripping the result again changes nothing and returns the very
// same slice.
func assertIdempotent(t *testing.T, out []byte, mime string) {
	t.Helper()
	again := mustStrip(t, out, mime)
	if !bytes.Equal(again, out) {
		t.Fatalf("Strip is not idempotent: %d bytes, then %d", len(out), len(again))
	}
	if &again[0] != &out[0] {
		t.Errorf("Strip of an already stripped file returned a copy, want the input slice")
	}
}

func samePixels(t *testing.T, a, b image.Image) {
	t.Helper()
	if a.Bounds() != b.Bounds() {
		t.Fatalf("bounds %v, want %v", b.Bounds(), a.Bounds())
	}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				t.Fatalf("pixel (%d,%d) differs: %v vs %v", x, y, a.At(x, y), b.At(x, y))
			}
		}
	}
}

// The tests below walk the containers with their own small parsers rather than the package's,
// so that a bug in the package's walk cannot hide itself.

type testSegment struct {
	marker  byte
	payload []byte
}

// jpegHeader returns the segments before the first SOS and the offset of that SOS marker.
func jpegHeader(t *testing.T, b []byte) ([]testSegment, int) {
	t.Helper()
	var segs []testSegment
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			t.Fatalf("no marker at %d", i)
		}
		m := b[i+1]
		if m == 0xDA {
			return segs, i
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		segs = append(segs, testSegment{m, b[i+4 : i+2+n]})
		i += 2 + n
	}
	t.Fatal("no SOS")
	return nil, 0
}

func TestStripJPEG(t *testing.T) {
	in := readFixture(t, fixtureJPEG)
	out := mustStrip(t, in, MIMEJPEG)

	inSegs, inSOS := jpegHeader(t, in)
	outSegs, outSOS := jpegHeader(t, out)
	t.Logf("%d bytes -> %d bytes; header %d -> %d bytes", len(in), len(out), inSOS, outSOS)

	// The fixture really carries what it claims, so the checks below mean something.
	if Orientation(in, MIMEJPEG) != 6 {
		t.Fatalf("fixture orientation %d, want 6", Orientation(in, MIMEJPEG))
	}
	for _, s := range []string{"SN-4242-SECRET", "GPS-DATUM-SECRET", "MedicCam", "XMP-SECRET", "IPTC-SECRET", "COMMENT-SECRET"} {
		if !bytes.Contains(in[:inSOS], []byte(s)) {
			t.Fatalf("fixture lacks %q", s)
		}
	}

	t.Run("scan data byte-identical", func(t *testing.T) {
		if !bytes.Equal(in[inSOS:], out[outSOS:]) {
			t.Fatal("SOS..EOI differs")
		}
	})
	t.Run("no identifying metadata", func(t *testing.T) {
		assertNoSecrets(t, out)
		var markers []byte
		for _, s := range outSegs {
			markers = append(markers, s.marker)
		}
		// APP0 JFIF, APP1 minimal EXIF, APP2 ICC, APP14 Adobe, then the encoder's tables.
		want := []byte{0xE0, 0xE1, 0xE2, 0xEE}
		metadata := func(m byte) bool { return m >= 0xE0 && m <= 0xEF || m == 0xFE }
		if !bytes.HasPrefix(markers, want) || slices.ContainsFunc(markers[len(want):], metadata) {
			t.Fatalf("markers before SOS: % x; want % x then tables only", markers, want)
		}
		exif := outSegs[1].payload
		if want := append([]byte("Exif\x00\x00"), minimalEXIF(binary.LittleEndian, 6)...); !bytes.Equal(exif, want) {
			t.Fatalf("EXIF payload\n% x\nwant only the orientation\n% x", exif, want)
		}
		// The GPS position's rationals (37/1, 33/1, 1234/100) are gone from the header.
		lat := binary.LittleEndian.AppendUint32(nil, 1234)
		lat = binary.LittleEndian.AppendUint32(lat, 100)
		if !bytes.Contains(in[:inSOS], lat) || bytes.Contains(out[:outSOS], lat) {
			t.Fatal("GPS latitude seconds must be in the fixture and not in the output")
		}
	})
	t.Run("kept what viewers need", func(t *testing.T) {
		if got := Orientation(out, MIMEJPEG); got != 6 {
			t.Fatalf("Orientation(stripped) = %d, want 6", got)
		}
		jfif := outSegs[0].payload
		if len(jfif) != 14 || !bytes.Equal(jfif[:12], inSegs[0].payload[:12]) || jfif[12] != 0 || jfif[13] != 0 {
			t.Fatalf("JFIF % x: want the original header with its thumbnail removed", jfif)
		}
		i := slices.IndexFunc(inSegs, func(s testSegment) bool { return s.marker == 0xEE })
		if !bytes.Contains(out[:outSOS], inSegs[i].payload) {
			t.Error("APP14 not kept byte for byte")
		}
		// The fixture's profile predates neutral text: its colour stays, its text goes.
		assertNeutralICC(t, jpegTestICC(t, in), jpegTestICC(t, out))
	})
	t.Run("decodes to the same pixels", func(t *testing.T) {
		a, err := jpeg.Decode(bytes.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		b, err := jpeg.Decode(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		samePixels(t, a, b)
	})
	t.Run("idempotent", func(t *testing.T) { assertIdempotent(t, out, MIMEJPEG) })
}

// pngChunks lists chunk types; it fails on a bad CRC, so a passing test proves CRCs are valid.
func pngChunks(t *testing.T, b []byte) (types []string, data map[string][]byte) {
	t.Helper()
	data = map[string][]byte{}
	for i := 8; i < len(b); {
		n := int(binary.BigEndian.Uint32(b[i:]))
		typ := string(b[i+4 : i+8])
		crc := binary.BigEndian.Uint32(b[i+8+n:])
		if c := pngChunkBytes(typ, b[i+8:i+8+n]); binary.BigEndian.Uint32(c[len(c)-4:]) != crc {
			t.Fatalf("bad CRC in %s at %d", typ, i)
		}
		types = append(types, typ)
		if _, ok := data[typ]; !ok {
			data[typ] = b[i+8 : i+8+n]
		}
		i += 12 + n
	}
	return types, data
}

func TestStripPNG(t *testing.T) {
	in := readFixture(t, fixturePNG)
	out := mustStrip(t, in, MIMEPNG)
	inTypes, _ := pngChunks(t, in)
	outTypes, outData := pngChunks(t, out)
	t.Logf("%d bytes -> %d bytes; chunks %v -> %v", len(in), len(out), inTypes, outTypes)

	for _, typ := range []string{"tEXt", "zTXt", "iTXt", "eXIf", "tIME"} {
		if !slices.Contains(inTypes, typ) {
			t.Fatalf("fixture lacks %s", typ)
		}
	}
	if want := []string{"IHDR", "gAMA", "pHYs", "eXIf", "PLTE", "tRNS", "IDAT", "IEND"}; !slices.Equal(outTypes, want) {
		t.Fatalf("chunks %v, want %v", outTypes, want)
	}
	if !bytes.Equal(outData["eXIf"], minimalEXIF(binary.BigEndian, 6)) {
		t.Fatalf("eXIf % x: want only the orientation, big-endian as in the source", outData["eXIf"])
	}
	assertNoSecrets(t, out)
	if got := Orientation(out, MIMEPNG); got != 6 {
		t.Fatalf("Orientation(stripped) = %d, want 6", got)
	}
	a, err := png.Decode(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	b, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	samePixels(t, a, b)
	assertIdempotent(t, out, MIMEPNG)
}

func riffChunks(t *testing.T, b []byte) (fourCCs []string, data map[string][]byte) {
	t.Helper()
	if got := int(binary.LittleEndian.Uint32(b[4:])) + 8; got != len(b) {
		t.Fatalf("RIFF size says %d bytes, file has %d", got, len(b))
	}
	data = map[string][]byte{}
	for i := 12; i < len(b); {
		n := int(binary.LittleEndian.Uint32(b[i+4:]))
		fourCCs = append(fourCCs, string(b[i:i+4]))
		data[string(b[i:i+4])] = b[i+8 : i+8+n]
		i += 8 + n + n%2
	}
	return fourCCs, data
}

func TestStripWebP(t *testing.T) {
	in := readFixture(t, fixtureWebP)
	out := mustStrip(t, in, MIMEWebP)
	inCC, inData := riffChunks(t, in)
	outCC, outData := riffChunks(t, out)
	t.Logf("%d bytes -> %d bytes; chunks %q -> %q", len(in), len(out), inCC, outCC)

	if !slices.Contains(inCC, "EXIF") || !slices.Contains(inCC, "XMP ") || inData["VP8X"][0]&0x0C != 0x0C {
		t.Fatalf("fixture lacks EXIF/XMP chunks or flags: %q", inCC)
	}
	if want := []string{"VP8X", "ICCP", "VP8L", "EXIF"}; !slices.Equal(outCC, want) {
		t.Fatalf("chunks %q, want %q", outCC, want)
	}
	if flags := outData["VP8X"][0]; flags != 0x20|0x08 {
		t.Fatalf("VP8X flags %08b, want ICC and EXIF only", flags)
	}
	if !bytes.Equal(outData["EXIF"], minimalEXIF(binary.LittleEndian, 6)) {
		t.Fatalf("EXIF % x: want only the orientation", outData["EXIF"])
	}
	if !bytes.Equal(outData["VP8L"], inData["VP8L"]) {
		t.Fatal("image data changed")
	}
	assertNeutralICC(t, inData["ICCP"], outData["ICCP"])
	assertNoSecrets(t, out)
	if got := Orientation(out, MIMEWebP); got != 6 {
		t.Fatalf("Orientation(stripped) = %d, want 6", got)
	}
	a, err := webp.Decode(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	b, err := webp.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	samePixels(t, webpImage(), a) // the fixture's own encoder is right, too
	samePixels(t, a, b)
	assertIdempotent(t, out, MIMEWebP)
}

// gifBlocks names each block after the header: "image", "ext f9", "app NETSCAPE2.0", "trailer".
func gifBlocks(t *testing.T, b []byte) []string {
	t.Helper()
	skip := func(i int) int {
		for b[i] != 0 {
			i += int(b[i]) + 1
		}
		return i + 1
	}
	var blocks []string
	for i := 13 + gifColorTableLen(b[10]); ; {
		switch b[i] {
		case 0x3B:
			return append(blocks, "trailer")
		case 0x2C:
			blocks = append(blocks, "image")
			i = skip(i + 10 + gifColorTableLen(b[i+9]) + 1)
		case 0x21:
			if b[i+1] == 0xFF {
				blocks = append(blocks, "app "+string(b[i+3:i+14]))
			} else {
				blocks = append(blocks, "ext "+string("0123456789abcdef"[b[i+1]>>4])+string("0123456789abcdef"[b[i+1]&15]))
			}
			i = skip(i + 2)
		default:
			t.Fatalf("bad block 0x%02x at %d", b[i], i)
		}
	}
}

func TestStripGIF(t *testing.T) {
	in := readFixture(t, fixtureGIF)
	out := mustStrip(t, in, MIMEGIF)
	t.Logf("%d bytes -> %d bytes; blocks %q -> %q", len(in), len(out), gifBlocks(t, in), gifBlocks(t, out))

	if got := gifBlocks(t, in); !slices.Contains(got, "ext fe") || !slices.Contains(got, "app XMP DataXMP") {
		t.Fatalf("fixture lacks a comment or XMP: %q", got)
	}
	want := []string{"app NETSCAPE2.0", "ext f9", "image", "ext f9", "image", "trailer"}
	if got := gifBlocks(t, out); !slices.Equal(got, want) {
		t.Fatalf("blocks %q, want %q", got, want)
	}
	assertNoSecrets(t, out)
	a, err := gif.DecodeAll(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	b, err := gif.DecodeAll(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Image) != 2 || len(b.Image) != len(a.Image) || !slices.Equal(a.Delay, b.Delay) ||
		!slices.Equal(a.Disposal, b.Disposal) || a.LoopCount != b.LoopCount {
		t.Fatalf("frames/timing differ: %d frames %v loop %d, want %d frames %v loop %d",
			len(b.Image), b.Delay, b.LoopCount, len(a.Image), a.Delay, a.LoopCount)
	}
	for i := range a.Image {
		if !bytes.Equal(a.Image[i].Pix, b.Image[i].Pix) || a.Image[i].Rect != b.Image[i].Rect ||
			!slices.Equal(a.Image[i].Palette, b.Image[i].Palette) {
			t.Fatalf("frame %d differs", i)
		}
	}
	assertIdempotent(t, out, MIMEGIF)
}

// TestStripUnchanged: a file with nothing to strip comes back as the same slice, which is how the
// processor knows it need not rewrite the original.
func TestStripUnchanged(t *testing.T) {
	var j, p, g bytes.Buffer
	m := patternImage(16, 16)
	if err := jpeg.Encode(&j, m, nil); err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(&p, m); err != nil {
		t.Fatal(err)
	}
	if err := gif.Encode(&g, m, nil); err != nil {
		t.Fatal(err)
	}
	vp8l := riffChunkBytes("VP8L", encodeVP8L(t, webpImage()))
	simpleWebP := append([]byte("RIFF\x00\x00\x00\x00WEBP"), vp8l...)
	setRIFFSize(simpleWebP)
	for _, tc := range []struct {
		name, mime string
		data       []byte
	}{
		{"jpeg", MIMEJPEG, j.Bytes()},
		{"png", MIMEPNG, p.Bytes()},
		{"gif", MIMEGIF, g.Bytes()},
		{"webp", MIMEWebP, simpleWebP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := mustStrip(t, tc.data, tc.mime)
			if len(out) != len(tc.data) || &out[0] != &tc.data[0] {
				t.Fatal("want the input slice itself")
			}
			if Orientation(out, tc.mime) != 1 {
				t.Fatal("want orientation 1")
			}
		})
	}
}

// TestStripCases covers the rules one at a time on small hand-made variants of the fixtures.
func TestStripCases(t *testing.T) {
	jpg := readFixture(t, fixtureJPEG)
	segs, _ := jpegHeader(t, jpg)
	var plainJPEG bytes.Buffer // encoder output: SOI, tables, scan, EOI; no metadata
	if err := jpeg.Encode(&plainJPEG, patternImage(24, 16), nil); err != nil {
		t.Fatal(err)
	}
	withSegments := func(base []byte, s ...[]byte) []byte {
		out := append([]byte(nil), base[:2]...)
		for _, seg := range s {
			out = append(out, seg...)
		}
		return append(out, base[2:]...)
	}
	exifSeg := func(tiff []byte) []byte { return jpegSegmentBytes(0xE1, append([]byte("Exif\x00\x00"), tiff...)) }
	// A COM between the scan and EOI: legal, and seen in files edited by some tools.
	p := plainJPEG.Bytes()
	comInScan := append(append(append([]byte(nil), p[:len(p)-2]...), jpegSegmentBytes(0xFE, []byte("COMMENT-SECRET"))...), 0xFF, 0xD9)

	tiffBE8 := cameraEXIF(binary.BigEndian, 8)
	webpFixture := readFixture(t, fixtureWebP)
	vp8l := riffChunkBytes("VP8L", encodeVP8L(t, webpImage()))
	simpleWithExtra := append(append([]byte("RIFF\x00\x00\x00\x00WEBP"), vp8l...), riffChunkBytes("EXIF", cameraEXIF(binary.LittleEndian, 6))...)
	setRIFFSize(simpleWithExtra)

	var gifPlain bytes.Buffer
	if err := gif.EncodeAll(&gifPlain, gifFrames()); err != nil {
		t.Fatal(err)
	}
	gp := gifPlain.Bytes()
	gifAt := 13 + gifColorTableLen(gp[10])
	gifICC := append(append([]byte{0x21, 0xFF, 11}, "ICCRGBG1012"...), gifSubBlocks(testICC)...)
	gifWithICC := append(append(append([]byte(nil), gp[:gifAt]...), gifICC...), gp[gifAt:]...)

	tests := []struct {
		name, mime string
		in         []byte
		want       []byte // exact expected output
		orient     int
	}{
		{"jpeg orientation 1: EXIF goes entirely", MIMEJPEG,
			withSegments(p, exifSeg(cameraEXIF(binary.LittleEndian, 1))), p, 1},
		{"jpeg big-endian orientation 8 keeps its byte order", MIMEJPEG,
			withSegments(p, exifSeg(tiffBE8)), withSegments(p, exifSeg(minimalEXIF(binary.BigEndian, 8))), 8},
		{"jpeg orientation out of range counts as 1", MIMEJPEG,
			withSegments(p, exifSeg(minimalEXIF(binary.LittleEndian, 9))), p, 1},
		{"jpeg only the first EXIF block counts", MIMEJPEG,
			withSegments(p, exifSeg(minimalEXIF(binary.LittleEndian, 3)), exifSeg(minimalEXIF(binary.LittleEndian, 6))),
			withSegments(p, exifSeg(minimalEXIF(binary.LittleEndian, 3))), 3},
		{"jpeg fill bytes before a marker go", MIMEJPEG,
			append([]byte{0xFF, 0xD8, 0xFF, 0xFF}, p[2:]...), p, 1},
		{"jpeg COM after the scan goes, scan kept", MIMEJPEG, comInScan, p, 1},
		{"jpeg APP0 that is not JFIF goes", MIMEJPEG,
			withSegments(p, jpegSegmentBytes(0xE0, []byte("JFXX\x00\x10thumb"))), p, 1},
		{"jpeg Adobe APP14 kept", MIMEJPEG,
			withSegments(p, segsBytes(segs, 0xEE)), withSegments(p, segsBytes(segs, 0xEE)), 1},
		{"png eXIf with an Exif prefix is rewritten bare", MIMEPNG,
			pngWith(t, pngChunkBytes("eXIf", append([]byte("Exif\x00\x00"), minimalEXIF(binary.LittleEndian, 5)...))),
			pngWith(t, pngChunkBytes("eXIf", minimalEXIF(binary.LittleEndian, 5))), 5},
		{"png unknown private chunk goes, sRGB and iCCP stay", MIMEPNG,
			pngWith(t, pngChunkBytes("sRGB", []byte{0}), pngChunkBytes("iDOT", []byte("xx")), pngChunkBytes("caBX", []byte("c2pa"))),
			pngWith(t, pngChunkBytes("sRGB", []byte{0})), 1},
		{"webp EXIF orientation 1 goes and its flag is cleared", MIMEWebP,
			webpWithEXIF(t, webpFixture, cameraEXIF(binary.LittleEndian, 1)),
			webpWithout(t, mustStrip(t, webpFixture, MIMEWebP), "EXIF"), 1},
		{"webp simple format: chunks after the image go", MIMEWebP,
			simpleWithExtra, setRIFFSize(append([]byte("RIFF\x00\x00\x00\x00WEBP"), vp8l...)), 1},
		{"gif ICC profile kept", MIMEGIF, gifWithICC, gifWithICC, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := mustStrip(t, tc.in, tc.mime)
			if !bytes.Equal(out, tc.want) {
				t.Fatalf("got %d bytes, want %d\n got % x\nwant % x", len(out), len(tc.want), head(out), head(tc.want))
			}
			if got := Orientation(out, tc.mime); got != tc.orient {
				t.Fatalf("Orientation = %d, want %d", got, tc.orient)
			}
			if got := Orientation(tc.in, tc.mime); got != tc.orient {
				t.Fatalf("Orientation(input) = %d, want %d", got, tc.orient)
			}
			assertIdempotent(t, out, tc.mime)
			assertNoSecrets(t, out)
		})
	}
}

func head(b []byte) []byte { return b[:min(len(b), 96)] }

// segsBytes re-serialises the first header segment with that marker.
func segsBytes(segs []testSegment, marker byte) []byte {
	for _, s := range segs {
		if s.marker == marker {
			return jpegSegmentBytes(marker, s.payload)
		}
	}
	return nil
}

// pngWith is a small encoded PNG with extra chunks right after IHDR.
func pngWith(t *testing.T, chunks ...[]byte) []byte {
	var enc bytes.Buffer
	if err := png.Encode(&enc, patternImage(8, 8)); err != nil {
		t.Fatal(err)
	}
	b := enc.Bytes()
	const ihdrEnd = 8 + 12 + 13
	out := append([]byte(nil), b[:ihdrEnd]...)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return append(out, b[ihdrEnd:]...)
}

// webpWithEXIF replaces the EXIF chunk of an extended WebP.
func webpWithEXIF(t *testing.T, b, tiff []byte) []byte { return webpWithChunk(b, "EXIF", tiff) }

// webpWithChunk replaces the payload of every fourCC chunk of a WebP.
func webpWithChunk(b []byte, fourCC string, payload []byte) []byte {
	out := append([]byte(nil), b[:12]...)
	for i := 12; i < len(b); {
		n := int(binary.LittleEndian.Uint32(b[i+4:]))
		end := i + 8 + n + n%2
		if string(b[i:i+4]) == fourCC {
			out = append(out, riffChunkBytes(fourCC, payload)...)
		} else {
			out = append(out, b[i:end]...)
		}
		i = end
	}
	return setRIFFSize(out)
}

// webpWithout removes a chunk and its VP8X flag from an extended WebP.
func webpWithout(t *testing.T, b []byte, fourCC string) []byte {
	t.Helper()
	out := append([]byte(nil), b[:12]...)
	for i := 12; i < len(b); {
		n := int(binary.LittleEndian.Uint32(b[i+4:]))
		end := i + 8 + n + n%2
		if string(b[i:i+4]) != fourCC {
			out = append(out, b[i:end]...)
		}
		i = end
	}
	if fourCC == "EXIF" {
		out[12+8] &^= vp8xFlagEXIF
	}
	return setRIFFSize(out)
}

// TestOrientationEXIF covers the hand-written TIFF reader on hostile and odd input.
func TestOrientationEXIF(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	withType := func(typ uint16, count uint32) []byte {
		b := minimalEXIF(le, 6)
		le.PutUint16(b[12:], typ)
		le.PutUint32(b[14:], count)
		if typ == typeLong {
			le.PutUint32(b[18:], 6)
		}
		return b
	}
	badOffset := minimalEXIF(be, 6)
	be.PutUint32(badOffset[4:], 0xFFFFFFF0)
	hugeCount := minimalEXIF(le, 6)
	le.PutUint16(hugeCount[8:], 0xFFFF)
	tests := []struct {
		name string
		tiff []byte
		want int
	}{
		{"little-endian", minimalEXIF(le, 6), 6},
		{"big-endian", minimalEXIF(be, 3), 3},
		{"camera EXIF with sub-IFDs", cameraEXIF(le, 7), 7},
		{"orientation 0", minimalEXIF(le, 0), 1},
		{"orientation 9", minimalEXIF(le, 9), 1},
		{"LONG instead of SHORT", withType(typeLong, 1), 6},
		{"RATIONAL type", withType(5, 1), 1},
		{"count 0", withType(typeShort, 0), 1},
		{"IFD offset past the end", badOffset, 1},
		{"IFD offset inside the header", append(minimalEXIF(le, 6)[:4], 4, 0, 0, 0, 1, 0), 1},
		{"entry count larger than the data", hugeCount, 6},
		{"truncated entry", minimalEXIF(le, 6)[:20], 1},
		{"bad byte order mark", append([]byte("IM"), minimalEXIF(le, 6)[2:]...), 1},
		{"empty", nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, got := exifOrientation(tc.tiff); got != tc.want {
				t.Fatalf("orientation %d, want %d", got, tc.want)
			}
			// And through a JPEG, the way callers see it.
			jpg := append([]byte{0xFF, 0xD8}, jpegSegmentBytes(0xE1, append([]byte("Exif\x00\x00"), tc.tiff...))...)
			if got := Orientation(jpg, MIMEJPEG); got != tc.want {
				t.Fatalf("Orientation %d, want %d", got, tc.want)
			}
		})
	}
}

// TestStripMalformed: broken containers are errors, never panics or partial output.
func TestStripMalformed(t *testing.T) {
	type tc struct {
		name, mime string
		data       []byte
		want       error
	}
	var tests []tc
	add := func(name, mime string, data []byte, want error) { tests = append(tests, tc{name, mime, data, want}) }

	for name, mime := range fixtureMIME {
		b := readFixture(t, name)
		add(name+" empty", mime, nil, ErrMalformed)
		add(name+" zero bytes", mime, make([]byte, 64), ErrMalformed)
		add(name+" trailing data", mime, append(append([]byte(nil), b...), "PAYLOAD"...), ErrTrailingData)
		add(name+" trailing zero", mime, append(append([]byte(nil), b...), 0), ErrTrailingData)
		add(name+" as another type", map[string]string{MIMEJPEG: MIMEPNG, MIMEPNG: MIMEGIF, MIMEGIF: MIMEWebP, MIMEWebP: MIMEJPEG}[mime], b, ErrMalformed)
	}
	add("unsupported type", "image/svg+xml", []byte("<svg/>"), ErrUnsupported)
	add("declared name instead of content type", "image/jpg", readFixture(t, fixtureJPEG), ErrUnsupported)

	jpg := readFixture(t, fixtureJPEG)
	set := func(b []byte, at int, v ...byte) []byte {
		b = append([]byte(nil), b...)
		copy(b[at:], v)
		return b
	}
	// The first segment after SOI is the JFIF APP0 at offset 2; its length is at 4.
	add("jpeg segment length 0", MIMEJPEG, set(jpg, 4, 0, 0), ErrMalformed)
	add("jpeg segment length 1", MIMEJPEG, set(jpg, 4, 0, 1), ErrMalformed)
	add("jpeg segment length past the end", MIMEJPEG, set(jpg, 4, 0xFF, 0xFF)[:2000], ErrMalformed)
	add("jpeg length one short lands inside a segment", MIMEJPEG, set(jpg, 5, jpg[5]-1), ErrMalformed)
	add("jpeg no SOI", MIMEJPEG, jpg[2:], ErrMalformed)
	add("jpeg second SOI", MIMEJPEG, append([]byte{0xFF, 0xD8}, jpg...), ErrMalformed)
	add("jpeg EOI before the scan", MIMEJPEG, []byte{0xFF, 0xD8, 0xFF, 0xD9}, ErrMalformed)
	add("jpeg reserved marker", MIMEJPEG, []byte{0xFF, 0xD8, 0xFF, 0x02, 0, 2}, ErrMalformed)
	add("jpeg no EOI", MIMEJPEG, jpg[:len(jpg)-2], ErrMalformed)
	add("jpeg only SOI", MIMEJPEG, jpg[:2], ErrMalformed)

	pngb := readFixture(t, fixturePNG)
	add("png chunk length 2^32-1", MIMEPNG, set(pngb, 8, 0xFF, 0xFF, 0xFF, 0xFF), ErrMalformed)
	add("png chunk length past the end", MIMEPNG, set(pngb, 33, 0x00, 0xFF, 0xFF, 0xFF), ErrMalformed)
	add("png bad CRC", MIMEPNG, set(pngb, 29, pngb[29]^1), ErrMalformed)
	add("png bad chunk type", MIMEPNG, set(pngb, 37, '1'), ErrMalformed)
	add("png IHDR not first", MIMEPNG, pngWithFirst(t, pngChunkBytes("gAMA", []byte{0, 0, 0, 1})), ErrMalformed)
	add("png unknown critical chunk", MIMEPNG, pngWith(t, pngChunkBytes("ABCD", nil)), ErrMalformed)
	add("png no IEND", MIMEPNG, pngb[:len(pngb)-12], ErrMalformed)

	wp := readFixture(t, fixtureWebP)
	add("webp RIFF size past the end", MIMEWebP, set(wp, 4, 0xFF, 0xFF, 0xFF, 0x7F), ErrMalformed)
	add("webp RIFF size short", MIMEWebP, set(wp, 4, byte(len(wp)-8-2), byte((len(wp)-8-2)>>8)), ErrTrailingData)
	add("webp chunk size past the end", MIMEWebP, set(wp, 16, 0xFF, 0xFF, 0, 0), ErrMalformed)
	add("webp VP8X of 9 bytes", MIMEWebP, set(wp, 16, 9), ErrMalformed)
	add("webp unknown first chunk", MIMEWebP, set(wp, 12, 'A', 'B', 'C', 'D'), ErrMalformed)
	add("webp VP8X without image", MIMEWebP, setRIFFSize(append([]byte(nil), wp[:12+18]...)), ErrMalformed)
	add("webp not RIFF", MIMEWebP, set(wp, 0, 'R', 'I', 'F', 'X'), ErrMalformed)

	gf := readFixture(t, fixtureGIF)
	add("gif colour table past the end", MIMEGIF, set(gf[:20], 10, 0x87), ErrMalformed)
	add("gif unknown block", MIMEGIF, append(append([]byte(nil), gf[:13+gifColorTableLen(gf[10])]...), 0x00, 0x3B), ErrMalformed)
	add("gif sub-block past the end", MIMEGIF, append(append([]byte(nil), gf[:13+gifColorTableLen(gf[10])]...), 0x21, 0xFE, 200, 'x'), ErrMalformed)
	add("gif no trailer", MIMEGIF, gf[:len(gf)-1], ErrMalformed)
	add("gif bad signature", MIMEGIF, set(gf, 3, '9', '0'), ErrMalformed)

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Strip(tc.data, tc.mime)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if out != nil {
				t.Fatal("output alongside an error")
			}
			if o := Orientation(tc.data, tc.mime); o < 1 || o > 8 {
				t.Fatalf("Orientation %d", o)
			}
		})
	}
}

func pngWithFirst(t *testing.T, chunk []byte) []byte {
	b := pngWith(t)
	return append(append(append([]byte(nil), b[:8]...), chunk...), b[8:]...)
}

// TestStripTruncated cuts every fixture, and its stripped form, at every length: each prefix
// must be refused. This covers truncation at every marker, chunk and block boundary.
func TestStripTruncated(t *testing.T) {
	for name, mime := range fixtureMIME {
		in := readFixture(t, name)
		out := mustStrip(t, in, mime)
		for _, b := range [][]byte{in, out} {
			for n := range len(b) {
				if _, err := Strip(b[:n], mime); !errors.Is(err, ErrMalformed) {
					t.Fatalf("%s cut to %d of %d bytes: err = %v, want ErrMalformed", name, n, len(b), err)
				}
				Orientation(b[:n], mime)
			}
		}
	}
}
