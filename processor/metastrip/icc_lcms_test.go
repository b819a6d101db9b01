package metastrip

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestICCLittleCMS converts a real photo with its original profile and with the stored one,
// using Little CMS (Debian's liblcms2-utils), in each rendering intent: the outputs must be the
// same bytes, so a real CMM reads the stored profile and gets the same colours from it.
func TestICCLittleCMS(t *testing.T) {
	jpgicc, err := exec.LookPath("jpgicc")
	if err != nil {
		// make test installs it (Makefile, lcms); without it this check fails rather than pass unrun.
		t.Fatal("no jpgicc: run make tools (as root it installs Debian's liblcms2-utils)")
	}
	for _, name := range sampleICCs {
		t.Run(name, func(t *testing.T) {
			in := readSample(t, name)
			out := mustStrip(t, in, MIMEJPEG)
			dir := t.TempDir()
			files := map[string][]byte{
				"photo.jpg":    out,
				"original.icc": jpegTestICC(t, in),
				"stored.icc":   jpegTestICC(t, out),
			}
			for f, b := range files {
				if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			convert := func(profile, intent string) []byte {
				dst := filepath.Join(dir, profile+intent+".jpg")
				cmd := exec.Command(jpgicc, "-n", "-i"+filepath.Join(dir, profile), "-t"+intent, filepath.Join(dir, "photo.jpg"), dst)
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("jpgicc with %s: %v\n%s", profile, err, b)
				}
				b, err := os.ReadFile(dst)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			for _, intent := range []string{"0", "1", "3"} {
				a, b := convert("original.icc", intent), convert("stored.icc", intent)
				if !bytes.Equal(a, b) {
					t.Errorf("intent %s: converted with the stored profile, %d bytes differ from the original's %d", intent, len(b), len(a))
				}
			}
		})
	}
}
