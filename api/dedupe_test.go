package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"medicpx/infra/testenv/versity/versitytest"
	"medicpx/shared/catalog"
	"medicpx/shared/keys"
	"medicpx/shared/retire"
)

// putWith sends a PUT with the given headers and returns the status.
func putWith(t *testing.T, u string, headers map[string]string, body []byte) int {
	t.Helper()
	req, _ := http.NewRequest("PUT", u, bytes.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestChecksumSignedPut: with checksum_sha256 the presigned PUT (the real SDK presigner) signs
// x-amz-checksum-sha256, and versitygw refuses a body of the right length whose SHA-256 differs,
// a PUT that leaves the header out, and one that sends another checksum.
func TestChecksumSignedPut(t *testing.T) {
	st := newStack(t)
	prof := st.token("professor")
	body := []byte("0123456789")
	req := uploadBody("a.jpg", "image/jpeg", len(body), "PUT")
	req["checksum_sha256"] = catalog.Checksum(body)
	resp := st.call("POST", "/patient-images/upload-url/7", prof, req)
	if resp.Status != 200 {
		t.Fatalf("%d %s", resp.Status, resp.Raw)
	}
	headers := map[string]string{}
	for k, v := range resp.Body["upload_headers"].(map[string]any) {
		headers[k] = v.(string)
	}
	if headers["x-amz-checksum-sha256"] != catalog.Checksum(body) || headers["Content-Type"] != "image/jpeg" {
		t.Fatalf("upload_headers %v", headers)
	}
	if _, ok := resp.Body["duplicate_of"]; ok {
		t.Fatalf("duplicate_of on a first upload: %s", resp.Raw)
	}
	staged := keys.StagedKey(resp.str("s3_key"))
	u := resp.str("upload_url")
	signed := mustQuery(t, u).Get("X-Amz-SignedHeaders")
	if !strings.Contains(signed, "x-amz-checksum-sha256") || mustQuery(t, u).Has("x-amz-checksum-sha256") {
		t.Fatalf("X-Amz-SignedHeaders %q does not sign the checksum as a header", signed)
	}
	t.Logf("X-Amz-SignedHeaders=%s", signed)
	without := map[string]string{"Content-Type": "image/jpeg"}
	other := map[string]string{"Content-Type": "image/jpeg", "x-amz-checksum-sha256": catalog.Checksum([]byte("9876543210"))}
	// versitygw v1.8.0: a body whose SHA-256 differs is 400 (the checksum check); a PUT without
	// the signed header, or with another value, fails the signature (403).
	cases := []struct {
		name    string
		headers map[string]string
		body    []byte
		status  int
	}{
		{"body that does not match", headers, []byte("9876543210"), 400},
		{"header left out", without, body, 403},
		{"another checksum with its body", other, []byte("9876543210"), 403},
		{"as signed", headers, body, 200},
	}
	for _, c := range cases {
		if got := putWith(t, u, c.headers, c.body); got != c.status {
			t.Errorf("%s: %d, want %d", c.name, got, c.status)
		}
		if c.status == 200 && !bytes.Equal(st.get(staged), body) {
			t.Errorf("%s: staged bytes differ", c.name)
		}
		if c.status != 200 && st.exists(staged) {
			t.Fatalf("%s: a refused PUT stored the staged object", c.name)
		}
	}
}

// TestChecksumBadValue: anything but the padded standard base64 of 32 bytes is a 400.
func TestChecksumBadValue(t *testing.T) {
	st := newStack(t)
	prof := st.token("professor")
	sum := sha256.Sum256([]byte("x"))
	for _, bad := range []string{"", "abc", base64.RawStdEncoding.EncodeToString(sum[:]), base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)),
		base64.StdEncoding.EncodeToString(sum[:16]), base64.StdEncoding.EncodeToString(sum[:]) + " ", "0123456789abcdef0123456789abcdef0123456789ab"} {
		req := uploadBody("a.jpg", "image/jpeg", 10, "PUT")
		req["checksum_sha256"] = bad
		if resp := st.call("POST", "/patient-images/upload-url/7", prof, req); resp.Status != 400 || resp.str("detail") != msgBadChecksum {
			t.Errorf("%q: %d %s", bad, resp.Status, resp.Raw)
		}
	}
}

// TestChecksumPostPolicy: versitygw v1.8.0 enforces a checksum pinned by a POST policy: a form
// carrying another value fails the policy, and a file whose SHA-256 differs from the field is
// refused.
func TestChecksumPostPolicy(t *testing.T) {
	st := newStack(t)
	prof := st.token("professor")
	body := bytes.Repeat([]byte{7}, 100)
	req := uploadBody("x.png", "image/png", len(body), "POST")
	req["checksum_sha256"] = catalog.Checksum(body)
	resp := st.call("POST", "/patient-images/upload-url/1", prof, req)
	if resp.Status != 200 {
		t.Fatalf("%d %s", resp.Status, resp.Raw)
	}
	fields := uploadFields(resp)
	if fields["x-amz-checksum-sha256"] != catalog.Checksum(body) || fields["x-amz-checksum-algorithm"] != "SHA256" {
		t.Fatalf("fields %v", fields)
	}
	staged := keys.StagedKey(resp.str("s3_key"))
	post := func(override map[string]string, file []byte) int {
		return postForm(t, resp.str("upload_url"), fields, override, file)
	}
	other := bytes.Repeat([]byte{8}, 100)
	// versitygw v1.8.0: 403 (policy condition failed) and 400 (BadDigest-style checksum error).
	if got := post(map[string]string{"x-amz-checksum-sha256": catalog.Checksum(other)}, other); got != 403 {
		t.Errorf("field changed to the other file's checksum: %d, want 403", got)
	}
	if got := post(nil, other); got < 400 {
		t.Errorf("file that does not match the pinned checksum: %d, want refused", got)
	}
	if st.exists(staged) {
		t.Fatal("a refused POST stored the staged object")
	}
	if got := post(nil, body); got != 204 && got != 200 {
		t.Fatalf("valid POST: %d", got)
	}
}

// TestUploadRetryByKey: a retry with s3_key answers the same key with a fresh URL while the
// upload is pending, 409 once it arrived, 404 for a key never handed out, deleted, or of
// another scenario, and the retried upload is one image.
func TestUploadRetryByKey(t *testing.T) {
	st := newStack(t)
	prof := st.token("professor")
	body := []byte("0123456789")
	first := st.call("POST", "/patient-images/upload-url/7", prof, uploadBody("첫 사진.jpg", "image/jpeg", len(body), "PUT"))
	if first.Status != 200 {
		t.Fatalf("%d %s", first.Status, first.Raw)
	}
	key := first.str("s3_key")
	retry := func(scenario, key string, name string) response {
		req := uploadBody(name, "image/jpeg", len(body), "PUT")
		req["s3_key"] = key
		return st.call("POST", "/patient-images/upload-url/"+scenario, prof, req)
	}
	again := retry("7", key, "다른 이름.jpg")
	if again.Status != 200 {
		t.Fatalf("retry: %d %s", again.Status, again.Raw)
	}
	for _, f := range []string{"s3_key", "stored_filename", "s3_url", "status_url", "original_filename"} {
		if again.str(f) != first.str(f) {
			t.Errorf("retry %s = %q, first %q", f, again.str(f), first.str(f))
		}
	}
	if again.str("upload_url") == "" {
		t.Fatal("no upload_url")
	}
	if got := httpPut(t, again.str("upload_url"), "image/jpeg", body); got != 200 || !st.exists(keys.StagedKey(key)) {
		t.Fatalf("PUT with the fresh URL: %d", got)
	}
	if got := retry("7", key, "a.jpg"); got.Status != 409 {
		t.Errorf("retry after arrival: %d %s", got.Status, got.Raw)
	}

	never := keys.OriginalKey("7", id3, "jpg")
	deleted := st.call("POST", "/patient-images/upload-url/7", prof, uploadBody("b.jpg", "image/jpeg", len(body), "PUT")).str("s3_key")
	dk, _ := keys.Parse(deleted)
	if err := retire.Mark(context.Background(), st.env.Client, versitytest.Bucket, dk, retire.Trashed, st.clock()); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, scenario, key string
		status              int
	}{
		{"never handed out", "7", never, 404},
		{"deleted before it arrived", "7", deleted, 404},
		{"of another scenario", "8", key, 422},
		{"not an original", "7", keys.ThumbnailKey("7", id3, 320, "jpg"), 422},
		{"extension not of the type", "7", keys.OriginalKey("7", id3, "png"), 422},
	}
	for _, c := range cases {
		if got := retry(c.scenario, c.key, "a.jpg"); got.Status != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, got.Status, got.Raw, c.status)
		}
	}
	// The processor takes the note when the upload arrives: a retry after that is 409, never a note again.
	st.seenByProcessor(key)
	st.markReady(key)
	if got := retry("7", key, "a.jpg"); got.Status != 409 {
		t.Errorf("retry after ready: %d %s", got.Status, got.Raw)
	}
	if _, ok, _ := catalog.ReadNote(context.Background(), st.env.Client, versitytest.Bucket, "7", keys.Filename(key)[:36]); ok {
		t.Error("a retry brought back the note of an upload that arrived")
	}
}

// withChecksum records sum in key's catalog entry, as the processor does when it reads the bytes.
func (st *stack) withChecksum(key, sum string) {
	st.t.Helper()
	k, err := keys.Parse(key)
	if err != nil {
		st.t.Fatal(err)
	}
	if _, err := catalog.Update(context.Background(), st.env.Client, versitytest.Bucket, k.Scenario, func(c *catalog.Catalog) error {
		c.SetChecksum(k.ID, sum, true)
		return nil
	}); err != nil {
		st.t.Fatal(err)
	}
}

// TestDuplicateOf: upload-url names a ready or processing image of the same scenario with the
// same checksum, and never a deleted, rejected or never-arrived one, nor one of another scenario.
func TestDuplicateOf(t *testing.T) {
	st := newStack(t)
	prof := st.token("professor")
	sum := catalog.Checksum([]byte("the photo"))
	ask := func(scenario string) response {
		req := uploadBody("again.jpg", "image/jpeg", 9, "PUT")
		req["checksum_sha256"] = sum
		r := st.call("POST", "/patient-images/upload-url/"+scenario, prof, req)
		if r.Status != 200 || r.str("upload_url") == "" {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
		return r
	}
	dupOf := func(r response) string {
		d, _ := r.Body["duplicate_of"].(map[string]any)
		if d == nil {
			return ""
		}
		if u, _ := d["s3_url"].(string); !strings.HasSuffix(u, "/"+d["s3_key"].(string)) {
			t.Errorf("duplicate_of.s3_url %v", d["s3_url"])
		}
		return d["s3_key"].(string)
	}
	newUpload := func(name string) string {
		return st.call("POST", "/patient-images/upload-url/5", prof, uploadBody(name, "image/jpeg", 9, "PUT")).str("s3_key")
	}

	if got := dupOf(ask("5")); got != "" {
		t.Fatalf("duplicate in an empty scenario: %s", got)
	}
	// Never arrived: a checksum in the catalog alone (no staged, no final) does not count.
	ghost := newUpload("ghost.jpg")
	st.withChecksum(ghost, sum)
	if got := dupOf(ask("5")); got != "" {
		t.Fatalf("an upload that never arrived counted: %s", got)
	}
	// Processing: staged only.
	processing := newUpload("p.jpg")
	st.put(keys.StagedKey(processing), "image/jpeg", []byte("the photo"), nil)
	st.withChecksum(processing, sum)
	if got := dupOf(ask("5")); got != processing {
		t.Fatalf("processing image: duplicate_of %q, want %q", got, processing)
	}
	if got := dupOf(ask("6")); got != "" {
		t.Fatalf("another scenario's image counted: %s", got)
	}
	// Ready, and deleted (tombstone, as a delete writes first): the deleted one no longer counts.
	ready := newUpload("r.jpg")
	st.markReady(st.original("5", keys.Filename(ready)[:36], false))
	st.withChecksum(ready, sum)
	pk, _ := keys.Parse(processing)
	if err := retire.Mark(context.Background(), st.env.Client, versitytest.Bucket, pk, retire.Trashed, st.clock()); err != nil {
		t.Fatal(err)
	}
	if got := dupOf(ask("5")); got != ready {
		t.Fatalf("duplicate_of %q, want the ready %q (the processing one is deleted)", got, ready)
	}
	// Deleted through the API: to the trash, then for good.
	if r := st.call("DELETE", "/patient-images/5?s3_key="+ready, prof, nil); r.Status != 200 {
		t.Fatalf("delete: %d %s", r.Status, r.Raw)
	}
	if got := dupOf(ask("5")); got != "" {
		t.Fatalf("a trashed image counted: %s", got)
	}
	if r := st.call("DELETE", "/patient-images/scenarios/5/trash?s3_key="+ready, prof, nil); r.Status != 200 {
		t.Fatalf("purge: %d %s", r.Status, r.Raw)
	}
	c, _, err := catalog.Read(context.Background(), st.env.Client, versitytest.Bucket, "5")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range c.WithChecksum(sum) {
		if id == keys.Filename(ready)[:36] {
			t.Fatal("a permanent delete left the checksum in the catalog")
		}
	}
}

func mustQuery(t *testing.T, u string) url.Values {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.Query()
}
