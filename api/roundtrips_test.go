package api

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"medicpx/infra/testenv/s3delay"
	"medicpx/infra/testenv/versity/versitytest"
)

// roundTripLatency is the S3 latency of TestRoundTrips: large against versitygw's own answers and
// against a loaded machine's scheduling delays, so that calls sent at once overlap and calls made
// one after another do not.
const roundTripLatency = 50 * time.Millisecond

// TestRoundTrips counts the S3 requests of each route and the longest chain of them made one after
// another (s3delay.Chain), behind a proxy that delays each request (50 ms): the chain is what a caller
// waits for in AWS, where every S3 call costs 10–50 ms. A listing's chain must not grow with the
// number of images (O(pages)), so the scenario holds 30 ready images and one upload in progress.
func TestRoundTrips(t *testing.T) {
	st := newStackOn(t, versitytest.Options{Latency: roundTripLatency, Record: true}, noLinkLimit)
	prof, stud := st.token("professor"), st.token("student")
	keys := readyImages(st, "rtt", 30)
	pinnedKeys := readyImages(st, "rttpin", 3)
	if r := st.call("PUT", "/patient-images/scenarios/rttpin/image", prof, map[string]any{"s3_key": pinnedKeys[1]}); r.Status != 200 {
		t.Fatalf("pin: %d %s", r.Status, r.Raw)
	}
	if r := st.call("POST", "/patient-images/upload-url/rtt", prof, uploadBody("진행 중.jpg", "image/jpeg", 10, "PUT")); r.Status != 200 {
		t.Fatalf("upload-url: %d %s", r.Status, r.Raw)
	} else {
		st.put("incoming/"+r.str("s3_key"), "image/jpeg", []byte("staged"), nil)
	}
	px := st.env.Server.Proxy

	for _, tc := range []struct {
		name     string
		maxChain int
		do       func(t *testing.T)
	}{
		{"student listing", 2, func(t *testing.T) { st.expect(t, "GET", "/patient-images/scenarios/rtt/images", stud, nil, 200) }},
		{"staff listing", 2, func(t *testing.T) { st.expect(t, "GET", "/patient-images/scenarios/rtt/images", prof, nil, 200) }},
		{"representative, first in order", 2, func(t *testing.T) { st.expect(t, "GET", "/patient-images/scenarios/rtt/image", stud, nil, 200) }},
		{"representative, pinned", 2, func(t *testing.T) {
			r := st.expect(t, "GET", "/patient-images/scenarios/rttpin/image", stud, nil, 200)
			if im, _ := r.Body["image"].(map[string]any); im == nil || im["s3_key"] != pinnedKeys[1] {
				t.Errorf("representative %s, want the pinned %s", r.Raw, pinnedKeys[1])
			}
		}},
		{"upload-url", 1, func(t *testing.T) {
			st.expect(t, "POST", "/patient-images/upload-url/rtt", prof, uploadBody("새 사진.jpg", "image/jpeg", 10, "PUT"), 200)
		}},
		{"s3_url redirect", 1, func(t *testing.T) {
			resp := st.follow(st.url+"/"+keys[7], nil)
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("s3_url: %d", resp.StatusCode)
			}
			// A repeat within max-age is the browser's: no request reaches the API, so no S3 call.
			m := regexp.MustCompile(`^private, max-age=(\d+)$`).FindStringSubmatch(resp.Header.Get("Cache-Control"))
			if n, _ := strconv.Atoi(m[len(m)-1]); m == nil || n <= 0 {
				t.Errorf("Cache-Control %q: a repeat would not be cached", resp.Header.Get("Cache-Control"))
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			px.Reset()
			tc.do(t)
			reqs := px.Requests()
			chain := s3delay.Chain(reqs)
			t.Logf("%-32s %2d S3 requests, chain %d (target ≤ %d): %s", tc.name, len(reqs), chain, tc.maxChain, describe(reqs))
			if chain > tc.maxChain {
				t.Errorf("%s: %d S3 requests one after another, want at most %d", tc.name, chain, tc.maxChain)
			}
		})
	}
}

// expect calls the API and fails the test unless it answers want.
func (st *stack) expect(t *testing.T, method, path, tok string, body any, want int) response {
	t.Helper()
	r := st.call(method, path, tok, body)
	if r.Status != want {
		t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Raw)
	}
	return r
}

// describe lists requests as "METHOD path" in the order they were answered.
func describe(reqs []s3delay.Request) string {
	out := ""
	for _, r := range reqs {
		out += fmt.Sprintf("\n\t%s %s?%s %d", r.Method, r.Path, r.Query, r.Status)
	}
	return out
}
