package pipeline

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"

	"medicpx/shared/phonesamples"
)

// TestRealPhoneFiles puts every real camera file of ../shared/samples/phone through Run: each
// complete one is accepted with the parts it carried named, the truncated one is rejected, and
// each stored original is the primary image alone, without MPF, XMP, GPS or serial.
func TestRealPhoneFiles(t *testing.T) {
	dir := phonesamples.Dir(t)
	for _, f := range phonesamples.Files {
		t.Run(f.Name, func(t *testing.T) {
			data := phonesamples.Read(t, dir, f)
			res, err := Run(data, "jpg")
			if f.Rejected != "" {
				r, ok := AsRejected(err)
				if !ok || string(r.Reason) != f.Rejected {
					t.Fatalf("Run = %v; want rejection %s", err, f.Rejected)
				}
				return
			}
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if !slices.Equal(res.Removed, f.Removed) {
				t.Errorf("Removed = %q; want %q", res.Removed, f.Removed)
			}
			t.Logf("%d -> %d bytes, removed %q", len(data), len(res.Original), res.Removed)
			checkPrimaryOnly(t, res.Original, data[:f.EOI])
		})
	}
}

// checkPrimaryOnly asserts that stored is the primary image (which ends at primary's end) with
// its identifying metadata removed: it ends with the primary's own last scan bytes and EOI, and
// holds no MPF index, XMP, GPS or camera serial.
func checkPrimaryOnly(t *testing.T, stored, primary []byte) {
	t.Helper()
	tail := primary[len(primary)-64:]
	if len(stored) > len(primary) || !bytes.HasSuffix(stored, tail) {
		t.Fatalf("stored original (%d bytes) does not end where the primary image (%d bytes) ends", len(stored), len(primary))
	}
	if n := bytes.Count(stored, []byte{0xFF, 0xD9}); n == 0 {
		t.Fatal("stored original has no EOI")
	}
	walkJPEGHeader(stored, 2, func(marker byte, _ int, p []byte) {
		switch {
		case marker == 0xE2 && bytes.HasPrefix(p, mpfID):
			t.Error("stored original keeps the MPF index")
		case marker == 0xE1 && bytes.HasPrefix(p, xmpID):
			t.Error("stored original keeps XMP (hdrgm / Container / GCamera)")
		case marker == 0xE1 && bytes.HasPrefix(p, []byte("Exif\x00")):
			for _, tag := range ifd0Tags(t, p[6:]) {
				if tag != 0x0112 { // orientation, the one tag kept
					t.Errorf("stored EXIF keeps tag 0x%04x (GPS is 0x8825, Exif sub-IFD with serials 0x8769)", tag)
				}
			}
		case marker >= 0xE3 && marker <= 0xEF && marker != 0xEE, marker == 0xFE:
			t.Errorf("stored original keeps segment 0x%02x", marker)
		}
	})
	for _, secret := range [][]byte{[]byte("GPS"), []byte("hdrgm"), []byte("MotionPhoto"), {0xf3, 0xbd, 0x5b, 0x57}, {0x57, 0x5b, 0xbd, 0xf3}} {
		if i := bytes.Index(stored[:min(len(stored), 1<<16)], secret); i >= 0 {
			t.Errorf("stored original's header holds %q at %d", secret, i)
		}
	}
}

// ifd0Tags lists the tags of a TIFF structure's first IFD.
func ifd0Tags(t *testing.T, tiff []byte) []uint16 {
	t.Helper()
	if len(tiff) < 8 {
		t.Fatalf("short EXIF")
	}
	var bo binary.ByteOrder = binary.BigEndian
	if tiff[0] == 'I' {
		bo = binary.LittleEndian
	}
	off := int(bo.Uint32(tiff[4:]))
	if off+2 > len(tiff) {
		t.Fatalf("EXIF IFD0 at %d outside %d bytes", off, len(tiff))
	}
	n := int(bo.Uint16(tiff[off:]))
	var tags []uint16
	for i := range n {
		e := off + 2 + 12*i
		if e+12 > len(tiff) {
			t.Fatalf("EXIF IFD0 entry %d outside the segment", i)
		}
		tags = append(tags, bo.Uint16(tiff[e:]))
	}
	return tags
}
