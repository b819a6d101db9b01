package processor

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"medicpx/infra/testenv/phonesamples"
	"medicpx/infra/testenv/s3delay"
	"medicpx/infra/testenv/versity/versitytest"
)

// roundTripLatency is the S3 latency of TestProcessRoundTrips: large against versitygw's own answers
// and against a loaded machine's scheduling delays, so that calls sent at once overlap and calls
// made one after another do not.
const roundTripLatency = 50 * time.Millisecond

// TestProcessRoundTrips counts the S3 requests that turn one staged phone photo into a ready image
// (its event handled by Process) and the longest chain of them made one after another, behind a
// proxy that delays each request: in AWS that chain, at 10–50 ms a call, is most of the time from
// PUT to ready beside the decode. The target is 4.
func TestProcessRoundTrips(t *testing.T) {
	const maxChain, maxUntilReady = 4, 14
	s := startStackOn(t, false, versitytest.Options{Latency: roundTripLatency, Record: true})
	prof := startAPI(t, s)
	px := s.env.Server.Proxy
	for _, tc := range []struct {
		name string
		data func(t *testing.T) []byte
	}{
		{"generated 4032x3024 photo", func(t *testing.T) []byte { return noisyJPEG(t, 4032, 3024, 12, 88) }},
		{"Pixel 6 Ultra HDR photo", func(t *testing.T) []byte {
			dir := phonesamples.Dir(t)
			return phonesamples.Read(t, dir, phonesamples.Files[0])
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := prof.upload(t, "rtt", "환자 사진.jpg", tc.data(t))
			px.Reset()
			out, err := s.p.Process(t.Context(), versitytest.Bucket, "incoming/"+key)
			if err != nil || out != Ready {
				t.Fatalf("Process: %s, %v; want ready", out, err)
			}
			all := px.Requests()
			// Ready is the original and its thumbnails with the staged copy gone (the API's
			// rule): the chain is counted up to that removal's answer. What is answered after it (the
			// scenarios index refresh, three steps of its own, beside the removal) is counted
			// apart: it is billed, but nobody waits for it.
			reqs, ready := untilReady(t, all, key)
			chain := s3delay.Chain(reqs)
			t.Logf("%d S3 requests until ready, chain %d (target ≤ %d); %d in all, chain %d:%s",
				len(reqs), chain, maxChain, len(all), s3delay.Chain(all), describe(all))
			if !ready {
				t.Errorf("no removal of the staged copy among the requests")
			}
			if chain > maxChain {
				t.Errorf("%d S3 requests one after another from event to ready, want at most %d", chain, maxChain)
			}
			// Each request is billed, and costs CPU in every process it passes through: 14 is
			// what the look, the promotion and its cleanup take now, with no PNG thumbnail looked
			// for (a JPEG has none: pipeline.ThumbnailExts). The index refresh's first request
			// may be answered before the removal, or not: it is not counted.
			own := 0
			for _, r := range reqs {
				if !strings.Contains(r.Path, "/_index/") {
					own++
				}
				if strings.Contains(r.Path, "/thumbnails/") && strings.HasSuffix(r.Path, ".png") {
					t.Errorf("%s %s: a JPEG upload has no PNG thumbnails to look for", r.Method, r.Path)
				}
			}
			if own > maxUntilReady {
				t.Errorf("%d S3 requests of the upload's own from event to ready, want at most %d", own, maxUntilReady)
			}
			if st, _ := prof.status(t, key); st != "ready" {
				t.Errorf("status %s after Process, want ready", st)
			}
		})
	}
}

// untilReady is the requests answered by the time the removal of key's staged copy was answered,
// that removal included; false when there was none.
func untilReady(t *testing.T, reqs []s3delay.Request, key string) ([]s3delay.Request, bool) {
	t.Helper()
	var end time.Time
	for _, r := range reqs {
		if r.Method == http.MethodDelete && strings.HasSuffix(r.Path, "/incoming/"+key) {
			end = r.End
		}
	}
	if end.IsZero() {
		return reqs, false
	}
	var out []s3delay.Request
	for _, r := range reqs {
		if !r.End.After(end) {
			out = append(out, r)
		}
	}
	return out, true
}

// describe lists requests as "METHOD path?query status", in the order they were answered.
func describe(reqs []s3delay.Request) string {
	out := ""
	for _, r := range reqs {
		out += fmt.Sprintf("\n\t%s %s?%s %d", r.Method, r.Path, r.Query, r.Status)
	}
	return out
}
