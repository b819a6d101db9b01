package processor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"medicpx/api"
	"medicpx/shared/config"
	"medicpx/shared/keys"
	"medicpx/shared/s3client"
)

// startSlowStagingAPI is startAPI with an S3 client whose listings of staging (incoming/) take up
// to 150 ms longer than others, as any one S3 request may: a listing that read staging and the
// final prefix at different moments shows it.
func startSlowStagingAPI(t *testing.T, s *stack) staffClient {
	t.Helper()
	cfg := config.API{S3: s.env.S3, JWT: config.JWT{Secret: e2eSecret},
		UploadTTL: time.Hour, DownloadMaxTTL: time.Hour, ListURLWindow: time.Hour}
	v, err := api.NewVerifier(context.Background(), cfg.JWT)
	if err != nil {
		t.Fatal(err)
	}
	client, err := s3client.New(context.Background(), s.env.S3, func(o *s3.Options) {
		o.HTTPClient = &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
			if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Query().Get("prefix"), keys.IncomingRoot) {
				time.Sleep(time.Duration(rand.IntN(150_000)) * time.Microsecond)
			}
			return http.DefaultTransport.RoundTrip(r)
		})}
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(cfg, client, v, slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(srv.Close)
	tok, err := api.SignHS256([]byte(e2eSecret), "prof", "professor", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return staffClient{url: srv.URL, token: tok}
}

// staffClient is this test's own small client of the API (a professor's token).
type staffClient struct{ url, token string }

func (c staffClient) do(method, url string, body io.Reader, auth bool) ([]byte, error) {
	req, _ := http.NewRequest(method, url, body)
	if auth {
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(req)
}

func (c staffClient) send(req *http.Request) ([]byte, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, raw)
	}
	return raw, nil
}

// upload asks for a presigned PUT and sends data with it, as the browser does; it returns s3_key.
func (c staffClient) upload(scenario, filename string, data []byte) (string, error) {
	body := fmt.Sprintf(`{"filename":%q,"content_type":"image/jpeg","content_length":%d,"method":"PUT"}`, filename, len(data))
	raw, err := c.do("POST", c.url+"/patient-images/upload-url/"+scenario, strings.NewReader(body), true)
	if err != nil {
		return "", err
	}
	var g struct {
		S3Key         string            `json:"s3_key"`
		UploadURL     string            `json:"upload_url"`
		UploadHeaders map[string]string `json:"upload_headers"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		return "", err
	}
	req, _ := http.NewRequest(http.MethodPut, g.UploadURL, bytes.NewReader(data))
	for k, v := range g.UploadHeaders {
		req.Header.Set(k, v)
	}
	_, err = c.send(req)
	return g.S3Key, err
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestStaffListingMonotone (issue 22, item 3): during a burst of uploads through the real API and
// processor, staff list the scenario over and over. An upload is staged, then promoted (the
// processor writes the final original, then removes the staged copy): once a listing shows it,
// every later listing does, processing or ready, since nothing here deletes it.
func TestStaffListingMonotone(t *testing.T) {
	s := startStack(t, true)
	a := startSlowStagingAPI(t, s)
	const scenario, uploads, listers = "burst", 40, 2
	img := readImage(t, "valid/orient6.jpg")

	list := func() (map[string]string, error) {
		raw, err := a.do("GET", a.url+"/patient-images/scenarios/"+scenario+"/images", nil, true)
		if err != nil {
			return nil, err
		}
		var body struct {
			Images []struct {
				S3Key  string `json:"s3_key"`
				Status string `json:"status"`
			} `json:"images"`
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			return nil, err
		}
		got := map[string]string{}
		for _, im := range body.Images {
			got[im.S3Key] = im.Status
		}
		return got, nil
	}

	var stop atomic.Bool
	var wg sync.WaitGroup
	type gap struct {
		key             string
		listing         int
		missing, listed time.Duration // since the test began: missing from a listing, listed again
	}
	begin := time.Now()
	gaps := make([][]gap, listers)
	listings := make([]int, listers)
	errs := make(chan error, listers)
	for l := range listers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen := map[string]bool{}
			open := map[string]int{} // key → its gap in gaps[l] while a listing misses it
			for n := 0; !stop.Load(); n++ {
				got, err := list()
				if err != nil {
					errs <- err
					return
				}
				listings[l]++
				now := time.Since(begin)
				for k := range seen {
					_, listed := got[k]
					i, missing := open[k]
					switch {
					case !listed && !missing:
						open[k] = len(gaps[l])
						gaps[l] = append(gaps[l], gap{key: k, listing: n, missing: now})
					case listed && missing:
						gaps[l][i].listed = now
						delete(open, k)
					}
				}
				for k := range got {
					seen[k] = true
				}
			}
		}()
	}

	var up sync.WaitGroup
	keys := make([]string, uploads)
	for i := range uploads {
		up.Add(1)
		go func() {
			defer up.Done()
			key, err := a.upload(scenario, fmt.Sprintf("burst-%02d.jpg", i), img)
			if err != nil {
				t.Error(err)
			}
			keys[i] = key
		}()
	}
	up.Wait()
	waitFor(t, "the burst to be processed", func() bool {
		got, err := list()
		if err != nil {
			t.Fatal(err)
		}
		ready := 0
		for _, k := range keys {
			if got[k] == "ready" {
				ready++
			}
		}
		return ready == uploads
	})
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := 0
	var longest time.Duration
	for l := range listers {
		for _, g := range gaps[l] {
			total++
			if d := g.listed - g.missing; g.listed > 0 && d > longest {
				longest = d
			}
			t.Errorf("lister %d, listing %d at %v: %s, listed before, is missing (listed again at %v)",
				l, g.listing, g.missing.Round(time.Millisecond), g.key, g.listed.Round(time.Millisecond))
		}
	}
	t.Logf("%d uploads, %v staff listings; %d times an upload listed before was missing (longest for %v)",
		uploads, listings, total, longest.Round(time.Millisecond))
}
