package scenarioindex

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/uuid"

	"medicpx/infra/testenv/versity/versitytest"
	"medicpx/shared/imagepolicy"
	"medicpx/shared/keys"
)

// heldStore counts the scans of one scenario and holds the first index write until release is
// closed.
type heldStore struct {
	Store
	scans   atomic.Int32
	held    atomic.Bool
	release chan struct{}
}

func (h *heldStore) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	if aws.ToString(in.Prefix) == keys.ScenarioPrefix("burst") {
		h.scans.Add(1)
	}
	return h.Store.ListObjectsV2(ctx, in, opts...)
}

func (h *heldStore) PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if aws.ToString(in.Key) == keys.IndexKey && h.held.CompareAndSwap(false, true) {
		<-h.release
	}
	return h.Store.PutObject(ctx, in, opts...)
}

// TestRefresherCoalesces: uploads of one scenario that become ready while a refresh is under way
// share the one refresh after it, and each call still returns only once a refresh that began
// after it has written: every caller then finds its own image counted.
func TestRefresherCoalesces(t *testing.T) {
	env := versitytest.Start(t, "")
	ctx := context.Background()
	st := &heldStore{Store: env.Client, release: make(chan struct{})}
	put := func(key string) {
		t.Helper()
		if _, err := env.Client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(versitytest.Bucket),
			Key: aws.String(key), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	}
	ready := func() {
		id := uuid.NewString()
		put(keys.OriginalKey("burst", id, "jpg"))
		for _, size := range imagepolicy.ThumbnailSizes {
			put(keys.ThumbnailKey("burst", id, size, "jpg"))
		}
	}
	const n = 8
	var r Refresher
	k := flightKey{versitytest.Bucket, "burst"}
	ready()
	first := make(chan error, 1)
	go func() { first <- r.Refresh(ctx, st, versitytest.Bucket, "burst") }()
	for !st.held.Load() { // the first refresh has scanned and is about to write
		time.Sleep(time.Millisecond)
	}
	var wg sync.WaitGroup
	for range n - 1 {
		ready()
		wg.Go(func() {
			if err := r.Refresh(ctx, st, versitytest.Bucket, "burst"); err != nil {
				t.Error(err)
			}
			ix, _, err := Read(ctx, env.Client, versitytest.Bucket)
			if err != nil || ix.Scenarios["burst"].Count != n {
				t.Errorf("after a later Refresh returned: %+v, %v; want all %d images", ix.Scenarios["burst"], err, n)
			}
		})
	}
	for r.callers(k) < n-1 {
		time.Sleep(time.Millisecond)
	}
	close(st.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if got := st.scans.Load(); got != 2 {
		t.Errorf("%d scans of the scenario for %d refreshes, want 2 (the first, then one for the rest)", got, n)
	}
}
