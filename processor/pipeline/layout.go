package pipeline

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Frame limits for animated GIFs. Every frame is decoded to verify the file and is held in memory
// as one byte per pixel, so the sum of frame areas bounds the memory a GIF can make us spend.
const (
	MaxFrames      = 1000
	MaxFramePixels = 50_000_000
)

// layout is what a walk over a file's container structure finds, without decoding pixels: where
// the image ends (anything after is trailing data) and, for animations, how many frames there are.
type layout struct {
	end         int   // offset just past the image's last byte
	frames      int   // GIF image descriptors seen (possibly stopped early past MaxFrames)
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

// gifLayout walks the block structure to the trailer, counting frames and their areas. It stops
// as soon as a limit is exceeded: a file with a million frames costs no more than one with
// MaxFrames+1.
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
			if l.frames > MaxFrames || l.framePixels > MaxFramePixels {
				return l, nil
			}
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
