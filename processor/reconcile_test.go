package processor

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/uuid"

	"medicpx/infra/testenv/versity/versitytest"
	"medicpx/shared/imagepolicy"
	"medicpx/shared/keys"
)

// TestReconcile: with no events at all (as after lost notifications), a sweep processes the
// uploads that sat in staging longer than the grace period and leaves younger ones to their own
// events.
func TestReconcile(t *testing.T) {
	s := startStack(t, false)
	ctx := context.Background()
	img := readImage(t, "valid/opaque.png")
	old := keys.OriginalKey("sweep", uuid.NewString(), "png")
	bad := keys.OriginalKey("sweep", uuid.NewString(), "jpg")
	s.put(t, keys.StagedKey(old), "image/png", img)
	s.put(t, keys.StagedKey(bad), "image/jpeg", readImage(t, "hostile/html.jpg"))
	time.Sleep(1100 * time.Millisecond) // LastModified has one-second resolution
	young := keys.OriginalKey("sweep", uuid.NewString(), "png")
	s.put(t, keys.StagedKey(young), "image/png", img)
	s.put(t, keys.RepresentativeKey("sweep"), "application/json", []byte(`{}`))

	oldTime, youngTime := *s.head(t, keys.StagedKey(old)).LastModified, *s.head(t, keys.StagedKey(young)).LastModified
	if !youngTime.After(oldTime) {
		t.Fatalf("LastModified %v !< %v", oldTime, youngTime)
	}
	grace := youngTime.Sub(oldTime) / 2
	s.p.Now = func() time.Time { return youngTime }

	n := s.calls.len()
	sum, err := s.p.Reconcile(ctx, versitytest.Bucket, keys.Root, grace)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Listed != 4 || sum.Young != 1 || sum.Complete != 0 || len(sum.Pending) != 2 ||
		sum.Outcomes[Ready] != 1 || sum.Outcomes[Rejected] != 1 || sum.GaveUp != 0 {
		t.Errorf("summary = %+v", sum)
	}
	// Whole-bucket listings: one page of staging and one of the final layout for the sweep, and
	// one of the final layout and one of the tombstones for the scenarios index's rebuild. The
	// upload that became ready refreshed its scenario's entry: three listings of that scenario.
	lists, scenarioLists := 0, 0
	for _, c := range s.calls.since(n) {
		if c.Method == "GET" && c.Key == "" {
			if strings.Contains(c.Prefix, "scenario_") {
				scenarioLists++
			} else {
				lists++
			}
		}
	}
	if lists != 4 || scenarioLists != 3*sum.Outcomes[Ready] {
		t.Errorf("%d whole-bucket list calls for 4 objects, want 4 (staging and the final layout, for the sweep and the index); %d of one scenario, want 3 per ready upload",
			lists, scenarioLists)
	}
	k, _ := keys.Parse(old)
	want := []string{keys.RepresentativeKey("sweep"), old, keys.ThumbnailKey("sweep", k.ID, 1280, "jpg"),
		keys.ThumbnailKey("sweep", k.ID, 320, "jpg")}
	slices.Sort(want)
	if got := s.list(t, keys.ScenarioPrefix("sweep")); !slices.Equal(got, want) {
		t.Errorf("objects = %v\nwant %v", got, want)
	}
	if got := s.list(t, keys.StagedPrefix("sweep")); !slices.Equal(got, []string{keys.StagedKey(young)}) {
		t.Errorf("staged = %v, want only the young upload", got)
	}
	if got := s.list(t, keys.QuarantineRoot); !slices.Equal(got, []string{keys.QuarantineKey(bad)}) {
		t.Errorf("quarantine = %v", got)
	}

	// The Lambda's schedule runs the same sweep with the configured bucket and grace; later, the
	// young one is old enough, and the processed one counts as complete.
	s.p.Now = func() time.Time { return youngTime.Add(time.Hour) }
	s.p.ReconcileGrace = time.Minute
	if err := s.p.HandleLambda(ctx, readEvent(t, "aws-scheduled-event.json")); err != nil {
		t.Fatal(err)
	}
	ky, _ := keys.Parse(young)
	if got := s.list(t, keys.ThumbnailPrefix("sweep")); len(got) != 4 || !slices.Contains(got, keys.ThumbnailKey("sweep", ky.ID, 320, "jpg")) {
		t.Errorf("thumbnails after the scheduled sweep = %v", got)
	}
	sw, err := s.p.Pending(ctx, versitytest.Bucket, keys.Root, 0)
	if err != nil || sw.Complete != 2 || len(sw.Pending) != 0 || sw.Young != 0 {
		t.Errorf("after both sweeps: %+v, %v", sw, err)
	}
}

// TestReconcileReplacedAndOrphaned: new bytes staged over a ready image (its event lost) are
// promoted by the sweep, and thumbnails whose original is gone are removed, but only once they are
// older than the grace period.
func TestReconcileReplacedAndOrphaned(t *testing.T) {
	s := startStack(t, false)
	ctx := context.Background()
	replaced := keys.OriginalKey("sweep2", uuid.NewString(), "png")
	s.put(t, keys.StagedKey(replaced), "image/png", readImage(t, "valid/opaque.png"))
	if out, err := s.p.Process(ctx, versitytest.Bucket, keys.StagedKey(replaced)); err != nil || out != Ready {
		t.Fatalf("first pass: %s %v", out, err)
	}
	orphanID := uuid.NewString()
	orphans := []string{keys.ThumbnailKey("sweep2", orphanID, 320, "jpg"), keys.ThumbnailKey("sweep2", orphanID, 1280, "jpg")}
	slices.Sort(orphans)
	for _, k := range orphans {
		s.put(t, k, "image/jpeg", []byte("thumb"))
	}
	s.put(t, keys.StagedKey(replaced), "image/png", readImage(t, "valid/alpha.png"))

	// Within the grace period nothing is touched.
	s.p.Now = time.Now
	sw, err := s.p.Pending(ctx, versitytest.Bucket, keys.Root, time.Hour)
	if err != nil || len(sw.Orphans) != 0 || len(sw.Pending) != 0 || sw.Young != 1 || sw.Complete != 1 {
		t.Fatalf("inside the grace period: %+v %v", sw, err)
	}
	s.p.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	sum, err := s.p.Reconcile(ctx, versitytest.Bucket, keys.Root, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sum.Pending, []string{keys.StagedKey(replaced)}) || !slices.Equal(sum.Orphans, orphans) || sum.Outcomes[Ready] != 1 {
		t.Fatalf("summary %+v", sum)
	}
	k, _ := keys.Parse(replaced)
	// alpha.png has transparency: its thumbnails are PNGs, and the stale JPEG pair is removed.
	want := []string{keys.ThumbnailKey("sweep2", k.ID, 1280, "png"), keys.ThumbnailKey("sweep2", k.ID, 320, "png")}
	if got := s.list(t, keys.ThumbnailPrefix("sweep2")); !slices.Equal(got, want) {
		t.Errorf("thumbnails = %v, want %v", got, want)
	}
	for _, th := range want {
		if s.head(t, th).Metadata[keys.MetaSourceETag] != s.head(t, replaced).Metadata[keys.MetaSourceETag] {
			t.Errorf("%s not made from the replacement", th)
		}
	}
	if got := s.head(t, replaced).Metadata[keys.MetaSourceETag]; got != md5hex(readImage(t, "valid/alpha.png")) {
		t.Errorf("final original promoted from %q, not from the replacement", got)
	}
}

// TestReconcileKeepsThumbnailsOfPromotionsUnderWay: a promotion writes its thumbnails and its
// original at once, so a sweep can list a thumbnail whose original lands just after the listing
// passed the originals. While the upload is still staged its thumbnails are not orphans, however
// old they look to the sweep (a restarted processor sweeps with no grace at all); once nothing
// is staged for it, they are.
func TestReconcileKeepsThumbnailsOfPromotionsUnderWay(t *testing.T) {
	s := startStack(t, false)
	ctx := context.Background()
	key := keys.OriginalKey("underway", uuid.NewString(), "jpg")
	k, _ := keys.Parse(key)
	thumb := keys.ThumbnailKey("underway", k.ID, 320, "jpg")
	s.put(t, keys.StagedKey(key), "image/jpeg", readImage(t, "valid/orient6.jpg"))
	s.put(t, thumb, "image/jpeg", []byte("thumb")) // the original is still on its way
	s.p.Now = func() time.Time { return time.Now().Add(time.Hour) }
	sw, err := s.p.Pending(ctx, versitytest.Bucket, keys.Root, 0)
	if err != nil || len(sw.Orphans) != 0 || !slices.Equal(sw.Pending, []string{keys.StagedKey(key)}) {
		t.Fatalf("with the upload staged: %+v %v; want it pending and no orphan", sw, err)
	}
	if _, err := s.env.Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(versitytest.Bucket),
		Key: aws.String(keys.StagedKey(key))}); err != nil {
		t.Fatal(err)
	}
	sw, err = s.p.Pending(ctx, versitytest.Bucket, keys.Root, 0)
	if err != nil || !slices.Equal(sw.Orphans, []string{thumb}) {
		t.Fatalf("with nothing staged: %+v %v; want the thumbnail orphaned", sw, err)
	}
}

// failingStore makes every read of one staged upload fail (a transient S3 fault, or a decode that
// never finishes: hang blocks until the caller's deadline instead of failing at once).
type failingStore struct {
	objectStore
	key  string
	hang bool
}

func (f failingStore) GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if aws.ToString(in.Key) == f.key {
		if f.hang {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return nil, errors.New("injected read failure")
	}
	return f.objectStore.GetObject(ctx, in, opts...)
}

// TestSweepGivesUp: an upload that keeps failing is tried MaxAttempts times by the sweep, the
// attempts counted on the object itself, and then quarantined with processing_failed, while the
// uploads beside it are processed in the same sweeps.
func TestSweepGivesUp(t *testing.T) {
	s := startStack(t, false)
	ctx := context.Background()
	stuck := keys.StagedKey(keys.OriginalKey("poison", uuid.NewString(), "png"))
	s.put(t, stuck, "image/png", readImage(t, "valid/opaque.png"))
	p := *s.p
	p.S3 = failingStore{objectStore: s.p.S3, key: stuck}
	p.Now = func() time.Time { return time.Now().Add(time.Hour) }
	for attempt := 1; attempt <= MaxAttempts; attempt++ {
		good := keys.StagedKey(keys.OriginalKey("poison", uuid.NewString(), "png"))
		s.put(t, good, "image/png", readImage(t, "valid/opaque.png"))
		sum, err := p.Reconcile(ctx, versitytest.Bucket, keys.Root, time.Minute)
		if sum.Outcomes[Ready] != 1 {
			t.Errorf("sweep %d: %+v; the good upload beside the stuck one was not processed", attempt, sum)
		}
		if attempt < MaxAttempts {
			if err == nil || sum.Outcomes[Failed] != 1 || sum.GaveUp != 0 {
				t.Fatalf("sweep %d: %+v, %v; want one failure", attempt, sum, err)
			}
			if n, err := p.attempts(ctx, versitytest.Bucket, stuck); err != nil || n != attempt {
				t.Fatalf("after sweep %d the object records %d attempts (%v)", attempt, n, err)
			}
			continue
		}
		if err != nil || sum.GaveUp != 1 || sum.Outcomes[Rejected] != 1 {
			t.Fatalf("sweep %d: %+v, %v; want the stuck upload given up on", attempt, sum, err)
		}
	}
	if got := s.list(t, keys.StagedPrefix("poison")); len(got) != 0 {
		t.Errorf("still staged: %v", got)
	}
	k, _ := keys.Parse(stuck)
	q := s.head(t, keys.QuarantineKey(k.OriginalKey()))
	if q.Metadata[keys.MetaReason] != string(imagepolicy.ReasonProcessingFailed) || q.Metadata[keys.MetaDetail] != "3 attempts failed" {
		t.Errorf("quarantine metadata = %v", q.Metadata)
	}
	if tags, err := s.env.Client.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(versitytest.Bucket),
		Key: aws.String(keys.QuarantineKey(k.OriginalKey()))}); err != nil || len(tags.TagSet) != 0 {
		t.Errorf("quarantine copy tags = %v, %v; want none", tags, err)
	}
	if got := s.list(t, keys.ScenarioPrefix("poison")); len(got) != 3*MaxAttempts {
		t.Errorf("final layout = %v, want %d ready uploads with thumbnails", got, MaxAttempts)
	}
	// The next sweep has nothing left to try.
	sum, err := p.Reconcile(ctx, versitytest.Bucket, keys.Root, time.Minute)
	if err != nil || len(sum.Pending) != 0 {
		t.Errorf("after giving up: %+v, %v", sum, err)
	}
}

// TestSweepObjectDeadline: an object that never finishes is cut off at its own deadline, and the
// sweep goes on to the others.
func TestSweepObjectDeadline(t *testing.T) {
	s := startStack(t, false)
	ctx := context.Background()
	stuck := keys.StagedKey(keys.OriginalKey("slow", "00000000-0000-4000-8000-000000000000", "png"))
	good := keys.StagedKey(keys.OriginalKey("slow", "ffffffff-ffff-4fff-8fff-ffffffffffff", "png")) // sorts after
	s.put(t, stuck, "image/png", readImage(t, "valid/opaque.png"))
	s.put(t, good, "image/png", readImage(t, "valid/opaque.png"))
	p := *s.p
	p.S3 = failingStore{objectStore: s.p.S3, key: stuck, hang: true}
	p.Now = func() time.Time { return time.Now().Add(time.Hour) }
	p.ObjectTimeout = 300 * time.Millisecond
	sum, err := p.Reconcile(ctx, versitytest.Bucket, keys.Root, time.Minute)
	if !errors.Is(err, context.DeadlineExceeded) || sum.Outcomes[Failed] != 1 || sum.Outcomes[Ready] != 1 {
		t.Fatalf("summary %+v, %v; want the stuck object failed at its deadline and the other ready", sum, err)
	}
	// It was cut off while waiting on S3: an infrastructure fault, which does not count against
	// the upload (TestSweepInfrastructureFaults).
	if !IsInfrastructure(err) || sum.Infra != 1 {
		t.Errorf("%v (%d infrastructure faults); want an infrastructure fault", err, sum.Infra)
	}
	if n, err := p.attempts(ctx, versitytest.Bucket, stuck); err != nil || n != 0 {
		t.Errorf("attempts = %d, %v; want 0", n, err)
	}
}
