package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"medicpx/shared/config"
)

// abandonUploadURLs asks for n upload URLs for scenario, conc at a time, and never uses them: a
// page closed mid-upload, a failed PUT, a professor who picked a folder and cancelled. It goes
// around the spec-checking client (TestPresignedPut and others check these responses) to keep a
// setup of thousands of requests quick.
func abandonUploadURLs(tb testing.TB, st *stack, scenario string, n, conc int) {
	tb.Helper()
	tok := st.token("professor")
	body, _ := json.Marshal(uploadBody("버려진 업로드.jpg", "image/jpeg", 1<<20, "PUT"))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc}}
	work := make(chan int)
	errc := make(chan error, conc)
	for w := 0; w < conc; w++ {
		go func() {
			var err error
			for range work {
				if err != nil {
					continue
				}
				req, _ := http.NewRequest("POST", st.url+"/patient-images/upload-url/"+scenario, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("Content-Type", "application/json")
				resp, e := client.Do(req)
				if e != nil {
					err = e
					continue
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					err = fmt.Errorf("upload-url: %d %s", resp.StatusCode, raw)
				}
			}
			errc <- err
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	for w := 0; w < conc; w++ {
		if err := <-errc; err != nil {
			tb.Fatal(err)
		}
	}
}

// readyImages stores n ready images in scenario through upload-url, as TestNamesAndCaptions's
// upload does (each with its name, so its upload URL was used), and returns their keys.
func readyImages(st *stack, scenario string, n int) []string {
	st.t.Helper()
	prof := st.token("professor")
	out := make([]string, n)
	for i := range out {
		out[i] = st.upload(prof, scenario, fmt.Sprintf("사진 %02d.jpg", i))
	}
	return out
}

// noLinkLimit lifts the s3_url route's per-address limit: every request here comes from 127.0.0.1.
func noLinkLimit(c *config.API) { c.LinkRate, c.LinkBurst = 1e9, 1<<30 }

// BenchmarkAbandonedUploadURLs: upload URLs handed out and never used must cost readers nothing.
// Two scenarios of 20 ready images each on one stack, one with no abandoned upload URL and one
// with 10,000, measured side by side for the student listing, the staff listing and the s3_url
// route (a 302, not followed). Each abandoned=10000 case reports x-vs-none, its ns/op over the
// abandoned=0 case's; about 1 is the goal, and benchstat compares the pairs by name.
//
// The setup (~10,000 upload-url calls, 32 at a time, about 10-20 s) runs once per benchmark run
// and is shared by all six cases. It cannot be shared across -count runs: the stack's versitygw
// stops with the benchmark that started it. Each case times b.N requests but stops handing out
// new ones after abandonedBudget (see loadWithin), so that make bench's -benchtime 2000x stays
// within minutes while abandoned URLs still cost seconds per request; ns/op, B/op and allocs/op
// are then over the requests made, which the "requests" metric says.
func BenchmarkAbandonedUploadURLs(b *testing.B) {
	const abandoned = 10000
	st := newStack(b, noLinkLimit)
	start := time.Now()
	scenarios := map[int]string{0: "none", abandoned: "abandoned"}
	links := map[int]string{}
	for n, sc := range scenarios {
		links[n] = st.url + "/" + readyImages(st, sc, 20)[0]
	}
	abandonUploadURLs(b, st, scenarios[abandoned], abandoned, 32)
	setup := time.Since(start).Round(100 * time.Millisecond)

	prof, stud := st.token("professor"), st.token("student")
	noFollow := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	routes := []struct {
		name  string
		token string
		url   func(n int) string
		want  int
	}{
		{"student-list", stud, func(n int) string { return st.url + "/patient-images/scenarios/" + scenarios[n] + "/images" }, 200},
		{"staff-list", prof, func(n int) string { return st.url + "/patient-images/scenarios/" + scenarios[n] + "/images" }, 200},
		{"s3_url", "", func(n int) string { return links[n] }, http.StatusFound},
	}
	var summary []string
	for _, rt := range routes {
		perOp := map[int]float64{}
		for _, n := range []int{0, abandoned} {
			u := rt.url(n)
			b.Run(fmt.Sprintf("%s/abandoned=%d", rt.name, n), func(b *testing.B) {
				perOp[n] = loadWithin(b, 4, abandonedBudget, func(client *http.Client) error {
					c := *client
					c.CheckRedirect = noFollow
					req, _ := http.NewRequest("GET", u, nil)
					if rt.token != "" {
						req.Header.Set("Authorization", "Bearer "+rt.token)
					}
					resp, err := c.Do(req)
					if err != nil {
						return err
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != rt.want {
						return fmt.Errorf("%s: status %d, want %d", u, resp.StatusCode, rt.want)
					}
					return nil
				})
				if n == abandoned && perOp[0] > 0 {
					b.ReportMetric(perOp[n]/perOp[0], "x-vs-none")
				}
			})
		}
		if perOp[0] > 0 && perOp[abandoned] > 0 {
			summary = append(summary, fmt.Sprintf("%s %.2fms vs %.2fms = %.1fx", rt.name,
				perOp[abandoned]/1e6, perOp[0]/1e6, perOp[abandoned]/perOp[0]))
		}
	}
	// A parent benchmark's log is shown with -v only: without it, say it on stdout (benchstat
	// skips the line).
	line := fmt.Sprintf("abandoned upload URLs (%d, setup %s) vs none, per request: %s", abandoned, setup, strings.Join(summary, "; "))
	b.Log(line)
	if !testing.Verbose() {
		fmt.Println(line)
	}
}

// abandonedBudget bounds the time each case of BenchmarkAbandonedUploadURLs spends on requests.
const abandonedBudget = 15 * time.Second

// loadWithin runs up to b.N requests over conns concurrent keep-alive connections, hands out no
// new one once budget (when not 0) has passed (requests in flight finish), and reports ns/op, B/op
// and allocs/op over the requests made, with req/s, p99 and their number ("requests"). It returns
// the ns/op it reported.
func loadWithin(b *testing.B, conns int, budget time.Duration, do func(*http.Client) error) float64 {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
	lat := make([]time.Duration, 0, b.N)
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= b.N || budget > 0 && i > 0 && time.Since(start) > budget {
					return
				}
				t0 := time.Now()
				if err := do(client); err != nil {
					b.Error(err)
					return
				}
				d := time.Since(t0)
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	runtime.ReadMemStats(&after)
	done := len(lat)
	if done == 0 {
		return 0
	}
	slices.Sort(lat)
	nsPerOp := float64(elapsed.Nanoseconds()) / float64(done)
	b.ReportMetric(nsPerOp, "ns/op")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(done), "B/op")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(done), "allocs/op")
	b.ReportMetric(float64(done), "requests")
	b.ReportMetric(float64(done)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	return nsPerOp
}
