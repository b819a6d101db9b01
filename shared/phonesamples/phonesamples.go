// Package phonesamples describes the real phone camera files in ../shared/samples/phone (beside
// the repository; see its SOURCES.md) for the tests that put them through the pipeline, the
// processor and the stack. The files are read in place, never copied into the repository; when
// the folder is absent the tests skip and say where they looked.
package phonesamples

import (
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
	dir := filepath.Join(filepath.Dir(root), "shared", "samples", "phone")
	if _, err := os.Stat(filepath.Join(dir, Files[0].Name)); err != nil {
		tb.Skipf("real phone samples not found: %s is absent (it sits beside the repository as ../shared/samples/phone; see SOURCES.md there)", dir)
	}
	return dir
}

// Read returns the bytes of one sample, failing the test if its size is not the recorded one.
func Read(tb testing.TB, dir string, f File) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(dir, f.Name))
	if err != nil {
		tb.Fatal(err)
	}
	if int64(len(data)) != f.Size {
		tb.Fatalf("%s is %d bytes; SOURCES.md records %d", f.Name, len(data), f.Size)
	}
	return data
}
