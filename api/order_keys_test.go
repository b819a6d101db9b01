package api

import (
	"context"
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/uuid"

	"medicpx/infra/testenv/versity/versitytest"
	"medicpx/shared/keys"
	"medicpx/shared/s3client"
)

// catalogObject reads a scenario's catalog as stored (nil when there is none), with its ETag.
func (st *stack) catalogObject(scenario string) ([]byte, string) {
	st.t.Helper()
	out, err := st.env.Client.GetObject(context.Background(), &s3.GetObjectInput{
		Bucket: aws.String(versitytest.Bucket), Key: aws.String(keys.CatalogKey(scenario)),
	})
	if s3client.IsNotFound(err) {
		return nil, ""
	}
	if err != nil {
		st.t.Fatal(err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		st.t.Fatal(err)
	}
	return b, aws.ToString(out.ETag)
}

// TestOrderRefusesKeysOfNoImage: an order naming a well-formed key of the scenario that is not one
// of its images (never uploaded, an upload URL never used, another extension of an image's id) is
// a 422 with a Korean detail and stores nothing; an order of the scenario's images is still a 200.
func TestOrderRefusesKeysOfNoImage(t *testing.T) {
	st := newStack(t)
	prof := st.token("professor")
	path := "/patient-images/scenarios/1/order"
	first := st.upload(prof, "1", "첫째.jpg")
	second := st.upload(prof, "1", "둘째.jpg")
	unused := st.call("POST", "/patient-images/upload-url/1", prof, uploadBody("안 올림.jpg", "image/jpeg", 10, "PUT")).str("s3_key")
	k, _ := keys.Parse(first)
	otherExt := keys.OriginalKey("1", k.ID, "png")
	random := func() string { return keys.OriginalKey("1", uuid.NewString(), "jpg") }

	refused := func(stage string, s3Keys []string) {
		t.Helper()
		before, etag := st.catalogObject("1")
		r := st.call("PUT", path, prof, map[string]any{"s3_keys": s3Keys})
		if r.Status != 422 || !hasHangul(r.str("detail")) {
			t.Errorf("%s: order %v: %d %s, want 422 with a Korean detail", stage, s3Keys, r.Status, r.Raw)
		}
		after, etag2 := st.catalogObject("1")
		if !slices.Equal(before, after) || etag != etag2 {
			t.Errorf("%s: a refused order changed the catalog:\nbefore (%s) %s\nafter  (%s) %s", stage, etag, before, etag2, after)
		}
	}

	// No catalog yet: a refused order must not create one (before and after are both nil).
	refused("no catalog", []string{first, random()})

	// The scenario's own images: 200, stored.
	r := st.call("PUT", path, prof, map[string]any{"s3_keys": []string{second, first}})
	if r.Status != 200 {
		t.Fatalf("order of existing images: %d %s", r.Status, r.Raw)
	}
	want := []string{second, first}
	if got := r.Body["s3_keys"].([]any); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("answered %v, want %v", got, want)
	}

	// With a catalog: refused orders leave it byte for byte (and its ETag) as it was.
	for _, c := range []struct {
		name   string
		s3Keys []string
	}{
		{"one ready image and a random key", []string{first, random()}},
		{"a random key first", []string{random(), second, first}},
		{"only a random key", []string{random()}},
		{"an upload URL never used", []string{second, unused}},
		{"an image's id with another extension", []string{otherExt, second}},
	} {
		refused(c.name, c.s3Keys)
	}
	if got := field(st.listed(prof, "1"), "s3_key"); !slices.Equal(got, want) {
		t.Fatalf("listing after refused orders %q, want %q", got, want)
	}
	// Still a 200 afterwards, for the images alone.
	if r := st.call("PUT", path, prof, map[string]any{"s3_keys": []string{first}}); r.Status != 200 {
		t.Fatalf("order after refusals: %d %s", r.Status, r.Raw)
	}
}
