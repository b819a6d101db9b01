// Package metastrip removes metadata that can identify a person, a place or a device from JPEG,
// PNG, GIF and WebP files without re-encoding their pixels. It rewrites only the container:
// segments, chunks and extension blocks are kept byte for byte, dropped whole, or (an EXIF block,
// an ICC profile) replaced by a rebuilt one, so compressed image data is never touched and a
// viewer shows exactly the same picture.
//
// It keeps what a viewer needs to show the image correctly: the EXIF orientation (re-emitted as a
// minimal EXIF block holding only that tag), ICC profiles that parse as profiles (rebuilt with
// their colour tags byte for byte and neutral text, see icc.go), PNG colour and transparency
// chunks, the JPEG Adobe marker (CMYK/YCCK colour) and GIF looping.
// Everything else that is not image data is dropped: an allow-list, so an unknown vendor block
// cannot carry a serial number or GPS fix through.
//
// The package does no I/O and never panics on hostile input: every length and offset is checked.
package metastrip

import (
	"errors"
	"fmt"
)

// Errors returned by Strip. Each error wraps exactly one of these, so callers map them with
// errors.Is; the wrapped text says where in the file the problem is, for logs.
var (
	// ErrMalformed: the container structure is broken (truncated, a length that runs past the
	// end, a bad checksum, a missing end marker, an empty file). The image cannot be trusted.
	ErrMalformed = errors.New("metastrip: malformed image")
	// ErrTrailingData: bytes follow the image's end marker (JPEG EOI, PNG IEND, GIF trailer,
	// the RIFF size of a WebP). Such a payload is invisible to viewers and may hide anything,
	// so the file is refused rather than silently cut.
	ErrTrailingData = errors.New("metastrip: data after the end of the image")
	// ErrUnsupported: mime is not one of the four types this package understands.
	ErrUnsupported = errors.New("metastrip: unsupported type")
)

// MIME types Strip and Orientation accept: the content-detected type, never the declared one.
const (
	MIMEJPEG = "image/jpeg"
	MIMEPNG  = "image/png"
	MIMEGIF  = "image/gif"
	MIMEWebP = "image/webp"
)

// Strip returns data with identifying metadata removed, without re-encoding pixels.
// mime is the content-detected type: "image/jpeg", "image/png", "image/gif", "image/webp".
// It keeps what a viewer needs: for JPEG/WebP/PNG the EXIF Orientation (as a minimal EXIF holding
// only that tag, only when it is not 1), ICC profiles (colour, not identity), PNG gamma/sRGB/
// pHYs/tRNS etc. Unchanged input (nothing to strip) returns the same bytes: the very slice
// passed in, not a copy, so a caller can tell "nothing to rewrite" from the slice alone.
//
// Strip is idempotent: Strip(Strip(x)) returns its input unchanged. A malformed file returns an
// error wrapping ErrMalformed, ErrTrailingData or ErrUnsupported, never a partial result.
func Strip(data []byte, mime string) ([]byte, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrMalformed)
	}
	switch mime {
	case MIMEJPEG:
		return stripJPEG(data)
	case MIMEPNG:
		return stripPNG(data)
	case MIMEGIF:
		return stripGIF(data)
	case MIMEWebP:
		return stripWebP(data)
	}
	return nil, fmt.Errorf("%w: %q", ErrUnsupported, mime)
}

// Orientation returns the EXIF orientation 1..8 (1 when absent or unreadable).
//
// It reads the same EXIF block that Strip keeps (the first one, where Strip looks for it), so
// Orientation(Strip(x)) == Orientation(x) whenever Strip succeeds. It is lenient: a file broken
// after its EXIF block still reports the orientation, since deciding validity is Strip's job.
func Orientation(data []byte, mime string) int {
	var tiff []byte
	switch mime {
	case MIMEJPEG:
		tiff = jpegEXIF(data)
	case MIMEPNG:
		tiff = pngEXIF(data)
	case MIMEWebP:
		tiff = webpEXIF(data)
	default: // GIF has no orientation.
		return 1
	}
	if tiff == nil {
		return 1
	}
	_, o := exifOrientation(tiff)
	return o
}

// rewriter builds the output as a list of ranges of the input and new bytes. Nothing is copied
// until the end, so a file with nothing to strip comes back as the input slice itself, and the
// megabytes of compressed image data are copied exactly once.
type rewriter struct {
	src     []byte
	parts   []part
	size    int
	changed bool
}

// part is either src[start:end] (lit == nil) or lit.
type part struct {
	start, end int
	lit        []byte
}

func (w *rewriter) keep(start, end int) {
	if start == end {
		return
	}
	w.size += end - start
	if n := len(w.parts); n > 0 && w.parts[n-1].lit == nil && w.parts[n-1].end == start {
		w.parts[n-1].end = end
		return
	}
	if n := len(w.parts); n > 0 && w.parts[n-1].lit == nil && w.parts[n-1].end != start {
		w.changed = true // a gap between kept ranges is something dropped
	}
	w.parts = append(w.parts, part{start: start, end: end})
}

// drop records that input bytes were left out; the ranges themselves need no bookkeeping.
func (w *rewriter) drop() { w.changed = true }

func (w *rewriter) insert(b []byte) {
	w.changed = true
	w.size += len(b)
	w.parts = append(w.parts, part{lit: b})
}

// bytes returns the assembled output, or the input itself when nothing changed.
func (w *rewriter) bytes() []byte {
	if !w.changed {
		return w.src
	}
	return w.appendTo(make([]byte, 0, w.size))
}

func (w *rewriter) appendTo(out []byte) []byte {
	for _, p := range w.parts {
		if p.lit != nil {
			out = append(out, p.lit...)
		} else {
			out = append(out, w.src[p.start:p.end]...)
		}
	}
	return out
}
