package api

import (
	"net/http"
	"net/http/httptest"
	"testing"
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
			if tt.status == http.StatusNoContent && rec.Header().Get("Access-Control-Allow-Headers") != "Authorization, Content-Type" {
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
