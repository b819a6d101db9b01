package processor

import (
	"fmt"
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
	const maxChain = 4
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
			reqs := px.Requests()
			chain := s3delay.Chain(reqs)
			t.Logf("%d S3 requests, chain %d (target ≤ %d):%s", len(reqs), chain, maxChain, describe(reqs))
			if chain > maxChain {
				t.Errorf("%d S3 requests one after another from event to ready, want at most %d", chain, maxChain)
			}
			if st, _ := prof.status(t, key); st != "ready" {
				t.Errorf("status %s after Process, want ready", st)
			}
		})
	}
}

// describe lists requests as "METHOD path?query status", in the order they were answered.
func describe(reqs []s3delay.Request) string {
	out := ""
	for _, r := range reqs {
		out += fmt.Sprintf("\n\t%s %s?%s %d", r.Method, r.Path, r.Query, r.Status)
	}
	return out
}
