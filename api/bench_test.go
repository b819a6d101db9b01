package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkAPI measures requests per second and p99 latency at 32 concurrent connections, for a
// bare net/http handler (the floor: loopback HTTP on this machine) and for the API's list (100
// images, on real versitygw) and presign-upload, in the same run. Compare with benchstat, or read
// the req/s and p99-ms metrics side by side.
func BenchmarkAPI(b *testing.B) {
	st := newStack(b)
	for i := 0; i < 100; i++ {
		st.original("bench", fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i), true)
	}
	prof := st.token("professor")
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	defer bare.Close()
	upload, _ := json.Marshal(uploadBody("photo.jpg", "image/jpeg", 1<<20, "PUT"))

	cases := []struct {
		name   string
		method string
		url    string
		body   []byte
	}{
		{"bare-nethttp", "GET", bare.URL + "/", nil},
		{"list-100", "GET", st.url + "/patient-images/scenarios/bench/images", nil},
		{"presign-upload", "POST", st.url + "/patient-images/upload-url/bench", upload},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			load(b, 32, func(client *http.Client) error {
				var body io.Reader
				if c.body != nil {
					body = bytes.NewReader(c.body)
				}
				req, _ := http.NewRequest(c.method, c.url, body)
				req.Header.Set("Authorization", "Bearer "+prof)
				resp, err := client.Do(req)
				if err != nil {
					return err
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					return fmt.Errorf("status %d", resp.StatusCode)
				}
				return nil
			})
		})
	}
}

// load runs b.N requests over conns concurrent keep-alive connections and reports req/s and p99
// (loadWithin without a time budget).
func load(b *testing.B, conns int, do func(*http.Client) error) {
	loadWithin(b, conns, 0, do)
}
