package metastrip

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// An ICC profile is kept because a viewer needs it to show colours right, but the container
// formats let an uploader put anything in the block that should hold one: a fake "profile" with
// a script or a resident registration number went through untouched. A profile is therefore kept
// only if it parses as one (ICC.1:2022, section 7): the size its header declares is its length,
// the header carries the 'acsp' signature, and the tag table and every tag it lists lie inside the
// profile, after the table. Anything else is dropped, as other unvetted metadata is.
//
// Text inside a valid profile (its description and copyright tags) is not examined: a CMM needs
// it, and the structure check is what tells a profile from a payload wearing its name.

const (
	iccHeaderLen = 128
	iccTagLen    = 12 // signature, offset, size
	// maxICCTags bounds the tag table. Display profiles have 9 to 20 tags and print profiles,
	// with their A2B/B2A tables, about 30; ICC.1 defines fewer than 60 tag signatures in all.
	maxICCTags = 100
	// maxICCSize bounds a profile, compressed or not: no larger than an upload may be.
	maxICCSize = 10 << 20
)

var errNotICC = errors.New("not an ICC profile")

// checkICC reports why p is not a well-formed ICC profile, or nil.
func checkICC(p []byte) error {
	if len(p) < iccHeaderLen+4 {
		return fmt.Errorf("%w: %d bytes, shorter than a header and tag count", errNotICC, len(p))
	}
	if size := binary.BigEndian.Uint32(p); uint64(size) != uint64(len(p)) {
		return fmt.Errorf("%w: header says %d bytes, the block holds %d", errNotICC, size, len(p))
	}
	if string(p[36:40]) != "acsp" {
		return fmt.Errorf("%w: no 'acsp' signature", errNotICC)
	}
	n := binary.BigEndian.Uint32(p[iccHeaderLen:])
	if n > maxICCTags {
		return fmt.Errorf("%w: %d tags, more than %d", errNotICC, n, maxICCTags)
	}
	tableEnd := uint64(iccHeaderLen + 4 + iccTagLen*n)
	if tableEnd > uint64(len(p)) {
		return fmt.Errorf("%w: the table of %d tags runs past the end", errNotICC, n)
	}
	for i := range uint64(n) {
		e := p[iccHeaderLen+4+iccTagLen*i:]
		off, size := uint64(binary.BigEndian.Uint32(e[4:])), uint64(binary.BigEndian.Uint32(e[8:]))
		if off < tableEnd || off+size > uint64(len(p)) {
			return fmt.Errorf("%w: tag %q at %d, %d bytes, outside the profile's data", errNotICC, e[:4], off, size)
		}
	}
	return nil
}

// jpegICCValid reports whether the ICC_PROFILE APP2 segments before the first scan, together,
// hold one well-formed profile: each segment is numbered i of n (1-based, after the identifier),
// every number from 1 to n appears exactly once, and their data in that order is the profile.
// Strip keeps them all or none. With no ICC segment it reports true: there is nothing to drop.
func jpegICCValid(data []byte) bool {
	var chunks [][]byte // by sequence number - 1
	count := -1
	for pos := 2; ; {
		seg, err := nextJPEGSegment(data, pos)
		if err != nil || seg.marker == markerSOS || seg.marker == markerEOI {
			break
		}
		pos = seg.end
		if seg.marker != markerAPP2 || !bytes.HasPrefix(seg.payload, iccID) {
			continue
		}
		p := seg.payload[len(iccID):]
		if len(p) < 2 {
			return false
		}
		seq, n := int(p[0]), int(p[1])
		if count < 0 {
			count = n
			chunks = make([][]byte, n)
		}
		if n != count || seq < 1 || seq > n || chunks[seq-1] != nil {
			return false
		}
		chunks[seq-1] = p[2:]
	}
	if count < 0 {
		return true
	}
	var profile []byte
	for _, c := range chunks {
		if c == nil {
			return false // a missing segment
		}
		profile = append(profile, c...)
	}
	return checkICC(profile) == nil
}

// pngICCProfile returns the profile an iCCP chunk holds (PNG 11.3.2.3: a name of 1 to 79
// bytes, a zero byte, compression method 0, then a zlib stream that must end the chunk), or an
// error.
func pngICCProfile(chunk []byte) ([]byte, error) {
	name, rest, ok := bytes.Cut(chunk, []byte{0})
	if !ok || len(name) < 1 || len(name) > 79 || len(rest) < 1 || rest[0] != 0 {
		return nil, fmt.Errorf("%w: bad iCCP header", errNotICC)
	}
	r := bytes.NewReader(rest[1:])
	zr, err := zlib.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNotICC, err)
	}
	// Reading to EOF checks the stream's Adler-32; the limit stops a zlib bomb.
	profile, err := io.ReadAll(io.LimitReader(zr, maxICCSize+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: %v", errNotICC, err)
	case len(profile) > maxICCSize:
		return nil, fmt.Errorf("%w: more than %d bytes", errNotICC, maxICCSize)
	case r.Len() != 0:
		return nil, fmt.Errorf("%w: %d bytes after the zlib stream", errNotICC, r.Len())
	}
	return profile, checkICC(profile)
}

// iccpName is the profile name an iCCP chunk is rewritten with. The name is free text that
// viewers never show; the one an uploader wrote goes with the other free text.
const iccpName = "ICC profile"

// pngICCP decides on an iCCP chunk: keep it as it is, replace it by out (same profile, fixed
// name), or drop it (ok false) when it does not hold a well-formed profile.
func pngICCP(chunk []byte) (out []byte, keep, ok bool) {
	if _, err := pngICCProfile(chunk); err != nil {
		return nil, false, false
	}
	name, rest, _ := bytes.Cut(chunk, []byte{0})
	if string(name) == iccpName {
		return nil, true, true
	}
	return append([]byte(iccpName+"\x00"), rest...), false, true
}

// gifICCValid reports whether the sub-blocks of an ICCRGBG1012 application extension (after its
// identifier block) hold a well-formed profile.
func gifICCValid(blocks []byte) bool {
	var profile []byte
	for pos := 0; pos < len(blocks); {
		n := int(blocks[pos])
		if n == 0 || pos+1+n > len(blocks) {
			break
		}
		profile = append(profile, blocks[pos+1:pos+1+n]...)
		pos += 1 + n
	}
	return checkICC(profile) == nil
}
