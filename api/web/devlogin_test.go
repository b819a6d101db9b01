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
			req := httptest.NewRequest(http.MethodPost, tc.target, strings.NewReader(tc.body))
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
