package processor

import (
	"bytes"
	"context"
	"sort"
	"strconv"
	"strings"
	"testing"

	"medicpx/infra/testenv/versity/versitytest"
	"medicpx/shared/catalog"
	"medicpx/shared/keys"
)

// TestChecksumRecorded: the processor records the SHA-256 of the staged bytes (not of the
// stripped original it stores) in the upload's catalog entry, whether or not the client declared
// one, in the one catalog write that folds the upload's note in; an upload rejected after it was
// read gets one too (upload-url counts only ready or processing images), one refused on its first
// bytes none. It also reports the S3 calls one
// processed upload costs.
func TestChecksumRecorded(t *testing.T) {
	s := startStack(t, false)
	prof := startAPI(t, s)
	cases := []struct {
		name, file string
		ready      bool
		hashed     bool // false: refused on its first bytes, never read whole
	}{
		{"stripped photo", "metadata/gps-serial-orientation6.jpg", true, true},
		{"plain photo", "valid/orient6.jpg", true, true},
		{"rejected when decoded", "hostile/truncated.jpg", false, true},
		{"rejected by its first bytes", "hostile/html.jpg", false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := readImage(t, c.file)
			key := prof.upload(t, "sum", "a.jpg", data)
			k, _ := keys.Parse(key)
			n := s.calls.len()
			out, err := s.p.Process(context.Background(), versitytest.Bucket, keys.StagedKey(key))
			if err != nil || (out == Ready) != c.ready {
				t.Fatalf("Process: %s %v", out, err)
			}
			calls := s.calls.since(n)
			counts := map[string]int{}
			catalogPuts := 0
			for _, x := range calls {
				counts[x.Method]++
				if x.Method == "PUT" && x.Key == keys.CatalogKey("sum") {
					catalogPuts++
				}
			}
			var parts []string
			for m, n := range counts {
				parts = append(parts, m+"="+strconv.Itoa(n))
			}
			sort.Strings(parts)
			t.Logf("%s: %d S3 calls (%s)", c.name, len(calls), strings.Join(parts, " "))
			if catalogPuts != 1 {
				t.Errorf("%d catalog writes, want 1 (the note and the checksum together)", catalogPuts)
			}
			cat, _, err := catalog.Read(context.Background(), s.env.Client, versitytest.Bucket, "sum")
			if err != nil {
				t.Fatal(err)
			}
			e := cat.Entry(k.ID)
			want := ""
			if c.hashed {
				want = catalog.Checksum(data)
			}
			if e.SHA256 != want || e.OriginalFilename != "a.jpg" {
				t.Fatalf("entry %+v, want the staged bytes' SHA-256 %q and the name", e, want)
			}
			if c.ready && c.name == "stripped photo" && bytes.Equal(s.get(t, key), data) {
				t.Fatal("the stored original equals the upload: this case proves nothing about which bytes are hashed")
			}
		})
	}
}
