package metastrip

// Fixture generation. `go test ./processor/metastrip/ -run TestFixtures -update` rewrites the
// images under testdata/images/metadata/ and the fuzz seed corpus; every other test reads the
// committed files, so a change in the standard library's encoders cannot silently change what the
// tests prove. Everything identifying in the fixtures is made up and marked SECRET so that a test
// can search for it.

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the fixtures in testdata/images/metadata and the fuzz seed corpus")

// fixtureDir is the repository's shared testdata, two levels up from this package.
var fixtureDir = filepath.Join("..", "..", "testdata", "images", "metadata")

const (
	fixtureJPEG = "gps-serial-orientation6.jpg"
	fixturePNG  = "text-exif.png"
	fixtureWebP = "exif-xmp.webp"
	fixtureGIF  = "comment-xmp.gif"
)

// fixtureMIME maps each fixture to its type.
var fixtureMIME = map[string]string{
	fixtureJPEG: MIMEJPEG,
	fixturePNG:  MIMEPNG,
	fixtureWebP: MIMEWebP,
	fixtureGIF:  MIMEGIF,
}

// secrets are strings planted in the fixtures' metadata; none may survive Strip.
var secrets = []string{
	"MedicCam", "CPX-9000", "SN-4242-SECRET", "GPS-DATUM-SECRET", "ARTIST-SECRET",
	"THUMBNAIL-SECRET", "XMP-SECRET", "EXTXMP-SECRET", "IPTC-SECRET", "COMMENT-SECRET",
	"VENDOR-SECRET", "PNG-TEXT-SECRET", "PNG-PRIVATE-SECRET", "GIF-COMMENT-SECRET",
	"http://ns.adobe.com/", "Photoshop 3.0", "8BIM", "XMP DataXMP",
}

// The GPS position planted in every EXIF block: 37°33'12.34" N, 126°58'45.67" E.
var (
	gpsLatitude  = [][2]uint32{{37, 1}, {33, 1}, {1234, 100}}
	gpsLongitude = [][2]uint32{{126, 1}, {58, 1}, {4567, 100}}
)

func TestFixtures(t *testing.T) {
	if !*update {
		// Without -update: the committed fixtures and seeds are all there and small.
		for name := range fixtureMIME {
			if b := readFixture(t, name); len(b) >= 60<<10 {
				t.Errorf("%s: %d bytes; keep fixtures under 60 KB", name, len(b))
			}
			for _, target := range []string{"FuzzStrip", "FuzzOrientation"} {
				if _, err := os.Stat(filepath.Join("testdata", "fuzz", target, name)); err != nil {
					t.Errorf("seed corpus: %v", err)
				}
			}
		}
		for _, target := range []string{"FuzzCheckICC", "FuzzNeutralICC"} {
			if _, err := os.Stat(filepath.Join("testdata", "fuzz", target, "patient-v4")); err != nil {
				t.Errorf("seed corpus: %v", err)
			}
		}
		return
	}
	fixtures := map[string][]byte{
		fixtureJPEG: makeJPEGFixture(t),
		fixturePNG:  makePNGFixture(t),
		fixtureWebP: makeWebPFixture(t),
		fixtureGIF:  makeGIFFixture(t),
	}
	if err := os.MkdirAll(fixtureDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range fixtures {
		if len(b) >= 60<<10 {
			t.Fatalf("%s: %d bytes; keep fixtures under 60 KB", name, len(b))
		}
		if err := os.WriteFile(filepath.Join(fixtureDir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeFuzzCorpus(t, fixtures)
	writeICCSeeds(t)
}

// writeFuzzCorpus seeds both fuzz targets with each fixture and its stripped form, in the
// format `go test` reads from testdata/fuzz/<Target>/.
func writeFuzzCorpus(t *testing.T, fixtures map[string][]byte) {
	for _, target := range []string{"FuzzStrip", "FuzzOrientation"} {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range fixtures {
			kind := byte(mimeKind(fixtureMIME[name]))
			stripped, err := Strip(b, fixtureMIME[name])
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for suffix, data := range map[string][]byte{"": b, "-stripped": stripped} {
				corpus := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nbyte(%q)\n", data, kind)
				if err := os.WriteFile(filepath.Join(dir, name+suffix), []byte(corpus), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// --- EXIF -------------------------------------------------------------------------------------

// TIFF field types.
const (
	tASCII     = 2
	tShort     = 3
	tLong      = 4
	tRational  = 5
	tUndefined = 7
)

// tiffOrder is what binary.LittleEndian and binary.BigEndian both are.
type tiffOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// tiffEntry is one IFD entry; sub > 0 makes it a LONG pointer to ifds[sub].
type tiffEntry struct {
	tag, typ uint16
	count    uint32
	val      []byte
	sub      int
}

// buildTIFF lays out ifds one after another, each followed by its out-of-line values; ifds[1] is
// chained from ifds[0] as IFD1 when chain1 is set (the thumbnail IFD).
func buildTIFF(order tiffOrder, chain1 bool, ifds ...[]tiffEntry) []byte {
	offsets := make([]int, len(ifds))
	off := 8
	for i, ifd := range ifds {
		offsets[i] = off
		off += 2 + 12*len(ifd) + 4
		for _, e := range ifd {
			if len(e.val) > 4 {
				off += len(e.val) + len(e.val)%2
			}
		}
	}
	b := make([]byte, 8, off)
	if order == binary.BigEndian {
		copy(b, "MM\x00\x2a")
	} else {
		copy(b, "II\x2a\x00")
	}
	order.PutUint32(b[4:], 8)
	for i, ifd := range ifds {
		dataOff := offsets[i] + 2 + 12*len(ifd) + 4
		var extra []byte
		b = order.AppendUint16(b, uint16(len(ifd)))
		for _, e := range ifd {
			b = order.AppendUint16(b, e.tag)
			b = order.AppendUint16(b, e.typ)
			b = order.AppendUint32(b, e.count)
			switch {
			case e.sub > 0:
				b = order.AppendUint32(b, uint32(offsets[e.sub]))
			case len(e.val) > 4:
				b = order.AppendUint32(b, uint32(dataOff+len(extra)))
				extra = append(extra, e.val...)
				if len(e.val)%2 == 1 {
					extra = append(extra, 0)
				}
			default:
				var v [4]byte
				copy(v[:], e.val)
				b = append(b, v[:]...)
			}
		}
		next := uint32(0)
		if i == 0 && chain1 {
			next = uint32(offsets[1])
		}
		b = order.AppendUint32(b, next)
		b = append(b, extra...)
	}
	return b
}

func ascii(tag uint16, s string) tiffEntry {
	return tiffEntry{tag: tag, typ: tASCII, count: uint32(len(s) + 1), val: append([]byte(s), 0)}
}

func short(order tiffOrder, tag uint16, v uint16) tiffEntry {
	return tiffEntry{tag: tag, typ: tShort, count: 1, val: order.AppendUint16(nil, v)}
}

func long(order tiffOrder, tag uint16, v uint32) tiffEntry {
	return tiffEntry{tag: tag, typ: tLong, count: 1, val: order.AppendUint32(nil, v)}
}

func rationals(order tiffOrder, tag uint16, rs [][2]uint32) tiffEntry {
	var v []byte
	for _, r := range rs {
		v = order.AppendUint32(v, r[0])
		v = order.AppendUint32(v, r[1])
	}
	return tiffEntry{tag: tag, typ: tRational, count: uint32(len(rs)), val: v}
}

// cameraEXIF is the TIFF data a phone camera writes: device, owner, time, GPS, a thumbnail IFD.
// IFDs: 0 = IFD0, 1 = IFD1 (thumbnail), 2 = Exif IFD, 3 = GPS IFD.
func cameraEXIF(order tiffOrder, orientation uint16) []byte {
	thumb := []byte("\xff\xd8THUMBNAIL-SECRET\xff\xd9")
	ifd0 := []tiffEntry{
		ascii(0x010F, "MedicCam Corp"),              // Make
		ascii(0x0110, "CPX-9000 Pro"),               // Model
		short(order, 0x0112, orientation),           // Orientation
		ascii(0x0132, "2024:03:01 09:30:00"),        // DateTime
		ascii(0x013B, "Dr. ARTIST-SECRET"),          // Artist
		{tag: 0x8769, typ: tLong, count: 1, sub: 2}, // ExifIFDPointer
		{tag: 0x8825, typ: tLong, count: 1, sub: 3}, // GPSInfoIFDPointer
	}
	ifd1 := []tiffEntry{
		short(order, 0x0103, 6),                       // Compression: JPEG
		{tag: 0x0201, typ: tLong, count: 1, val: nil}, // JPEGInterchangeFormat, patched below
		long(order, 0x0202, uint32(len(thumb))),
	}
	exifIFD := []tiffEntry{
		ascii(0x9003, "2024:03:01 09:30:00"), // DateTimeOriginal
		ascii(0xA430, "Dr. Kim"),             // CameraOwnerName
		ascii(0xA431, "SN-4242-SECRET"),      // BodySerialNumber
	}
	gpsIFD := []tiffEntry{
		{tag: 0x0000, typ: 1, count: 4, val: []byte{2, 3, 0, 0}}, // GPSVersionID
		ascii(0x0001, "N"),
		rationals(order, 0x0002, gpsLatitude),
		ascii(0x0003, "E"),
		rationals(order, 0x0004, gpsLongitude),
		ascii(0x0012, "GPS-DATUM-SECRET"), // GPSMapDatum
	}
	b := buildTIFF(order, true, ifd0, ifd1, exifIFD, gpsIFD)
	// The thumbnail goes at the end; point IFD1's JPEGInterchangeFormat at it.
	thumbOff := uint32(len(b))
	b = append(b, thumb...)
	ifd1Off := order.Uint32(b[8+2+12*len(ifd0):])
	order.PutUint32(b[ifd1Off+2+12*1+8:], thumbOff)
	return b
}

// --- XMP, IPTC ----------------------------------------------------------------------------------

func xmpPacket(who string) []byte {
	return []byte(`<?xpacket begin="` + "\ufeff" + `" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:exif="http://ns.adobe.com/exif/1.0/"
 xmlns:tiff="http://ns.adobe.com/tiff/1.0/" exif:GPSLatitude="37,33.2057N" exif:GPSLongitude="126,58.7612E"
 tiff:Orientation="6"><dc:creator><rdf:Seq><rdf:li>` + who + `</rdf:li></rdf:Seq></dc:creator>
</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>`)
}

// iptcAPP13 is a Photoshop image-resource block holding IPTC-IIM records, as Photoshop writes it.
func iptcAPP13() []byte {
	var iim []byte
	for _, r := range []struct {
		dataset byte
		value   string
	}{{80, "IPTC-SECRET By-line"}, {90, "IPTC-SECRET Seoul"}, {116, "IPTC-SECRET Copyright"}} {
		iim = append(iim, 0x1C, 2, r.dataset)
		iim = binary.BigEndian.AppendUint16(iim, uint16(len(r.value)))
		iim = append(iim, r.value...)
	}
	b := []byte("Photoshop 3.0\x00")
	b = append(b, "8BIM"...)
	b = binary.BigEndian.AppendUint16(b, 0x0404) // IPTC-NAA resource
	b = append(b, 0, 0)                          // empty Pascal name, padded to even
	b = binary.BigEndian.AppendUint32(b, uint32(len(iim)))
	b = append(b, iim...)
	if len(iim)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// testICC is a small but complete ICC v4 display profile (sRGB primaries and tone curve, D50
// white) with the neutral text of a stored profile, which Strip must keep byte for byte. (The
// committed fixtures were made when its description said "medicpx test sRGB" and its copyright
// "No copyright, use freely"; Strip neutralises those.)
var testICC = makeICC()

// makeICC builds testICC: a 128-byte header, a tag table, and the tags a display profile needs,
// each on a 4-byte boundary; the three tone curves share one 'para' element.
func makeICC() []byte {
	be32 := binary.BigEndian.AppendUint32
	s15 := func(b []byte, v float64) []byte { return be32(b, uint32(int32(math.Round(v*65536)))) }
	xyz := func(x, y, z float64) []byte { return s15(s15(s15([]byte("XYZ \x00\x00\x00\x00"), x), y), z) }
	mluc := func(text string) []byte {
		b := be32(be32(be32([]byte("mluc\x00\x00\x00\x00"), 1), 12), 0)     // one record of 12 bytes
		b = binary.BigEndian.AppendUint16(b[:len(b)-4], uint16('e')<<8|'n') // language, country
		b = binary.BigEndian.AppendUint16(b, uint16('U')<<8|'S')
		b = be32(be32(b, uint32(2*len(text))), 28) // UTF-16 length, offset from the tag's start
		for _, r := range text {
			b = binary.BigEndian.AppendUint16(b, uint16(r))
		}
		return b
	}
	curve := []byte("para\x00\x00\x00\x00\x00\x03\x00\x00") // IEC 61966-2-1 parametric curve
	for _, v := range []float64{2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045} {
		curve = s15(curve, v)
	}
	tags := []struct {
		sig  string
		data []byte
	}{
		{"desc", mluc("ICC profile")}, // the neutral text Strip writes, so it keeps this profile
		{"cprt", mluc("")},
		{"wtpt", xyz(0.9642, 1, 0.8249)},
		{"rXYZ", xyz(0.4361, 0.2225, 0.0139)},
		{"gXYZ", xyz(0.3851, 0.7169, 0.0971)},
		{"bXYZ", xyz(0.1431, 0.0606, 0.7141)},
		{"rTRC", curve}, {"gTRC", nil}, {"bTRC", nil}, // nil: the element before
	}
	header := make([]byte, 128)
	copy(header[8:], []byte{4, 0x30, 0, 0})           // version 4.3
	copy(header[12:], "mntrRGB XYZ ")                 // class, colour space, PCS
	copy(header[24:], []byte{0x07, 0xE8, 0, 1, 0, 1}) // 2024-01-01
	copy(header[36:], "acsp")
	copy(header[68:], xyz(0.9642, 1, 0.8249)[8:]) // D50 illuminant
	table := be32(nil, uint32(len(tags)))
	var data []byte
	base := len(header) + 4 + 12*len(tags)
	var off, size int
	for _, tag := range tags {
		if tag.data != nil {
			for len(data)%4 != 0 {
				data = append(data, 0)
			}
			off, size = base+len(data), len(tag.data)
			data = append(data, tag.data...)
		}
		table = be32(be32(append(table, tag.sig...), uint32(off)), uint32(size))
	}
	p := append(append(header, table...), data...)
	binary.BigEndian.PutUint32(p, uint32(len(p)))
	return p
}

// --- JPEG -----------------------------------------------------------------------------------------

// patternImage is an asymmetric test picture, so a wrong orientation would be visible.
func patternImage(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 128, 255}
			if x < w/4 && y < h/4 { // a marker in the top-left corner
				c = color.RGBA{240, 20, 20, 255}
			}
			m.SetRGBA(x, y, c)
		}
	}
	return m
}

func jpegSegmentBytes(marker byte, payload []byte) []byte {
	n := len(payload) + 2
	return append([]byte{0xFF, marker, byte(n >> 8), byte(n)}, payload...)
}

func makeJPEGFixture(t *testing.T) []byte {
	var enc bytes.Buffer
	if err := jpeg.Encode(&enc, patternImage(160, 120), &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	plain := enc.Bytes()
	// JFIF 1.02, 72 dpi, with a 2×1 RGB thumbnail that Strip must remove.
	jfif := append([]byte("JFIF\x00\x01\x02\x01\x00\x48\x00\x48\x02\x01"), 200, 10, 10, 10, 200, 10)
	extXMP := append([]byte("http://ns.adobe.com/xmp/extension/\x00"), "0123456789ABCDEF0123456789ABCDEF"...)
	extBody := []byte(`<x:xmpmeta xmlns:x="adobe:ns:meta/">EXTXMP-SECRET</x:xmpmeta>`)
	extXMP = binary.BigEndian.AppendUint32(extXMP, uint32(len(extBody)))
	extXMP = binary.BigEndian.AppendUint32(extXMP, 0)
	extXMP = append(extXMP, extBody...)
	segments := [][]byte{
		jpegSegmentBytes(0xE0, jfif),
		jpegSegmentBytes(0xE1, append([]byte("Exif\x00\x00"), cameraEXIF(binary.LittleEndian, 6)...)),
		jpegSegmentBytes(0xE1, append([]byte("http://ns.adobe.com/xap/1.0/\x00"), xmpPacket("XMP-SECRET Dr. Kim")...)),
		jpegSegmentBytes(0xE1, extXMP),
		jpegSegmentBytes(0xE2, append([]byte("ICC_PROFILE\x00\x01\x01"), testICC...)),
		jpegSegmentBytes(0xEC, []byte("Ducky\x00\x01\x00\x04\x00\x00\x00\x50\x00\x00")),
		jpegSegmentBytes(0xED, iptcAPP13()),
		jpegSegmentBytes(0xEE, []byte("Adobe\x00\x64\x00\x00\x00\x00\x01")), // transform 1: YCbCr
		jpegSegmentBytes(0xEF, []byte("VENDOR-SECRET maker notes")),
		jpegSegmentBytes(0xFE, []byte("COMMENT-SECRET patient Kim, ward 3")),
	}
	out := append([]byte(nil), plain[:2]...)
	for _, s := range segments {
		out = append(out, s...)
	}
	return append(out, plain[2:]...)
}

// --- PNG ------------------------------------------------------------------------------------------

func makePNGFixture(t *testing.T) []byte {
	pal := color.Palette{
		color.NRGBA{0, 0, 0, 0}, // transparent, so the encoder writes tRNS
		color.NRGBA{240, 20, 20, 255},
		color.NRGBA{20, 200, 20, 255},
		color.NRGBA{20, 20, 220, 128},
	}
	m := image.NewPaletted(image.Rect(0, 0, 64, 48), pal)
	for y := range 48 {
		for x := range 64 {
			m.SetColorIndex(x, y, uint8((x/8+y/12)%4))
		}
	}
	m.SetColorIndex(0, 0, 1)
	var enc bytes.Buffer
	if err := png.Encode(&enc, m); err != nil {
		t.Fatal(err)
	}
	plain := enc.Bytes()
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write([]byte("PNG-TEXT-SECRET compressed comment"))
	zw.Close()
	before := [][]byte{
		pngChunkBytes("gAMA", binary.BigEndian.AppendUint32(nil, 45455)),
		pngChunkBytes("pHYs", []byte{0, 0, 0x0B, 0x13, 0, 0, 0x0B, 0x13, 1}),
		pngChunkBytes("eXIf", cameraEXIF(binary.BigEndian, 6)),
		pngChunkBytes("tEXt", []byte("Author\x00PNG-TEXT-SECRET Dr. Kim")),
		pngChunkBytes("zTXt", append([]byte("Comment\x00\x00"), z.Bytes()...)),
		pngChunkBytes("iTXt", append([]byte("XML:com.adobe.xmp\x00\x00\x00\x00\x00"), xmpPacket("XMP-SECRET png")...)),
		pngChunkBytes("tIME", []byte{0x07, 0xE8, 3, 1, 9, 30, 0}),
		pngChunkBytes("cpXx", []byte("PNG-PRIVATE-SECRET")),
	}
	after := pngChunkBytes("tEXt", []byte("Comment\x00PNG-TEXT-SECRET after the image data"))
	const ihdrEnd = 8 + 12 + 13
	out := append([]byte(nil), plain[:ihdrEnd]...)
	for _, c := range before {
		out = append(out, c...)
	}
	iend := len(plain) - 12
	out = append(out, plain[ihdrEnd:iend]...)
	out = append(out, after...)
	return append(out, plain[iend:]...)
}

// --- WebP -----------------------------------------------------------------------------------------

// webpImage is the picture in the WebP fixture: each channel takes one of two values, which is
// what the tiny lossless encoder below can express.
func webpImage() *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, 48, 32))
	for y := range 32 {
		for x := range 48 {
			c := color.NRGBA{0x20, 0x30, 0x40, 0xFF}
			if (x/8)%2 == 1 {
				c.R = 0xE0
			}
			if (y/8)%2 == 1 {
				c.G = 0xC0
			}
			if x < 12 && y < 8 {
				c.B = 0xB0
			}
			m.SetNRGBA(x, y, c)
		}
	}
	return m
}

// lsbWriter writes the least-significant-bit-first bit stream of VP8L.
type lsbWriter struct {
	buf []byte
	acc uint64
	n   uint
}

func (w *lsbWriter) write(v uint64, n uint) {
	w.acc |= v << w.n
	w.n += n
	for w.n >= 8 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc >>= 8
		w.n -= 8
	}
}

func (w *lsbWriter) bytes() []byte {
	if w.n > 0 {
		w.buf = append(w.buf, byte(w.acc))
	}
	return w.buf
}

// encodeVP8L writes a lossless WebP bitstream (no transforms, no colour cache, one Huffman group)
// for an image in which each channel takes at most two values: each channel's "simple" Huffman
// code then has one or two 8-bit symbols, and each pixel costs one bit per two-valued channel.
// golang.org/x/image has no WebP encoder, and the fixtures must be made by the project itself.
func encodeVP8L(t *testing.T, m *image.NRGBA) []byte {
	w, h := m.Bounds().Dx(), m.Bounds().Dy()
	// Channels in bitstream order: green, red, blue, alpha.
	chans := [4]int{1, 0, 2, 3}
	var symbols [4][]uint8
	for i, c := range chans {
		for p := c; p < len(m.Pix); p += 4 {
			v := m.Pix[p]
			if !bytes.Contains(symbols[i], []byte{v}) {
				symbols[i] = append(symbols[i], v)
			}
		}
		if len(symbols[i]) > 2 {
			t.Fatalf("channel %d has %d values; the fixture encoder handles two", c, len(symbols[i]))
		}
	}
	var bw lsbWriter
	bw.write(0x2f, 8) // signature
	bw.write(uint64(w-1), 14)
	bw.write(uint64(h-1), 14)
	bw.write(0, 1) // alpha is not used
	bw.write(0, 3) // version
	bw.write(0, 1) // no transform
	bw.write(0, 1) // no colour cache
	bw.write(0, 1) // no meta Huffman image
	for _, s := range symbols {
		bw.write(1, 1) // simple code
		bw.write(uint64(len(s)-1), 1)
		bw.write(1, 1) // first symbol in 8 bits
		bw.write(uint64(s[0]), 8)
		if len(s) == 2 {
			bw.write(uint64(s[1]), 8)
		}
	}
	bw.write(1, 1) // distance code: simple, one 1-bit symbol, 0; never used
	bw.write(0, 1)
	bw.write(0, 1)
	bw.write(0, 1)
	for p := 0; p < len(m.Pix); p += 4 {
		for i, c := range chans {
			if len(symbols[i]) == 2 {
				bw.write(uint64(bytes.IndexByte(symbols[i], m.Pix[p+c])), 1)
			}
		}
	}
	return bw.bytes()
}

func makeWebPFixture(t *testing.T) []byte {
	m := webpImage()
	vp8x := []byte{0x20 | 0x08 | 0x04, 0, 0, 0} // ICC, EXIF, XMP
	vp8x = append(vp8x, byte(47), 0, 0, byte(31), 0, 0)
	body := []byte("WEBP")
	for _, c := range [][]byte{
		riffChunkBytes("VP8X", vp8x),
		riffChunkBytes("ICCP", testICC),
		riffChunkBytes("VP8L", encodeVP8L(t, m)),
		riffChunkBytes("EXIF", cameraEXIF(binary.LittleEndian, 6)),
		riffChunkBytes("XMP ", xmpPacket("XMP-SECRET webp")),
	} {
		body = append(body, c...)
	}
	out := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	return append(out, body...)
}

// --- GIF ------------------------------------------------------------------------------------------

func gifFrames() *gif.GIF {
	pal := color.Palette{
		color.RGBA{0, 0, 0, 255}, color.RGBA{240, 20, 20, 255},
		color.RGBA{20, 200, 20, 255}, color.RGBA{20, 20, 220, 255},
	}
	g := &gif.GIF{LoopCount: 0}
	for f := range 2 {
		m := image.NewPaletted(image.Rect(0, 0, 32, 24), pal)
		for y := range 24 {
			for x := range 32 {
				m.SetColorIndex(x, y, uint8((x/4+y/6+f)%4))
			}
		}
		g.Image = append(g.Image, m)
		g.Delay = append(g.Delay, 20)
	}
	return g
}

// gifSubBlocks splits b into data sub-blocks with the terminator.
func gifSubBlocks(b []byte) []byte {
	var out []byte
	for len(b) > 0 {
		n := min(len(b), 255)
		out = append(out, byte(n))
		out = append(out, b[:n]...)
		b = b[n:]
	}
	return append(out, 0)
}

// gifXMPExtension is XMP as Adobe stores it in a GIF: the raw packet right after the identifier,
// then a 258-byte "magic trailer" that turns whatever sub-block lengths a reader sees in the
// packet into a clean end.
func gifXMPExtension() []byte {
	b := append([]byte{0x21, 0xFF, 11}, "XMP DataXMP"...)
	b = append(b, xmpPacket("XMP-SECRET gif")...)
	b = append(b, 1)
	for v := 255; v >= 0; v-- {
		b = append(b, byte(v))
	}
	return append(b, 0)
}

func makeGIFFixture(t *testing.T) []byte {
	var enc bytes.Buffer
	if err := gif.EncodeAll(&enc, gifFrames()); err != nil {
		t.Fatal(err)
	}
	plain := enc.Bytes()
	at := gifHeaderLen + gifColorTableLen(plain[10])
	out := append([]byte(nil), plain[:at]...)
	out = append(out, 0x21, 0xFE)
	out = append(out, gifSubBlocks([]byte("GIF-COMMENT-SECRET made by Dr. Kim"))...)
	out = append(out, gifXMPExtension()...)
	out = append(out, plain[at:len(plain)-1]...)
	out = append(out, 0x21, 0xFE)
	out = append(out, gifSubBlocks([]byte("GIF-COMMENT-SECRET before the trailer"))...)
	return append(out, gifTrailer)
}
