package processor

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
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

// heldIndexWrite holds the first write of the scenarios index until release is closed: that
// refresh scanned first, so its write is the stalest one, landing after all the others.
type heldIndexWrite struct {
	objectStore
	held    *atomic.Bool
	release chan struct{}
}

func (h heldIndexWrite) PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	// Only the first is held (a sync.Once would hold the others too, behind it).
	if aws.ToString(in.Key) == keys.IndexKey && h.held.CompareAndSwap(false, true) {
		select {
		case <-h.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return h.objectStore.PutObject(ctx, in, opts...)
}

// TestIndexConcurrentReady: a batch of uploads of one scenario becoming ready at the same moment
// (one processor each) is counted whole, even when the refresh that scanned first writes last:
// its conditional write fails, and it reads and scans again.
func TestIndexConcurrentReady(t *testing.T) {
	s := startStack(t, false)
	prof := startAPI(t, s)
	const n = 6
	img := readImage(t, "valid/orient6.jpg")
	staged := make([]string, n)
	for i := range staged {
		staged[i] = keys.StagedKey(prof.upload(t, "batch", "p.jpg", img))
	}
	release := make(chan struct{})
	s.p.S3 = heldIndexWrite{objectStore: s.p.S3, held: &atomic.Bool{}, release: release}
	var wg sync.WaitGroup
	var mu sync.Mutex
	finished := 0
	for _, key := range staged {
		wg.Go(func() {
			p := *s.p // one processor each, as Lambda runs them: nothing to coalesce within one
			p.Index = &scenarioindex.Refresher{}
			if out, err := p.Process(context.Background(), versitytest.Bucket, key); err != nil || out != Ready {
				t.Errorf("Process %s: %s %v", key, out, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if finished++; finished == n-1 {
				close(release) // all but the held one are done
			}
		})
	}
	wg.Wait()
	if got := readIndex(t, s).Scenarios["batch"]; got.Count != n {
		t.Fatalf("index entry %+v after %d concurrent uploads, want count %d", got, n, n)
	}
	if strings.Contains(s.logs.String(), "scenarios index not refreshed") {
		t.Error("a refresh gave up")
	}
}
