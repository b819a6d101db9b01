package pipeline

import (
	"slices"
	"testing"

	"medicpx/infra/testenv/phonesamples"
)

// TestRealPhoneFiles puts every real camera file of ../shared/samples/phone through Run: each
// complete one is accepted with the parts it carried named, the truncated one is rejected, and
// each stored original is the primary image alone, without MPF, XMP, GPS or serial, and its
// thumbnails are JPEGs (ThumbnailExts).
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
			checkThumbnailExts(t, res, "jpg")
			t.Logf("%d -> %d bytes, removed %q", len(data), len(res.Original), res.Removed)
			phonesamples.CheckPrimaryOnly(t, res.Original, data[:f.EOI])
		})
	}
}
