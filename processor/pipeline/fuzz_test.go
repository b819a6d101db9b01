package pipeline

import (
	"testing"
)

// FuzzRun: whatever the bytes and the extension, Run never panics and returns either a Result
// with thumbnails or a *Rejected; any other error would be a bug. The seed corpus is the fixtures
// (testdata/fuzz/FuzzRun, written by TestFixtures -update).
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
	})
}
