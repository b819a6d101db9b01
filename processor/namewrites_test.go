package processor

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"medicpx/infra/testenv/versity/versitytest"
	"medicpx/shared/catalog"
	"medicpx/shared/keys"
)

// Names recorded at once go into the catalog in a few writes, not one (and a lost race) each,
// and every one of them is there afterwards. Behind a 50 ms proxy the calls made at once all
// arrive while the first write is on its way, so they share the second.
func TestNameWritesCoalesce(t *testing.T) {
	const n = 16
	s := startStackOn(t, false, versitytest.Options{Latency: roundTripLatency, Record: true})
	px := s.env.Server.Proxy
	scenario := "names"
	px.Reset()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprintf("img-%02d", i)
			errs[i] = catalogWrites.update(t.Context(), s.p, versitytest.Bucket, scenario, nil, "", func(c *catalog.Catalog) bool {
				return c.AddNote(id, catalog.Note{Name: id + ".jpg"})
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
	}
	puts := 0
	for _, r := range px.Requests() {
		if r.Method == http.MethodPut && strings.HasSuffix(r.Path, keys.CatalogKey(scenario)) {
			puts++
		}
	}
	if puts > 4 {
		t.Errorf("%d catalog writes for %d names recorded at once, want at most 4", puts, n)
	}
	cat, _, err := catalog.Read(t.Context(), s.env.Client, versitytest.Bucket, scenario)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		id := fmt.Sprintf("img-%02d", i)
		if e := cat.Entry(id); e.OriginalFilename != id+".jpg" {
			t.Errorf("entry %s: %+v, want its name", id, e)
		}
	}
	// The group (and the catalog it holds) goes once its last write has answered its callers.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		catalogWrites.mu.Lock()
		_, held := catalogWrites.groups[nameKey{s.p, versitytest.Bucket, scenario}]
		catalogWrites.mu.Unlock()
		if !held {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the scenario's catalog is still held 10 s after its last write")
		}
	}
}

// A write by another process between two of this one's (the API's caption or delete) is kept:
// the next write starts from the catalog this process wrote last, and its condition on that
// version sends it back to read the other's.
func TestNameWritesKeepOtherWriters(t *testing.T) {
	s := startStack(t, false)
	scenario := "names-other"
	p := *s.p
	key := nameKey{&p, versitytest.Bucket, scenario}
	inHook := make(chan struct{})
	p.S3 = afterCatalogPut{objectStore: s.p.S3, once: &sync.Once{}, after: func() {
		close(inHook)
		// The second name is waiting for the next write, which will start from the catalog
		// just written: now the other process writes.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			catalogWrites.mu.Lock()
			g := catalogWrites.groups[key]
			queued := g != nil && g.pending != nil
			catalogWrites.mu.Unlock()
			if queued {
				break
			}
			if time.Now().After(deadline) {
				t.Error("the second name never queued")
				return
			}
		}
		if _, err := catalog.Update(context.Background(), s.env.Client, versitytest.Bucket, scenario, func(c *catalog.Catalog) error {
			c.AddNote("outside", catalog.Note{Name: "outside.jpg"})
			return nil
		}); err != nil {
			t.Errorf("the other writer: %v", err)
		}
	}}
	record := func(id string) error {
		return catalogWrites.update(t.Context(), &p, versitytest.Bucket, scenario, nil, "", func(c *catalog.Catalog) bool {
			return c.AddNote(id, catalog.Note{Name: id + ".jpg"})
		})
	}
	var wg sync.WaitGroup
	var first, second error
	wg.Go(func() { first = record("first") })
	<-inHook
	wg.Go(func() { second = record("second") })
	wg.Wait()
	if first != nil || second != nil {
		t.Fatalf("records: %v, %v", first, second)
	}
	cat, _, err := catalog.Read(t.Context(), s.env.Client, versitytest.Bucket, scenario)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"first", "outside", "second"} {
		if e := cat.Entry(id); e.OriginalFilename != id+".jpg" {
			t.Errorf("entry %s after both writers: %+v, want its name", id, e)
		}
	}
}

// afterCatalogPut runs after once, behind the first catalog write it passes on.
type afterCatalogPut struct {
	objectStore
	after func()
	once  *sync.Once
}

func (a afterCatalogPut) PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	out, err := a.objectStore.PutObject(ctx, in, opts...)
	if strings.HasSuffix(*in.Key, "catalog.json") {
		a.once.Do(a.after)
	}
	return out, err
}

// An upload whose scenario's catalog this process is writing already does not read the catalog
// in its first look: its name goes in a write that starts from the catalog the last one wrote.
func TestNameReadSkipsCatalogWhileWriting(t *testing.T) {
	s := startStack(t, false)
	scenario := "names-read"
	p := *s.p
	release := make(chan struct{})
	var gets atomic.Int32
	p.S3 = heldCatalog{objectStore: s.p.S3, release: release, gets: &gets}
	done := make(chan error, 1)
	go func() {
		done <- catalogWrites.update(t.Context(), &p, versitytest.Bucket, scenario, nil, "", func(c *catalog.Catalog) bool {
			return c.AddNote("first", catalog.Note{Name: "first.jpg"})
		})
	}()
	for deadline := time.Now().Add(10 * time.Second); !catalogWrites.writing(&p, versitytest.Bucket, scenario); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the write never started")
		}
	}
	before := gets.Load() // the write's own read, if it got that far
	r := p.readName(t.Context(), versitytest.Bucket, keys.Key{Scenario: scenario, ID: "second", Ext: "jpg"})
	if r.err != nil {
		t.Fatal(r.err)
	}
	if n := gets.Load() - before; n != 0 || r.cat != nil {
		t.Errorf("the first look read the catalog %d times (catalog %v) while its write was under way, want none", n, r.cat)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Idle again: the next first look reads it (one round trip saved on a lone upload's chain).
	for deadline := time.Now().Add(10 * time.Second); catalogWrites.writing(&p, versitytest.Bucket, scenario); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the write never ended")
		}
	}
	if r := p.readName(t.Context(), versitytest.Bucket, keys.Key{Scenario: scenario, ID: "third", Ext: "jpg"}); r.err != nil || r.cat == nil {
		t.Errorf("first look on an idle scenario: catalog %v, %v; want it read", r.cat, r.err)
	}
}

// heldCatalog holds catalog writes until release is closed and counts catalog reads.
type heldCatalog struct {
	objectStore
	release chan struct{}
	gets    *atomic.Int32
}

func (h heldCatalog) GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if strings.HasSuffix(*in.Key, "catalog.json") {
		h.gets.Add(1)
	}
	return h.objectStore.GetObject(ctx, in, opts...)
}

func (h heldCatalog) PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if strings.HasSuffix(*in.Key, "catalog.json") {
		<-h.release
	}
	return h.objectStore.PutObject(ctx, in, opts...)
}
