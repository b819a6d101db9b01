package api

import (
	"net/http"
	"slices"
	"strings"
)

// CORSMethods and CORSHeaders are what a cross-origin caller may send: every method a route
// serves that a browser preflights (GET, HEAD and POST are CORS-safelisted, but GET and POST
// carry Authorization, so they are preflighted too), and the headers the pages and the platform's
// frontend send. They are the one table for both places that answer preflights: this handler
// (the local server) and, in AWS, the HTTP API's CorsConfiguration in template.yaml, which
// infra's TestHTTPAPICORSIsTheAPIsTable holds to them. api's TestPreflightForEveryRoute checks
// that every route's method is here.
var (
	CORSMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	CORSHeaders = []string{"authorization", "content-type"}
)

// CORS lets the listed browser origins (e.g. the platform's frontend on its dev server) call the
// API. The local server uses it; in AWS the HTTP API answers CORS itself, so the Lambda path does
// not wrap the router with it.
func CORS(origins []string, next http.Handler) http.Handler {
	if len(origins) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" || !slices.Contains(origins, origin) {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		h.Set("Access-Control-Allow-Origin", origin)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", strings.Join(CORSMethods, ", "))
			h.Set("Access-Control-Allow-Headers", strings.Join(CORSHeaders, ", "))
			h.Set("Access-Control-Max-Age", "3600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.Set("Access-Control-Expose-Headers", "WWW-Authenticate")
		next.ServeHTTP(w, r)
	})
}
