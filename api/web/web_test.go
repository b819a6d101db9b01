package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gorilla/mux"
)

// newRouter builds a router the way the API does (encoded paths, no cleaning, JSON 404), so the
// pages are tested under the same matching rules they meet in the binary.
func newRouter(secret []byte) *mux.Router {
	return newRouterAt(secret, "127.0.0.1:8080", "http://127.0.0.1:7070")
}

// newRouterAt mounts the pages for a server listening on listenAddr with S3 at s3Endpoint.
func newRouterAt(secret []byte, listenAddr, s3Endpoint string) *mux.Router {
	r := mux.NewRouter()
	r.SkipClean(true)
	r.UseEncodedPath()
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeDetail(w, http.StatusNotFound, "요청한 경로를 찾을 수 없습니다.")
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeDetail(w, http.StatusMethodNotAllowed, "허용되지 않는 메서드입니다.")
	})
	Mount(r, Options{Secret: secret, ListenAddr: listenAddr, S3Endpoint: s3Endpoint})
	return r
}

func do(t *testing.T, h http.Handler, method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

var staticRE = regexp.MustCompile(`/static/([0-9a-f]+)/(app\.js|style\.css)`)

func TestPages(t *testing.T) {
	h := newRouter([]byte("0123456789abcdef0123456789abcdef"))
	cases := []struct {
		name, path string
		status     int
	}{
		{"sign-in and picker", "/", http.StatusOK},
		{"scenario", "/scenarios/1", http.StatusOK},
		{"scenario with dashes", "/scenarios/cpx_2-b", http.StatusOK},
		{"bad scenario id still gets the shell", "/scenarios/a.b", http.StatusNotFound},
		{"encoded slash is not a separator", "/scenarios/a%2Fb", http.StatusNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(t, h, http.MethodGet, tc.path, nil)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			want := map[string]string{
				"Content-Type":           "text/html; charset=utf-8",
				"Cache-Control":          "no-cache",
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "no-referrer",
				"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; " +
					"img-src 'self' http: https: blob: data:; connect-src 'self' http: https:; " +
					"base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
			}
			for k, v := range want {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			body := rec.Body.String()
			if !strings.Contains(body, `<html lang="ko">`) {
				t.Error("page is not marked Korean")
			}
			if strings.Contains(body, "<script>") || strings.Contains(body, " style=") {
				t.Error("inline script or style would be blocked by the CSP")
			}
			// The page says a wrong id from this mark, not from a copy of the rule.
			if mark := fmt.Sprintf(`data-not-found="%v"`, tc.status == http.StatusNotFound); !strings.Contains(body, mark) {
				t.Errorf("shell lacks %s", mark)
			}
			if got := staticRE.FindAllString(body, -1); len(got) != 2 {
				t.Errorf("versioned asset links = %v, want app.js and style.css", got)
			}
		})
	}
}

func TestAssets(t *testing.T) {
	h := newRouter(nil)
	page := do(t, h, http.MethodGet, "/", nil).Body.String()
	m := staticRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no asset link in the page")
	}
	version := m[1]
	cases := []struct {
		name, path, ctype, cache string
		status                   int
	}{
		{"module", "/static/" + version + "/app.js", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", 200},
		{"imported module", "/static/" + version + "/professor.js", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", 200},
		{"stylesheet", "/static/" + version + "/style.css", "text/css; charset=utf-8", "public, max-age=31536000, immutable", 200},
		{"old version is served but not cached", "/static/000000000000/app.js", "text/javascript; charset=utf-8", "no-cache", 200},
		{"unknown file", "/static/" + version + "/nope.js", "application/json; charset=utf-8", "no-store", 404},
		{"no path escape", "/static/" + version + "/..%2Fweb.go", "application/json; charset=utf-8", "no-store", 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(t, h, http.MethodGet, tc.path, nil)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if got := rec.Header().Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type %q, want %q", got, tc.ctype)
			}
			if got := rec.Header().Get("Cache-Control"); got != tc.cache {
				t.Errorf("Cache-Control %q, want %q", got, tc.cache)
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no nosniff")
			}
			if tc.status == 200 && rec.Header().Get("ETag") == "" {
				t.Error("no ETag")
			}
		})
	}
	t.Run("revalidation", func(t *testing.T) {
		first := do(t, h, http.MethodGet, "/static/"+version+"/app.js", nil)
		again := do(t, h, http.MethodGet, "/static/"+version+"/app.js", map[string]string{"If-None-Match": first.Header().Get("ETag")})
		if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
			t.Fatalf("status %d with %d bytes, want 304 and none", again.Code, again.Body.Len())
		}
	})
}

func TestOnlyGET(t *testing.T) {
	h := newRouter(nil)
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		if rec := do(t, h, m, "/", nil); rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s / = %d, want 405", m, rec.Code)
		}
	}
}

// TestModuleImportsResolve: every relative import in the modules names an embedded file, so a
// typo cannot ship a page that loads blank.
func TestModuleImportsResolve(t *testing.T) {
	s := newSite()
	importRE := regexp.MustCompile(`(?m)^import .* from '\./([^']+)';`)
	n := 0
	for name, a := range s.assets {
		for _, m := range importRE.FindAllStringSubmatch(string(a.body), -1) {
			n++
			if _, ok := s.assets[m[1]]; !ok {
				t.Errorf("%s imports %s, which is not embedded", name, m[1])
			}
		}
	}
	if n == 0 {
		t.Fatal("found no imports: the pattern no longer matches the sources")
	}
}

func TestErrorShape(t *testing.T) {
	rec := do(t, newRouter(nil), http.MethodGet, "/static/x/missing.css", nil)
	var body struct {
		Detail string `json:"detail"`
	}
	if err := json.NewDecoder(rec.Body).Decode(&body); err != nil || body.Detail == "" {
		t.Fatalf("body is not {\"detail\": …}: %v", err)
	}
}
