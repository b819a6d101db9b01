// Package heicsamples gives tests the real HEIC/HEIF/AVIF files of ../shared/samples/heic (read in
// place, never copied), libheif's own conversion of each (heif-convert) as the reference, and the
// check that a stored JPEG carries none of the identifying metadata the originals do.
package heicsamples

import (
	"bytes"
	"encoding/json"
	"image"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"medicpx/infra/testenv/phonesamples"
)

// File is one sample: its name, size, and the size libheif displays it at (after irot).
type File struct {
	Name          string
	Size          int64
	Width, Height int
	Ext           string // the key extension it is uploaded with
}

// Files are the samples SOURCES.md lists.
var Files = []File{
	{Name: "iphonexr_rot90_gps.heic", Size: 1474454, Width: 3024, Height: 4032, Ext: "heic"},
	{Name: "canon_r5_serial.hif", Size: 1253392, Width: 2400, Height: 1600, Ext: "hif"},
	{Name: "nikon_stonehenge_gps.heic", Size: 18241, Width: 300, Height: 200, Ext: "heic"},
	{Name: "avif_1920.avif", Size: 219216, Width: 1920, Height: 1080, Ext: "avif"},
}

// Dir returns ../shared/samples/heic beside the module root, or skips naming it.
func Dir(tb testing.TB) string {
	tb.Helper()
	return phonesamples.SamplesDir(tb, "heic", Files[0].Name)
}

// Read returns one sample's bytes, failing if its size is not the recorded one.
func Read(tb testing.TB, dir string, f File) []byte {
	tb.Helper()
	return phonesamples.ReadSized(tb, dir, f.Name, f.Size)
}

// Reference decodes a sample with libheif's heif-convert (Debian libheif-examples; the Makefile's
// tools target installs it), the reference for shape and pixels.
func Reference(tb testing.TB, dir string, f File) image.Image {
	tb.Helper()
	bin, err := exec.LookPath("heif-convert")
	if err != nil {
		tb.Fatalf("heif-convert (Debian libheif-examples) is needed as the reference decoder: %v", err)
	}
	out := filepath.Join(tb.TempDir(), "ref.jpg")
	if b, err := exec.Command(bin, "-q", "98", filepath.Join(dir, f.Name), out).CombinedOutput(); err != nil {
		tb.Fatalf("heif-convert %s: %v: %s", f.Name, err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		tb.Fatalf("heif-convert's output: %v", err)
	}
	return img
}

// identifying are the exiftool tags that must not survive: place, camera and owner.
var identifying = []string{"GPSLatitude", "GPSLongitude", "GPSPosition", "SerialNumber", "InternalSerialNumber",
	"LensSerialNumber", "Make", "Model", "OwnerName", "DateTimeOriginal", "Orientation"}

// CheckStripped runs exiftool on a stored JPEG: none of the identifying tags, no group but the
// file's, JFIF's and the ICC profile's; an ICC profile only where the sample had one (wantICC).
func CheckStripped(tb testing.TB, stored []byte, wantICC bool) {
	tb.Helper()
	bin, err := exec.LookPath("exiftool")
	if err != nil {
		tb.Fatalf("exiftool is needed to read what metadata remains: %v", err)
	}
	p := filepath.Join(tb.TempDir(), "stored.jpg")
	if err := os.WriteFile(p, stored, 0o600); err != nil {
		tb.Fatal(err)
	}
	out, err := exec.Command(bin, "-j", "-G1", "-a", p).Output()
	if err != nil {
		tb.Fatalf("exiftool: %v", err)
	}
	var tags []map[string]any
	if err := json.Unmarshal(out, &tags); err != nil || len(tags) != 1 {
		tb.Fatalf("exiftool output: %v: %s", err, out)
	}
	hasICC := false
	for name, v := range tags[0] {
		group, tag, _ := strings.Cut(name, ":")
		for _, bad := range identifying {
			if tag == bad {
				tb.Errorf("stored JPEG has %s = %v", name, v)
			}
		}
		// Only what describes the file and its pixels may be there: no IFD0, ExifIFD, GPS,
		// maker notes, XMP or IPTC group.
		switch {
		case name == "SourceFile" || group == "System" || group == "File" || group == "ExifTool" || group == "JFIF" || group == "Composite":
		case strings.HasPrefix(group, "ICC"):
			hasICC = true
		default:
			tb.Errorf("stored JPEG has %s = %v", name, v)
		}
	}
	if hasICC != wantICC {
		tb.Errorf("ICC profile in the stored JPEG: %v; want %v", hasICC, wantICC)
	}
}
