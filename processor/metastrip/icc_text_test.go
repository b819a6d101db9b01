package metastrip

import (
	"bytes"
	"compress/zlib"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"golang.org/x/image/webp"
)

// The tests in this file read profiles and containers with their own small parsers, as the
// other tests do, so that a bug in the package's walk cannot hide itself.

// patient is what a careless export writes into a profile's text tags: a name and a resident
// registration number.
const patient = "홍길동 800101-1234567"

// patientMarks are the forms of patient that must not reach a stored file: UTF-8 (as in text
// and in the ASCII part of a v2 desc, which careless writers fill with UTF-8) and UTF-16BE (as in
// mluc and the Unicode part of a v2 desc).
var patientMarks = map[string][]byte{
	"name, UTF-8":      []byte("홍길동"),
	"number, ASCII":    []byte("800101-1234567"),
	"name, UTF-16BE":   utf16BE("홍길동"),
	"number, UTF-16BE": utf16BE("800101-1234567"),
}

func utf16BE(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.BigEndian.AppendUint16(b, u)
	}
	return b
}

// The text tag types as ICC.1 lays them out.

func textTag(s string) []byte { return append(append([]byte("text\x00\x00\x00\x00"), s...), 0) }

func mlucTag(s string) []byte {
	u := utf16BE(s)
	b := []byte("mluc\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x0cenUS")
	b = binary.BigEndian.AppendUint32(b, uint32(len(u)))
	b = binary.BigEndian.AppendUint32(b, 28)
	return append(b, u...)
}

// descTag is a v2 textDescriptionType with ascii in its ASCII part and s in its Unicode part.
func descTag(ascii, s string) []byte {
	b := binary.BigEndian.AppendUint32([]byte("desc\x00\x00\x00\x00"), uint32(len(ascii)+1))
	b = append(append(b, ascii...), 0)
	u := utf16BE(s)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(len(u)/2))
	b = append(b, u...)
	return append(b, make([]byte, 2+1+67)...) // no ScriptCode description
}

type iccTestTag struct {
	sig  string
	data []byte // nil: the data of the tag before
}

// buildTestICC lays out a profile with the header of testICC at version major.minor.
func buildTestICC(version byte, tags []iccTestTag) []byte {
	header := bytes.Clone(testICC[:iccHeaderLen])
	header[8], header[9] = version, 0x20
	table := binary.BigEndian.AppendUint32(nil, uint32(len(tags)))
	var data []byte
	base := iccHeaderLen + 4 + iccTagLen*len(tags)
	var off, size int
	for _, tag := range tags {
		if tag.data != nil {
			for len(data)%4 != 0 {
				data = append(data, 0)
			}
			off, size = base+len(data), len(tag.data)
			data = append(data, tag.data...)
		}
		table = append(table, tag.sig...)
		table = binary.BigEndian.AppendUint32(table, uint32(off))
		table = binary.BigEndian.AppendUint32(table, uint32(size))
	}
	p := append(append(header, table...), data...)
	binary.BigEndian.PutUint32(p, uint32(len(p)))
	return p
}

// testICCTags lists a profile's tags, in table order.
func testICCTags(t *testing.T, p []byte) []iccTestTag {
	t.Helper()
	if len(p) < iccHeaderLen+4 || int(binary.BigEndian.Uint32(p)) != len(p) || string(p[36:40]) != "acsp" {
		t.Fatalf("not a profile: %d bytes, % x", len(p), head(p))
	}
	n := int(binary.BigEndian.Uint32(p[iccHeaderLen:]))
	var tags []iccTestTag
	for i := range n {
		e := p[iccHeaderLen+4+iccTagLen*i:]
		off, size := int(binary.BigEndian.Uint32(e[4:])), int(binary.BigEndian.Uint32(e[8:]))
		if off+size > len(p) {
			t.Fatalf("tag %q runs past the end", e[:4])
		}
		tags = append(tags, iccTestTag{string(e[:4]), p[off : off+size]})
	}
	return tags
}

// colourPatient is testICC's colour tags with every text tag holding patient, in each text type,
// and a private tag of an unknown type holding it too. Its 'zzzz' tag is what a CMM never reads.
func colourPatient(t *testing.T) []iccTestTag {
	tags := []iccTestTag{
		{"desc", mlucTag(patient)},
		{"cprt", textTag(patient)},
		{"dmnd", descTag(patient, patient)},
		{"dmdd", mlucTag("Dr. Kim, " + patient)},
		{"vued", descTag("viewed by "+patient, patient)},
		{"targ", textTag(patient)},
		{"zzzz", append([]byte("zzzz\x00\x00\x00\x00"), patient...)},
	}
	for _, tag := range testICCTags(t, testICC) {
		if tag.sig != "desc" && tag.sig != "cprt" {
			tags = append(tags, tag)
		}
	}
	return tags
}

// patientICC is a v4 profile of colourPatient's tags.
func patientICC(t *testing.T) []byte { return buildTestICC(4, colourPatient(t)) }

// paddedICC is a well-formed profile of exactly size bytes: patientICC with a 'curv' tag (an
// identity curve followed by junk, as a payload dressed as a profile would be) making up the rest.
func paddedICC(t *testing.T, size int) []byte {
	tags := append(colourPatient(t), iccTestTag{"kTRC", []byte("curv\x00\x00\x00\x00\x00\x00\x00\x00")})
	p := buildTestICC(4, tags)
	junk := bytes.Repeat([]byte(patient+" "), (size-len(p))/len(patient)+1)[:size-len(p)]
	last := iccHeaderLen + 4 + iccTagLen*(len(tags)-1)
	binary.BigEndian.PutUint32(p[last+8:], binary.BigEndian.Uint32(p[last+8:])+uint32(len(junk)))
	p = append(p, junk...)
	binary.BigEndian.PutUint32(p, uint32(len(p)))
	return p
}

// iccTestText decodes a text tag: every string it holds, or ok false for a type without text.
func iccTestText(t *testing.T, data []byte) (texts []string, ok bool) {
	t.Helper()
	be := binary.BigEndian
	utf16At := func(b []byte) string {
		u := make([]uint16, len(b)/2)
		for i := range u {
			u[i] = be.Uint16(b[2*i:])
		}
		return string(utf16.Decode(u))
	}
	switch string(data[:4]) {
	case "text":
		return []string{strings.TrimRight(string(data[8:]), "\x00")}, true
	case "mluc":
		n, recLen := int(be.Uint32(data[8:])), int(be.Uint32(data[12:]))
		for i := range n {
			r := data[16+recLen*i:]
			l, off := int(be.Uint32(r[4:])), int(be.Uint32(r[8:]))
			texts = append(texts, utf16At(data[off:off+l]))
		}
		return texts, true
	case "desc":
		n := int(be.Uint32(data[8:]))
		texts = append(texts, strings.TrimRight(string(data[12:12+n]), "\x00"))
		rest := data[12+n:]
		un := int(be.Uint32(rest[4:]))
		if un > 0 {
			texts = append(texts, strings.TrimRight(utf16At(rest[8:8+2*un]), "\x00"))
		}
		if sc := rest[8+2*un:]; len(sc) != 2+1+67 || !bytes.Equal(sc, make([]byte, len(sc))) {
			t.Errorf("desc: ScriptCode part % x, want no description", sc)
		}
		return texts, true
	}
	return nil, false
}

// neutralTexts is what a stored profile's text tags may say: its description is "ICC profile",
// every other text is empty.
func neutralText(sig string) string {
	if sig == "desc" {
		return "ICC profile"
	}
	return ""
}

// assertNeutralICC checks that got, the profile a stored file carries, is orig's colour with
// neutral text: well formed, every tag of orig whose type is not text present with the same
// signature and identical bytes (unless its type is unknown, then it must be gone), and every text
// tag saying only neutralText.
func assertNeutralICC(t *testing.T, orig, got []byte) {
	t.Helper()
	if err := checkICC(got); err != nil {
		t.Fatalf("stored profile: %v", err)
	}
	if len(got)%4 != 0 {
		t.Errorf("stored profile: %d bytes, not padded to 4", len(got))
	}
	if !bytes.Equal(got[4:84], orig[4:84]) {
		t.Errorf("header changed:\n% x\nwant\n% x", got[4:84], orig[4:84])
	}
	gotTags := map[string][]byte{}
	for _, tag := range testICCTags(t, got) {
		if _, dup := gotTags[tag.sig]; dup {
			t.Errorf("tag %q twice", tag.sig)
		}
		gotTags[tag.sig] = tag.data
		if texts, ok := iccTestText(t, tag.data); ok {
			for _, s := range texts {
				if s != neutralText(tag.sig) {
					t.Errorf("tag %q (%q) says %q, want %q", tag.sig, tag.data[:4], s, neutralText(tag.sig))
				}
			}
		}
	}
	for _, tag := range testICCTags(t, orig) {
		g, kept := gotTags[tag.sig]
		switch isText := slices.Contains([]string{"desc", "mluc", "text"}, string(tag.data[:4])); {
		case isText:
			if !kept || !bytes.Equal(g[:4], tag.data[:4]) {
				t.Errorf("text tag %q (%q) not kept as the same type", tag.sig, tag.data[:4])
			}
		case tag.sig == "zzzz":
			if kept {
				t.Errorf("private tag %q of unknown type kept", tag.sig)
			}
		case !kept:
			t.Errorf("colour tag %q (%q) dropped", tag.sig, tag.data[:4])
		case !bytes.Equal(g, tag.data):
			t.Errorf("colour tag %q changed", tag.sig)
		}
	}
}

// assertNoPatient fails for every form of patient found in b.
func assertNoPatient(t *testing.T, b []byte) {
	t.Helper()
	for name, m := range patientMarks {
		if bytes.Contains(b, m) {
			t.Errorf("the %s survived", name)
		}
	}
}

// storedICC is the profile a file carries, or nil, found with the tests' own walks.
func storedICC(t *testing.T, b []byte, mime string) []byte {
	t.Helper()
	switch mime {
	case MIMEJPEG:
		return jpegTestICC(t, b)
	case MIMEPNG:
		_, data := pngChunks(t, b)
		c, ok := data["iCCP"]
		if !ok {
			return nil
		}
		name, rest, _ := bytes.Cut(c, []byte{0})
		if string(name) != "ICC profile" || rest[0] != 0 {
			t.Fatalf("iCCP name %q, method %d", name, rest[0])
		}
		zr, err := zlib.NewReader(bytes.NewReader(rest[1:]))
		if err != nil {
			t.Fatal(err)
		}
		p, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return p
	case MIMEWebP:
		_, data := riffChunks(t, b)
		if p, ok := data["ICCP"]; ok {
			if data["VP8X"][0]&vp8xFlagICC == 0 {
				t.Error("VP8X does not announce the ICCP chunk")
			}
			return p
		}
		if data["VP8X"][0]&vp8xFlagICC != 0 {
			t.Error("VP8X announces an ICC profile the file lacks")
		}
		return nil
	case MIMEGIF:
		return gifTestICC(t, b)
	}
	t.Fatalf("mime %q", mime)
	return nil
}

// jpegTestICC joins the ICC_PROFILE segments of a JPEG in sequence order, checking that they
// are numbered 1 to n of n and fit a segment.
func jpegTestICC(t *testing.T, b []byte) []byte {
	t.Helper()
	segs, _ := jpegHeader(t, b)
	var chunks [][]byte
	for _, s := range segs {
		if s.marker != 0xE2 || !bytes.HasPrefix(s.payload, []byte("ICC_PROFILE\x00")) {
			continue
		}
		p := s.payload[12:]
		if len(p) > 2+65519 {
			t.Fatalf("ICC segment with %d bytes of profile", len(p)-2)
		}
		if int(p[0]) != len(chunks)+1 {
			t.Fatalf("ICC segment %d of %d is number %d in the file", p[0], p[1], len(chunks)+1)
		}
		chunks = append(chunks, p)
	}
	var profile []byte
	for _, c := range chunks {
		if int(c[1]) != len(chunks) {
			t.Fatalf("ICC segment says %d segments, the file has %d", c[1], len(chunks))
		}
		profile = append(profile, c[2:]...)
	}
	return profile
}

func gifTestICC(t *testing.T, b []byte) []byte {
	t.Helper()
	for i := 13 + gifColorTableLen(b[10]); b[i] != 0x3B; {
		start := i
		if b[i] == 0x2C {
			i += 10 + gifColorTableLen(b[i+9]) + 1
		} else {
			i += 2
		}
		var data []byte
		for ; b[i] != 0; i += int(b[i]) + 1 {
			data = append(data, b[i+1:i+1+int(b[i])]...)
		}
		i++
		if b[start] == 0x21 && b[start+1] == 0xFF && string(data[:11]) == "ICCRGBG1012" {
			return data[11:]
		}
	}
	return nil
}

// withTestICC is one of the four small test images carrying profile as its format stores one;
// for JPEG it is split into segments of at most 65519 bytes, as a JPEG writer does.
func withTestICC(t *testing.T, mime string, profile []byte) []byte {
	t.Helper()
	switch mime {
	case MIMEJPEG:
		var segs [][]byte
		n := (len(profile) + 65518) / 65519
		for i := range n {
			segs = append(segs, iccSeg(byte(i+1), byte(n), profile[i*65519:min((i+1)*65519, len(profile))]))
		}
		return jpegWithICC(t, segs...)
	case MIMEPNG:
		return pngWith(t, pngICCPChunk("ICC profile", profile, nil))
	case MIMEWebP:
		return webpWithICCP(t, profile)
	case MIMEGIF:
		gp := mustStrip(t, readFixture(t, fixtureGIF), MIMEGIF)
		at := gifHeaderLen + gifColorTableLen(gp[10])
		ext := append(append([]byte{0x21, 0xFF, 11}, "ICCRGBG1012"...), gifSubBlocks(profile)...)
		return append(append(append([]byte(nil), gp[:at]...), ext...), gp[at:]...)
	}
	t.Fatalf("mime %q", mime)
	return nil
}

func decodeTest(t *testing.T, b []byte, mime string) image.Image {
	t.Helper()
	var m image.Image
	var err error
	switch mime {
	case MIMEJPEG:
		m, err = jpeg.Decode(bytes.NewReader(b))
	case MIMEPNG:
		m, err = png.Decode(bytes.NewReader(b))
	case MIMEWebP:
		m, err = webp.Decode(bytes.NewReader(b))
	case MIMEGIF:
		m, err = gif.Decode(bytes.NewReader(b))
	}
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return m
}

var iccMIMEs = []string{MIMEJPEG, MIMEPNG, MIMEWebP, MIMEGIF}

// TestStripICCText: a profile whose text tags hold a patient's name and resident registration
// number is stored, in every format, with the same colour tags and neutral text, and the file's
// pixels are unchanged. The JPEG case with a large curve needs three APP2 segments, so the
// rewritten profile must be split again.
func TestStripICCText(t *testing.T) {
	big := colourPatient(t)
	curve := binary.BigEndian.AppendUint32([]byte("curv\x00\x00\x00\x00"), 70000)
	for i := range 70000 {
		curve = binary.BigEndian.AppendUint16(curve, uint16(i*65535/69999))
	}
	for i := range big {
		if big[i].sig == "rTRC" {
			big[i].data = curve // gTRC and bTRC still share it
		}
	}
	v2 := colourPatient(t)
	v2[0] = iccTestTag{"desc", descTag(patient, patient)}
	profiles := map[string][]byte{
		"v4":                              patientICC(t),
		"v2 desc":                         buildTestICC(2, v2),
		"140 KB curve, in three segments": buildTestICC(4, big),
	}
	for _, mime := range iccMIMEs {
		for name, profile := range profiles {
			t.Run(mime+" "+name, func(t *testing.T) {
				in := withTestICC(t, mime, profile)
				if !bytes.Contains(in, []byte("800101-1234567")) && mime != MIMEPNG {
					t.Fatal("the test file lacks the number")
				}
				out := mustStrip(t, in, mime)
				assertNoPatient(t, out)
				got := storedICC(t, out, mime)
				if got == nil {
					t.Fatal("the profile is gone")
				}
				assertNeutralICC(t, profile, got)
				samePixels(t, decodeTest(t, in, mime), decodeTest(t, out, mime))
				assertIdempotent(t, out, mime)
			})
		}
	}
}

// TestStripICCSize: a profile over 1 MiB is dropped, whatever it holds, and so is a 9.75 MB
// blob that parses as a profile; one of exactly 1 MiB stays, its text neutralised.
func TestStripICCSize(t *testing.T) {
	for _, mime := range iccMIMEs {
		for _, tc := range []struct {
			name string
			size int
			keep bool
		}{
			{"1 MiB", 1 << 20, true},
			{"1 MiB + 1", 1<<20 + 1, false},
			{"9.75 MB", 9_750_000, false},
		} {
			t.Run(mime+" "+tc.name, func(t *testing.T) {
				profile := paddedICC(t, tc.size)
				if checkICC(profile) != nil && tc.size <= 1<<20 {
					t.Fatalf("the test profile: %v", checkICC(profile))
				}
				out := mustStrip(t, withTestICC(t, mime, profile), mime)
				got := storedICC(t, out, mime)
				switch {
				case !tc.keep && got != nil:
					t.Fatalf("a profile of %d bytes kept (%d bytes)", tc.size, len(got))
				case tc.keep && got == nil:
					t.Fatal("the profile is gone")
				case tc.keep:
					if err := checkICC(got); err != nil {
						t.Fatal(err)
					}
					if len(got) > len(profile) {
						t.Errorf("stored profile %d bytes, more than the %d uploaded", len(got), len(profile))
					}
				}
				assertIdempotent(t, out, mime)
			})
		}
	}
}

// samplesDir is the shared folder of real phone photos, beside the repository (never copied in).
var samplesDir = filepath.Join("..", "..", "..", "shared", "samples", "phone")

// sampleICCs are the real photos with a profile: Apple's Display P3 (v4, mluc, para curves,
// chad), Google's sRGB (v4), libvips' sRGB (v4.3) and HP's sRGB IEC61966-2.1 (v2: desc tags
// with ASCII and Unicode, text copyright, view and meas).
var sampleICCs = []string{
	"iphone13mini_gainmap_new.jpg", "iphone14promax_gainmap.jpg", "pixel6_ultrahdr.jpg",
	"libvips_ultrahdr_3840.jpg", "acr_gainmap_seine.jpg",
}

// readSample reads a real photo in place and cuts it at its primary image's EOI (the gain map or
// video after it is the pipeline's business, not Strip's), or skips naming the folder.
func readSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(samplesDir, name))
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("no %s: the real phone samples live in %s beside the repository", name, samplesDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	_, sos := jpegHeader(t, b)
	for i := sos; i+1 < len(b); i++ {
		switch {
		case b[i] != 0xFF || b[i+1] == 0 || b[i+1] == 0xFF || b[i+1] >= 0xD0 && b[i+1] <= 0xD7:
		case b[i+1] == 0xD9:
			return b[:i+2]
		default: // a segment between scans
			i += 1 + int(binary.BigEndian.Uint16(b[i+2:]))
		}
	}
	t.Fatalf("%s: no EOI", name)
	return nil
}

// TestStripICCRealProfiles: real phone profiles, as stored, keep every colour tag byte for byte
// and say nothing but neutral text, in the photo they came in and in the other three formats;
// the photo's pixels are unchanged.
func TestStripICCRealProfiles(t *testing.T) {
	for _, name := range sampleICCs {
		t.Run(name, func(t *testing.T) {
			in := readSample(t, name)
			orig := jpegTestICC(t, in)
			if checkICC(orig) != nil {
				t.Fatalf("the sample's profile: %v", checkICC(orig))
			}
			out := mustStrip(t, in, MIMEJPEG)
			got := jpegTestICC(t, out)
			assertNeutralICC(t, orig, got)
			samePixels(t, decodeTest(t, in, MIMEJPEG), decodeTest(t, out, MIMEJPEG))
			assertIdempotent(t, out, MIMEJPEG)
			for _, mime := range iccMIMEs[1:] {
				out := mustStrip(t, withTestICC(t, mime, orig), mime)
				if g := storedICC(t, out, mime); !bytes.Equal(g, got) {
					t.Errorf("%s: stored profile differs from the JPEG's", mime)
				}
			}
		})
	}
}

// TestStripICCSampleText: a real Display P3 profile whose description, copyright and device
// text a careless export set to a patient's name keeps its colour and loses the name.
func TestStripICCSampleText(t *testing.T) {
	in := readSample(t, "iphone13mini_gainmap_new.jpg")
	var tags []iccTestTag
	for _, tag := range testICCTags(t, jpegTestICC(t, in)) {
		if tag.sig == "desc" || tag.sig == "cprt" {
			tag.data = mlucTag(patient)
		}
		tags = append(tags, tag)
	}
	tags = append(tags, iccTestTag{"dmnd", mlucTag(patient)}, iccTestTag{"dmdd", mlucTag(patient)})
	profile := buildTestICC(4, tags)
	for _, mime := range iccMIMEs {
		t.Run(mime, func(t *testing.T) {
			out := mustStrip(t, withTestICC(t, mime, profile), mime)
			assertNoPatient(t, out)
			got := storedICC(t, out, mime)
			if got == nil {
				t.Fatal("the profile is gone")
			}
			assertNeutralICC(t, profile, got)
		})
	}
}

// testProfileID is the ICC.1 7.2.18 profile ID of p, computed here on a zeroed copy.
func testProfileID(p []byte) []byte {
	z := bytes.Clone(p)
	clear(z[44:48])
	clear(z[64:68])
	clear(z[84:100])
	sum := md5.Sum(z)
	return sum[:]
}

// TestICCProfileID: the stored profile's ID is its MD5 when the original had one (Apple's and
// Google's profiles do; the ID this package computes matches theirs on the originals), and
// stays zero, "not computed", when it had none.
func TestICCProfileID(t *testing.T) {
	for _, name := range sampleICCs {
		t.Run(name, func(t *testing.T) {
			orig := jpegTestICC(t, readSample(t, name))
			got := storedICC(t, mustStrip(t, readSample(t, name), MIMEJPEG), MIMEJPEG)
			zero := make([]byte, 16)
			switch {
			case bytes.Equal(orig[84:100], zero):
				if !bytes.Equal(got[84:100], zero) {
					t.Errorf("profile ID % x, want zero as in the original", got[84:100])
				}
			default:
				if id := iccProfileID(orig); !bytes.Equal(id[:], orig[84:100]) {
					t.Fatalf("computed ID % x of the original, it says % x", id, orig[84:100])
				}
				if !bytes.Equal(got[84:100], testProfileID(got)) {
					t.Errorf("profile ID % x, want % x", got[84:100], testProfileID(got))
				}
			}
		})
	}
}
