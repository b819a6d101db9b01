package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"medicpx/infra/testenv/s3delay"
	"medicpx/infra/testenv/versity/versitytest"
)

// benchLatency is the S3 latency the route benchmark compares against none: about what one S3
// call costs from Lambda.
const benchLatency = 25 * time.Millisecond

// BenchmarkRouteLatency measures the latency a caller waits for, one request at a time, on the
// routes people wait for: the student and staff listings of a scenario of 100 images, its (pinned)
// representative, upload-url and the s3_url redirect; with S3 answering at once (versitygw
// directly) and with every S3 request delayed by 25 ms (s3delay). It reports p50 and p95 in ms
// and, at 25 ms, each route's lower bound: its chain of S3 calls made one after another
// (TestRoundTrips holds those) times 25 ms. `make bench` runs it with -benchtime 40x.
func BenchmarkRouteLatency(b *testing.B) {
	for _, lat := range []time.Duration{0, benchLatency} {
		b.Run(fmt.Sprintf("s3=%s", lat), func(b *testing.B) {
			st := newStackOn(b, versitytest.Options{Latency: lat, Record: lat > 0}, noLinkLimit)
			prof, stud := st.token("professor"), st.token("student")
			keys := seedReady(b, st, "bench", 100)
			if r := st.call("PUT", "/patient-images/scenarios/bench/image", prof, map[string]any{"s3_key": keys[40]}); r.Status != 200 {
				b.Fatalf("pin: %d %s", r.Status, r.Raw)
			}
			// A plain client: the harness's one checks every answer against openapi.yaml, which
			// costs more CPU than some of these routes.
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			ok := func(method, path, tok string, body any) func() {
				raw, _ := json.Marshal(body)
				return func() {
					var rd io.Reader
					if body != nil {
						rd = bytes.NewReader(raw)
					}
					req, _ := http.NewRequest(method, st.url+path, rd)
					if tok != "" {
						req.Header.Set("Authorization", "Bearer "+tok)
					}
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if want := map[bool]int{true: http.StatusFound, false: http.StatusOK}[tok == ""]; resp.StatusCode != want {
						b.Fatalf("%s %s: %d, want %d", method, path, resp.StatusCode, want)
					}
				}
			}
			routes := []struct {
				name string
				do   func()
			}{
				{"student-listing-100", ok("GET", "/patient-images/scenarios/bench/images", stud, nil)},
				{"staff-listing-100", ok("GET", "/patient-images/scenarios/bench/images", prof, nil)},
				{"representative", ok("GET", "/patient-images/scenarios/bench/image", stud, nil)},
				{"upload-url", ok("POST", "/patient-images/upload-url/bench", prof, uploadBody("사진.jpg", "image/jpeg", 1<<20, "PUT"))},
				{"s3_url-redirect", ok("GET", "/"+keys[7], "", nil)},
			}
			for _, r := range routes {
				b.Run(r.name, func(b *testing.B) {
					r.do() // warm: signed URLs cached, connections open
					chain := 0
					if px := st.env.Server.Proxy; px != nil {
						px.Reset()
						r.do()
						chain = s3delay.Chain(px.Requests())
					}
					took := make([]time.Duration, 0, b.N)
					b.ResetTimer()
					for range b.N {
						start := time.Now()
						r.do()
						took = append(took, time.Since(start))
					}
					b.StopTimer()
					slices.Sort(took)
					ms := func(q float64) float64 {
						return float64(took[min(len(took)-1, int(q*float64(len(took))))].Microseconds()) / 1000
					}
					b.ReportMetric(ms(0.50), "p50-ms")
					b.ReportMetric(ms(0.95), "p95-ms")
					if lat > 0 {
						b.ReportMetric(float64(chain), "chain")
						b.ReportMetric(float64(chain)*float64(lat.Milliseconds()), "bound-ms")
					}
				})
			}
		})
	}
}

// seedReady stores n ready images in scenario as the processor leaves them, 16 at a time (each
// is a few S3 writes, slow behind a latency).
func seedReady(b *testing.B, st *stack, scenario string, n int) []string {
	b.Helper()
	out := make([]string, n)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range out {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out[i] = st.original(scenario, fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i), true)
		})
	}
	wg.Wait()
	return out
}
