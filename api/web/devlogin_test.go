//go:build devlogin

package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

func TestDevLogin(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	h := newRouter(secret)
	cases := []struct {
		name, target, ctype, body, role string
		status                          int
	}{
		{"json body", "/dev/token", "application/json", `{"role":"professor"}`, "professor", 200},
		{"query", "/dev/token?role=student", "", "", "student", 200},
		{"form", "/dev/token", "application/x-www-form-urlencoded", "role=admin", "admin", 200},
		{"unknown role", "/dev/token?role=root", "", "", "", 422},
		{"bad json", "/dev/token", "application/json", `{`, "", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080"+tc.target, strings.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.status != 200 {
				return
			}
			var out struct{ Token string }
			if err := json.NewDecoder(rec.Body).Decode(&out); err != nil {
				t.Fatal(err)
			}
			claims := jwt.MapClaims{}
			_, err := jwt.ParseWithClaims(out.Token, claims, func(*jwt.Token) (any, error) { return secret, nil },
				jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired())
			if err != nil {
				t.Fatalf("token does not verify with the secret: %v", err)
			}
			if claims["role"] != tc.role || claims["sub"] != "local-"+tc.role {
				t.Errorf("claims %v, want role %s", claims, tc.role)
			}
		})
	}
	if page := do(t, h, http.MethodGet, "/", nil).Body.String(); !strings.Contains(page, `data-devlogin="true"`) {
		t.Error(`page does not offer the dev sign-in`)
	}
	// Without a secret there is nothing to sign with: no route, no buttons.
	if rec := do(t, newRouter(nil), http.MethodPost, "/dev/token?role=student", nil); rec.Code != http.StatusNotFound {
		t.Errorf("nil secret: POST /dev/token = %d, want 404", rec.Code)
	}
}

// TestDevLoginSameOriginOnly: another site's page must not mint a token, whether by a plain form
// POST (which needs no CORS preflight) or by fetch, nor through DNS rebinding.
func TestDevLoginSameOriginOnly(t *testing.T) {
	h := newRouter([]byte("0123456789abcdef0123456789abcdef"))
	form := "application/x-www-form-urlencoded"
	cases := []struct {
		name, host, ctype, body string
		hdr                     map[string]string
		status                  int
	}{
		{"the page's own fetch", "127.0.0.1:8080", "application/json", `{"role":"admin"}`,
			map[string]string{"Origin": "http://127.0.0.1:8080", "Sec-Fetch-Site": "same-origin"}, 200},
		{"same origin, no Sec-Fetch-Site", "localhost:8080", "application/json", `{"role":"admin"}`,
			map[string]string{"Origin": "http://localhost:8080"}, 200},
		{"no browser headers (curl)", "127.0.0.1:8080", form, "role=admin", nil, 200},
		{"cross-site form POST", "127.0.0.1:8080", form, "role=admin",
			map[string]string{"Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}, 403},
		{"cross-site form POST, old browser", "127.0.0.1:8080", form, "role=admin",
			map[string]string{"Origin": "https://attacker.example"}, 403},
		{"another local port (same-site)", "127.0.0.1:8080", "application/json", `{"role":"admin"}`,
			map[string]string{"Origin": "http://127.0.0.1:3000", "Sec-Fetch-Site": "same-site"}, 403},
		{"opaque origin (sandboxed iframe)", "127.0.0.1:8080", form, "role=admin",
			map[string]string{"Origin": "null"}, 403},
		{"DNS rebinding", "attacker.example:8080", form, "role=admin",
			map[string]string{"Origin": "http://attacker.example:8080", "Sec-Fetch-Site": "same-origin"}, 403},
		{"non-loopback Host, no browser headers", "192.168.0.10:8080", form, "role=admin", nil, 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/dev/token", strings.NewReader(tc.body))
			req.Host = tc.host
			req.Header.Set("Content-Type", tc.ctype)
			for k, v := range tc.hdr {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.status != 200 {
				if strings.Contains(rec.Body.String(), "token") || !strings.Contains(rec.Body.String(), `"detail"`) {
					t.Errorf("refusal body %s: want a detail and no token", rec.Body)
				}
			}
		})
	}
}

// TestDevLoginOnlyOnTheLocalStack: a devlogin build that is started anywhere but on loopback with
// a loopback S3 endpoint has no sign-in route and offers no buttons.
func TestDevLoginOnlyOnTheLocalStack(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	cases := []struct {
		listen, s3 string
		mounted    bool
	}{
		{"127.0.0.1:8080", "http://127.0.0.1:7070", true},
		{"localhost:8080", "http://localhost:7070", true},
		{"[::1]:8080", "http://[::1]:7070", true},
		{"127.0.0.2:8080", "http://127.0.0.1:7070", true},
		{":8080", "http://127.0.0.1:7070", false},
		{"0.0.0.0:8080", "http://127.0.0.1:7070", false},
		{"[::]:8080", "http://127.0.0.1:7070", false},
		{"192.168.0.10:8080", "http://127.0.0.1:7070", false},
		{"example.com:8080", "http://127.0.0.1:7070", false},
		{"", "http://127.0.0.1:7070", false}, // Lambda: no listener
		{"127.0.0.1:8080", "", false},        // AWS S3
		{"127.0.0.1:8080", "https://s3.ap-northeast-2.amazonaws.com", false},
		{"127.0.0.1:8080", "http://10.0.0.5:7070", false},
		{"127.0.0.1:8080", "http://127.0.0.1.attacker.example:7070", false},
	}
	for _, tc := range cases {
		h := newRouterAt(secret, tc.listen, tc.s3)
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080/dev/token?role=admin", nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if got := rec.Code == http.StatusOK; got != tc.mounted {
			t.Errorf("listen %q, S3 %q: POST /dev/token = %d, want mounted=%v", tc.listen, tc.s3, rec.Code, tc.mounted)
		}
		page := do(t, h, http.MethodGet, "/", nil).Body.String()
		if got := strings.Contains(page, `data-devlogin="true"`); got != tc.mounted {
			t.Errorf("listen %q, S3 %q: page offers the dev sign-in = %v, want %v", tc.listen, tc.s3, got, tc.mounted)
		}
	}
}
