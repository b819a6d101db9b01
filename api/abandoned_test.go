package api

import (
	"net/http"
	"testing"
)

// TestAbandonedUploadURLsCostNothing: upload URLs handed out and never used do not make readers
// pay: the student listing, the staff listing and the token-free s3_url route make the same number
// of S3 calls with 2,500 abandoned upload URLs (more than a page of 1,000 keys) as with none.
// BenchmarkAbandonedUploadURLs measures the time; this counts the calls, which do not depend on
// the machine.
func TestAbandonedUploadURLsCostNothing(t *testing.T) {
	st := newStack(t)
	const abandoned = 2500
	key := readyImages(st, "1", 3)[0]
	prof, stud := st.token("professor"), st.token("student")
	count := func() map[string]int64 {
		t.Helper()
		out := map[string]int64{}
		for _, c := range []struct{ name, tok string }{{"student listing", stud}, {"staff listing", prof}} {
			before := st.calls.Load()
			r := st.call("GET", "/patient-images/scenarios/1/images", c.tok, nil)
			out[c.name] = st.calls.Load() - before
			if r.Status != 200 || r.Body["total_count"] != float64(3) {
				t.Fatalf("%s: %d %s", c.name, r.Status, r.Raw)
			}
		}
		before := st.calls.Load()
		resp := st.follow(st.url+"/"+key, nil)
		out["s3_url"] = st.calls.Load() - before
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("s3_url: %d %s", resp.StatusCode, body(resp))
		}
		return out
	}
	none := count()
	abandonUploadURLs(t, st, "1", abandoned, 32)
	with := count()
	for _, what := range []string{"student listing", "staff listing", "s3_url"} {
		if with[what] != none[what] {
			t.Errorf("%s: %d S3 calls with %d abandoned upload URLs, %d with none", what, with[what], abandoned, none[what])
		}
	}
	t.Logf("S3 calls with none / with %d abandoned upload URLs: %v / %v", abandoned, none, with)
}
