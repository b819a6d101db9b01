package metastrip

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// pngKeep lists the ancillary chunks a viewer needs: colour space, transparency, background and
// physical size; iCCP too, once its profile is checked (see pngICCP). Any other ancillary chunk
// goes, including the text chunks (tEXt, zTXt, iTXt), eXIf (re-emitted minimal), tIME, private
// chunks (Apple iDOT, C2PA caBX, ...) whose content cannot be vetted, and the APNG animation
// chunks (acTL, fcTL, fdAT): frames nobody decoded must not reach a browser, which would play
// them. sPLT goes too: its palette name is free text.
var pngKeep = map[string]bool{
	"gAMA": true, "cHRM": true, "sRGB": true, "cICP": true, "sBIT": true,
	"mDCV": true, "cLLI": true, "mDCv": true, "cLLi": true, // HDR; both spellings are in use
	"tRNS": true, "bKGD": true, "hIST": true, "pHYs": true,
}

type pngChunk struct {
	start, end int // the whole chunk: length, type, data, CRC
	typ        string
	data       []byte
}

// nextPNGChunk reads the chunk at pos without checking its CRC.
func nextPNGChunk(data []byte, pos int) (pngChunk, error) {
	if pos+8 > len(data) {
		return pngChunk{}, fmt.Errorf("%w: png: truncated chunk header at %d (no IEND)", ErrMalformed, pos)
	}
	n := uint64(binary.BigEndian.Uint32(data[pos:]))
	if n > 1<<31-1 {
		return pngChunk{}, fmt.Errorf("%w: png: chunk length %d at %d", ErrMalformed, n, pos)
	}
	end := uint64(pos) + 12 + n
	if end > uint64(len(data)) {
		return pngChunk{}, fmt.Errorf("%w: png: chunk at %d runs past the end", ErrMalformed, pos)
	}
	typ := data[pos+4 : pos+8]
	for _, c := range typ {
		if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
			return pngChunk{}, fmt.Errorf("%w: png: invalid chunk type %q at %d", ErrMalformed, typ, pos)
		}
	}
	return pngChunk{start: pos, end: int(end), typ: string(typ), data: data[pos+8 : pos+8+int(n)]}, nil
}

func pngCRCValid(data []byte, c pngChunk) bool {
	crcAt := c.end - 4
	return crc32.ChecksumIEEE(data[c.start+4:crcAt]) == binary.BigEndian.Uint32(data[crcAt:])
}

func stripPNG(data []byte) ([]byte, error) {
	if len(data) < len(pngSignature) || string(data[:len(pngSignature)]) != string(pngSignature) {
		return nil, fmt.Errorf("%w: png: no signature", ErrMalformed)
	}
	w := rewriter{src: data}
	w.keep(0, len(pngSignature))
	seenEXIF, seenICCP := false, false
	for pos := len(pngSignature); ; {
		c, err := nextPNGChunk(data, pos)
		if err != nil {
			return nil, err
		}
		if !pngCRCValid(data, c) {
			return nil, fmt.Errorf("%w: png: bad CRC of %s chunk at %d", ErrMalformed, c.typ, pos)
		}
		first := pos == len(pngSignature)
		if first != (c.typ == "IHDR") || (first && len(c.data) != 13) {
			return nil, fmt.Errorf("%w: png: IHDR must come first, once (found %s at %d)", ErrMalformed, c.typ, pos)
		}
		pos = c.end
		switch {
		case c.typ == "IEND":
			w.keep(c.start, c.end)
			if c.end != len(data) {
				return nil, fmt.Errorf("%w: png: %d bytes after IEND", ErrTrailingData, len(data)-c.end)
			}
			return w.bytes(), nil
		case c.typ == "eXIf" && !seenEXIF:
			seenEXIF = true
			tiff, prefixed := exifTIFF(c.data)
			keep, minimal := replaceEXIF(tiff)
			switch {
			case keep && !prefixed:
				w.keep(c.start, c.end)
			case minimal == nil:
				w.drop()
			default:
				w.drop()
				w.insert(pngChunkBytes("eXIf", minimal))
			}
		case c.typ == "iCCP" && !seenICCP:
			// PNG allows one iCCP chunk: the first stays, under a fixed name, if its profile is
			// well formed; any other goes unread, so a file full of compressed "profiles" costs
			// one decompression, not one per chunk.
			seenICCP = true
			out, keep, ok := pngICCP(c.data)
			switch {
			case keep:
				w.keep(c.start, c.end)
			case ok:
				w.drop()
				w.insert(pngChunkBytes("iCCP", out))
			default:
				w.drop()
			}
		case c.typ == "IHDR" || c.typ == "PLTE" || c.typ == "IDAT":
			w.keep(c.start, c.end)
		case c.typ[0] < 'a':
			// An unknown critical chunk: a conforming viewer must refuse the file, so do we.
			return nil, fmt.Errorf("%w: png: unknown critical chunk %s at %d", ErrMalformed, c.typ, c.start)
		case pngKeep[c.typ]:
			w.keep(c.start, c.end)
		default:
			w.drop()
		}
	}
}

func pngChunkBytes(typ string, payload []byte) []byte {
	b := make([]byte, 0, 12+len(payload))
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	b = append(b, typ...)
	b = append(b, payload...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[4:]))
}

// pngEXIF returns the TIFF data of the first eXIf chunk before IEND, or nil.
func pngEXIF(data []byte) []byte {
	if len(data) < len(pngSignature) || string(data[:len(pngSignature)]) != string(pngSignature) {
		return nil
	}
	for pos := len(pngSignature); ; {
		c, err := nextPNGChunk(data, pos)
		if err != nil || c.typ == "IEND" {
			return nil
		}
		if c.typ == "eXIf" {
			tiff, _ := exifTIFF(c.data)
			return tiff
		}
		pos = c.end
	}
}
