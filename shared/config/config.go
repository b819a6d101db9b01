// Package config reads the service's settings from environment variables. Every setting has a
// default where one is safe; all problems are collected and reported together at start-up, so an
// operator fixes a broken deployment in one pass.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// S3 locates the bucket.
type S3 struct {
	Bucket string // S3_BUCKET
	Region string // AWS_REGION
	// Endpoint overrides the AWS endpoint (S3_ENDPOINT), e.g. a local versitygw.
	Endpoint string
	// PathStyle addresses the bucket in the path (S3_PATH_STYLE); on by default with Endpoint.
	PathStyle bool
	// PublicURL is the base of the stable s3_url identifiers (S3_PUBLIC_URL); by default the
	// bucket's virtual-hosted AWS URL, or Endpoint/Bucket with an endpoint.
	PublicURL string
}

// JWT says how bearer tokens are verified: HS256 with Secret (given, or fetched by SecretID from
// SecretStore), and/or RS256/ES256 through JWKSURL.
type JWT struct {
	Secret string // JWT_SECRET
	// SecretID names (or is the ARN of) the secret in SecretStore (JWT_SECRET_ID): in AWS the API
	// fetches the secret itself, so it is never in the function's environment.
	SecretID    string
	SecretStore string // JWT_SECRET_STORE: secretsmanager (default) or ssm
	JWKSURL     string // JWT_JWKS_URL
	Issuer      string // JWT_ISSUER: required "iss" when set
	Audience    string // JWT_AUDIENCE: required "aud" when set
}

// API is the HTTP API's configuration.
type API struct {
	S3   S3
	JWT  JWT
	Addr string // API_ADDR, local server only
	// UploadTTL is how long a presigned upload URL is valid (UPLOAD_URL_TTL).
	UploadTTL time.Duration
	// DownloadMaxTTL caps the expires_in a caller may ask for (DOWNLOAD_URL_MAX_TTL); SigV4 allows 7 days.
	DownloadMaxTTL time.Duration
	// ListURLWindow is the period over which listed URLs stay identical, so browsers can cache
	// thumbnails (LIST_URL_WINDOW). Each URL is valid for at least this long after it is handed out.
	ListURLWindow time.Duration
	// CORSOrigins may call the local server from a browser (CORS_ORIGINS, comma-separated); in AWS
	// the HTTP API's own CORS settings apply instead.
	CORSOrigins []string
	// S3URLMode says what the s3_url field holds (S3_URL_MODE, README "s3_url"): S3URLAPI, a
	// token-free link to this API that redirects to the checked image; S3URLIdentifier, the
	// bucket's URL (a plain identifier: the bucket is private); S3URLCDN, S3.PublicURL as the
	// base of a CDN that serves the bucket.
	S3URLMode string
	// PublicAPIURL is the base of S3URLAPI links (PUBLIC_API_URL); when empty it is derived from
	// each request's Host (and X-Forwarded-Proto behind API Gateway).
	PublicAPIURL string
	// LinkRate and LinkBurst limit requests to the s3_url route per client address
	// (S3_URL_RATE per second, S3_URL_BURST).
	LinkRate  float64
	LinkBurst int
}

// Default limits of the s3_url route per client address: enough for a page of thumbnails' worth
// of links at once, far too few to guess keys.
const (
	DefaultLinkRate  = 5  // per second
	DefaultLinkBurst = 60 // at once
)

// What s3_url holds; see API.S3URLMode.
const (
	S3URLAPI        = "api"
	S3URLIdentifier = "identifier"
	S3URLCDN        = "cdn"
)

// Processor is the upload processor's configuration.
type Processor struct {
	S3   S3
	Addr string // PROCESSOR_ADDR: the local event receiver
	// Workers and Queue size the local receiver's bounded work queue.
	Workers int // PROCESSOR_WORKERS
	Queue   int // PROCESSOR_QUEUE
	// ReconcileGrace is how old an unprocessed original must be before a sweep processes it
	// (RECONCILE_GRACE), so the sweep does not race the event for a fresh upload.
	ReconcileGrace time.Duration
	// UploadTTL is the API's UPLOAD_URL_TTL: an upload note whose URL has expired (with an hour's
	// margin for the upload's own processing) is removed by the sweep.
	UploadTTL time.Duration
	// QuarantineDays is how long a rejected upload's copy is kept (QUARANTINE_DAYS).
	QuarantineDays int
}

// Getenv is os.Getenv's shape, injected so tests need not touch the process environment.
type Getenv func(string) string

// LoadAPI reads the API's configuration.
func LoadAPI(getenv Getenv) (API, error) {
	r := reader{getenv: getenv}
	c := API{
		S3: r.s3(),
		JWT: JWT{
			Secret:      r.str("JWT_SECRET", ""),
			SecretID:    r.str("JWT_SECRET_ID", ""),
			SecretStore: r.str("JWT_SECRET_STORE", "secretsmanager"),
			JWKSURL:     r.str("JWT_JWKS_URL", ""),
			Issuer:      r.str("JWT_ISSUER", ""),
			Audience:    r.str("JWT_AUDIENCE", ""),
		},
		Addr:           r.str("API_ADDR", "127.0.0.1:8080"),
		UploadTTL:      r.duration("UPLOAD_URL_TTL", time.Hour),
		DownloadMaxTTL: r.duration("DOWNLOAD_URL_MAX_TTL", 7*24*time.Hour),
		ListURLWindow:  r.duration("LIST_URL_WINDOW", time.Hour),
		CORSOrigins:    r.list("CORS_ORIGINS"),
		S3URLMode:      r.str("S3_URL_MODE", S3URLAPI),
		PublicAPIURL:   strings.TrimRight(r.str("PUBLIC_API_URL", ""), "/"),
		LinkRate:       float64(r.int("S3_URL_RATE", DefaultLinkRate)),
		LinkBurst:      r.int("S3_URL_BURST", DefaultLinkBurst),
	}
	switch c.S3URLMode {
	case S3URLAPI, S3URLIdentifier:
	case S3URLCDN:
		if getenv("S3_PUBLIC_URL") == "" {
			r.fail("S3_URL_MODE=cdn needs S3_PUBLIC_URL, the CDN's base URL")
		}
	default:
		r.fail("S3_URL_MODE: %q is not api, identifier or cdn", c.S3URLMode)
	}
	if c.PublicAPIURL != "" {
		if u, err := url.Parse(c.PublicAPIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
			r.fail("PUBLIC_API_URL must be an http(s) URL without a query")
		}
	}
	if c.LinkRate < 1 || c.LinkBurst < 1 {
		r.fail("S3_URL_RATE and S3_URL_BURST must be at least 1")
	}
	if c.JWT.Secret == "" && c.JWT.SecretID == "" && c.JWT.JWKSURL == "" {
		r.fail("JWT_SECRET, JWT_SECRET_ID or JWT_JWKS_URL must be set")
	}
	if c.JWT.Secret != "" && c.JWT.SecretID != "" {
		r.fail("JWT_SECRET and JWT_SECRET_ID are both set: give the secret or where to fetch it, not both")
	}
	if c.JWT.SecretStore != "secretsmanager" && c.JWT.SecretStore != "ssm" {
		r.fail("JWT_SECRET_STORE: %q is not secretsmanager or ssm", c.JWT.SecretStore)
	}
	if c.JWT.Secret != "" && len(c.JWT.Secret) < 32 {
		r.fail("JWT_SECRET must be at least 32 bytes")
	}
	if c.JWT.JWKSURL != "" {
		if u, err := url.Parse(c.JWT.JWKSURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			r.fail("JWT_JWKS_URL must be an http(s) URL")
		}
	}
	r.within("UPLOAD_URL_TTL", c.UploadTTL)
	r.within("DOWNLOAD_URL_MAX_TTL", c.DownloadMaxTTL)
	r.within("LIST_URL_WINDOW", c.ListURLWindow)
	return c, r.err()
}

// DefaultWorkers is how many uploads the local receiver has in flight at once. More than the
// cores: a worker waits on S3 for most of an upload (four round trips, the body both ways), and
// the processor lets only GOMAXPROCS of them check images at a time.
const DefaultWorkers = 8

// LoadProcessor reads the processor's configuration.
func LoadProcessor(getenv Getenv) (Processor, error) {
	r := reader{getenv: getenv}
	c := Processor{
		S3:             r.s3(),
		Addr:           r.str("PROCESSOR_ADDR", "127.0.0.1:8090"),
		Workers:        r.int("PROCESSOR_WORKERS", DefaultWorkers),
		Queue:          r.int("PROCESSOR_QUEUE", 1024),
		ReconcileGrace: r.duration("RECONCILE_GRACE", 5*time.Minute),
		UploadTTL:      r.duration("UPLOAD_URL_TTL", time.Hour),
		QuarantineDays: r.int("QUARANTINE_DAYS", 30),
	}
	r.within("UPLOAD_URL_TTL", c.UploadTTL)
	if c.QuarantineDays < 1 || c.QuarantineDays > 3650 {
		r.fail("QUARANTINE_DAYS must be 1..3650")
	}
	if c.Workers < 1 || c.Workers > 64 {
		r.fail("PROCESSOR_WORKERS must be 1..64")
	}
	if c.Queue < 1 {
		r.fail("PROCESSOR_QUEUE must be at least 1")
	}
	r.within("RECONCILE_GRACE", c.ReconcileGrace)
	return c, r.err()
}

type reader struct {
	getenv Getenv
	errs   []error
}

func (r *reader) fail(format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf(format, args...))
}

func (r *reader) err() error { return errors.Join(r.errs...) }

func (r *reader) str(name, def string) string {
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return v
	}
	return def
}

func (r *reader) bool(name string, def bool) bool {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail("%s: %q is not a boolean", name, v)
	}
	return b
}

func (r *reader) list(name string) []string {
	var out []string
	for _, v := range strings.Split(r.str(name, ""), ",") {
		if v = strings.TrimRight(strings.TrimSpace(v), "/"); v != "" {
			if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
				r.fail("%s: %q is not an origin (scheme://host[:port])", name, v)
			}
			out = append(out, v)
		}
	}
	return out
}

func (r *reader) int(name string, def int) int {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.fail("%s: %q is not an integer", name, v)
	}
	return n
}

func (r *reader) duration(name string, def time.Duration) time.Duration {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		r.fail("%s: %q is not a duration (e.g. 1h, 90s)", name, v)
	}
	return d
}

// DurationBounds are the accepted ranges of the duration settings, checked at start-up.
// template.yaml's AllowedPatterns admit only values inside them (infra/template_deploy_test.go),
// so a bad value fails the deploy, not every request.
var DurationBounds = map[string][2]time.Duration{
	// SigV4 presigned URLs last at most 7 days.
	"UPLOAD_URL_TTL":       {time.Minute, 7 * 24 * time.Hour},
	"DOWNLOAD_URL_MAX_TTL": {time.Minute, 7 * 24 * time.Hour},
	// A listed URL is signed to last two windows, which must stay within those 7 days.
	"LIST_URL_WINDOW": {time.Minute, 3 * 24 * time.Hour},
	// Longer than a day would leave a lost event's upload unprocessed for more than a day.
	"RECONCILE_GRACE": {0, 24 * time.Hour},
}

func (r *reader) within(name string, d time.Duration) {
	b := DurationBounds[name]
	if d < b[0] || d > b[1] {
		r.fail("%s: %s is outside %s..%s", name, d, b[0], b[1])
	}
}

func (r *reader) s3() S3 {
	c := S3{
		Bucket:    r.str("S3_BUCKET", "medicpx"),
		Region:    r.str("AWS_REGION", "ap-northeast-2"),
		Endpoint:  strings.TrimRight(r.str("S3_ENDPOINT", ""), "/"),
		PublicURL: strings.TrimRight(r.str("S3_PUBLIC_URL", ""), "/"),
	}
	c.PathStyle = r.bool("S3_PATH_STYLE", c.Endpoint != "")
	if c.Endpoint != "" {
		if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			r.fail("S3_ENDPOINT must be an http(s) URL")
		}
	}
	if c.PublicURL == "" {
		switch {
		case c.Endpoint != "":
			c.PublicURL = c.Endpoint + "/" + c.Bucket
		default:
			c.PublicURL = "https://" + c.Bucket + ".s3." + c.Region + ".amazonaws.com"
		}
	}
	// Bucket naming rules, so a typo fails at start-up rather than on the first request.
	if n := len(c.Bucket); n < 3 || n > 63 || strings.Trim(c.Bucket, "abcdefghijklmnopqrstuvwxyz0123456789.-") != "" {
		r.fail("S3_BUCKET: %q is not a valid bucket name", c.Bucket)
	}
	return c
}
