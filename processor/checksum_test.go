package processor

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"medicpx/infra/testenv/apiclient"
	"medicpx/infra/testenv/versity/versitytest"
	"medicpx/shared/catalog"
	"medicpx/shared/imagepolicy"
	"medicpx/shared/keys"
	"medicpx/shared/s3client"
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
			if c.ready {
				stored := []string{k.OriginalKey()}
				for _, size := range imagepolicy.ThumbnailSizes {
					stored = append(stored, keys.ThumbnailKey(k.Scenario, k.ID, size, "jpg"))
				}
				for _, key := range stored {
					checkStoredCRC32(t, s, key)
				}
			}
		})
	}
}

// checkStoredCRC32: the processor wrote key with a CRC32 of its bytes (storedChecksum), which S3
// checked them against and keeps; written without one, versitygw keeps its own CRC64NVME instead.
func checkStoredCRC32(t *testing.T, s *stack, key string) {
	t.Helper()
	h, err := s.env.Client.HeadObject(context.Background(), &s3.HeadObjectInput{
		Bucket: aws.String(versitytest.Bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled,
	})
	if err != nil {
		t.Fatalf("head %s: %v", key, err)
	}
	want := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(s.get(t, key))))
	if got := aws.ToString(h.ChecksumCRC32); got != want {
		t.Errorf("%s: stored CRC32 %q (CRC64NVME %q), want %q", key, got, aws.ToString(h.ChecksumCRC64NVME), want)
	}
}

// An upload that declared its SHA-256 (as the page does) is not hashed again: S3 checked the
// declared value against the bytes and keeps it, and the staged GET asks for it
// (s3client.StoredChecksums). One that declared none is hashed as before. The last case hands
// the processor a different stored value than the bytes': the entry records it, which shows that
// the value comes from S3 and was not recomputed.
func TestStoredChecksumUsed(t *testing.T) {
	s := startStack(t, false)
	prof := startAPI(t, s)
	data := readImage(t, "valid/orient6.jpg")
	sum := catalog.Checksum(data)
	other := catalog.Checksum([]byte("other bytes"))
	for _, c := range []struct {
		name      string
		declare   bool
		replace   string // a stored value the store hands the processor instead of S3's
		stored    string // what the staged GET must carry from versitygw
		wantEntry string
	}{
		{"declared", true, "", sum, sum},
		{"not declared", false, "", "", sum},
		{"stored value used as it is", true, other, sum, other},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := apiclient.PutRequest("a.jpg", len(data))
			if c.declare {
				req.ChecksumSHA256 = sum
			}
			g, err := prof.UploadURL(t.Context(), "stored", req)
			if err != nil {
				t.Fatal(err)
			}
			if st, err := g.Put(t.Context(), data, nil); st != http.StatusOK {
				t.Fatalf("PUT: %d %v", st, err)
			}
			k, _ := keys.Parse(g.S3Key)
			seen := new(string)
			p := *s.p
			p.S3 = storedSum{objectStore: s.p.S3, staged: keys.StagedKey(g.S3Key), seen: seen, replace: c.replace}
			if out, err := p.Process(t.Context(), versitytest.Bucket, keys.StagedKey(g.S3Key)); err != nil || out != Ready {
				t.Fatalf("Process: %s %v", out, err)
			}
			if *seen != c.stored {
				t.Errorf("the staged GET carried stored SHA-256 %q, want %q", *seen, c.stored)
			}
			cat, _, err := catalog.Read(t.Context(), s.env.Client, versitytest.Bucket, "stored")
			if err != nil {
				t.Fatal(err)
			}
			if e := cat.Entry(k.ID); e.SHA256 != c.wantEntry {
				t.Errorf("entry SHA-256 %q, want %q", e.SHA256, c.wantEntry)
			}
		})
	}
}

// storedSum notes the stored SHA-256 the staged GET comes back with, and can replace it.
type storedSum struct {
	objectStore
	staged  string
	seen    *string
	replace string
}

func (s storedSum) GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	out, err := s.objectStore.GetObject(ctx, in, opts...)
	if err == nil && *in.Key == s.staged {
		*s.seen = s3client.StoredSHA256(out)
		if s.replace != "" {
			out.ChecksumSHA256 = aws.String(s.replace)
		}
	}
	return out, err
}
