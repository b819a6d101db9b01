package metastrip

import (
	"bytes"
	"fmt"
)

// JPEG markers (ITU T.81 table B.1) that the walk treats specially.
const (
	markerTEM   = 0x01
	markerRST0  = 0xD0
	markerRST7  = 0xD7
	markerSOI   = 0xD8
	markerEOI   = 0xD9
	markerSOS   = 0xDA
	markerAPP0  = 0xE0
	markerAPP1  = 0xE1
	markerAPP2  = 0xE2
	markerAPP14 = 0xEE
	markerAPP15 = 0xEF
	markerCOM   = 0xFE
)

// Identifiers at the start of the APPn segments that are kept.
var (
	jfifID  = []byte("JFIF\x00")
	exifID  = []byte("Exif\x00") // the sixth byte is a pad, normally 0 but not always
	iccID   = []byte("ICC_PROFILE\x00")
	adobeID = []byte("Adobe")
)

// jfifLen is the JFIF APP0 payload without a thumbnail: identifier, version, units, densities,
// and a 0×0 thumbnail size.
const jfifLen = 14

// jpegSegment is one marker and, unless it stands alone, its length-prefixed payload.
type jpegSegment struct {
	start   int // the 0xFF of the marker itself, after any fill bytes
	end     int
	marker  byte
	payload []byte // after the two length bytes; nil for a standalone marker
}

// nextJPEGSegment reads the marker segment at pos, in the part of the file before the first scan.
func nextJPEGSegment(data []byte, pos int) (jpegSegment, error) {
	if pos >= len(data) {
		return jpegSegment{}, fmt.Errorf("%w: jpeg: truncated before the first scan", ErrMalformed)
	}
	if data[pos] != 0xFF {
		// Decoders skip such bytes, but they can only come from a writer bug or from a length
		// that lies; trusting what follows could keep part of a dropped segment.
		return jpegSegment{}, fmt.Errorf("%w: jpeg: byte 0x%02x at %d where a marker belongs", ErrMalformed, data[pos], pos)
	}
	i := pos
	for i+1 < len(data) && data[i+1] == 0xFF { // fill bytes (T.81 B.1.1.2)
		i++
	}
	if i+1 >= len(data) {
		return jpegSegment{}, fmt.Errorf("%w: jpeg: truncated marker at %d", ErrMalformed, i)
	}
	m := data[i+1]
	switch {
	case m == 0x00 || (m > markerTEM && m < 0xC0):
		return jpegSegment{}, fmt.Errorf("%w: jpeg: invalid marker 0x%02x at %d", ErrMalformed, m, i)
	case m == markerTEM || (m >= markerRST0 && m <= markerEOI):
		return jpegSegment{start: i, end: i + 2, marker: m}, nil
	}
	if i+4 > len(data) {
		return jpegSegment{}, fmt.Errorf("%w: jpeg: truncated length of marker 0x%02x at %d", ErrMalformed, m, i)
	}
	n := int(data[i+2])<<8 | int(data[i+3])
	if n < 2 {
		return jpegSegment{}, fmt.Errorf("%w: jpeg: length %d of marker 0x%02x at %d", ErrMalformed, n, m, i)
	}
	end := i + 2 + n
	if end > len(data) {
		return jpegSegment{}, fmt.Errorf("%w: jpeg: marker 0x%02x at %d runs past the end", ErrMalformed, m, i)
	}
	return jpegSegment{start: i, end: end, marker: m, payload: data[i+4 : end]}, nil
}

func isAPPn(m byte) bool { return m >= markerAPP0 && m <= markerAPP15 }

func stripJPEG(data []byte) ([]byte, error) {
	if len(data) < 2 || data[0] != 0xFF || data[1] != markerSOI {
		return nil, fmt.Errorf("%w: jpeg: no SOI marker", ErrMalformed)
	}
	w := rewriter{src: data}
	w.keep(0, 2)
	seenEXIF := false
	keepICC, iccSegs := jpegICC(data)
	for pos := 2; ; {
		seg, err := nextJPEGSegment(data, pos)
		if err != nil {
			return nil, err
		}
		if seg.start != pos {
			w.drop() // fill bytes: legal but useless, and dropping them keeps the output canonical
		}
		m, p := seg.marker, seg.payload
		switch {
		case m == markerSOS:
			w.keep(seg.start, seg.end)
			if err := stripJPEGScans(&w, data, seg.end); err != nil {
				return nil, err
			}
			return w.bytes(), nil
		case m == markerSOI:
			return nil, fmt.Errorf("%w: jpeg: second SOI at %d", ErrMalformed, seg.start)
		case m == markerEOI:
			return nil, fmt.Errorf("%w: jpeg: EOI at %d before any scan", ErrMalformed, seg.start)
		case p == nil: // TEM or RSTn outside a scan: meaningless here
			w.drop()
		case m == markerAPP0 && bytes.HasPrefix(p, jfifID):
			stripJFIF(&w, seg)
		case m == markerAPP1 && bytes.HasPrefix(p, exifID) && !seenEXIF:
			// Only the first EXIF block counts, as in every reader; later ones just go.
			seenEXIF = true
			stripJPEGEXIF(&w, seg)
		case m == markerAPP2 && bytes.HasPrefix(p, iccID):
			// All the profile's segments stay, or are replaced together where the first one
			// was, or go (see jpegICC).
			switch {
			case keepICC:
				w.keep(seg.start, seg.end)
			case iccSegs != nil:
				w.drop()
				w.insert(iccSegs)
				iccSegs = nil
			default:
				w.drop()
			}
		case m == markerAPP14 && bytes.HasPrefix(p, adobeID):
			w.keep(seg.start, seg.end)
		case isAPPn(m) || m == markerCOM:
			// EXIF beyond the first, XMP and extended XMP (APP1), FlashPix/MPF (APP2), vendor
			// blocks (Ducky, Meta, Ocad, ...), Photoshop/IPTC (APP13), comments.
			w.drop()
		default: // frame header, tables, restart interval: the decoder needs them all
			w.keep(seg.start, seg.end)
		}
		pos = seg.end
	}
}

// stripJFIF keeps a JFIF header but never its embedded thumbnail: a thumbnail can show what a
// later crop removed.
func stripJFIF(w *rewriter, seg jpegSegment) {
	p := seg.payload
	switch {
	case len(p) < jfifLen: // unreadable; viewers do not need it
		w.drop()
	case len(p) == jfifLen && p[12] == 0 && p[13] == 0:
		w.keep(seg.start, seg.end)
	default:
		b := make([]byte, 0, 4+jfifLen)
		b = append(b, 0xFF, markerAPP0, 0, 2+jfifLen)
		b = append(b, p[:12]...)
		b = append(b, 0, 0)
		w.drop()
		w.insert(b)
	}
}

// stripJPEGEXIF replaces an EXIF APP1 segment by one holding only the orientation, or drops it.
func stripJPEGEXIF(w *rewriter, seg jpegSegment) {
	p := seg.payload
	if len(p) < len(exifPrefix) {
		w.drop()
		return
	}
	keep, tiff := replaceEXIF(p[len(exifPrefix):])
	switch {
	case keep && bytes.Equal(p[:len(exifPrefix)], exifPrefix):
		w.keep(seg.start, seg.end)
	case tiff == nil:
		w.drop()
	default:
		n := 2 + len(exifPrefix) + len(tiff)
		b := make([]byte, 0, 2+n)
		b = append(b, 0xFF, markerAPP1, byte(n>>8), byte(n))
		b = append(b, exifPrefix...)
		b = append(b, tiff...)
		w.drop()
		w.insert(b)
	}
}

// stripJPEGScans copies the scans from pos (just after the first SOS segment) through EOI. The
// entropy-coded data and every table between scans (progressive JPEG) are copied byte for byte;
// only APPn and COM segments between scans are dropped, since they may carry metadata too.
func stripJPEGScans(w *rewriter, data []byte, pos int) error {
	from := pos // start of the run of bytes being kept
	for {
		j := bytes.IndexByte(data[pos:], 0xFF)
		if j < 0 {
			return fmt.Errorf("%w: jpeg: no EOI (truncated scan data)", ErrMalformed)
		}
		k := pos + j
		if k+1 >= len(data) {
			return fmt.Errorf("%w: jpeg: no EOI (truncated scan data)", ErrMalformed)
		}
		m := data[k+1]
		switch {
		case m == 0x00 || (m >= markerRST0 && m <= markerRST7): // stuffed 0xFF, restart marker
			pos = k + 2
			continue
		case m == 0xFF: // fill byte; the marker is at the next 0xFF
			pos = k + 1
			continue
		case m == markerTEM:
			pos = k + 2
			continue
		case m == markerEOI:
			w.keep(from, k+2)
			if k+2 != len(data) {
				return fmt.Errorf("%w: jpeg: %d bytes after EOI", ErrTrailingData, len(data)-(k+2))
			}
			return nil
		case m == markerSOI || m < 0xC0:
			return fmt.Errorf("%w: jpeg: invalid marker 0x%02x at %d in scan data", ErrMalformed, m, k)
		}
		if k+4 > len(data) {
			return fmt.Errorf("%w: jpeg: truncated length of marker 0x%02x at %d", ErrMalformed, m, k)
		}
		n := int(data[k+2])<<8 | int(data[k+3])
		end := k + 2 + n
		if n < 2 || end > len(data) {
			return fmt.Errorf("%w: jpeg: bad length %d of marker 0x%02x at %d", ErrMalformed, n, m, k)
		}
		if isAPPn(m) || m == markerCOM {
			w.keep(from, k)
			w.drop()
			from = end
		}
		pos = end
	}
}

// jpegEXIF returns the TIFF data of the first EXIF APP1 segment before the first scan, or nil.
func jpegEXIF(data []byte) []byte {
	if len(data) < 2 || data[0] != 0xFF || data[1] != markerSOI {
		return nil
	}
	for pos := 2; ; {
		seg, err := nextJPEGSegment(data, pos)
		if err != nil || seg.marker == markerSOS || seg.marker == markerEOI || seg.marker == markerSOI {
			return nil
		}
		if seg.marker == markerAPP1 && bytes.HasPrefix(seg.payload, exifID) {
			if len(seg.payload) < len(exifPrefix) {
				return nil
			}
			return seg.payload[len(exifPrefix):]
		}
		pos = seg.end
	}
}
