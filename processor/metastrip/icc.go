package metastrip

import (
	"bytes"
	"compress/zlib"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// An ICC profile is kept because a viewer needs it to show colours right, but the container
// formats let an uploader put anything in the block that should hold one: a fake "profile" with
// a script or a resident registration number went through untouched. A profile is therefore kept
// only if it parses as one (ICC.1:2022, section 7): the size its header declares is its length,
// at most maxICCSize, the header carries the 'acsp' signature, and the tag table and every tag it
// lists lie inside the profile, after the table. Anything else is dropped, as other unvetted
// metadata is.
//
// A well-formed profile still carries free text: its description, copyright, device and viewing
// condition tags, where a careless export or an attacker can write a patient's name. What is
// stored is therefore a rebuilt profile (see neutralICC) that keeps the tags a CMM converts
// colours with byte for byte and nothing that can hold text but neutral strings.

const (
	iccHeaderLen = 128
	iccTagLen    = 12 // signature, offset, size
	// maxICCTags bounds the tag table. Display profiles have 9 to 20 tags and print profiles,
	// with their A2B/B2A tables, about 30; ICC.1 defines fewer than 60 tag signatures in all.
	maxICCTags = 100
	// maxICCSize bounds a kept profile, and what a compressed one may inflate to. Display
	// profiles are under 4 KB and a camera or phone never embeds a print profile's large tables;
	// a megabyte-sized "profile" in a patient photo is a payload, not colour.
	maxICCSize = 1 << 20
)

var errNotICC = errors.New("not an ICC profile")

// checkICC reports why p is not a well-formed ICC profile, or nil.
func checkICC(p []byte) error {
	if len(p) < iccHeaderLen+4 {
		return fmt.Errorf("%w: %d bytes, shorter than a header and tag count", errNotICC, len(p))
	}
	if len(p) > maxICCSize {
		return fmt.Errorf("%w: %d bytes, more than %d", errNotICC, len(p), maxICCSize)
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

// Tag types (ICC.1:2022, section 10, and ICC.1:2001-04 for the v2 'desc') by what neutralICC
// does with a tag of that type. The rule goes by type, the signature at the start of a tag's
// data, because that is what a reader decodes; a tag signature only says what the data means.
var (
	// iccTextTypes carry free text, and are rewritten to hold neutral text (iccTextTag).
	iccTextTypes = map[string]bool{"desc": true, "mluc": true, "text": true}
	// iccColourTypes hold numbers a CMM converts colours with, or a signature, date or
	// measurement condition of a few bytes; they are kept byte for byte so that colour cannot
	// change. Everything else is dropped: types with names or text inside (ncl2 named colours,
	// clrt colorant names, pseq and psid device descriptions, dict, crdi, data, devs, bfd, the
	// utf8/zut8 family) and private or unknown types (Apple's vcgt, mmod, ndin, ...), which
	// nothing proves text-free and no colour conversion needs.
	iccColourTypes = map[string]bool{
		"XYZ ": true, "curv": true, "para": true, "sf32": true, "uf32": true, "chrm": true,
		"mft1": true, "mft2": true, "mAB ": true, "mBA ": true, "mpet": true, "clro": true,
		"cicp": true, "meas": true, "view": true, "sig ": true, "dtim": true,
	}
	// iccTextSigs are the tags ICC.1 defines as text: description, copyright, device
	// manufacturer and model, viewing conditions, characterization target, screening. One of a
	// type that is not text is unreadable to a CMM and may be a payload, so it is dropped.
	iccTextSigs = map[string]bool{
		"desc": true, "cprt": true, "dmnd": true, "dmdd": true, "vued": true, "targ": true,
		"scrd": true,
	}
)

// iccNeutralDesc is the description every stored profile has; every other text tag is empty.
// A viewer that lists profiles shows this; none needs more, and "Display P3" is not worth a
// free-text field an uploader controls.
const iccNeutralDesc = "ICC profile"

// iccTextTag is a well-formed tag of text type typ holding s, which is ASCII.
func iccTextTag(typ, s string) []byte {
	be := binary.BigEndian
	b := append([]byte(typ), 0, 0, 0, 0) // type signature, reserved
	switch typ {
	case "text":
		b = append(append(b, s...), 0)
	case "desc": // ASCII count and string; no Unicode and no ScriptCode description
		b = be.AppendUint32(b, uint32(len(s)+1))
		b = append(append(b, s...), 0)
		b = append(b, make([]byte, 4+4+2+1+67)...)
	case "mluc": // one record, en-US, right after the record table
		b = be.AppendUint32(be.AppendUint32(b, 1), 12)
		b = append(b, "enUS"...)
		b = be.AppendUint32(be.AppendUint32(b, uint32(2*len(s))), 16+12)
		for i := range len(s) {
			b = be.AppendUint16(b, uint16(s[i]))
		}
	}
	return b
}

// neutralTag returns what a rebuilt profile holds for the tag sig with data, or nil to drop it.
func neutralTag(sig string, data []byte) []byte {
	if len(data) < 8 { // not even a type signature and its reserved bytes
		return nil
	}
	typ := string(data[:4])
	switch {
	case iccTextTypes[typ]:
		if sig == "desc" {
			return iccTextTag(typ, iccNeutralDesc)
		}
		return iccTextTag(typ, "")
	case iccTextSigs[sig]:
		return nil
	case iccColourTypes[typ]:
		return data
	}
	return nil
}

// neutralICC rebuilds the well-formed profile p with the same header and colour, and neutral
// text: each tag as neutralTag says, laid out in table order on 4-byte boundaries (ICC.1
// 7.1.2), tags with equal data sharing one copy (as tone curves often do). Nothing else of p
// survives: neither the bytes between and after tags, where anything can hide, nor the header's
// reserved bytes. The profile ID, an MD5 of the profile, is recomputed when p had one and stays
// zero ("not computed") otherwise. The result of a result is itself.
func neutralICC(p []byte) ([]byte, error) {
	if err := checkICC(p); err != nil {
		return nil, err
	}
	be := binary.BigEndian
	type tag struct {
		sig  string
		data []byte
	}
	var tags []tag
	for i := range int(be.Uint32(p[iccHeaderLen:])) {
		e := p[iccHeaderLen+4+iccTagLen*i:]
		off, size := be.Uint32(e[4:]), be.Uint32(e[8:])
		if data := neutralTag(string(e[:4]), p[off:off+size]); data != nil {
			tags = append(tags, tag{string(e[:4]), data})
		}
	}
	hadID := !bytes.Equal(p[84:100], make([]byte, 16))
	out := make([]byte, iccHeaderLen, len(p)+len(tags)*(iccTagLen+3))
	copy(out, p[:84])
	out = be.AppendUint32(out, uint32(len(tags)))
	table := len(out)
	out = append(out, make([]byte, iccTagLen*len(tags))...)
	at := map[string]int{} // where data already laid out starts
	for i, t := range tags {
		off, ok := at[string(t.data)]
		if !ok {
			off = len(out)
			at[string(t.data)] = off
			out = append(out, t.data...)
			out = append(out, make([]byte, -len(out)&3)...)
		}
		e := out[table+iccTagLen*i:]
		copy(e, t.sig)
		be.PutUint32(e[4:], uint32(off))
		be.PutUint32(e[8:], uint32(len(t.data)))
	}
	be.PutUint32(out, uint32(len(out)))
	if hadID {
		id := iccProfileID(out)
		copy(out[84:], id[:])
	}
	return out, checkICC(out) // a profile of many tiny text tags could outgrow the limit
}

// iccProfileID is the profile ID of p (ICC.1 7.2.18): the MD5 of the profile with its flags,
// rendering intent and profile ID fields zeroed.
func iccProfileID(p []byte) [16]byte {
	h := md5.New()
	var zero [16]byte
	h.Write(p[:44])
	h.Write(zero[:4]) // flags
	h.Write(p[48:64])
	h.Write(zero[:4]) // rendering intent
	h.Write(p[68:84])
	h.Write(zero[:]) // profile ID
	h.Write(p[100:])
	var id [16]byte
	h.Sum(id[:0])
	return id
}

// iccToKeep decides on a profile block: drop it (ok false) when it is not a well-formed
// profile, keep it as it is (same) when it is already what neutralICC makes of it, or store out
// in its place.
func iccToKeep(p []byte) (out []byte, same, ok bool) {
	out, err := neutralICC(p)
	switch {
	case err != nil:
		return nil, false, false
	case bytes.Equal(out, p):
		return p, true, true
	}
	return out, false, true
}

// jpegICC decides on the ICC_PROFILE APP2 segments before the first scan. Together they must
// hold one well-formed profile: each segment is numbered i of n (1-based, after the
// identifier), every number from 1 to n appears exactly once, and their data in that order is
// the profile. Strip then keeps them all (keep), or replaces them all by segs, the neutral
// profile split again, at the place of the first; otherwise (keep false, segs nil) it drops them
// all. With no ICC segment, keep is true: there is nothing to drop.
func jpegICC(data []byte) (keep bool, segs []byte) {
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
			return false, nil
		}
		seq, n := int(p[0]), int(p[1])
		if count < 0 {
			count = n
			chunks = make([][]byte, n)
		}
		if n != count || seq < 1 || seq > n || chunks[seq-1] != nil {
			return false, nil
		}
		chunks[seq-1] = p[2:]
	}
	if count < 0 {
		return true, nil
	}
	var profile []byte
	for _, c := range chunks {
		if c == nil {
			return false, nil // a missing segment
		}
		profile = append(profile, c...)
	}
	out, same, ok := iccToKeep(profile)
	switch {
	case !ok:
		return false, nil
	case same:
		return true, nil
	}
	return false, jpegICCSegments(out)
}

// jpegICCChunk is the most profile data one APP2 segment holds: a segment's 65535 bytes less
// its length field, the identifier, and the sequence number and count.
const jpegICCChunk = 0xFFFF - 2 - len("ICC_PROFILE\x00") - 2

// jpegICCSegments splits profile into ICC_PROFILE segments, numbered from 1. A kept profile of
// at most maxICCSize needs 17, well under the 255 a count byte allows.
func jpegICCSegments(profile []byte) []byte {
	n := (len(profile) + jpegICCChunk - 1) / jpegICCChunk
	var b []byte
	for i := range n {
		chunk := profile[i*jpegICCChunk : min((i+1)*jpegICCChunk, len(profile))]
		size := 2 + len(iccID) + 2 + len(chunk)
		b = append(b, 0xFF, markerAPP2, byte(size>>8), byte(size))
		b = append(b, iccID...)
		b = append(b, byte(i+1), byte(n))
		b = append(b, chunk...)
	}
	return b
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

// pngICCP decides on an iCCP chunk: keep it as it is, replace it by out (the neutral profile
// under the fixed name), or drop it (ok false) when it does not hold a well-formed profile. A
// profile that is already neutral keeps its compressed stream, so only the name may change.
func pngICCP(chunk []byte) (out []byte, keep, ok bool) {
	profile, err := pngICCProfile(chunk)
	if err != nil {
		return nil, false, false
	}
	neutral, same, ok := iccToKeep(profile)
	if !ok {
		return nil, false, false
	}
	name, rest, _ := bytes.Cut(chunk, []byte{0})
	switch {
	case !same:
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		zw.Write(neutral) // a bytes.Buffer does not fail
		zw.Close()
		return append([]byte(iccpName+"\x00\x00"), z.Bytes()...), false, true
	case string(name) == iccpName:
		return nil, true, true
	}
	return append([]byte(iccpName+"\x00"), rest...), false, true
}

// gifICC decides on the sub-blocks of an ICCRGBG1012 application extension (after its
// identifier block): keep the extension, replace it by ext (the neutral profile in new
// sub-blocks), or drop it (keep false, ext nil) when they do not hold a well-formed profile.
func gifICC(blocks []byte) (keep bool, ext []byte) {
	var profile []byte
	for pos := 0; pos < len(blocks); {
		n := int(blocks[pos])
		if n == 0 || pos+1+n > len(blocks) {
			break
		}
		profile = append(profile, blocks[pos+1:pos+1+n]...)
		pos += 1 + n
	}
	out, same, ok := iccToKeep(profile)
	switch {
	case !ok:
		return false, nil
	case same:
		return true, nil
	}
	ext = append([]byte{gifExtension, gifApplication, gifAppIDLen}, gifICCApp...)
	for len(out) > 0 {
		n := min(len(out), 255)
		ext = append(append(ext, byte(n)), out[:n]...)
		out = out[n:]
	}
	return false, append(ext, 0)
}

// WithICC returns a JPEG made by this service's encoder (SOI, then the encoder's segments) with
// profile inserted after SOI as ICC_PROFILE segments. The result still goes through Strip, which
// keeps the profile only if it passes the checks above, rebuilt neutral.
func WithICC(jpeg, profile []byte) []byte {
	if len(profile) == 0 || len(profile) > maxICCSize || len(jpeg) < 2 {
		return jpeg
	}
	out := append([]byte(nil), jpeg[:2]...)
	out = append(out, jpegICCSegments(profile)...)
	return append(out, jpeg[2:]...)
}
