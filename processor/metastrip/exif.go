package metastrip

import (
	"bytes"
	"encoding/binary"
)

// EXIF is parsed by hand rather than with a library: only one tag in IFD0 is needed, and the
// pure-Go EXIF libraries either parse far more than that (dsoprea/go-exif: large, reflection-
// heavy) or are unmaintained (rwcarlsen/goexif). Reading one IFD with every offset checked is a
// few dozen lines that cannot allocate or loop on hostile input.

const (
	tagOrientation = 0x0112
	typeShort      = 3
	typeLong       = 4
)

// exifPrefix starts the EXIF payload of a JPEG APP1 segment; some WebP and PNG writers copy it in
// front of the TIFF data too.
var exifPrefix = []byte("Exif\x00\x00")

// exifOrientation reads the TIFF structure in tiff (starting at the byte-order mark) and returns
// its byte order and the Orientation tag of IFD0: 1..8, or 1 when absent or unreadable.
// The byte order is nil when the header itself is unreadable.
func exifOrientation(tiff []byte) (binary.ByteOrder, int) {
	if len(tiff) < 8 {
		return nil, 1
	}
	var order binary.ByteOrder
	switch {
	case tiff[0] == 'I' && tiff[1] == 'I' && tiff[2] == 42 && tiff[3] == 0:
		order = binary.LittleEndian
	case tiff[0] == 'M' && tiff[1] == 'M' && tiff[2] == 0 && tiff[3] == 42:
		order = binary.BigEndian
	default:
		return nil, 1
	}
	// Offsets are uint32 and compared in uint64 so that no sum can wrap.
	ifd := uint64(order.Uint32(tiff[4:8]))
	n := uint64(len(tiff))
	if ifd < 8 || ifd+2 > n {
		return order, 1
	}
	count := uint64(order.Uint16(tiff[ifd:]))
	for i := uint64(0); i < count; i++ {
		e := ifd + 2 + 12*i
		if e+12 > n {
			break
		}
		if order.Uint16(tiff[e:]) != tagOrientation {
			continue
		}
		if order.Uint32(tiff[e+4:]) < 1 {
			return order, 1
		}
		var v uint32
		switch order.Uint16(tiff[e+2:]) {
		case typeShort:
			v = uint32(order.Uint16(tiff[e+8:]))
		case typeLong: // wrong per spec, written by some tools; the value is unambiguous
			v = order.Uint32(tiff[e+8:])
		default:
			return order, 1
		}
		if v < 1 || v > 8 {
			return order, 1
		}
		return order, int(v)
	}
	return order, 1
}

// minimalEXIF is the TIFF structure holding only IFD0 with one Orientation entry: 26 bytes.
// It keeps the byte order of the file it replaces so that a file already stripped compares equal
// and is left alone.
func minimalEXIF(order binary.ByteOrder, orientation int) []byte {
	b := make([]byte, 26)
	if order == binary.BigEndian {
		copy(b, "MM\x00\x2a")
	} else {
		order = binary.LittleEndian
		copy(b, "II\x2a\x00")
	}
	order.PutUint32(b[4:], 8) // IFD0 right after the header
	order.PutUint16(b[8:], 1) // one entry
	order.PutUint16(b[10:], tagOrientation)
	order.PutUint16(b[12:], typeShort)
	order.PutUint32(b[14:], 1) // count
	order.PutUint16(b[18:], uint16(orientation))
	// b[20:22] pads the value field; b[22:26] = 0: no next IFD, so no thumbnail IFD1.
	return b
}

// replaceEXIF decides what becomes of one EXIF block, given its TIFF data: keep == true when it
// already is the minimal form, else the minimal TIFF to write instead, or nil when the
// orientation is 1 and the block should simply go.
func replaceEXIF(tiff []byte) (keep bool, minimal []byte) {
	order, o := exifOrientation(tiff)
	if o == 1 {
		return false, nil
	}
	m := minimalEXIF(order, o)
	return bytes.Equal(tiff, m), m
}

// exifTIFF returns the TIFF data of a PNG eXIf or WebP EXIF payload, which should be bare TIFF
// but is written behind exifPrefix by some tools; prefixed reports which.
func exifTIFF(payload []byte) (tiff []byte, prefixed bool) {
	if bytes.HasPrefix(payload, exifPrefix) {
		return payload[len(exifPrefix):], true
	}
	return payload, false
}
