package pipeline

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Limits on animations, checked on the GIF block structure before any frame is decoded. Both bound
// what an animation costs whoever views it, the rule imgproxy applies before it processes one
// (IMGPROXY_MAX_ANIMATION_FRAMES, and every frame's resolution summed against
// IMGPROXY_MAX_SRC_RESOLUTION unless IMGPROXY_MAX_ANIMATION_FRAME_RESOLUTION is set). imgproxy's
// defaults, one frame and 16.8 megapixels, suit a proxy that resizes on every request; the
// figures here are issue 16's, for files checked once and then shown as they are. An animation
// over either is refused as ReasonTooComplex.
const (
	// MaxAnimationFrames bounds an animation's frames. It replaced a limit of 1,000 frames refused
	// as too_many_frames: there is one frame count, so a GIF over it is too complex however many
	// frames it has.
	MaxAnimationFrames = 500
	// MaxAnimationPixels bounds frames × logical screen pixels. A browser composites every frame
	// onto the whole screen, so this, not the file's size nor the frames' own areas, is what
	// playing it costs: issue 16's 23 KB GIF of 1,000 one-pixel frames on a 50-megapixel screen
	// (50,000 MP) cost a student's browser 650 MB and a full core. 200 MP allows four frames at
	// the 50-megapixel cap, or 500 frames of 800x500.
	MaxAnimationPixels = 200_000_000
)

// MaxFramePixels bounds the sum of a GIF's frame areas, what it costs us rather than a viewer:
// every frame is decoded to verify the file and held in memory as one byte per pixel. It is a
// different bound from MaxAnimationPixels, and lower: a frame lies within the screen (image/gif
// refuses one that does not), so the frames' areas never sum to more than frames × screen, but
// two whole frames of 40 MP (80 MP) are refused here as ReasonTooManyFrames. It is checked after
// the two limits above, so a GIF over one of them is too complex whatever its frames' areas.
const MaxFramePixels = 50_000_000

// layout is what a walk over a file's container structure finds, without decoding pixels: where
// the image ends (anything after is trailing data) and, for animations, how many frames there are.
type layout struct {
	end         int   // offset just past the image's last byte
	frames      int   // GIF image descriptors, every one to the trailer or the first broken block
	framePixels int64 // sum of GIF frame areas
	animated    bool  // WebP with the animation flag or ANIM/ANMF chunks; PNG with APNG chunks
}

var errTruncated = errors.New("truncated")

// jpegLayout walks marker segments and entropy-coded data from SOI to EOI.
func jpegLayout(data []byte) (layout, error) {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return layout{}, errors.New("no SOI marker")
	}
	i := 2
	for {
		if i >= len(data) {
			return layout{}, fmt.Errorf("no EOI marker: %w", errTruncated)
		}
		if data[i] != 0xFF {
			return layout{}, fmt.Errorf("expected a marker at offset %d", i)
		}
		for i < len(data) && data[i] == 0xFF { // fill bytes
			i++
		}
		if i >= len(data) {
			return layout{}, fmt.Errorf("no EOI marker: %w", errTruncated)
		}
		m := data[i]
		i++
		switch {
		case m == 0xD9: // EOI
			return layout{end: i, frames: 1}, nil
		case m == 0x01 || (m >= 0xD0 && m <= 0xD7): // standalone markers
			continue
		}
		if i+2 > len(data) {
			return layout{}, fmt.Errorf("segment length: %w", errTruncated)
		}
		n := int(binary.BigEndian.Uint16(data[i:]))
		if n < 2 || i+n > len(data) {
			return layout{}, fmt.Errorf("segment 0x%02X of %d bytes at offset %d overruns the file", m, n, i)
		}
		i += n
		if m != 0xDA { // not SOS: no entropy-coded data follows
			continue
		}
		// Entropy-coded data ends at the first 0xFF that is neither stuffing (FF00), a restart
		// marker (FFD0-FFD7) nor a fill byte before a marker.
		for {
			j := bytes.IndexByte(data[i:], 0xFF)
			if j < 0 || i+j+1 >= len(data) {
				return layout{}, fmt.Errorf("scan data: %w", errTruncated)
			}
			i += j
			next := data[i+1]
			if next == 0x00 || (next >= 0xD0 && next <= 0xD7) {
				i += 2
				continue
			}
			if next == 0xFF {
				i++
				continue
			}
			break
		}
	}
}

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// pngLayout walks chunks up to and including IEND, and marks an APNG as animated: any of its
// chunks (acTL, fcTL, fdAT) is enough, wherever it is, since image/png skips them all and decodes
// only the default image, while browsers play the frames.
func pngLayout(data []byte) (layout, error) {
	if !bytes.HasPrefix(data, pngSignature) {
		return layout{}, errors.New("no PNG signature")
	}
	l := layout{frames: 1}
	i := len(pngSignature)
	for {
		if i+8 > len(data) {
			return l, fmt.Errorf("no IEND chunk: %w", errTruncated)
		}
		n := int64(binary.BigEndian.Uint32(data[i:]))
		typ := string(data[i+4 : i+8])
		end := int64(i) + 12 + n
		if end > int64(len(data)) {
			return l, fmt.Errorf("chunk %q of %d bytes overruns the file", typ, n)
		}
		i = int(end)
		switch typ {
		case "acTL", "fcTL", "fdAT":
			l.animated = true
		case "IEND":
			l.end = i
			return l, nil
		}
	}
}

// gifLayout walks the block structure to the trailer, counting frames and their areas without
// decoding their LZW data. It does not stop at a limit, so a rejection gives the file's real
// counts: the walk allocates nothing and skips each sub-block by its length, so even the most
// frames MaxBytes holds (about 700,000 one-pixel frames) are counted in a few milliseconds.
func gifLayout(data []byte) (layout, error) {
	if len(data) < 13 || (string(data[:6]) != "GIF87a" && string(data[:6]) != "GIF89a") {
		return layout{}, errors.New("no GIF header")
	}
	var l layout
	i := 13
	if flags := data[10]; flags&0x80 != 0 {
		i += 3 << ((flags & 7) + 1)
	}
	skipSubBlocks := func() error {
		for {
			if i >= len(data) {
				return fmt.Errorf("sub-blocks: %w", errTruncated)
			}
			n := int(data[i])
			i += 1 + n
			if n == 0 {
				return nil
			}
		}
	}
	for {
		if i >= len(data) {
			return l, fmt.Errorf("no trailer: %w", errTruncated)
		}
		switch data[i] {
		case 0x3B: // trailer
			l.end = i + 1
			return l, nil
		case 0x21: // extension: label, then sub-blocks
			i += 2
			if err := skipSubBlocks(); err != nil {
				return l, err
			}
		case 0x2C: // image descriptor
			if i+10 > len(data) {
				return l, fmt.Errorf("image descriptor: %w", errTruncated)
			}
			w := int64(binary.LittleEndian.Uint16(data[i+5:]))
			h := int64(binary.LittleEndian.Uint16(data[i+7:]))
			flags := data[i+9]
			i += 10
			if flags&0x80 != 0 {
				i += 3 << ((flags & 7) + 1)
			}
			i++ // LZW minimum code size
			l.frames++
			l.framePixels += w * h
			if err := skipSubBlocks(); err != nil {
				return l, err
			}
		default:
			return l, fmt.Errorf("unknown block 0x%02X at offset %d", data[i], i)
		}
	}
}

// webpLayout checks the RIFF container: the declared size, every chunk inside it, and whether the
// file is an animation (x/image/webp decodes stills only).
func webpLayout(data []byte) (layout, error) {
	if len(data) < 12 || string(data[:4]) != "RIFF" || string(data[8:12]) != "WEBP" {
		return layout{}, errors.New("no RIFF/WEBP header")
	}
	l := layout{frames: 1}
	riffEnd := 8 + int64(binary.LittleEndian.Uint32(data[4:]))
	if riffEnd > int64(len(data)) {
		return l, fmt.Errorf("RIFF size %d overruns the file: %w", riffEnd, errTruncated)
	}
	l.end = int(riffEnd)
	for i := int64(12); i < riffEnd; {
		if i+8 > riffEnd {
			return l, fmt.Errorf("broken chunk header at offset %d", i)
		}
		fourcc := string(data[i : i+4])
		n := int64(binary.LittleEndian.Uint32(data[i+4:]))
		body := i + 8
		if body+n > riffEnd {
			return l, fmt.Errorf("chunk %q of %d bytes overruns the RIFF container", fourcc, n)
		}
		switch fourcc {
		case "VP8X":
			if n >= 1 && data[body]&0x02 != 0 {
				l.animated = true
			}
		case "ANIM", "ANMF":
			l.animated = true
		}
		i = body + n + n&1 // chunks are padded to an even size
	}
	return l, nil
}
