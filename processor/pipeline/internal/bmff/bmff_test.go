package bmff

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"medicpx/infra/testenv/heifbuild"
)

const samples = "../../../../../shared/samples/heic"

func noLimit(w, h int) error { return nil }

// TestSamples reads the real files' structure: each one's primary image, its size before irot,
// rotation and ICC profile, as heif-info reports them.
func TestSamples(t *testing.T) {
	if _, err := os.Stat(samples); err != nil {
		t.Skipf("%s is absent: %v", filepath.Clean(samples), err)
	}
	tests := []struct {
		file          string
		codec         Codec
		width, height int
		rotation      int
		tiles         int
		icc           bool
	}{
		{"iphonexr_rot90_gps.heic", HEVC, 4032, 3024, 270, 48, true},
		{"canon_r5_serial.hif", HEVC, 2400, 1600, 0, 4, false},
		{"nikon_stonehenge_gps.heic", HEVC, 300, 200, 0, 0, false},
		{"avif_1920.avif", AV1, 1920, 1080, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(samples, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			in, err := Parse(data, noLimit)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v", *in)
			if in.Codec != tt.codec || in.Width != tt.width || in.Height != tt.height || in.Rotation != tt.rotation ||
				in.Tiles != tt.tiles || (in.ICC != nil) != tt.icc {
				t.Fatalf("got %s %dx%d rot %d tiles %d icc %d bytes; want %s %dx%d rot %d tiles %d icc %v",
					in.Codec, in.Width, in.Height, in.Rotation, in.Tiles, len(in.ICC),
					tt.codec, tt.width, tt.height, tt.rotation, tt.tiles, tt.icc)
			}
			errCap := errors.New("cap")
			if _, err := Parse(data, func(w, h int) error { return errCap }); !errors.Is(err, errCap) {
				t.Fatalf("limit not applied: %v", err)
			}
		})
	}
}

// TestHostile refuses each hostile structure, the cap through the limit.
func TestHostile(t *testing.T) {
	errCap := errors.New("cap")
	limit := func(w, h int) error {
		if w*h > 50_000_000 {
			return errCap
		}
		return nil
	}
	for name, data := range heifbuild.Hostile() {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(data, limit)
			if err == nil {
				t.Fatal("accepted")
			}
			if (name == "ispe_over_cap") != errors.Is(err, errCap) {
				t.Fatalf("error %v", err)
			}
			t.Log(err)
		})
	}
	t.Run("valid", func(t *testing.T) {
		if _, err := Parse(heifbuild.Valid(64, 64).Bytes(), limit); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzParse: no input makes Parse panic, and what it accepts has a primary image within the limit.
func FuzzParse(f *testing.F) {
	for _, data := range heifbuild.Hostile() {
		f.Add(data)
	}
	f.Add(heifbuild.Valid(64, 64).Bytes())
	if data, err := os.ReadFile(filepath.Join(samples, "nikon_stonehenge_gps.heic")); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := Parse(data, func(w, h int) error {
			if w > 20000 || h > 20000 {
				return errors.New("cap")
			}
			return nil
		})
		if err != nil {
			return
		}
		if in.Width <= 0 || in.Height <= 0 || in.Width > 20000 || in.Height > 20000 {
			t.Fatalf("accepted %dx%d", in.Width, in.Height)
		}
	})
}
