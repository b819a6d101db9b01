package processor

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"medicpx/shared/keys"
	"medicpx/shared/versity/versitytest"
)

// TestReconcile: with no events at all (as after lost notifications), a sweep processes the
// originals older than the grace period and leaves younger ones to their own events.
func TestReconcile(t *testing.T) {
	s := startStack(t, false)
	ctx := context.Background()
	img := readImage(t, "valid/opaque.png")
	old := keys.OriginalKey("sweep", uuid.NewString(), "png")
	bad := keys.OriginalKey("sweep", uuid.NewString(), "jpg")
	s.put(t, old, "image/png", img)
	s.put(t, bad, "image/jpeg", readImage(t, "hostile/html.jpg"))
	time.Sleep(1100 * time.Millisecond) // LastModified has one-second resolution
	young := keys.OriginalKey("sweep", uuid.NewString(), "png")
	s.put(t, young, "image/png", img)
	s.put(t, keys.RepresentativeKey("sweep"), "application/json", []byte(`{}`))

	oldTime, youngTime := *s.head(t, old).LastModified, *s.head(t, young).LastModified
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
		sum.Outcomes[Ready] != 1 || sum.Outcomes[Rejected] != 1 {
		t.Errorf("summary = %+v", sum)
	}
	lists := 0
	for _, c := range s.calls.since(n) {
		if c.Method == "GET" && c.Key == "" {
			lists++
		}
	}
	if lists != 1 {
		t.Errorf("%d list calls for 4 objects, want 1 page", lists)
	}
	k, _ := keys.Parse(old)
	want := []string{keys.RepresentativeKey("sweep"), old, keys.ThumbnailKey("sweep", k.ID, 1280, "jpg"),
		keys.ThumbnailKey("sweep", k.ID, 320, "jpg"), young}
	slices.Sort(want)
	if got := s.list(t, keys.ScenarioPrefix("sweep")); !slices.Equal(got, want) {
		t.Errorf("objects = %v\nwant %v", got, want)
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
	if err != nil || sw.Complete != 2 || len(sw.Pending) != 0 {
		t.Errorf("after both sweeps: %+v, %v", sw, err)
	}
}

// TestReconcileReplacedAndOrphaned: an original replaced after its thumbnails were made (its event
// lost) is processed again, and thumbnails whose original is gone are removed, but only once they
// are older than the grace period.
func TestReconcileReplacedAndOrphaned(t *testing.T) {
	s := startStack(t, false)
	ctx := context.Background()
	replaced := keys.OriginalKey("sweep2", uuid.NewString(), "png")
	s.put(t, replaced, "image/png", readImage(t, "valid/opaque.png"))
	if out, err := s.p.Process(ctx, versitytest.Bucket, replaced); err != nil || out != Ready {
		t.Fatalf("first pass: %s %v", out, err)
	}
	orphanID := uuid.NewString()
	orphans := []string{keys.ThumbnailKey("sweep2", orphanID, 320, "jpg"), keys.ThumbnailKey("sweep2", orphanID, 1280, "jpg")}
	slices.Sort(orphans)
	for _, k := range orphans {
		s.put(t, k, "image/jpeg", []byte("thumb"))
	}
	time.Sleep(1100 * time.Millisecond) // LastModified has one-second resolution
	s.put(t, replaced, "image/png", readImage(t, "valid/alpha.png"))

	// Within the grace period nothing is touched.
	s.p.Now = time.Now
	sw, err := s.p.Pending(ctx, versitytest.Bucket, keys.Root, time.Hour)
	if err != nil || len(sw.Orphans) != 0 || len(sw.Pending) != 0 || sw.Young != 1 {
		t.Fatalf("inside the grace period: %+v %v", sw, err)
	}
	s.p.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	sum, err := s.p.Reconcile(ctx, versitytest.Bucket, keys.Root, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sum.Pending, []string{replaced}) || !slices.Equal(sum.Orphans, orphans) || sum.Outcomes[Ready] != 1 {
		t.Fatalf("summary %+v", sum)
	}
	k, _ := keys.Parse(replaced)
	// alpha.png has transparency: its thumbnails are PNGs, and the stale JPEG pair is removed.
	want := []string{keys.ThumbnailKey("sweep2", k.ID, 1280, "png"), keys.ThumbnailKey("sweep2", k.ID, 320, "png")}
	if got := s.list(t, keys.ThumbnailPrefix("sweep2")); !slices.Equal(got, want) {
		t.Errorf("thumbnails = %v, want %v", got, want)
	}
	for _, th := range []string{keys.ThumbnailKey("sweep2", k.ID, 320, "png"), keys.ThumbnailKey("sweep2", k.ID, 1280, "png")} {
		if s.head(t, th).Metadata[MetaSourceETag] != unquote(*s.head(t, replaced).ETag) {
			t.Errorf("%s not made from the replacement", th)
		}
	}
}
