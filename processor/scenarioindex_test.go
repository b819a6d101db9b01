package processor

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"medicpx/infra/testenv/versity/versitytest"
	"medicpx/shared/keys"
	"medicpx/shared/scenarioindex"
)

func readIndex(t *testing.T, s *stack) *scenarioindex.Index {
	t.Helper()
	ix, _, err := scenarioindex.Read(context.Background(), s.env.Client, versitytest.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

// TestIndexFollowsProcessing: an image that becomes ready is counted in the scenarios index by
// the processor itself (and a rejected one is not); a lost refresh, and an entry left by an
// image deleted behind the index's back, are healed by the whole sweep's rebuild, which writes
// nothing when the index is right.
func TestIndexFollowsProcessing(t *testing.T) {
	s := startStack(t, false)
	prof := startAPI(t, s)
	ctx := context.Background()
	ready := prof.upload(t, "ix", "a.jpg", readImage(t, "valid/orient6.jpg"))
	bad := prof.upload(t, "ix", "b.jpg", readImage(t, "hostile/html.jpg"))
	for _, key := range []string{ready, bad} {
		if _, err := s.p.Process(ctx, versitytest.Bucket, keys.StagedKey(key)); err != nil {
			t.Fatal(err)
		}
	}
	rk, _ := keys.Parse(ready)
	got := readIndex(t, s).Scenarios["ix"]
	if got.Count != 1 || got.Cover != keys.ThumbnailKey("ix", rk.ID, 320, "jpg") || got.LastModified.IsZero() {
		t.Fatalf("index entry %+v, want the one ready image as cover", got)
	}

	// A lost refresh: a second image is promoted, but the index is put back as it was.
	before := s.get(t, keys.IndexKey)
	second := prof.upload(t, "ix", "c.png", readImage(t, "valid/opaque.png"))
	if _, err := s.p.Process(ctx, versitytest.Bucket, keys.StagedKey(second)); err != nil {
		t.Fatal(err)
	}
	if readIndex(t, s).Scenarios["ix"].Count != 2 {
		t.Fatal("the processor did not count the second image")
	}
	s.putMeta(t, keys.IndexKey, before, nil)
	// And a scenario deleted behind the index's back (its objects removed directly).
	other := prof.upload(t, "gone", "d.jpg", readImage(t, "valid/orient6.jpg"))
	if _, err := s.p.Process(ctx, versitytest.Bucket, keys.StagedKey(other)); err != nil {
		t.Fatal(err)
	}
	ok, _ := keys.Parse(other)
	for _, key := range []string{other, keys.ThumbnailKey("gone", ok.ID, 320, "jpg"), keys.ThumbnailKey("gone", ok.ID, 1280, "jpg")} {
		if _, err := s.env.Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(versitytest.Bucket), Key: aws.String(key)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := readIndex(t, s).Scenarios["gone"]; !ok {
		t.Fatal("setup: the other scenario is not in the index")
	}

	if _, err := s.p.Reconcile(ctx, versitytest.Bucket, keys.Root, 0); err != nil {
		t.Fatal(err)
	}
	ix := readIndex(t, s)
	if got := ix.Scenarios["ix"]; got.Count != 2 || got.Cover != keys.ThumbnailKey("ix", rk.ID, 320, "jpg") {
		t.Fatalf("after the sweep: %+v, want 2 images, the first as cover", got)
	}
	if _, found := ix.Scenarios["gone"]; found || strings.Contains(string(s.get(t, keys.IndexKey)), ok.ID) {
		t.Fatalf("after the sweep the index still has the scenario whose images are gone: %+v", ix.Scenarios)
	}
	if !strings.Contains(s.logs.String(), "scenarios index rebuilt") {
		t.Error("the rebuild that healed the index did not say so")
	}
	// A second sweep finds it right and writes nothing.
	n := s.calls.len()
	if _, err := s.p.Reconcile(ctx, versitytest.Bucket, keys.Root, 0); err != nil {
		t.Fatal(err)
	}
	for _, c := range s.calls.since(n) {
		if c.Method == "PUT" && c.Key == keys.IndexKey {
			t.Fatal("a sweep rewrote an index that was right")
		}
	}
}
