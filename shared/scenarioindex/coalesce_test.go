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
	env, st, ready := burstScenario(t)
	ctx := context.Background()
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

// burstScenario starts versitygw with the scenario "burst", whose scans the returned store counts,
// and returns a function that makes one more of its images ready.
func burstScenario(t *testing.T) (*versitytest.Env, *heldStore, func()) {
	env := versitytest.Start(t, "")
	st := &heldStore{Store: env.Client, release: make(chan struct{})}
	put := func(key string) {
		t.Helper()
		if _, err := env.Client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(versitytest.Bucket),
			Key: aws.String(key), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	}
	return env, st, func() {
		id := uuid.NewString()
		put(keys.OriginalKey("burst", id, "jpg"))
		for _, size := range imagepolicy.ThumbnailSizes {
			put(keys.ThumbnailKey("burst", id, size, "jpg"))
		}
	}
}

// TestRefresherBatches: with Batch, the calls made while a refresh is under way, and for Batch
// after it, return at once, and one refresh after that counts all of them by the time Wait
// returns; a call on the idle scenario afterwards waits for its own refresh, as without Batch.
func TestRefresherBatches(t *testing.T) {
	env, st, ready := burstScenario(t)
	ctx := context.Background()
	const n = 8
	r := Refresher{Batch: time.Second} // long enough for the calls below to fall within it
	count := func() int {
		t.Helper()
		ix, _, err := Read(ctx, env.Client, versitytest.Bucket)
		if err != nil {
			t.Fatal(err)
		}
		return ix.Scenarios["burst"].Count
	}
	ready()
	first := make(chan error, 1)
	go func() { first <- r.Refresh(ctx, st, versitytest.Bucket, "burst") }()
	for !st.held.Load() {
		time.Sleep(time.Millisecond)
	}
	for range n - 1 {
		ready()
		// Returns at once: the first refresh is held, so a call that waited would never return.
		if err := r.Refresh(ctx, st, versitytest.Bucket, "burst"); err != nil {
			t.Fatal(err)
		}
	}
	close(st.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	// Within Batch of the first refresh's end: shares the refresh of the calls before.
	ready()
	if err := r.Refresh(ctx, st, versitytest.Bucket, "burst"); err != nil {
		t.Fatal(err)
	}
	if err := r.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != n+1 {
		t.Errorf("after Wait: %d images counted, want %d", got, n+1)
	}
	if got := st.scans.Load(); got != 2 {
		t.Errorf("%d scans of the scenario for %d calls, want 2 (the first, then one for the rest)", got, n+1)
	}
	ready()
	if err := r.Refresh(ctx, st, versitytest.Bucket, "burst"); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != n+2 {
		t.Errorf("a call on the idle scenario returned with %d images counted, want %d", got, n+2)
	}
}
