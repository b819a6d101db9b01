package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"medicpx/shared/keys"
	"medicpx/shared/s3client"
)

// otherServer starts another API server on the stack's bucket, with its own S3 client and its own
// in-process state (a second execution environment), and returns its base URL.
func (st *stack) otherServer() string {
	st.t.Helper()
	client, err := s3client.New(context.Background(), st.api.cfg.S3)
	if err != nil {
		st.t.Fatal(err)
	}
	hs := httptest.NewServer(New(st.api.cfg, client, st.api.auth, slog.New(slog.NewTextHandler(io.Discard, nil))))
	st.t.Cleanup(hs.Close)
	return hs.URL
}

// TestConcurrentPresigns: a page, make bench and make burst ask for many upload URLs for one
// scenario at once. Every one is answered 200 (nobody else is editing, so a 409 would be a lie),
// and the staff listing afterwards names every upload and keeps upload order: the concurrent ones
// first, in one order that every listing repeats, then later uploads in the order they were made.
// The largest burst is spread over four API servers on the same bucket, as Lambda spreads
// concurrent requests over execution environments that share nothing but S3.
func TestConcurrentPresigns(t *testing.T) {
	for _, c := range []struct{ n, servers int }{{32, 1}, {64, 1}, {200, 4}} {
		n := c.n
		t.Run(fmt.Sprintf("%d-over-%d", n, c.servers), func(t *testing.T) {
			st := newStack(t)
			bases := []string{st.url}
			for len(bases) < c.servers {
				bases = append(bases, st.otherServer())
			}
			prof, stud := st.token("professor"), st.token("student")
			scenario := fmt.Sprintf("burst%d", n)
			names := map[string]string{} // s3_key -> original_filename
			var mu sync.Mutex
			var wg sync.WaitGroup
			start := make(chan struct{})
			errs := make(chan string, n)
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					name := fmt.Sprintf("동시 사진 %02d.jpg", i)
					r := st.callAt(bases[i%len(bases)], "POST", "/patient-images/upload-url/"+scenario, prof, uploadBody(name, "image/jpeg", 10, "PUT"))
					if r.Status != 200 {
						errs <- fmt.Sprintf("%s: %d %s", name, r.Status, r.Raw)
						return
					}
					mu.Lock()
					names[r.str("s3_key")] = name
					mu.Unlock()
				}()
			}
			close(start)
			wg.Wait()
			close(errs)
			failed := 0
			for e := range errs {
				if failed++; failed <= 3 {
					t.Error(e)
				}
			}
			if failed > 0 {
				t.Fatalf("%d of %d concurrent upload URLs refused", failed, n)
			}
			// Half finish processing, half are still staged: staff see both, the ready ones with
			// their names (staged ones get theirs when the processor first sees them).
			i := 0
			staged := map[string]bool{}
			for k := range names {
				if i++; i%2 == 0 {
					st.put(k, "image/jpeg", []byte("original"), nil)
					st.markReady(k)
				} else {
					st.put(keys.StagedKey(k), "image/jpeg", []byte("staged"), nil)
					staged[k] = true
				}
			}
			var later []string
			for i := 0; i < 3; i++ {
				k := st.upload(prof, scenario, fmt.Sprintf("나중 %d.jpg", i))
				later = append(later, k)
				names[k] = fmt.Sprintf("나중 %d.jpg", i)
			}

			items := st.listed(prof, scenario)
			if len(items) != n+3 {
				t.Fatalf("staff listing has %d images, want %d", len(items), n+3)
			}
			for _, it := range items {
				k := it["s3_key"].(string)
				if want, ok := names[k]; !ok || it["original_filename"] != want && !(staged[k] && it["original_filename"] == "") {
					t.Errorf("%s: original_filename %q, want %q", k, it["original_filename"], want)
				}
			}
			order := field(items, "s3_key")
			if !slices.Equal(order[n:], later) {
				t.Errorf("later uploads %q are not last in upload order %q", order[n:], later)
			}
			if again := field(st.listed(prof, scenario), "s3_key"); !slices.Equal(again, order) {
				t.Errorf("a second listing changed the order:\n%q\n%q", order, again)
			}
			// Students see the ready ones in the same relative order.
			ready := slices.DeleteFunc(slices.Clone(items), func(it map[string]any) bool { return it["status"] != statusReady })
			if got := field(st.listed(stud, scenario), "s3_key"); !slices.Equal(got, field(ready, "s3_key")) {
				t.Errorf("student order %q differs from staff order %q", got, field(ready, "s3_key"))
			}
		})
	}
}
