package processor

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/uuid"

	"medicpx/infra/testenv/versity/versitytest"
	"medicpx/shared/catalog"
	"medicpx/shared/imagepolicy"
	"medicpx/shared/keys"
	"medicpx/shared/retire"
)

// putMeta writes an object with user metadata, as the processor's quarantine copies carry it.
func (s *stack) putMeta(t *testing.T, key string, data []byte, meta map[string]string) {
	t.Helper()
	_, err := s.env.Client.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(versitytest.Bucket), Key: &key, Body: bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))), Metadata: meta,
	})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// modTimes returns every object of the bucket with its LastModified.
func (s *stack) modTimes(t *testing.T) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	pages := s3.NewListObjectsV2Paginator(s.env.Client, &s3.ListObjectsV2Input{Bucket: aws.String(versitytest.Bucket)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			out[*o.Key] = *o.LastModified
		}
	}
	return out
}

// upload is one upload's original and thumbnails.
type upload struct{ id, orig string }

func newImage(scenario string) upload {
	id := uuid.NewString()
	return upload{id: id, orig: keys.OriginalKey(scenario, id, "jpg")}
}

func (im upload) thumbs(scenario string) []string {
	return []string{keys.ThumbnailKey(scenario, im.id, 320, "jpg"), keys.ThumbnailKey(scenario, im.id, 1280, "jpg")}
}

func (im upload) all(scenario string) []string {
	return append([]string{im.orig}, im.thumbs(scenario)...)
}

func trashed(ks ...string) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = keys.TrashKey(k)
	}
	return out
}

// catalogState is what a test compares of a catalog: names, captions and the order.
type catalogState struct {
	names, captions map[string]string
	order           []string
}

func readCatalog(t *testing.T, s *stack, scenario string) catalogState {
	t.Helper()
	c, _, err := catalog.Read(context.Background(), s.env.Client, versitytest.Bucket, scenario)
	if err != nil {
		t.Fatal(err)
	}
	st := catalogState{names: map[string]string{}, captions: map[string]string{}, order: c.Order}
	for id, e := range c.Images {
		st.names[id], st.captions[id] = e.OriginalFilename, e.Caption
	}
	return st
}

// TestExpire: each kind of record goes when its own retention has passed, and not before; the
// catalog forgets an upload (name, caption, place in the order) only once its last copy is gone,
// wherever that copy is: the final layout, or a trash copy that has not expired yet.
func TestExpire(t *testing.T) {
	const sc = "expire"
	s := startStack(t, false)
	ctx := context.Background()
	bucket := versitytest.Bucket
	jpg := []byte("bytes Expire never reads")

	var (
		tr             = newImage(sc) // deleted to the trash, with a name, a caption and a place in the order
		q              = newImage(sc) // refused: a quarantine copy only
		live           = newImage(sc) // restored, but the restore crashed before it removed the trash copy
		bare           = newImage(sc) // in the trash, never named: nothing in the catalog to forget
		split          = newImage(sc) // deleted while its thumbnails were being written: their trash copies are younger
		fresh          = newImage(sc) // deleted recently: its trash copy outlives the others
		unused, staged = uuid.NewString(), newImage(sc)
	)
	// The old batch.
	for _, k := range trashed(tr.all(sc)...) {
		s.put(t, k, "image/jpeg", jpg)
	}
	s.putMeta(t, keys.QuarantineKey(q.orig), jpg, map[string]string{keys.MetaReason: string(imagepolicy.ReasonProcessingFailed)})
	for _, k := range append(live.all(sc), trashed(live.all(sc)...)...) {
		s.put(t, k, "image/jpeg", jpg)
	}
	s.put(t, keys.TrashKey(bare.orig), "image/jpeg", jpg)
	s.put(t, keys.TrashKey(split.orig), "image/jpeg", jpg)
	if err := catalog.WriteNote(ctx, s.env.Client, bucket, sc, unused, catalog.Note{Name: "never sent.jpg", Stamp: 1}); err != nil {
		t.Fatal(err)
	}
	if err := catalog.WriteNote(ctx, s.env.Client, bucket, sc, staged.id, catalog.Note{Name: "staged.jpg", Stamp: 2}); err != nil {
		t.Fatal(err)
	}
	s.put(t, keys.StagedKey(staged.orig), "image/jpeg", jpg)
	legacyNote := keys.UploadKey(sc, tr.id, 3, "x-ray.jpg") // a note as written before keys.NotesRoot
	s.put(t, legacyNote, "application/octet-stream", nil)
	if err := retire.Mark(ctx, s.env.Client, bucket, keys.Key{Scenario: sc, ID: tr.id}, retire.Trashed, time.Now()); err != nil {
		t.Fatal(err)
	}
	s.put(t, keys.LockKey(sc, live.id), "application/json", []byte(`{"until":"2000-01-01T00:00:00Z"}`))
	if _, err := catalog.Update(ctx, s.env.Client, bucket, sc, func(c *catalog.Catalog) error {
		for i, im := range []upload{tr, q, live, split, fresh} {
			c.AddNote(im.id, catalog.Note{Name: "name-" + im.id + ".jpg", Stamp: int64(10 + i)})
			c.SetCaption(im.id, "caption of "+im.id)
		}
		c.Order = []string{fresh.id, tr.id, live.id, q.id, split.id}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// The fresh batch, a LastModified second later (it has one-second resolution).
	time.Sleep(1100 * time.Millisecond)
	for _, k := range append(trashed(fresh.all(sc)...), trashed(split.thumbs(sc)...)...) {
		s.put(t, k, "image/jpeg", jpg)
	}
	freshKeys := append(trashed(fresh.all(sc)...), trashed(split.thumbs(sc)...)...)
	times := s.modTimes(t)
	var newestOld, base time.Time
	for k, m := range times {
		if k == keys.CatalogKey(sc) {
			continue
		}
		if slices.Contains(freshKeys, k) {
			if base.IsZero() || m.Before(base) {
				base = m
			}
			continue
		}
		if m.After(newestOld) {
			newestOld = m
		}
	}
	if !newestOld.Before(base) {
		t.Fatalf("old batch last modified %v, not before the fresh batch's %v", newestOld, base)
	}

	all := slices.Sorted(func(yield func(string) bool) {
		for k := range times {
			if !yield(k) {
				return
			}
		}
	})
	wantCatalog := catalogState{names: map[string]string{}, captions: map[string]string{},
		order: []string{fresh.id, tr.id, live.id, q.id, split.id}}
	for _, im := range []upload{tr, q, live, split, fresh} {
		wantCatalog.names[im.id], wantCatalog.captions[im.id] = "name-"+im.id+".jpg", "caption of "+im.id
	}
	if got := readCatalog(t, s, sc); !equalCatalog(got, wantCatalog) {
		t.Fatalf("catalog before = %+v", got)
	}
	s.p.Retention = Retention{Trash: 30 * 24 * time.Hour, Quarantine: 30 * 24 * time.Hour, Notes: 2 * time.Hour, Tombstones: retire.Keep}
	retention := s.p.Retention

	t.Run("zero retention makes no S3 call", func(t *testing.T) {
		s.p.Retention = Retention{}
		defer func() { s.p.Retention = retention }()
		s.p.Now = func() time.Time { return base.Add(10 * 365 * 24 * time.Hour) }
		n := s.calls.len()
		ex, err := s.p.Expire(ctx, bucket)
		if err != nil || ex != (Expired{}) {
			t.Errorf("Expire = %+v, %v; want nothing", ex, err)
		}
		if calls := s.calls.since(n); len(calls) != 0 {
			t.Errorf("S3 calls: %+v", calls)
		}
		if got := s.list(t, ""); !slices.Equal(got, all) {
			t.Errorf("objects = %v, want %v", got, all)
		}
	})

	without := func(gone ...string) []string {
		all = slices.DeleteFunc(all, func(k string) bool { return slices.Contains(gone, k) })
		return slices.Clone(all)
	}
	forget := func(ids ...string) catalogState {
		for _, id := range ids {
			delete(wantCatalog.names, id)
			delete(wantCatalog.captions, id)
			wantCatalog.order = slices.DeleteFunc(wantCatalog.order, func(o string) bool { return o == id })
		}
		return catalogState{names: maps.Clone(wantCatalog.names), captions: maps.Clone(wantCatalog.captions),
			order: slices.Clone(wantCatalog.order)}
	}
	// The steps run in order against the same bucket, each on what the one before left. Ages are
	// measured from the fresh batch (base); the old batch is at least a second older.
	for _, step := range []struct {
		name    string
		at      time.Duration // clock, after base
		want    Expired
		objects []string     // what is left
		catalog catalogState // and what the catalog still says
	}{
		{name: "a minute on: nothing has expired", at: time.Minute,
			objects: without(), catalog: forget()},
		{name: "an hour on: the stale lock goes (10 leases), notes stay", at: time.Hour,
			want:    Expired{Locks: 1},
			objects: without(keys.LockKey(sc, live.id)), catalog: forget()},
		{name: "three hours on: notes of URLs that expired go, the staged upload's too", at: 3 * time.Hour,
			want:    Expired{Notes: 2},
			objects: without(keys.NoteKey(sc, unused), keys.NoteKey(sc, staged.id)), catalog: forget()},
		{name: "nine days on: the tombstone goes, the trash stays", at: 9 * 24 * time.Hour,
			want:    Expired{Tombstones: 1},
			objects: without(keys.RetiredKey(sc, tr.id)), catalog: forget()},
		// The old batch is past 30 days, the fresh one half a second short of it.
		{name: "thirty days on: the old trash and quarantine go; what is alive elsewhere keeps its entry",
			at:   30*24*time.Hour - 500*time.Millisecond,
			want: Expired{Trash: 3 + 3 + 1 + 1, Quarantine: 1, Forgotten: 2}, // tr, q; not bare (no entry)
			objects: without(append(append(trashed(tr.all(sc)...), trashed(live.all(sc)...)...),
				keys.QuarantineKey(q.orig), keys.TrashKey(bare.orig), keys.TrashKey(split.orig), legacyNote)...),
			catalog: forget(tr.id, q.id)},
		{name: "thirty-one days on: the fresh trash goes; the split upload is forgotten with its last thumbnail",
			at:      31 * 24 * time.Hour,
			want:    Expired{Trash: 3 + 2, Forgotten: 2},
			objects: without(freshKeys...), catalog: forget(fresh.id, split.id)},
	} {
		t.Run(step.name, func(t *testing.T) {
			s.p.Now = func() time.Time { return base.Add(step.at) }
			ex, err := s.p.Expire(ctx, bucket)
			if err != nil {
				t.Fatal(err)
			}
			if ex != step.want {
				t.Errorf("Expired = %+v, want %+v", ex, step.want)
			}
			if got := s.list(t, ""); !slices.Equal(got, step.objects) {
				t.Errorf("objects =\n%v\nwant\n%v", got, step.objects)
			}
			if got := readCatalog(t, s, sc); !equalCatalog(got, step.catalog) {
				t.Errorf("catalog = %+v\nwant %+v", got, step.catalog)
			}
		})
	}
	// What is left is the live image, its catalog entry, and the staged upload (the sweep's work,
	// not Expire's).
	want := append(live.all(sc), keys.CatalogKey(sc), keys.StagedKey(staged.orig))
	slices.Sort(want)
	if got := s.list(t, ""); !slices.Equal(got, want) {
		t.Errorf("left at the end: %v, want %v", got, want)
	}
}

func equalCatalog(a, b catalogState) bool {
	eq := func(x, y map[string]string) bool {
		if len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || w != v {
				return false
			}
		}
		return true
	}
	return eq(a.names, b.names) && eq(a.captions, b.captions) && slices.Equal(a.order, b.order)
}

// TestSweepExpires: a whole sweep expires the trash (and forgets what only the trash held); a
// sweep of one scenario's prefix does not.
func TestSweepExpires(t *testing.T) {
	s := startStack(t, false)
	ctx := context.Background()
	bucket := versitytest.Bucket
	jpg := []byte("bytes Expire never reads")
	im := newImage("sweep-expire")
	s.put(t, keys.TrashKey(im.orig), "image/jpeg", jpg)
	if _, err := catalog.Update(ctx, s.env.Client, bucket, "sweep-expire", func(c *catalog.Catalog) error {
		c.AddNote(im.id, catalog.Note{Name: "chest.jpg", Stamp: 1})
		c.Order = []string{im.id}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s.p.Retention = Retention{Trash: 30 * 24 * time.Hour, Quarantine: 30 * 24 * time.Hour, Notes: 2 * time.Hour, Tombstones: retire.Keep}
	s.p.Now = func() time.Time { return time.Now().Add(31 * 24 * time.Hour) }

	if _, err := s.p.Reconcile(ctx, bucket, keys.ScenarioPrefix("sweep-expire"), 0); err != nil {
		t.Fatal(err)
	}
	if got := s.list(t, keys.TrashRoot); !slices.Equal(got, []string{keys.TrashKey(im.orig)}) {
		t.Errorf("after a scenario's sweep, trash = %v; want it kept", got)
	}
	if c := readCatalog(t, s, "sweep-expire"); c.names[im.id] != "chest.jpg" || !slices.Equal(c.order, []string{im.id}) {
		t.Errorf("after a scenario's sweep, catalog = %+v", c)
	}

	if _, err := s.p.Reconcile(ctx, bucket, keys.Root, 0); err != nil {
		t.Fatal(err)
	}
	if got := s.list(t, keys.TrashRoot); len(got) != 0 {
		t.Errorf("after a whole sweep, trash = %v; want it expired", got)
	}
	if c := readCatalog(t, s, "sweep-expire"); len(c.names) != 0 || len(c.order) != 0 {
		t.Errorf("after a whole sweep, catalog = %+v; want the upload forgotten", c)
	}
}

// deleteHook runs before each DeleteObject the processor sends.
type deleteHook struct {
	objectStore
	before func(key string)
}

func (h deleteHook) DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, opts ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	h.before(aws.ToString(in.Key))
	return h.objectStore.DeleteObject(ctx, in, opts...)
}

// TestExpireKeepsATakenOverLock: a stale lock that another operation takes over (retire.Acquire
// removes it and writes its own) between Expire's listing and its delete stays: removing it would
// let a second operation on the upload run beside the first.
func TestExpireKeepsATakenOverLock(t *testing.T) {
	s := startStack(t, false)
	ctx := context.Background()
	lock := keys.LockKey("lock-race", uuid.NewString())
	s.put(t, lock, "application/json", []byte(`{"until":"2000-01-01T00:00:00Z"}`))
	taken := []byte(`{"until":"2999-01-01T00:00:00Z"}`)
	s.p.S3 = deleteHook{objectStore: s.p.S3, before: func(key string) {
		if key == lock {
			s.put(t, lock, "application/json", taken)
		}
	}}
	s.p.Retention = Retention{Tombstones: retire.Keep}
	s.p.Now = func() time.Time { return time.Now().Add(time.Hour) }
	if _, err := s.p.Expire(ctx, versitytest.Bucket); err != nil {
		t.Fatal(err)
	}
	if got := s.list(t, keys.RetiredRoot); !slices.Equal(got, []string{lock}) {
		t.Fatalf("retired/ = %v; want the lock taken over kept", got)
	}
	if got := s.get(t, lock); !bytes.Equal(got, taken) {
		t.Errorf("lock = %s, want the new holder's %s", got, taken)
	}
}
