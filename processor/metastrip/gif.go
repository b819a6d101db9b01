package metastrip

import "fmt"

// GIF block introducers and extension labels (GIF89a spec, appendix).
const (
	gifExtension   = 0x21
	gifImage       = 0x2C
	gifTrailer     = 0x3B
	gifPlainText   = 0x01
	gifGraphicCtl  = 0xF9
	gifComment     = 0xFE
	gifApplication = 0xFF
	gifHeaderLen   = 13 // signature, logical screen descriptor
	gifAppIDLen    = 11 // application identifier and authentication code
)

// gifKeepApps are the application extensions a viewer needs: loop count (both spellings of the
// Netscape block) and an ICC profile (colour, not identity) once it is checked (see
// gifICCValid). XMP ("XMP DataXMP") and every other application block go.
var gifKeepApps = map[string]bool{
	"NETSCAPE2.0": true, "ANIMEXTS1.0": true,
}

const gifICCApp = "ICCRGBG1012"

// gifColorTableLen is the size in bytes of the colour table a packed field announces.
func gifColorTableLen(packed byte) int {
	if packed&0x80 == 0 {
		return 0
	}
	return 3 << (packed&0x07 + 1)
}

// skipSubBlocks returns the offset after the data sub-blocks starting at pos and their
// terminator.
func skipSubBlocks(data []byte, pos int) (int, error) {
	for {
		if pos >= len(data) {
			return 0, fmt.Errorf("%w: gif: truncated data sub-blocks", ErrMalformed)
		}
		n := int(data[pos])
		pos++
		if n == 0 {
			return pos, nil
		}
		pos += n
	}
}

func stripGIF(data []byte) ([]byte, error) {
	if len(data) < gifHeaderLen || (string(data[:6]) != "GIF87a" && string(data[:6]) != "GIF89a") {
		return nil, fmt.Errorf("%w: gif: no GIF header", ErrMalformed)
	}
	pos := gifHeaderLen + gifColorTableLen(data[10])
	if pos > len(data) {
		return nil, fmt.Errorf("%w: gif: truncated global colour table", ErrMalformed)
	}
	w := rewriter{src: data}
	w.keep(0, pos)
	for {
		if pos >= len(data) {
			return nil, fmt.Errorf("%w: gif: no trailer", ErrMalformed)
		}
		start := pos
		switch data[pos] {
		case gifTrailer:
			w.keep(pos, pos+1)
			if pos+1 != len(data) {
				return nil, fmt.Errorf("%w: gif: %d bytes after the trailer", ErrTrailingData, len(data)-pos-1)
			}
			return w.bytes(), nil
		case gifImage:
			// Separator, position, size, packed field; then a local colour table, the LZW
			// minimum code size and the image data sub-blocks.
			if pos+10 > len(data) {
				return nil, fmt.Errorf("%w: gif: truncated image descriptor at %d", ErrMalformed, pos)
			}
			end, err := skipSubBlocks(data, pos+10+gifColorTableLen(data[pos+9])+1)
			if err != nil {
				return nil, err
			}
			w.keep(start, end)
			pos = end
		case gifExtension:
			if pos+2 > len(data) {
				return nil, fmt.Errorf("%w: gif: truncated extension at %d", ErrMalformed, pos)
			}
			end, err := skipSubBlocks(data, pos+2)
			if err != nil {
				return nil, err
			}
			switch keep, ext := gifKeepExtension(data[pos+1], data[pos+2:end]); {
			case keep:
				w.keep(start, end)
			case ext != nil:
				w.drop()
				w.insert(ext)
			default:
				w.drop()
			}
			pos = end
		default:
			return nil, fmt.Errorf("%w: gif: unknown block 0x%02x at %d", ErrMalformed, data[pos], pos)
		}
	}
}

// gifKeepExtension decides on one extension from its label and its sub-blocks: keep it, replace
// it by ext (an ICC profile made neutral, see gifICC), or drop it. Plain text is kept: it is
// drawn as part of the picture, not metadata about it.
func gifKeepExtension(label byte, blocks []byte) (keep bool, ext []byte) {
	switch label {
	case gifGraphicCtl, gifPlainText:
		return true, nil
	case gifApplication:
		if len(blocks) <= gifAppIDLen || blocks[0] != gifAppIDLen {
			return false, nil
		}
		if id := string(blocks[1 : 1+gifAppIDLen]); id != gifICCApp {
			return gifKeepApps[id], nil
		}
		return gifICC(blocks[1+gifAppIDLen:])
	}
	return false, nil // comments and unknown extensions
}
