package s3client_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"medicpx/infra/testenv/versity/versitytest"
	"medicpx/shared/s3client"
)

// payloadHeaders records each request's x-amz-content-sha256, by method.
type payloadHeaders struct {
	mu   sync.Mutex
	seen map[string][]string
	next http.RoundTripper
}

func (p *payloadHeaders) RoundTrip(r *http.Request) (*http.Response, error) {
	p.mu.Lock()
	p.seen[r.Method] = append(p.seen[r.Method], r.Header.Get("X-Amz-Content-Sha256"))
	p.mu.Unlock()
	return p.next.RoundTrip(r)
}

// TestLoopbackBodiesUnsigned: against the local versitygw (plain HTTP on loopback) a PUT's body
// is sent as UNSIGNED-PAYLOAD, as over HTTPS in AWS, and versitygw stores it intact, also when
// it carries a CRC32 (as the processor's image writes do: the SDK then hashes the body for that
// header, and must not also compute its SHA-256); a DeleteObjects, whose body S3 requires a
// checksum of, still works.
func TestLoopbackBodiesUnsigned(t *testing.T) {
	env := versitytest.Start(t, "")
	ctx := context.Background()
	rec := &payloadHeaders{seen: map[string][]string{}, next: http.DefaultTransport}
	client, err := s3client.New(ctx, env.S3, func(o *s3.Options) { o.HTTPClient = &http.Client{Transport: rec} })
	if err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("patient image bytes "), 5000)
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(versitytest.Bucket), Key: aws.String("a/b.jpg"), Body: bytes.NewReader(body),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(versitytest.Bucket), Key: aws.String("a/c.jpg"), Body: bytes.NewReader(body),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
	}); err != nil {
		t.Fatal(err)
	}
	h, err := client.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(versitytest.Bucket), Key: aws.String("a/c.jpg"), ChecksumMode: types.ChecksumModeEnabled,
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(body))); aws.ToString(h.ChecksumCRC32) != want {
		t.Errorf("stored CRC32 %q, want %q", aws.ToString(h.ChecksumCRC32), want)
	}
	got, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(versitytest.Bucket), Key: aws.String("a/b.jpg")})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := io.ReadAll(got.Body)
	got.Body.Close()
	if err != nil || !bytes.Equal(stored, body) {
		t.Fatalf("stored %d bytes (%v), want the %d put", len(stored), err, len(body))
	}
	if _, err := client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
		Bucket: aws.String(versitytest.Bucket),
		Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String("a/b.jpg")}}},
	}); err != nil {
		t.Fatalf("delete objects: %v", err)
	}
	if _, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(versitytest.Bucket), Key: aws.String("a/b.jpg")}); !s3client.IsNotFound(err) {
		t.Fatalf("after the delete: %v, want not found", err)
	}
	if puts := rec.seen[http.MethodPut]; len(puts) != 2 || puts[0] != "UNSIGNED-PAYLOAD" || puts[1] != "UNSIGNED-PAYLOAD" {
		t.Errorf("PUT payload hashes %q, want UNSIGNED-PAYLOAD twice", puts)
	}
}
