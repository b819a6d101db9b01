// Package phonesamples describes the real phone camera files in ../shared/samples/phone (beside
// the repository; see its SOURCES.md) for the tests that put them through the pipeline, the
// processor and the stack. The files are read in place, never copied into the repository; when
// the folder is absent the tests skip and say where they looked.
package phonesamples

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// File is one sample and what the pipeline must make of it.
type File struct {
	Name string
	Size int64
	// EOI is the offset just past the primary image's EOI, measured by walking its markers
	// (SOURCES.md, "primary EOI ends at"); 0 for the truncated file, which has none.
	EOI int64
	// Removed is what the pipeline reports it cut off; Rejected the reason for a rejected file.
	Removed  []string
	Rejected string
}

// Files are the 13 samples: 12 complete ones and one truncated.
var Files = []File{
	{Name: "pixel6_ultrahdr.jpg", Size: 520842, EOI: 513025, Removed: []string{"hdr_gain_map"}},
	{Name: "pixel6_ultrahdr_truncated.jpg", Size: 48197, Rejected: "corrupt"},
	{Name: "pixel8pro_ultrahdr.jpg", Size: 267463, EOI: 257909, Removed: []string{"hdr_gain_map"}},
	{Name: "pixel3axl_motionphoto.jpg", Size: 4045406, EOI: 2728123, Removed: []string{"motion_photo_video"}},
	{Name: "iphone14promax_gainmap.jpg", Size: 14574, EOI: 4226, Removed: []string{"hdr_gain_map"}},
	{Name: "iphone13mini_gainmap_old.jpg", Size: 50742, EOI: 44821, Removed: []string{"hdr_gain_map"}},
	{Name: "iphone13mini_gainmap_new.jpg", Size: 50824, EOI: 44821, Removed: []string{"hdr_gain_map"}},
	{Name: "3ds_stereo_sugarshack.jpg", Size: 120198, EOI: 60007, Removed: []string{"mpo_frames"}},
	{Name: "3ds_stereo_frozenpond.jpg", Size: 166209, EOI: 82451, Removed: []string{"mpo_frames"}},
	{Name: "samsung_nx1000_mpo.jpg", Size: 4405, EOI: 2217, Removed: []string{"mpo_frames"}},
	{Name: "libvips_ultrahdr_3840.jpg", Size: 1190669, EOI: 1158931, Removed: []string{"hdr_gain_map"}},
	{Name: "photoshop_gainmap_paris.jpg", Size: 47579, EOI: 33487, Removed: []string{"hdr_gain_map"}},
	{Name: "acr_gainmap_seine.jpg", Size: 142972, EOI: 114562, Removed: []string{"hdr_gain_map"}},
}

// Dir returns the samples folder, found from the module root (the directory holding go.mod) as
// ../shared/samples/phone, or skips the test, naming the folder it looked for.
func Dir(tb testing.TB) string {
	tb.Helper()
	return SamplesDir(tb, "phone", Files[0].Name)
}

// SamplesDir returns ../shared/samples/{name} beside the module root, or skips the test naming
// that folder when probe (one of its files) is not there.
func SamplesDir(tb testing.TB, name, probe string) string {
	tb.Helper()
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	root := wd
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			tb.Fatalf("no go.mod above %s", wd)
		}
		root = parent
	}
	dir := filepath.Join(filepath.Dir(root), "shared", "samples", name)
	if _, err := os.Stat(filepath.Join(dir, probe)); err != nil {
		tb.Skipf("real %s samples not found: %s is absent (it sits beside the repository as ../shared/samples/%s; see SOURCES.md there)", name, dir, name)
	}
	return dir
}

// Read returns the bytes of one sample, failing the test if its size is not the recorded one.
func Read(tb testing.TB, dir string, f File) []byte {
	tb.Helper()
	return ReadSized(tb, dir, f.Name, f.Size)
}

// ReadSized returns the bytes of the sample file name in dir (any samples folder), failing the
// test if it is not size bytes long, the size its SOURCES.md records.
func ReadSized(tb testing.TB, dir, name string, size int64) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		tb.Fatal(err)
	}
	if int64(len(data)) != size {
		tb.Fatalf("%s is %d bytes; SOURCES.md records %d", name, len(data), size)
	}
	return data
}

// CheckPrimaryOnly asserts that stored is the primary image of a phone JPEG (primary is the file
// cut at the primary's EOI) with its identifying metadata removed: it ends with the primary's own
// last bytes and EOI, is no longer than it, and its header holds no MPF index, no XMP (hdrgm,
// Container, GCamera), no EXIF tag but the orientation (so no GPS and no Exif sub-IFD with serials),
// no other APPn or comment, and not the 3DS samples' camera serial.
func CheckPrimaryOnly(tb testing.TB, stored, primary []byte) {
	tb.Helper()
	tail := primary[len(primary)-64:]
	if len(stored) > len(primary) || !bytes.HasSuffix(stored, tail) {
		tb.Fatalf("stored original (%d bytes) does not end where the primary image (%d bytes) ends", len(stored), len(primary))
	}
	if len(stored) < 4 || stored[0] != 0xFF || stored[1] != 0xD8 {
		tb.Fatal("stored original does not start with SOI")
	}
	for pos := 2; pos+4 <= len(stored) && stored[pos] == 0xFF; {
		m := stored[pos+1]
		if m == 0xDA || m == 0xD9 {
			break
		}
		n := int(binary.BigEndian.Uint16(stored[pos+2:]))
		if n < 2 || pos+2+n > len(stored) {
			tb.Fatalf("stored original: segment 0x%02x at %d runs past the end", m, pos)
		}
		p := stored[pos+4 : pos+2+n]
		switch {
		case m == 0xE2 && bytes.HasPrefix(p, []byte("MPF\x00")):
			tb.Error("stored original keeps the MPF index")
		case m == 0xE1 && bytes.HasPrefix(p, []byte("http://ns.adobe.com/xap/1.0/\x00")):
			tb.Error("stored original keeps XMP (hdrgm / Container / GCamera)")
		case m == 0xE1 && bytes.HasPrefix(p, []byte("Exif\x00")):
			for _, tag := range ifd0Tags(tb, p[6:]) {
				if tag != 0x0112 { // orientation, the one tag kept
					tb.Errorf("stored EXIF keeps tag 0x%04x (GPS is 0x8825, the Exif sub-IFD with serials 0x8769)", tag)
				}
			}
		case m >= 0xE3 && m <= 0xEF && m != 0xEE, m == 0xFE:
			tb.Errorf("stored original keeps segment 0x%02x", m)
		}
		pos += 2 + n
	}
	head := stored[:min(len(stored), 1<<16)]
	for _, secret := range [][]byte{[]byte("hdrgm"), []byte("MotionPhoto"), {0xf3, 0xbd, 0x5b, 0x57}, {0x57, 0x5b, 0xbd, 0xf3}} {
		if i := bytes.Index(head, secret); i >= 0 {
			tb.Errorf("stored original's header holds %q at %d", secret, i)
		}
	}
}

// ifd0Tags lists the tags of a TIFF structure's first IFD.
func ifd0Tags(tb testing.TB, tiff []byte) []uint16 {
	tb.Helper()
	if len(tiff) < 8 {
		tb.Fatalf("short EXIF")
	}
	var bo binary.ByteOrder = binary.BigEndian
	if tiff[0] == 'I' {
		bo = binary.LittleEndian
	}
	off := int(bo.Uint32(tiff[4:]))
	if off+2 > len(tiff) {
		tb.Fatalf("EXIF IFD0 at %d outside %d bytes", off, len(tiff))
	}
	var tags []uint16
	for i := range int(bo.Uint16(tiff[off:])) {
		e := off + 2 + 12*i
		if e+12 > len(tiff) {
			tb.Fatalf("EXIF IFD0 entry %d outside the segment", i)
		}
		tags = append(tags, bo.Uint16(tiff[e:]))
	}
	return tags
}
