// Package web serves the pages professors and students use: sign-in, a professor's upload and
// management view, and a student's viewer. They are plain HTML, CSS and ES modules embedded in the
// binary (no build step) and talk to the API on the same origin.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strings"

	"github.com/gorilla/mux"

	"medicpx/shared/keys"
)

//go:embed assets
var assetFS embed.FS

//go:embed page.html
var pageSource string

// contentSecurityPolicy allows only our own scripts and styles. Images and uploads go to S3 through
// presigned URLs whose origin is only known from the URLs themselves, hence http:/https: there.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' http: https: blob: data:; connect-src 'self' http: https:; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// assetTypes is explicit so the answer does not depend on the host's MIME tables.
var assetTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
	".svg": "image/svg+xml",
}

// asset is one embedded file, ready to serve.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

// site holds what Mount serves: the assets and the page shell.
type site struct {
	assets map[string]asset
	// version is a hash of all assets together. Assets are served under /static/{version}/, so
	// relative ES module imports stay within one version and a deploy changes every URL at once.
	version  string
	page     *template.Template
	devLogin bool
}

// registerDevLogin is set by devlogin.go, which only binaries built with -tags devlogin contain.
var registerDevLogin func(r *mux.Router, secret []byte) bool

// Options says what Mount needs to know about the server it is part of.
type Options struct {
	// Secret is the HS256 JWT secret; only the dev sign-in uses it.
	Secret []byte
	// ListenAddr is the local server's listen address ("" in Lambda) and S3Endpoint the S3
	// endpoint override ("" for AWS). The dev sign-in runs only where both are loopback: see
	// localStack.
	ListenAddr, S3Endpoint string
	// Log says why a devlogin build did not mount the dev sign-in; nil logs nothing.
	Log *slog.Logger
}

// Mount adds the pages to the API's router (same origin as the API; no CORS needed).
// The dev sign-in is added only when three things hold: the binary was built with -tags devlogin
// (production builds never are), there is a secret to sign with, and the server is the local
// stack (localStack). The build tag alone is one mistake away from a public token mint, hence
// the run-time check as well.
func Mount(r *mux.Router, o Options) {
	s := newSite()
	if registerDevLogin != nil && len(o.Secret) > 0 {
		if err := localStack(o.ListenAddr, o.S3Endpoint); err != nil {
			if o.Log != nil {
				o.Log.Warn("dev sign-in disabled", "reason", err.Error())
			}
		} else {
			s.devLogin = registerDevLogin(r, o.Secret)
		}
	}
	r.Handle("/", http.HandlerFunc(s.servePage)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/scenarios/{id}", http.HandlerFunc(s.servePage)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/static/{version}/{name}", http.HandlerFunc(s.serveAsset)).Methods(http.MethodGet, http.MethodHead)
}

// localStack reports why a server listening on listenAddr with S3 at s3Endpoint is not the local
// stack: only a loopback listener (so nobody else can reach the sign-in) with a loopback S3
// endpoint (so the tokens can only reach local data) is.
func localStack(listenAddr, s3Endpoint string) error {
	host, _, err := net.SplitHostPort(listenAddr)
	if err != nil || !loopbackHost(host) {
		return fmt.Errorf("API_ADDR %q is not a loopback address", listenAddr)
	}
	u, err := url.Parse(s3Endpoint)
	if s3Endpoint == "" || err != nil || !loopbackHost(u.Hostname()) {
		return fmt.Errorf("S3_ENDPOINT %q is not a loopback URL", s3Endpoint)
	}
	return nil
}

// loopbackHost accepts "localhost" and loopback IP literals; "" (every interface) is not one.
func loopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && ip.Unmap().IsLoopback()
}

func newSite() *site {
	s := &site{assets: map[string]asset{}}
	all := sha256.New()
	err := fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := assetFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		name := path.Base(p)
		all.Write([]byte(name))
		all.Write(sum[:])
		s.assets[name] = asset{body: body, ctype: assetTypes[path.Ext(name)], etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic("web: embedded assets: " + err.Error()) // the embed is fixed at build time
	}
	s.version = hex.EncodeToString(all.Sum(nil)[:6])
	s.page = template.Must(template.New("page").Parse(pageSource))
	return s
}

// pageHeaders are the security headers every page carries.
func pageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

func (s *site) servePage(w http.ResponseWriter, r *http.Request) {
	status := http.StatusOK
	if id, ok := mux.Vars(r)["id"]; ok && !keys.ValidScenario(id) {
		// The shell still loads, so the person reads a message instead of a bare error; it says
		// the id is wrong (data-not-found), so the page needs no copy of the rule, even before
		// sign-in.
		status = http.StatusNotFound
	}
	var buf bytes.Buffer
	err := s.page.Execute(&buf, struct {
		Static   string
		DevLogin bool
		NotFound bool
	}{"/static/" + s.version + "/", s.devLogin, status == http.StatusNotFound})
	if err != nil {
		http.Error(w, "page template: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	pageHeaders(h)
	h.Set("Content-Type", "text/html; charset=utf-8")
	// The shell names the current asset version, so it must be revalidated every time.
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

func (s *site) serveAsset(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	a, ok := s.assets[v["name"]]
	if !ok {
		writeDetail(w, http.StatusNotFound, "요청한 파일이 없습니다.")
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", a.etag)
	if v["version"] == s.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		// A page from before a deploy asks for its old version: serve what we have, uncached.
		h.Set("Cache-Control", "no-cache")
	}
	if etagMatches(r.Header.Get("If-None-Match"), a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if r.Method != http.MethodHead {
		_, _ = w.Write(a.body)
	}
}

func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// writeDetail answers an error the way the API does, as {"detail": …}.
func writeDetail(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"detail": detail})
}
