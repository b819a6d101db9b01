package api

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"golang.org/x/time/rate"

	"medicpx/shared/config"
	"medicpx/shared/keys"
)

// The s3_url link (README, "s3_url"). The guide's frontend saves s3_url in the platform's records
// and later shows it with <img src>, which sends no token; the bucket is private. So by default
// s3_url is {API}/{s3_key}: a stable, token-free link to this API that redirects to a presigned GET
// of the checked original while the image is ready, and is a 404 otherwise. It is a capability:
// the random UUID in the key is the secret, as an unlisted link is.
//
// Only a final original with its thumbnails redirects (original.ready). Processing uploads live
// in incoming/, rejected ones in quarantine/, deleted and trashed ones are gone from the final
// key: every one of those is a 404 by construction, with the same body as a key that never
// existed, so the route reveals nothing beyond "not here".

// linkCacheMargin is taken off the presigned URL's remaining life for the redirect's max-age, so
// that a browser never follows a cached redirect to a URL that has just expired (clock skew).
const linkCacheMargin = time.Minute

type linkBaseKey struct{}

// withLinkBase remembers the base of s3_url links for this request (see s3URL).
func (s *Server) withLinkBase(r *http.Request) *http.Request {
	if !s.apiLinks() {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), linkBaseKey{}, s.linkBase(r)))
}

// linkBase is PUBLIC_API_URL, or else this API's origin as the request shows it: behind API
// Gateway the adapter builds an absolute URL from the API's domain name; locally it is the Host
// the client reached, with X-Forwarded-Proto when a proxy terminates TLS.
func (s *Server) linkBase(r *http.Request) string {
	if s.cfg.PublicAPIURL != "" {
		return s.cfg.PublicAPIURL
	}
	if r.URL.IsAbs() && r.URL.Host != "" {
		return r.URL.Scheme + "://" + r.URL.Host
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	host := r.Host
	if u, err := url.Parse("http://" + host); err != nil || u.Host != host || host == "" || strings.ContainsAny(host, "/?#@") {
		host = "localhost" // a Host header that is not a plain host[:port] never reaches a link
	}
	return scheme + "://" + host
}

// apiLinks reports whether s3_url is a link to this API (the default setting).
func (s *Server) apiLinks() bool {
	return s.cfg.S3URLMode == config.S3URLAPI || s.cfg.S3URLMode == ""
}

// s3URL is the s3_url of an original: the same key path on every setting, under the API's base
// (the default), the bucket's URL (a plain identifier) or a CDN's base.
func (s *Server) s3URL(ctx context.Context, key string) string {
	path := (&url.URL{Path: key}).EscapedPath()
	if !s.apiLinks() {
		return s.cfg.S3.PublicURL + "/" + path
	}
	base, _ := ctx.Value(linkBaseKey{}).(string)
	return base + "/" + path
}

// imageLink serves an s3_url: a redirect to the checked original while it is ready, else 404.
func (s *Server) imageLink(w http.ResponseWriter, r *http.Request) error {
	now := s.Now()
	if !s.limiter.allow(clientAddr(r), now) {
		w.Header().Set("Retry-After", "1")
		return newError(ETooMany, msgTooMany)
	}
	v := mux.Vars(r)
	raw := keys.Root + v["dir"] + "/" + v["filename"]
	k, err := keys.Parse(raw)
	// Only the exact key the API handed out: one link per image, never an alias of it.
	if err != nil || k.Kind != keys.Original || k.String() != raw {
		return wrapError(ENotFound, msgNotFound, err)
	}
	ctx := r.Context()
	o, err := s.lookupLive(ctx, k)
	if err != nil {
		return err // ENotFound, or an internal fault
	}
	if !o.ready() {
		return newError(ENotFound, msgNotFound)
	}
	target, until, err := s.windowURLUntil(ctx, k.String())
	if err != nil {
		return err
	}
	maxAge := max(until.Sub(now)-linkCacheMargin, 0)
	h := w.Header()
	// private: a shared cache must not hand one client's redirect (a signed URL) to others.
	h.Set("Cache-Control", fmt.Sprintf("private, max-age=%d", int64(maxAge/time.Second)))
	h.Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, target, http.StatusFound)
	return nil
}

// clientAddr is the address the request came from: the peer locally, API Gateway's sourceIp in
// Lambda (the adapter puts it in RemoteAddr without a port).
func clientAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// linkLimiter limits s3_url requests per client address with a token bucket each, so nobody can
// probe keys or hammer S3 through the route. In AWS, API Gateway throttles the route as well
// (template.yaml), since each Lambda instance only sees its own share.
type linkLimiter struct {
	rate  rate.Limit
	burst int

	mu      sync.Mutex
	clients map[string]*clientBucket
}

type clientBucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// maxTrackedClients bounds the limiter's memory; past it, idle clients are forgotten.
const maxTrackedClients = 10000

func newLinkLimiter(perSecond float64, burst int) *linkLimiter {
	// A configuration built by hand (not by config.LoadAPI) gets the defaults, never a limit of 0.
	if perSecond <= 0 {
		perSecond = config.DefaultLinkRate
	}
	if burst <= 0 {
		burst = config.DefaultLinkBurst
	}
	return &linkLimiter{rate: rate.Limit(perSecond), burst: burst, clients: map[string]*clientBucket{}}
}

func (l *linkLimiter) allow(addr string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.clients[addr]
	if !ok {
		if len(l.clients) >= maxTrackedClients {
			l.forgetIdle(now)
		}
		c = &clientBucket{lim: rate.NewLimiter(l.rate, l.burst)}
		l.clients[addr] = c
	}
	c.seen = now
	return c.lim.AllowN(now, 1)
}

// forgetIdle drops clients whose bucket has refilled (forgetting them changes nothing), and if
// that frees nothing, everyone: a flood of addresses must not grow memory without bound.
func (l *linkLimiter) forgetIdle(now time.Time) {
	full := time.Duration(float64(l.burst) / float64(l.rate) * float64(time.Second))
	for a, c := range l.clients {
		if now.Sub(c.seen) > full {
			delete(l.clients, a)
		}
	}
	if len(l.clients) >= maxTrackedClients {
		clear(l.clients)
	}
}
