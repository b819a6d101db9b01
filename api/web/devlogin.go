//go:build devlogin

package web

import (
	"encoding/json"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"medicpx/api"
)

// This file exists only in binaries built with -tags devlogin (the local stack): it adds a
// one-click sign-in that signs tokens with the stack's secret. The Lambda build never has it.
func init() { registerDevLogin = mountDevLogin }

var devRoles = map[string]bool{"professor": true, "student": true, "admin": true}

func mountDevLogin(r *mux.Router, secret []byte) bool {
	r.Handle("/dev/token", sameOrigin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		role := r.URL.Query().Get("role")
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
			var body struct {
				Role string `json:"role"`
			}
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<10)).Decode(&body); err != nil {
				writeDetail(w, http.StatusBadRequest, "요청 본문이 올바른 JSON이 아닙니다.")
				return
			}
			role = body.Role
		} else if role == "" {
			role = r.PostFormValue("role")
		}
		if !devRoles[role] {
			writeDetail(w, http.StatusUnprocessableEntity, "role은 professor, student, admin 중 하나여야 합니다.")
			return
		}
		tok, err := api.SignHS256(secret, "local-"+role, role, 12*time.Hour, time.Now())
		if err != nil {
			writeDetail(w, http.StatusInternalServerError, "토큰을 만들 수 없습니다.")
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]string{"token": tok, "role": role})
	}))).Methods(http.MethodPost)
	// GET tells a script that this build has the dev sign-in; the page itself learns it from the
	// shell (data-devlogin), without an extra request.
	r.Handle("/dev/token", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(map[string]bool{"available": true})
	})).Methods(http.MethodGet)
	return true
}

// sameOrigin lets through only requests from the API's own pages: any other site's page could
// otherwise mint an admin token with a form POST or fetch. The standard library's check refuses
// cross-origin browser requests by Sec-Fetch-Site, or by Origin against Host where a browser
// sends no Sec-Fetch-Site; a client that sends neither is not a browser (curl, a test) and is as
// local as the listener. The Host must also be a loopback name, which defeats DNS rebinding: a
// page at attacker.example that resolves to 127.0.0.1 is "same-origin" with itself.
func sameOrigin(h http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	refuse := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeDetail(w, http.StatusForbidden, "개발용 로그인은 이 서버의 페이지에서만 사용할 수 있습니다.")
	})
	cop.SetDenyHandler(refuse)
	checked := cop.Handler(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if hh, _, err := net.SplitHostPort(host); err == nil {
			host = hh
		}
		if !loopbackHost(strings.Trim(host, "[]")) {
			refuse(w, r)
			return
		}
		checked.ServeHTTP(w, r)
	})
}
