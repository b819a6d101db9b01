package pipeline

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"medicpx/infra/testenv/phonesamples"
)

// Phone-shaped JPEGs made in code: a primary image (red) followed by what phones append (a gain
// map or stereo frame in blue, a video), declared the way each vendor declares it, and hostile
// variants of each. The red/blue split shows that thumbnails come from the primary alone.

// solidJPEG is a w×h JPEG of one colour.
func solidJPEG(t testing.TB, w, h int, c color.NRGBA) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	fill(img, img.Rect, c)
	b, err := encodeJPEG(img)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// segment is a JPEG marker segment.
func segment(marker byte, payload []byte) []byte {
	b := []byte{0xFF, marker, 0, 0}
	binary.BigEndian.PutUint16(b[2:], uint16(len(payload)+2))
	return append(b, payload...)
}

// withSegments inserts segments right after a JPEG's SOI.
func withSegments(jpg []byte, segs ...[]byte) []byte {
	out := append([]byte{}, jpg[:2]...)
	for _, s := range segs {
		out = append(out, s...)
	}
	return append(out, jpg[2:]...)
}

func xmpSegment(body string) []byte {
	return segment(0xE1, append(append([]byte{}, xmpID...), `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">`+body+`</rdf:RDF></x:xmpmeta>`...))
}

// Secondary images as vendors write them.
func hdrgmGainMap(t testing.TB) []byte {
	return withSegments(solidJPEG(t, 16, 16, blue), xmpSegment(`<rdf:Description xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/" hdrgm:Version="1.0" hdrgm:GainMapMax="2.3"/>`))
}

func appleGainMap(t testing.TB) []byte {
	return withSegments(solidJPEG(t, 24, 24, blue), xmpSegment(`<rdf:Description xmlns:apdi="http://ns.apple.com/pixeldatainfo/1.0/" apdi:AuxiliaryImageType="urn:com:apple:photo:2020:aux:hdrgainmap"/>`))
}

func stereoFrame(t testing.TB) []byte {
	// The right eye repeats the camera's EXIF, serial included: it must never be stored.
	return withEXIFOrientation(solidJPEG(t, 32, 24, blue), 1)
}

// mpfPart is one image appended after the primary, with the zero bytes before it.
type mpfPart struct {
	pad     int
	padWith byte // 0 as cameras write; anything else is undeclared data
	data    []byte
	attr    uint32
}

// mpfOptions change what the MPF index declares, to make hostile files.
type mpfOptions struct {
	bigEndian    bool
	entry0Delta  int                                  // added to the primary's declared size
	numImages    uint32                               // 0: the real count
	edit         func(entries []mpEntry, tiff, n int) // last say on the entries (offsets relative to the TIFF header)
	extraSegment [][]byte                             // more segments for the primary, after MPF
}

// withMPF builds primary + MPF index + parts, as a camera writes an MPO or a gain-map JPEG.
func withMPF(primary []byte, parts []mpfPart, o mpfOptions) []byte {
	n := len(parts) + 1
	build := func(entries []mpEntry) []byte {
		var bo binary.AppendByteOrder = binary.LittleEndian
		tiff := []byte("II*\x00")
		if o.bigEndian {
			bo, tiff = binary.BigEndian, []byte("MM\x00*")
		}
		tiff = bo.AppendUint32(tiff, 8)
		tiff = bo.AppendUint16(tiff, 3)
		entryOff := uint32(8 + 2 + 3*12 + 4)
		num := uint32(n)
		if o.numImages != 0 {
			num = o.numImages
		}
		tiff = bo.AppendUint16(bo.AppendUint16(bo.AppendUint32(bo.AppendUint16(bo.AppendUint16(tiff, 0xB000), 7), 4), 0), 0) // placeholder value
		copy(tiff[len(tiff)-4:], "0100")
		tiff = bo.AppendUint32(bo.AppendUint32(bo.AppendUint16(bo.AppendUint16(tiff, 0xB001), 4), 1), num)
		tiff = bo.AppendUint32(bo.AppendUint32(bo.AppendUint16(bo.AppendUint16(tiff, 0xB002), 7), uint32(16*n)), entryOff)
		tiff = bo.AppendUint32(tiff, 0) // no next IFD
		for _, e := range entries {
			tiff = bo.AppendUint32(bo.AppendUint32(bo.AppendUint32(tiff, e.attr), e.size), e.offset)
			tiff = bo.AppendUint32(tiff, 0) // dependent images
		}
		return segment(0xE2, append(append([]byte{}, mpfID...), tiff...))
	}
	entries := make([]mpEntry, n)
	head := withSegments(primary, append([][]byte{build(entries)}, o.extraSegment...)...)
	const tiffStart = 2 + 8 // SOI, then FF E2 length "MPF\0"
	entries[0] = mpEntry{attr: 0x20030000, size: uint32(len(head) + o.entry0Delta)}
	pos := len(head)
	for i, p := range parts {
		pos += p.pad
		entries[i+1] = mpEntry{attr: p.attr, size: uint32(len(p.data)), offset: uint32(pos - tiffStart)}
		pos += len(p.data)
	}
	if o.edit != nil {
		o.edit(entries, tiffStart, pos)
	}
	out := withSegments(primary, append([][]byte{build(entries)}, o.extraSegment...)...)
	for _, p := range parts {
		out = append(out, bytes.Repeat([]byte{p.padWith}, p.pad)...)
		out = append(out, p.data...)
	}
	return out
}

// fakeMP4 is the start of an MP4 file (an ftyp box) and some media data.
func fakeMP4(n int) []byte {
	b := []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")
	b = binary.BigEndian.AppendUint32(b, uint32(n+8))
	b = append(b, "mdat"...)
	for i := range n {
		b = append(b, byte(i*7+1))
	}
	return b
}

func containerXMP(items ...string) []byte {
	var li strings.Builder
	for _, it := range items {
		li.WriteString(`<rdf:li rdf:parseType="Resource"><Container:Item ` + it + `/></rdf:li>`)
	}
	return xmpSegment(`<rdf:Description rdf:about="" xmlns:Camera="http://ns.google.com/photos/1.0/camera/" xmlns:Container="http://ns.google.com/photos/1.0/container/" xmlns:Item="http://ns.google.com/photos/1.0/container/item/" Camera:MotionPhoto="1"><Container:Directory><rdf:Seq>` + li.String() + `</rdf:Seq></Container:Directory></rdf:Description>`)
}

func zipPayload(t testing.TB) []byte {
	var z bytes.Buffer
	zw := zip.NewWriter(&z)
	w, err := zw.Create("payload.sh")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte("#!/bin/sh\necho owned\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return z.Bytes()
}

// trailerCase is one phone-shaped or hostile file: its bytes, and where its primary ends.
type trailerCase struct {
	name    string
	make    func(t testing.TB) (data []byte, primaryEnd int)
	removed []string // for an accepted file
	reject  string   // substring of the trailing_data detail for a rejected one
}

// primaryOf returns a red primary with the given extra segments and its length.
func primaryOf(t testing.TB, segs ...[]byte) []byte {
	return withSegments(solidJPEG(t, 64, 48, red), segs...)
}

func mpfCase(parts func(t testing.TB) []mpfPart, o mpfOptions, trailer func(t testing.TB) []byte) func(t testing.TB) ([]byte, int) {
	return func(t testing.TB) ([]byte, int) {
		ps := parts(t)
		data := withMPF(solidJPEG(t, 64, 48, red), ps, o)
		end := len(data)
		for _, p := range ps {
			end -= p.pad + len(p.data)
		}
		if trailer != nil {
			data = append(data, trailer(t)...)
		}
		return data, end
	}
}

func appended(primary func(t testing.TB) []byte, trailer func(t testing.TB) []byte) func(t testing.TB) ([]byte, int) {
	return func(t testing.TB) ([]byte, int) {
		p := primary(t)
		return append(append([]byte{}, p...), trailer(t)...), len(p)
	}
}

func gainMapPart(t testing.TB) []mpfPart { return []mpfPart{{data: hdrgmGainMap(t)}} }
func stereoPart(t testing.TB) []mpfPart {
	return []mpfPart{{pad: 1, data: stereoFrame(t), attr: 0x00020002}}
}
func bytesOf(b ...byte) func(testing.TB) []byte { return func(testing.TB) []byte { return b } }

var trailerCases = []trailerCase{
	// Accepted: what cameras write.
	{name: "zero-padding", removed: nil,
		make: appended(func(t testing.TB) []byte { return primaryOf(t) }, bytesOf(make([]byte, 23)...))},
	{name: "ultrahdr-mpf-le-entry0-282-short", removed: []string{RemovedGainMap},
		make: mpfCase(gainMapPart, mpfOptions{entry0Delta: -282, extraSegment: [][]byte{containerXMP(`Item:Semantic="Primary" Item:Mime="image/jpeg"`, `Item:Semantic="GainMap" Item:Mime="image/jpeg" Item:Length="1"`)}}, nil)},
	{name: "apple-gainmap-mpf-be-entry0-70-long", removed: []string{RemovedGainMap},
		make: mpfCase(func(t testing.TB) []mpfPart { return []mpfPart{{data: appleGainMap(t)}} }, mpfOptions{bigEndian: true, entry0Delta: 70}, nil)},
	{name: "stereo-mpo-1-zero-byte", removed: []string{RemovedMPOFrames}, make: mpfCase(stereoPart, mpfOptions{}, nil)},
	{name: "stereo-mpo-23-zero-bytes-and-padding-after", removed: []string{RemovedMPOFrames},
		make: mpfCase(func(t testing.TB) []mpfPart { return []mpfPart{{pad: 23, data: stereoFrame(t), attr: 0x00020002}} }, mpfOptions{bigEndian: true}, bytesOf(0, 0, 0, 0))},
	{name: "motion-photo-container", removed: []string{RemovedMotionVideo},
		make: appended(func(t testing.TB) []byte {
			return primaryOf(t, containerXMP(`Item:Mime="image/jpeg" Item:Semantic="Primary" Item:Length="0" Item:Padding="0"`, fmt.Sprintf(`Item:Mime="video/mp4" Item:Semantic="MotionPhoto" Item:Length="%d" Item:Padding="0"`, len(fakeMP4(3000)))))
		}, func(testing.TB) []byte { return fakeMP4(3000) })},
	{name: "ultrahdr-motion-photo-container", removed: []string{RemovedGainMap, RemovedMotionVideo},
		make: func(t testing.TB) ([]byte, int) {
			gm, video := hdrgmGainMap(t), fakeMP4(2000)
			p := primaryOf(t, containerXMP(`Item:Mime="image/jpeg" Item:Semantic="Primary"`,
				fmt.Sprintf(`Item:Mime="image/jpeg" Item:Semantic="GainMap" Item:Length="%d"`, len(gm)),
				fmt.Sprintf(`Item:Mime="video/mp4" Item:Semantic="MotionPhoto" Item:Length="%d"`, len(video))))
			return slices.Concat(p, gm, video), len(p)
		}},
	{name: "micro-video-offset", removed: []string{RemovedMotionVideo},
		make: appended(func(t testing.TB) []byte {
			return primaryOf(t, xmpSegment(fmt.Sprintf(`<rdf:Description xmlns:GCamera="http://ns.google.com/photos/1.0/camera/"><GCamera:MicroVideo>1</GCamera:MicroVideo><GCamera:MicroVideoOffset>%d</GCamera:MicroVideoOffset></rdf:Description>`, len(fakeMP4(500)))))
		}, func(testing.TB) []byte { return fakeMP4(500) })},

	// Rejected: anything a primary does not declare exactly.
	{name: "zip-appended", reject: "does not declare",
		make: appended(func(t testing.TB) []byte { return primaryOf(t) }, zipPayload)},
	{name: "html-appended", reject: "does not declare",
		make: appended(func(t testing.TB) []byte { return primaryOf(t) }, func(testing.TB) []byte { return []byte("<html><script>alert(1)</script></html>") })},
	{name: "undeclared-jpeg-appended", reject: "does not declare",
		make: appended(func(t testing.TB) []byte { return primaryOf(t) }, hdrgmGainMap)},
	{name: "mpf-image-then-zip", reject: "after the last declared image", make: mpfCase(gainMapPart, mpfOptions{}, zipPayload)},
	{name: "mpf-image-then-one-byte", reject: "after the last declared image", make: mpfCase(stereoPart, mpfOptions{}, bytesOf(1))},
	{name: "mpf-undeclared-bytes-before-image", reject: "undeclared bytes",
		make: mpfCase(func(t testing.TB) []mpfPart {
			return []mpfPart{{pad: 2, padWith: 'x', data: stereoFrame(t), attr: 0x00020002}}
		}, mpfOptions{}, nil)},
	{name: "mpf-entry-past-end", reject: "runs past the end",
		make: mpfCase(gainMapPart, mpfOptions{edit: func(e []mpEntry, _, _ int) { e[1].size += 100 }}, nil)},
	{name: "mpf-entry-offset-far-outside", reject: "runs past the end",
		make: mpfCase(gainMapPart, mpfOptions{edit: func(e []mpEntry, _, _ int) { e[1].offset = 0xFFFFFFF0 }}, nil)},
	{name: "mpf-entry-inside-primary", reject: "inside the primary",
		make: mpfCase(gainMapPart, mpfOptions{edit: func(e []mpEntry, _, _ int) { e[1].offset = 2 }}, nil)},
	{name: "mpf-entry-not-soi", reject: "does not start with SOI",
		make: mpfCase(stereoPart, mpfOptions{edit: func(e []mpEntry, _, _ int) { e[1].offset--; e[1].size++ }}, nil)},
	{name: "mpf-overlapping-images", reject: "overlap",
		make: mpfCase(func(t testing.TB) []mpfPart { return append(gainMapPart(t), gainMapPart(t)...) },
			mpfOptions{edit: func(e []mpEntry, _, _ int) { e[2].offset = e[1].offset }}, nil)},
	{name: "mpf-number-of-images-huge", reject: "NumberOfImages",
		make: mpfCase(gainMapPart, mpfOptions{numImages: 1 << 30}, nil)},
	{name: "mpf-number-of-images-disagrees", reject: "MPEntry holds",
		make: mpfCase(gainMapPart, mpfOptions{numImages: 3}, nil)},
	{name: "mpf-broken-but-container-declares", reject: "NumberOfImages",
		make: func(t testing.TB) ([]byte, int) {
			gm := hdrgmGainMap(t)
			xmp := containerXMP(`Item:Semantic="Primary" Item:Mime="image/jpeg"`, fmt.Sprintf(`Item:Semantic="GainMap" Item:Mime="image/jpeg" Item:Length="%d"`, len(gm)))
			data := withMPF(solidJPEG(t, 64, 48, red), []mpfPart{{data: gm}}, mpfOptions{numImages: 1000, extraSegment: [][]byte{xmp}})
			return data, len(data) - len(gm)
		}},
	{name: "motion-photo-one-byte-more", reject: "does not declare",
		make: appended(func(t testing.TB) []byte {
			return primaryOf(t, containerXMP(`Item:Semantic="Primary" Item:Mime="image/jpeg"`, fmt.Sprintf(`Item:Mime="video/mp4" Item:Semantic="MotionPhoto" Item:Length="%d"`, len(fakeMP4(100)))))
		}, func(testing.TB) []byte { return append(fakeMP4(100), 1) })},
	{name: "motion-photo-declares-zip", reject: "does not declare",
		make: func(t testing.TB) ([]byte, int) {
			z := zipPayload(t)
			p := primaryOf(t, containerXMP(`Item:Semantic="Primary" Item:Mime="image/jpeg"`, fmt.Sprintf(`Item:Mime="video/mp4" Item:Semantic="MotionPhoto" Item:Length="%d"`, len(z))))
			return slices.Concat(p, z), len(p)
		}},
	{name: "motion-photo-length-past-end", reject: "does not declare",
		make: appended(func(t testing.TB) []byte {
			return primaryOf(t, containerXMP(`Item:Semantic="Primary" Item:Mime="image/jpeg"`, `Item:Mime="video/mp4" Item:Semantic="MotionPhoto" Item:Length="99999999"`))
		}, func(testing.TB) []byte { return fakeMP4(100) })},
	{name: "micro-video-offset-wrong", reject: "does not declare",
		make: appended(func(t testing.TB) []byte {
			return primaryOf(t, xmpSegment(`<rdf:Description xmlns:GCamera="http://ns.google.com/photos/1.0/camera/" GCamera:MicroVideo="1" GCamera:MicroVideoOffset="50"/>`))
		}, func(testing.TB) []byte { return fakeMP4(100) })},
}

// TestJPEGTrailer runs each phone-shaped and hostile file through Run: accepted ones name what
// was removed and store the primary alone (its thumbnails are the primary's red, never the
// appended blue image); rejected ones are trailing_data with a detail that says why.
func TestJPEGTrailer(t *testing.T) {
	for _, tc := range trailerCases {
		t.Run(tc.name, func(t *testing.T) {
			data, end := tc.make(t)
			if l, err := jpegLayout(data); err != nil || l.end != end {
				t.Fatalf("fixture: primary ends at %d (%v); built to end at %d", l.end, err, end)
			}
			res, err := Run(data, "jpg")
			if tc.reject != "" {
				r, ok := AsRejected(err)
				if !ok || r.Reason != ReasonTrailingData || !strings.Contains(r.Detail, tc.reject) {
					t.Fatalf("Run = %v; want trailing_data containing %q", err, tc.reject)
				}
				return
			}
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if !slices.Equal(res.Removed, tc.removed) {
				t.Errorf("Removed = %q; want %q", res.Removed, tc.removed)
			}
			phonesamples.CheckPrimaryOnly(t, res.Original, data[:end])
			if res.Width != 64 || res.Height != 48 {
				t.Errorf("size %dx%d; want the primary's 64x48", res.Width, res.Height)
			}
			centreColour(red)(t, res)
		})
	}
}

// TestParseMPFBounds feeds parseMPF index structures whose lengths and offsets lie.
func TestParseMPFBounds(t *testing.T) {
	le := binary.LittleEndian
	ifd := func(count uint16, tags ...[3]uint32) []byte { // tag, type<<16|count-lo, value
		b := le.AppendUint32([]byte("II*\x00"), 8)
		b = le.AppendUint16(b, count)
		for _, tg := range tags {
			b = le.AppendUint32(le.AppendUint32(le.AppendUint16(le.AppendUint16(b, uint16(tg[0])), uint16(tg[1]>>16)), tg[1]&0xFFFF), tg[2])
		}
		return b
	}
	tests := []struct {
		name string
		tiff []byte
		want string
	}{
		{"short", []byte("II*\x00"), "short"},
		{"not tiff", []byte("XX*\x00\x08\x00\x00\x00\x00\x00"), "no TIFF"},
		{"ifd past end", le.AppendUint32([]byte("II*\x00"), 1<<31), "outside"},
		{"ifd count too big", ifd(60000), "do not fit"},
		{"ifd entries past end", ifd(5), "do not fit"},
		{"no index", ifd(0), "no MP Index"},
		{"zero images", ifd(1, [3]uint32{0xB001, 4<<16 | 1, 0}), "outside 1..16"},
		{"entries past end", ifd(2, [3]uint32{0xB001, 4<<16 | 1, 2}, [3]uint32{0xB002, 7<<16 | 32, 0xFFFFFFF0}), "outside the segment"},
		{"entries inline", ifd(2, [3]uint32{0xB001, 4<<16 | 1, 1}, [3]uint32{0xB002, 7<<16 | 4, 0}), "malformed MPEntry"},
		{"count wrong type", ifd(1, [3]uint32{0xB001, 3<<16 | 1, 2}), "malformed NumberOfImages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseMPF(tt.tiff)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parseMPF = %v; want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestTrailerFuzzCorpus writes the fuzz seed corpus from trailerCases with -update, and checks
// that every case has its seed.
func TestTrailerFuzzCorpus(t *testing.T) {
	dir := "testdata/fuzz/FuzzJPEGTrailer"
	for _, tc := range trailerCases {
		path := filepath.Join(dir, tc.name)
		if *update {
			data, _ := tc.make(t)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%v (regenerate with: go test ./processor/pipeline -run TestTrailerFuzzCorpus -update)", err)
		}
	}
}
