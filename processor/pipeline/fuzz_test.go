package pipeline

import (
	"slices"
	"testing"
)

// FuzzRun: whatever the bytes and the extension, Run never panics and returns either a Result
// with thumbnails or a *Rejected; any other error would be a bug. The thumbnails have an
// extension of ThumbnailExts(ext), which the processor's first look heads and no other. The
// seed corpus is the fixtures (testdata/fuzz/FuzzRun, written by TestFixtures -update).
func FuzzRun(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, ext string) {
		res, err := Run(data, ext)
		if err != nil {
			if _, ok := AsRejected(err); !ok {
				t.Fatalf("Run returned a non-rejection error: %v", err)
			}
			if res != nil {
				t.Fatal("Run returned both a Result and an error")
			}
			return
		}
		if res == nil || len(res.Thumbnails) == 0 || len(res.Original) == 0 {
			t.Fatalf("Run accepted the input but returned %+v", res)
		}
		checkThumbnailExts(t, res, ext)
	})
}

// checkThumbnailExts fails t unless each of res's thumbnails has an extension of
// ThumbnailExts(ext).
func checkThumbnailExts(t *testing.T, res *Result, ext string) {
	t.Helper()
	for _, th := range res.Thumbnails {
		if !slices.Contains(ThumbnailExts(ext), th.Ext) {
			t.Fatalf("a thumbnail of an upload under .%s is a .%s, not one of %q", ext, th.Ext, ThumbnailExts(ext))
		}
	}
}

// FuzzJPEGTrailer: whatever follows a JPEG's primary image, the classifier never panics, and it
// accepts a trailer only with a reason: padding alone means zero bytes, and anything else names
// what was appended. Seed corpus: testdata/fuzz/FuzzJPEGTrailer (TestTrailerFuzzCorpus -update).
func FuzzJPEGTrailer(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := jpegLayout(data)
		if err != nil || l.end >= len(data) {
			return
		}
		removed, err := classifyJPEGTrailer(data, l.end)
		if err != nil {
			if removed != nil {
				t.Fatal("removed parts alongside an error")
			}
			return
		}
		if len(removed) == 0 && !allZero(data[l.end:]) {
			t.Fatalf("accepted %d non-zero trailing bytes without naming them", len(data)-l.end)
		}
		for _, r := range removed {
			if r != RemovedGainMap && r != RemovedMPOFrames && r != RemovedMotionVideo {
				t.Fatalf("unknown removed part %q", r)
			}
		}
	})
}
