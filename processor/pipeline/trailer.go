package pipeline

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"medicpx/shared/imagepolicy"
)

// What a phone may append after a JPEG's primary image, as named in Result.Removed.
const (
	RemovedGainMap     = imagepolicy.RemovedGainMap
	RemovedMPOFrames   = imagepolicy.RemovedMPOFrames
	RemovedMotionVideo = imagepolicy.RemovedMotionVideo
)

// Limits on what the trailer classifier reads, so a hostile header costs nothing.
const (
	maxMPFImages   = 16 // real files declare 2; CIPA DC-007 allows more, nobody writes them
	maxMPFTags     = 64
	maxXMPItems    = 16
	maxHeaderBytes = 1 << 20 // of a secondary image's header, when looking for gain-map metadata
)

var (
	mpfID = []byte("MPF\x00")
	xmpID = []byte("http://ns.adobe.com/xap/1.0/\x00")
)

// XMP namespaces of the Motion Photo / Ultra HDR container directory and of Google's camera
// metadata (the older MicroVideo tags live there too).
const (
	nsContainer = "http://ns.google.com/photos/1.0/container/"
	nsItem      = "http://ns.google.com/photos/1.0/container/item/"
	nsCamera    = "http://ns.google.com/photos/1.0/camera/"
)

// Markers in a secondary image's metadata that say it is a gain map: hdrgm (Google/Adobe Ultra
// HDR), Apple's auxiliary image type, ISO 21496-1.
var gainMapMarks = [][]byte{
	[]byte("http://ns.adobe.com/hdr-gain-map/1.0/"),
	[]byte("urn:com:apple:photo:2020:aux:hdrgainmap"),
	[]byte("urn:iso:std:iso:ts:21496:-1"),
}

// classifyJPEGTrailer decides whether data[end:], the bytes after a JPEG's primary image (end is
// just past the primary's EOI, found by walking markers), is something cameras write and the
// primary itself declares: zero padding, the further images of its MPF index, or its Motion
// Photo video. It returns what the trailer holds (nil for padding only); anything else is an
// error, and the upload is rejected as trailing data.
//
// Nothing in the trailer is decoded: it is only measured against what the primary declares, and
// then cut off.
func classifyJPEGTrailer(data []byte, end int) ([]string, error) {
	if end < 4 || end > len(data) {
		return nil, errors.New("bad primary end")
	}
	trailer := data[end:]
	if allZero(trailer) {
		return nil, nil
	}
	h := readPrimaryHeader(data[:end])
	var mpfErr error
	if h.mpf != nil {
		// A primary that declares an MPF index must declare it correctly: a broken or
		// out-of-bounds index is refused even if something else would explain the trailer.
		removed, err := mpfTrailer(data, end, h.mpfTIFF, h.mpf)
		if err == nil || !errors.Is(err, errNotCovered) {
			return removed, err
		}
		mpfErr = err
	}
	if h.xmp != nil {
		if removed, ok := xmpTrailer(data, end, h.xmp); ok {
			return removed, nil
		}
	}
	if mpfErr != nil {
		return nil, fmt.Errorf("%d bytes after the primary image are not the images its MPF index declares: %w", len(trailer), mpfErr)
	}
	return nil, fmt.Errorf("%d bytes after the primary image that it does not declare", len(trailer))
}

// errNotCovered: the MPF index is well formed and in bounds, but its images do not account for
// every byte after the primary.
var errNotCovered = errors.New("MPF images do not cover the trailer")

// primaryHeader holds the segments of the primary image that describe its trailer.
type primaryHeader struct {
	mpf     []byte // the MPF APP2 payload after "MPF\0": a TIFF structure
	mpfTIFF int    // file offset of that TIFF header, the base of MPF image offsets
	xmp     []byte // the standard XMP packet (APP1), without its identifier
}

// readPrimaryHeader walks the primary's marker segments up to its first scan and keeps the
// first MPF and XMP segments. The primary has already been walked to its EOI, so a malformed
// header only ends the walk early.
func readPrimaryHeader(primary []byte) primaryHeader {
	var h primaryHeader
	walkJPEGHeader(primary, 2, func(marker byte, start int, payload []byte) {
		switch {
		case marker == 0xE2 && h.mpf == nil && bytes.HasPrefix(payload, mpfID):
			h.mpf = payload[len(mpfID):]
			h.mpfTIFF = start + 4 + len(mpfID) // marker, length, "MPF\0"
		case marker == 0xE1 && h.xmp == nil && bytes.HasPrefix(payload, xmpID):
			h.xmp = payload[len(xmpID):]
		}
	})
	return h
}

// walkJPEGHeader calls fn for each length-prefixed segment of the JPEG in data from pos (just
// after SOI) until the first SOS or EOI, or until the structure stops making sense.
func walkJPEGHeader(data []byte, pos int, fn func(marker byte, start int, payload []byte)) {
	for pos+4 <= len(data) && data[pos] == 0xFF {
		for pos+1 < len(data) && data[pos+1] == 0xFF { // fill bytes
			pos++
		}
		if pos+4 > len(data) {
			return
		}
		m := data[pos+1]
		if m == 0xDA || m == 0xD9 || m == 0xD8 || m == 0x00 || (m >= 0xD0 && m <= 0xD7) || m == 0x01 {
			return
		}
		n := int(binary.BigEndian.Uint16(data[pos+2:]))
		if n < 2 || pos+2+n > len(data) {
			return
		}
		fn(m, pos, data[pos+4:pos+2+n])
		pos += 2 + n
	}
}

// mpEntry is one MP Entry of an MP Index IFD (CIPA DC-007 5.2.3.3).
type mpEntry struct {
	attr, size, offset uint32
}

// parseMPF reads the MP Index IFD of an MPF segment: the image entries, with strict bounds.
func parseMPF(tiff []byte) ([]mpEntry, error) {
	if len(tiff) < 8 {
		return nil, errors.New("MPF: short TIFF header")
	}
	var bo binary.ByteOrder
	switch string(tiff[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return nil, errors.New("MPF: no TIFF header")
	}
	ifd := int64(bo.Uint32(tiff[4:]))
	if ifd < 8 || ifd+2 > int64(len(tiff)) {
		return nil, fmt.Errorf("MPF: IFD offset %d outside the segment", ifd)
	}
	count := int(bo.Uint16(tiff[ifd:]))
	if count > maxMPFTags || ifd+2+int64(count)*12 > int64(len(tiff)) {
		return nil, fmt.Errorf("MPF: %d IFD entries do not fit", count)
	}
	var (
		numImages   = -1
		entries     []byte
		haveEntries bool
	)
	for i := range count {
		e := tiff[ifd+2+int64(i)*12:][:12]
		tag, typ, n := bo.Uint16(e), bo.Uint16(e[2:]), bo.Uint32(e[4:])
		switch tag {
		case 0xB001: // NumberOfImages: LONG, 1
			if typ != 4 || n != 1 {
				return nil, errors.New("MPF: malformed NumberOfImages")
			}
			v := bo.Uint32(e[8:])
			if v < 1 || v > maxMPFImages {
				return nil, fmt.Errorf("MPF: NumberOfImages %d outside 1..%d", v, maxMPFImages)
			}
			numImages = int(v)
		case 0xB002: // MPEntry: UNDEFINED, 16 bytes per image, always stored at an offset
			if typ != 7 || n <= 4 {
				return nil, errors.New("MPF: malformed MPEntry")
			}
			off := int64(bo.Uint32(e[8:]))
			if off < 8 || off+int64(n) > int64(len(tiff)) {
				return nil, fmt.Errorf("MPF: MPEntry of %d bytes at %d outside the segment", n, off)
			}
			entries, haveEntries = tiff[off:off+int64(n)], true
		}
	}
	if numImages < 0 || !haveEntries {
		return nil, errors.New("MPF: no MP Index (NumberOfImages and MPEntry)")
	}
	if len(entries) != numImages*16 {
		return nil, fmt.Errorf("MPF: MPEntry holds %d bytes for %d images", len(entries), numImages)
	}
	out := make([]mpEntry, numImages)
	for i := range out {
		e := entries[i*16:]
		out[i] = mpEntry{attr: bo.Uint32(e), size: bo.Uint32(e[4:]), offset: bo.Uint32(e[8:])}
	}
	return out, nil
}

// mpfTrailer checks that the images the MPF index declares after the primary, with zero padding
// between and after them, are exactly the trailer.
func mpfTrailer(data []byte, end, tiffStart int, tiff []byte) ([]string, error) {
	entries, err := parseMPF(tiff)
	if err != nil {
		return nil, err
	}
	// Entry 0 is the primary. Its size is ignored: Pixel, Apple and Samsung files get it wrong by
	// up to 282 bytes; the primary's end is where its markers say.
	type span struct{ start, end int64 }
	spans := make([]span, 0, len(entries)-1)
	for i, e := range entries[1:] {
		start := int64(tiffStart) + int64(e.offset)
		stop := start + int64(e.size)
		switch {
		case e.offset == 0 || e.size < 4:
			return nil, fmt.Errorf("MPF: image %d has no data (offset %d, size %d)", i+2, e.offset, e.size)
		case start < int64(end):
			return nil, fmt.Errorf("MPF: image %d starts at %d, inside the primary image", i+2, start)
		case stop > int64(len(data)):
			return nil, fmt.Errorf("MPF: image %d (%d bytes at %d) runs past the end of the file", i+2, e.size, start)
		case data[start] != 0xFF || data[start+1] != 0xD8:
			return nil, fmt.Errorf("MPF: image %d at %d does not start with SOI", i+2, start)
		}
		spans = append(spans, span{start, stop})
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	pos := int64(end)
	var removed []string
	for _, s := range spans {
		if s.start < pos {
			return nil, fmt.Errorf("MPF: images overlap at %d", s.start)
		}
		if !allZero(data[pos:s.start]) {
			return nil, fmt.Errorf("%w: undeclared bytes at %d", errNotCovered, pos)
		}
		kind := RemovedMPOFrames
		if isGainMap(data[s.start:s.end]) {
			kind = RemovedGainMap
		}
		if !slices.Contains(removed, kind) {
			removed = append(removed, kind)
		}
		pos = s.end
	}
	if !allZero(data[pos:]) {
		return nil, fmt.Errorf("%w: %d undeclared bytes after the last declared image", errNotCovered, int64(len(data))-pos)
	}
	return removed, nil
}

// isGainMap reports whether a secondary JPEG's header declares it a gain map.
func isGainMap(img []byte) bool {
	found := false
	walkJPEGHeader(img[:min(len(img), maxHeaderBytes)], 2, func(marker byte, _ int, payload []byte) {
		if marker != 0xE1 && marker != 0xE2 {
			return
		}
		for _, m := range gainMapMarks {
			if bytes.Contains(payload, m) {
				found = true
			}
		}
	})
	return found
}

// xmpItem is one media item of a Container:Directory.
type xmpItem struct {
	mime, semantic  string
	length, padding int64
}

// motionXMP is what the primary's XMP says about data appended to it.
type motionXMP struct {
	items            []xmpItem
	microVideoOffset int64 // GCamera:MicroVideoOffset: the video's size, counted from the end
}

// xmpTrailer checks the trailer against the primary's XMP: the Container:Directory items laid
// one after another from the primary's end (their lengths and paddings add up to the trailer
// exactly), or the older GCamera:MicroVideoOffset (the trailer is exactly the video).
func xmpTrailer(data []byte, end int, packet []byte) ([]string, bool) {
	x, err := parseMotionXMP(packet)
	if err != nil {
		return nil, false
	}
	trailer := int64(len(data) - end)
	if len(x.items) >= 2 && x.items[0].semantic == "Primary" {
		pos := int64(end) + x.items[0].padding
		var removed []string
		for _, it := range x.items[1:] {
			if it.length <= 0 || pos+it.length > int64(len(data)) {
				return nil, false
			}
			body := data[pos : pos+it.length]
			var kind string
			switch {
			case strings.HasPrefix(it.mime, "video/") && isISOBMFF(body):
				kind = RemovedMotionVideo
			case it.mime == "image/jpeg" && body[0] == 0xFF && body[1] == 0xD8:
				kind = map[bool]string{true: RemovedGainMap, false: RemovedMPOFrames}[it.semantic == "GainMap" || isGainMap(body)]
			default:
				return nil, false
			}
			if !slices.Contains(removed, kind) {
				removed = append(removed, kind)
			}
			pos += it.length + it.padding
		}
		if pos == int64(len(data)) {
			return removed, true
		}
	}
	if x.microVideoOffset == trailer && isISOBMFF(data[end:]) {
		return []string{RemovedMotionVideo}, true
	}
	return nil, false
}

// isISOBMFF reports whether b starts like an MP4/QuickTime file: a first box of type ftyp.
func isISOBMFF(b []byte) bool {
	return len(b) >= 12 && string(b[4:8]) == "ftyp"
}

// parseMotionXMP reads the Container:Directory items and GCamera:MicroVideoOffset of an XMP
// packet, in attribute or element form.
func parseMotionXMP(packet []byte) (motionXMP, error) {
	var (
		x     motionXMP
		cur   *xmpItem // inside a Container:Item
		field string   // inside an element-form field, collecting its text
		text  strings.Builder
	)
	set := func(space, local, value string) error {
		value = strings.TrimSpace(value)
		num := func() (int64, error) {
			v, err := strconv.ParseInt(value, 10, 64)
			if err != nil || v < 0 || v > 1<<40 {
				return 0, fmt.Errorf("XMP: bad %s %q", local, value)
			}
			return v, nil
		}
		var err error
		switch {
		case space == nsCamera && local == "MicroVideoOffset":
			x.microVideoOffset, err = num()
		case space == nsItem && cur != nil:
			switch local {
			case "Mime":
				cur.mime = value
			case "Semantic":
				cur.semantic = value
			case "Length":
				cur.length, err = num()
			case "Padding":
				cur.padding, err = num()
			}
		}
		return err
	}
	d := xml.NewDecoder(bytes.NewReader(packet))
	d.Strict = true
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return x, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space == nsContainer && t.Name.Local == "Item" {
				if len(x.items) >= maxXMPItems {
					return x, errors.New("XMP: too many container items")
				}
				x.items = append(x.items, xmpItem{})
				cur = &x.items[len(x.items)-1]
			}
			for _, a := range t.Attr {
				if err := set(a.Name.Space, a.Name.Local, a.Value); err != nil {
					return x, err
				}
			}
			if t.Name.Space == nsItem || (t.Name.Space == nsCamera && t.Name.Local == "MicroVideoOffset") {
				field = t.Name.Space + " " + t.Name.Local
				text.Reset()
			}
		case xml.CharData:
			if field != "" && text.Len() < 64 {
				text.Write(t)
			}
		case xml.EndElement:
			if field != "" && field == t.Name.Space+" "+t.Name.Local {
				if err := set(t.Name.Space, t.Name.Local, text.String()); err != nil {
					return x, err
				}
				field = ""
			}
			if t.Name.Space == nsContainer && t.Name.Local == "Item" {
				cur = nil
			}
		}
	}
	return x, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
