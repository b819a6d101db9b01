package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/gorilla/mux"

	"medicpx/shared/config"
)

func TestCORS(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := CORS([]string{"http://localhost:3000"}, next)
	tests := []struct {
		name, method, origin, reqMethod string
		status                          int
		allow                           string
	}{
		{"allowed origin", "GET", "http://localhost:3000", "", http.StatusTeapot, "http://localhost:3000"},
		{"preflight", "OPTIONS", "http://localhost:3000", "DELETE", http.StatusNoContent, "http://localhost:3000"},
		{"other origin", "GET", "http://evil.example", "", http.StatusTeapot, ""},
		{"other origin preflight", "OPTIONS", "http://evil.example", "DELETE", http.StatusTeapot, ""},
		{"no origin", "GET", "", "", http.StatusTeapot, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "/patient-images/scenarios/1/images", nil)
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			if tt.reqMethod != "" {
				req.Header.Set("Access-Control-Request-Method", tt.reqMethod)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status || rec.Header().Get("Access-Control-Allow-Origin") != tt.allow {
				t.Fatalf("%d, allow-origin %q; want %d, %q", rec.Code, rec.Header().Get("Access-Control-Allow-Origin"), tt.status, tt.allow)
			}
			if tt.status == http.StatusNoContent && rec.Header().Get("Access-Control-Allow-Headers") != "authorization, content-type" {
				t.Fatalf("preflight headers: %v", rec.Header())
			}
		})
	}
	// With no origins configured, even a would-be allowed origin gets no CORS headers.
	req := httptest.NewRequest("OPTIONS", "/", nil)
	req.Header.Set("Origin", "http://localhost:3000")
	req.Header.Set("Access-Control-Request-Method", "GET")
	rec := httptest.NewRecorder()
	CORS(nil, next).ServeHTTP(rec, req)
	if rec.Code != http.StatusTeapot || rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("no origins configured: %d %v", rec.Code, rec.Header())
	}
}

// TestPreflightForEveryRoute sends a browser's preflight, over HTTP, for every method of every
// route the router serves, from an allowed origin, and checks that a browser would then send the
// request: the origin, the method and the headers the pages send (Authorization, Content-Type)
// are all allowed. It walks the router, so a route added later is covered by itself.
func TestPreflightForEveryRoute(t *testing.T) {
	v, err := NewVerifier(t.Context(), config.JWT{Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	srv := New(config.API{}, s3.New(s3.Options{Region: "us-east-1"}), v, slog.New(slog.NewTextHandler(io.Discard, nil)))
	const origin = "http://localhost:3000"
	hs := httptest.NewServer(CORS([]string{origin}, srv))
	defer hs.Close()
	vars := regexp.MustCompile(`\{[^}]+\}`)
	seen := map[string]bool{}
	err = srv.Router().Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil {
			return err
		}
		methods, err := route.GetMethods()
		if err != nil {
			return err
		}
		path := vars.ReplaceAllString(tpl, "1")
		for _, m := range methods {
			seen[m] = true
			t.Run(m+" "+tpl, func(t *testing.T) {
				req, _ := http.NewRequest(http.MethodOptions, hs.URL+path, nil)
				req.Header.Set("Origin", origin)
				req.Header.Set("Access-Control-Request-Method", m)
				req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				h := resp.Header
				if resp.StatusCode/100 != 2 || h.Get("Access-Control-Allow-Origin") != origin {
					t.Fatalf("preflight: %d, Access-Control-Allow-Origin %q", resp.StatusCode, h.Get("Access-Control-Allow-Origin"))
				}
				// The Fetch standard: a CORS-safelisted method passes whatever the answer lists;
				// any other must be listed, compared exactly.
				allowed := splitList(h.Get("Access-Control-Allow-Methods"))
				if !slices.Contains([]string{"GET", "HEAD", "POST"}, m) && !slices.Contains(allowed, m) {
					t.Errorf("Access-Control-Allow-Methods %q lacks %s", h.Get("Access-Control-Allow-Methods"), m)
				}
				headers := splitList(strings.ToLower(h.Get("Access-Control-Allow-Headers")))
				for _, want := range []string{"authorization", "content-type"} {
					if !slices.Contains(headers, want) {
						t.Errorf("Access-Control-Allow-Headers %q lacks %s", h.Get("Access-Control-Allow-Headers"), want)
					}
				}
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		if !seen[m] {
			t.Errorf("the router serves no %s route: the walk missed routes", m)
		}
	}
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
