package metastrip

import (
	"encoding/binary"
	"fmt"
)

// VP8X flag bits (WebP container spec, "Extended File Format").
const (
	vp8xFlagXMP  = 1 << 2
	vp8xFlagEXIF = 1 << 3
	vp8xFlagICC  = 1 << 5
	vp8xLen      = 10
	riffHeadLen  = 12 // "RIFF", size, "WEBP"
)

// webpKeep lists the chunks after VP8X that a viewer needs; EXIF is re-emitted minimal, ICCP
// stays once its profile is checked (the first well-formed one only), and "XMP " and unknown
// chunks go.
var webpKeep = map[string]bool{
	"ANIM": true, "ANMF": true, "ALPH": true, "VP8 ": true, "VP8L": true,
}

type riffChunk struct {
	start, end int // the whole chunk including its pad byte
	fourCC     string
	payload    []byte
}

// nextRIFFChunk reads the chunk at pos; limit is the end of the RIFF body.
func nextRIFFChunk(data []byte, pos, limit int) (riffChunk, error) {
	if pos+8 > limit {
		return riffChunk{}, fmt.Errorf("%w: webp: truncated chunk header at %d", ErrMalformed, pos)
	}
	n := uint64(binary.LittleEndian.Uint32(data[pos+4:]))
	end := uint64(pos) + 8 + n + n&1 // payloads are padded to an even length
	if end > uint64(limit) {
		return riffChunk{}, fmt.Errorf("%w: webp: chunk %q at %d runs past the end", ErrMalformed, data[pos:pos+4], pos)
	}
	return riffChunk{
		start:   pos,
		end:     int(end),
		fourCC:  string(data[pos : pos+4]),
		payload: data[pos+8 : pos+8+int(n)],
	}, nil
}

// webpBody checks the RIFF header and returns where the chunks end.
func webpBody(data []byte) (int, error) {
	if len(data) < riffHeadLen || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WEBP" {
		return 0, fmt.Errorf("%w: webp: no RIFF/WEBP header", ErrMalformed)
	}
	end := uint64(binary.LittleEndian.Uint32(data[4:])) + 8
	switch {
	case end > uint64(len(data)):
		return 0, fmt.Errorf("%w: webp: RIFF size %d exceeds the file (%d bytes)", ErrMalformed, end, len(data))
	case end < uint64(len(data)):
		return 0, fmt.Errorf("%w: webp: %d bytes after the RIFF data", ErrTrailingData, uint64(len(data))-end)
	}
	return int(end), nil
}

func stripWebP(data []byte) ([]byte, error) {
	limit, err := webpBody(data)
	if err != nil {
		return nil, err
	}
	first, err := nextRIFFChunk(data, riffHeadLen, limit)
	if err != nil {
		return nil, err
	}
	switch first.fourCC {
	case "VP8 ", "VP8L":
		// The simple format: one image chunk and, per the spec, nothing else. Anything after it
		// would be ignored by viewers, so it goes.
		if first.end == limit {
			return data, nil
		}
		return setRIFFSize(append([]byte(nil), data[:first.end]...)), nil
	case "VP8X":
	default:
		return nil, fmt.Errorf("%w: webp: first chunk %q", ErrMalformed, first.fourCC)
	}
	if len(first.payload) != vp8xLen {
		return nil, fmt.Errorf("%w: webp: VP8X chunk of %d bytes", ErrMalformed, len(first.payload))
	}
	body := rewriter{src: data}
	seenEXIF, hasEXIF, hasImage, hasICC := false, false, false, false
	for pos := first.end; pos < limit; {
		c, err := nextRIFFChunk(data, pos, limit)
		if err != nil {
			return nil, err
		}
		pos = c.end
		switch {
		case c.fourCC == "EXIF" && !seenEXIF:
			seenEXIF = true
			tiff, prefixed := exifTIFF(c.payload)
			keep, minimal := replaceEXIF(tiff)
			switch {
			case keep && !prefixed:
				body.keep(c.start, c.end)
			case minimal == nil:
				body.drop()
			default:
				body.drop()
				body.insert(riffChunkBytes("EXIF", minimal))
			}
			hasEXIF = minimal != nil
		case c.fourCC == "ICCP" && !hasICC:
			// The first well-formed profile stays, neutral (see neutralICC); one that is not
			// goes, and a later one may take its place.
			out, same, ok := iccToKeep(c.payload)
			switch {
			case same:
				body.keep(c.start, c.end)
			case ok:
				body.drop()
				body.insert(riffChunkBytes("ICCP", out))
			default:
				body.drop()
			}
			hasICC = ok
		case webpKeep[c.fourCC]:
			hasImage = hasImage || c.fourCC == "VP8 " || c.fourCC == "VP8L" || c.fourCC == "ANMF"
			body.keep(c.start, c.end)
		default:
			body.drop()
		}
	}
	if !hasImage {
		return nil, fmt.Errorf("%w: webp: no image data", ErrMalformed)
	}
	flags := data[first.start+8]
	newFlags := flags &^ (vp8xFlagXMP | vp8xFlagEXIF)
	if hasEXIF {
		newFlags |= vp8xFlagEXIF
	}
	if !hasICC {
		newFlags &^= vp8xFlagICC // the flag promises an ICCP chunk
	}
	if !body.changed && newFlags == flags {
		return data, nil
	}
	out := make([]byte, 0, riffHeadLen+first.end-first.start+body.size)
	out = append(out, data[:first.end]...) // header and VP8X; sizes and flags patched below
	out[first.start+8] = newFlags
	out = body.appendTo(out)
	return setRIFFSize(out), nil
}

// setRIFFSize sets the RIFF size field of b, a new file, to match its length.
func setRIFFSize(b []byte) []byte {
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

func riffChunkBytes(fourCC string, payload []byte) []byte {
	b := make([]byte, 0, 8+len(payload)+1)
	b = append(b, fourCC...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(payload)))
	b = append(b, payload...)
	if len(payload)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// webpEXIF returns the TIFF data of the first EXIF chunk of an extended-format WebP, or nil.
// The simple format cannot carry EXIF (and Strip drops anything after its image chunk).
func webpEXIF(data []byte) []byte {
	if len(data) < riffHeadLen || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WEBP" {
		return nil
	}
	limit := min(uint64(binary.LittleEndian.Uint32(data[4:]))+8, uint64(len(data)))
	for pos, i := riffHeadLen, 0; ; i++ {
		c, err := nextRIFFChunk(data, pos, int(limit))
		if err != nil || (i == 0 && c.fourCC != "VP8X") {
			return nil
		}
		if c.fourCC == "EXIF" {
			tiff, _ := exifTIFF(c.payload)
			return tiff
		}
		pos = c.end
	}
}
