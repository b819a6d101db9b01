package keys

import (
	"slices"
	"testing"
)

// TestConvertedExtensions: a staged upload keeps a HEIC's or AVIF's own extension and belongs to a
// .jpg original; no original, thumbnail or quarantine copy ever has such an extension.
func TestConvertedExtensions(t *testing.T) {
	const id = "0b8f5d2e-3c1a-4e7b-9d6f-2a4c8e1b3d5f"
	orig := OriginalKey("1", id, "jpg")
	tests := []struct {
		key      string
		ok       bool
		original string
	}{
		{"incoming/" + OriginalKey("1", id, "heic"), true, orig},
		{"incoming/" + OriginalKey("1", id, "heif"), true, orig},
		{"incoming/" + OriginalKey("1", id, "hif"), true, orig},
		{"incoming/" + OriginalKey("1", id, "avif"), true, orig},
		{"incoming/" + OriginalKey("1", id, "jpg"), true, orig},
		{"incoming/" + OriginalKey("1", id, "HEIC"), false, ""},
		{OriginalKey("1", id, "heic"), false, ""},
		{OriginalKey("1", id, "avif"), false, ""},
		{QuarantineKey(OriginalKey("1", id, "heic")), false, ""},
		{ThumbnailPrefix("1") + id + "_320.heic", false, ""},
	}
	for _, tt := range tests {
		k, err := Parse(tt.key)
		if (err == nil) != tt.ok {
			t.Errorf("Parse(%q) = %v; want ok %v", tt.key, err, tt.ok)
			continue
		}
		if err != nil {
			continue
		}
		if k.String() != tt.key || k.OriginalKey() != tt.original || k.Original().String() != tt.original {
			t.Errorf("%q: String %q, OriginalKey %q, Original %q; want %q", tt.key, k.String(), k.OriginalKey(), k.Original(), tt.original)
		}
	}
	staged := StagedKeys(orig)
	for _, ext := range []string{"jpg", "heic", "heif", "hif", "avif"} {
		if !slices.Contains(staged, StagedKey(OriginalKey("1", id, ext))) {
			t.Errorf("StagedKeys(%s) = %v: no .%s", orig, staged, ext)
		}
	}
	if got := StagedKeys(OriginalKey("1", id, "png")); len(got) != 1 {
		t.Errorf("StagedKeys of a PNG = %v; want only its own", got)
	}
}
