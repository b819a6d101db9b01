package processor

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/uuid"

	"medicpx/infra/testenv/versity/versitytest"
	"medicpx/shared/keys"
)

// slowClock is the processor's clock in these tests: every sweep attempt on a staged upload (which
// reads its attempt counter once) takes step of it, as a slow object would take of Lambda's time,
// without the test waiting for it.
type slowClock struct {
	objectStore
	mu   sync.Mutex
	now  time.Time
	step time.Duration
	list error // ListObjectsV2 fails with this when set
}

func (c *slowClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *slowClock) GetObjectTagging(ctx context.Context, in *s3.GetObjectTaggingInput, opts ...func(*s3.Options)) (*s3.GetObjectTaggingOutput, error) {
	if strings.HasPrefix(aws.ToString(in.Key), keys.IncomingRoot) {
		c.mu.Lock()
		c.now = c.now.Add(c.step)
		c.mu.Unlock()
	}
	return c.objectStore.GetObjectTagging(ctx, in, opts...)
}

func (c *slowClock) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	if c.list != nil {
		return nil, c.list
	}
	return c.objectStore.ListObjectsV2(ctx, in, opts...)
}

func scheduledEvent(t *testing.T) []byte {
	t.Helper()
	ev, err := os.ReadFile("../testdata/events/aws-scheduled-event.json")
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestScheduledSweepHonoursTheDeadline: the scheduled sweep stops taking uploads while one more
// could overrun Lambda's deadline (one object's budget plus a margin), counts what it leaves for
// the next sweep, and reports success: partial progress is progress. The next sweep goes on.
func TestScheduledSweepHonoursTheDeadline(t *testing.T) {
	s := startStack(t, false)
	var staged []string
	for range 5 {
		k := keys.StagedKey(keys.OriginalKey("deadline", uuid.NewString(), "png"))
		s.put(t, k, "image/png", readImage(t, "valid/opaque.png"))
		staged = append(staged, k)
	}
	p := *s.p
	// Every staged object "takes" 20 s; the run has 60 s, as the template's Timeout gives it. The
	// reserve is one object's budget (20 s + 10 s) plus 5 s: two objects fit, the third would not.
	clock := &slowClock{objectStore: s.p.S3, now: time.Now().Add(time.Hour), step: 20 * time.Second}
	p.S3, p.Now, p.ObjectTimeout = clock, clock.Now, 20*time.Second
	if p.reserve() != 35*time.Second {
		t.Fatalf("reserve = %s", p.reserve())
	}
	run := func() error {
		ctx, cancel := context.WithDeadline(context.Background(), clock.Now().Add(60*time.Second))
		defer cancel()
		return p.HandleLambda(ctx, scheduledEvent(t))
	}
	if err := run(); err != nil {
		t.Fatalf("a sweep that made partial progress failed: %v", err)
	}
	if left := s.list(t, keys.StagedPrefix("deadline")); len(left) != 3 {
		t.Fatalf("after one sweep %d uploads are still staged, want 3 (two processed before the deadline came close)", len(left))
	}
	if !strings.Contains(s.logs.String(), `"deferred":3`) {
		t.Errorf("the sweep's summary line does not count the deferred uploads:\n%s", s.logs.String())
	}
	for i := 0; i < 3 && len(s.list(t, keys.StagedPrefix("deadline"))) > 0; i++ {
		if err := run(); err != nil {
			t.Fatalf("sweep %d: %v", i+2, err)
		}
	}
	if left := s.list(t, keys.StagedPrefix("deadline")); len(left) != 0 {
		t.Fatalf("later sweeps left %v", left)
	}
	if got := len(s.list(t, keys.ScenarioPrefix("deadline"))); got != 3*len(staged) {
		t.Fatalf("final layout holds %d objects, want %d (each upload with two thumbnails)", got, 3*len(staged))
	}
}

// TestScheduledSweepFailsOnlyOnListing: an upload that fails does not fail the scheduled run (the
// next sweep retries it, and gives up after MaxAttempts), but a listing that fails does.
func TestScheduledSweepFailsOnlyOnListing(t *testing.T) {
	s := startStack(t, false)
	stuck := keys.StagedKey(keys.OriginalKey("partial", uuid.NewString(), "png"))
	good := keys.StagedKey(keys.OriginalKey("partial", uuid.NewString(), "png"))
	s.put(t, stuck, "image/png", readImage(t, "valid/opaque.png"))
	s.put(t, good, "image/png", readImage(t, "valid/opaque.png"))
	p := *s.p
	p.Now = func() time.Time { return time.Now().Add(time.Hour) }
	p.S3 = failingStore{objectStore: s.p.S3, key: stuck}
	if err := p.HandleLambda(context.Background(), scheduledEvent(t)); err != nil {
		t.Fatalf("one failed upload failed the scheduled run: %v", err)
	}
	if left := s.list(t, keys.StagedPrefix("partial")); len(left) != 1 || left[0] != stuck {
		t.Fatalf("staged after the sweep: %v, want only the failing upload", left)
	}
	broken := errors.New("injected listing failure")
	p.S3 = &slowClock{objectStore: s.p.S3, list: broken}
	err := p.HandleLambda(context.Background(), scheduledEvent(t))
	var le *ListError
	if !errors.Is(err, broken) || !errors.As(err, &le) {
		t.Fatalf("a failed listing: %v, want the listing error", err)
	}
	// The local CLI and receiver still see the first object error.
	p.S3 = failingStore{objectStore: s.p.S3, key: stuck}
	if _, err := p.Reconcile(context.Background(), versitytest.Bucket, keys.Root, time.Minute); err == nil {
		t.Fatal("Reconcile hid the object's failure from its caller")
	}
}
