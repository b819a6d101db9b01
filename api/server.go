// Package api is the patient-image HTTP API: it checks who is asking, hands out presigned S3
// URLs and lists what S3 holds. S3 is its only store.
package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"medicpx/shared/config"
	"medicpx/shared/keys"
	"medicpx/shared/scenarioindex"
)

// objectStore is the part of S3 the API uses.
type objectStore interface {
	s3.ListObjectsV2APIClient
	HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObject(context.Context, *s3.DeleteObjectInput, ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	CopyObject(context.Context, *s3.CopyObjectInput, ...func(*s3.Options)) (*s3.CopyObjectOutput, error)
}

// presigner signs URLs for browsers; *s3.PresignClient is the real one.
type presigner interface {
	PresignGetObject(context.Context, *s3.GetObjectInput, ...func(*s3.PresignOptions)) (*v4.PresignedHTTPRequest, error)
	PresignPutObject(context.Context, *s3.PutObjectInput, ...func(*s3.PresignOptions)) (*v4.PresignedHTTPRequest, error)
	PresignPostObject(context.Context, *s3.PutObjectInput, ...func(*s3.PresignPostOptions)) (*s3.PresignedPostRequest, error)
}

var (
	_ objectStore = (*s3.Client)(nil)
	_ presigner   = (*s3.PresignClient)(nil)
)

// maxBodyBytes bounds every JSON request body; the largest legitimate one is a few hundred bytes.
const maxBodyBytes = 16 << 10

//go:embed openapi.yaml
var openAPISpec []byte

// Server is the API. Build it with New; it is an http.Handler.
type Server struct {
	cfg     config.API
	store   objectStore
	presign presigner
	auth    *Verifier
	log     *slog.Logger
	router  *mux.Router
	urls    urlCache
	limiter *linkLimiter            // s3_url requests per client address
	stamps  stampClock              // upload order (recordUpload)
	index   scenarioindex.Refresher // refreshes after changes made at once (a bulk delete) share a scan
	// creds are the credentials the presigner signs with (the S3 client's provider): listed URLs
	// are signed no earlier than these were first seen (see windowURL).
	creds aws.CredentialsProvider

	// Now and NewID are injected so tests control time and keys.
	Now   func() time.Time
	NewID func() string
}

// New wires a Server. More routes (the web pages) can be mounted on Router().
func New(cfg config.API, client *s3.Client, auth *Verifier, log *slog.Logger) *Server {
	s := &Server{
		cfg:     cfg,
		store:   client,
		presign: s3.NewPresignClient(client),
		creds:   client.Options().Credentials,
		auth:    auth,
		log:     log,
		Now:     time.Now,
		NewID:   func() string { return uuid.NewString() },
		limiter: newLinkLimiter(cfg.LinkRate, cfg.LinkBurst),
	}
	s.routes()
	return s
}

// Router exposes the router so the binary can mount more routes (e.g. web pages).
func (s *Server) Router() *mux.Router { return s.router }

// ServeHTTP routes the request and logs one line for it, whatever route (API or page) served it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.Now()
	sw := &statusWriter{ResponseWriter: w}
	var note requestNote
	// The line logs the path only: never the query string, nor a redirect's signed Location.
	s.router.ServeHTTP(sw, s.withLinkBase(r.WithContext(context.WithValue(r.Context(), requestNoteKey{}, &note))))
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("sub", note.subject),
	}
	level := slog.LevelInfo
	if note.err != nil {
		attrs = append(attrs, slog.String("error", note.err.Error()))
		if note.err.Code == EInternal {
			level = slog.LevelError
		}
	}
	attrs = append(attrs, slog.Int("status", sw.status), slog.Int64("ms", s.Now().Sub(start).Milliseconds()))
	s.log.LogAttrs(r.Context(), level, "request", attrs...)
}

// requestNote carries what a handler learned (who asked, what went wrong) to the request log line.
type requestNote struct {
	subject string
	err     *Error
}

type requestNoteKey struct{}

// access is what a route requires of the caller.
type access int

const (
	anyone access = iota // no token
	reader               // any valid token
	staff                // admin or professor
)

// handlerFunc is a handler that returns its error; serve turns it into a response and a log line.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) routes() {
	r := mux.NewRouter()
	// Keep ".." and "//" as sent: a cleaned-and-redirected path would hide a bad scenario id
	// behind a 301 instead of answering with a clear 400.
	r.SkipClean(true)
	// Match on the path as sent, so an encoded "/" (%2F) stays inside one segment and is refused
	// by the id checks instead of silently becoming a path separator.
	r.UseEncodedPath()
	r.NotFoundHandler = s.serve(anyone, func(http.ResponseWriter, *http.Request) error {
		return newError(ENotFound, msgRouteNotFound)
	})
	r.MethodNotAllowedHandler = s.serve(anyone, func(http.ResponseWriter, *http.Request) error {
		return newError(EMethod, msgMethod)
	})

	r.Handle("/healthz", s.serve(anyone, s.healthz)).Methods(http.MethodGet)
	r.Handle("/openapi.yaml", s.serve(anyone, s.openAPI)).Methods(http.MethodGet)

	const p = "/patient-images"
	r.Handle(p+"/scenarios", s.serve(staff, s.listScenarios)).Methods(http.MethodGet)
	r.Handle(p+"/scenarios/{scenario_id}/images", s.serve(reader, s.listImages)).Methods(http.MethodGet)
	r.Handle(p+"/scenarios/{scenario_id}/images/{filename}", s.serve(reader, s.imageStatus)).Methods(http.MethodGet)
	r.Handle(p+"/scenarios/{scenario_id}/images/{filename}", s.serve(staff, s.patchImage)).Methods(http.MethodPatch)
	r.Handle(p+"/scenarios/{scenario_id}/order", s.serveWith(staff, maxOrderBody, s.setOrder)).Methods(http.MethodPut)
	r.Handle(p+"/scenarios/{scenario_id}/trash", s.serve(staff, s.listTrash)).Methods(http.MethodGet)
	r.Handle(p+"/scenarios/{scenario_id}/trash", s.serve(staff, s.purgeFromTrash)).Methods(http.MethodDelete)
	r.Handle(p+"/scenarios/{scenario_id}/trash/restore", s.serve(staff, s.restoreFromTrash)).Methods(http.MethodPost)
	r.Handle(p+"/scenarios/{scenario_id}/rejections", s.serve(staff, s.rejections)).Methods(http.MethodGet)
	r.Handle(p+"/scenarios/{scenario_id}/image", s.serve(reader, s.representative)).Methods(http.MethodGet)
	r.Handle(p+"/scenarios/{scenario_id}/image", s.serve(staff, s.pin)).Methods(http.MethodPut)
	r.Handle(p+"/upload-url/{scenario_id}", s.serve(staff, s.uploadURL)).Methods(http.MethodPost)
	r.Handle(p+"/download-url/{scenario_id}", s.serve(reader, s.downloadURL)).Methods(http.MethodPost)
	r.Handle(p+"/me", s.serve(reader, s.me)).Methods(http.MethodGet)
	r.Handle(p+"/{scenario_id}", s.serve(staff, s.deleteImage)).Methods(http.MethodDelete)
	// s3_url: the key path itself, token-free (see imagelink.go). keys.Parse decides what it is.
	r.Handle("/"+keys.Root+"{dir}/{filename}", s.serve(anyone, s.imageLink)).Methods(http.MethodGet, http.MethodHead)
	s.router = r
}

// statusWriter remembers the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// serve authenticates and authorises, runs h, and writes its error as {"detail": …}. The cause
// goes to the request's log line (ServeHTTP), never to the client.
func (s *Server) serve(acc access, h handlerFunc) http.Handler {
	return s.serveWith(acc, maxBodyBytes, h)
}

// serveWith is serve for a route whose body may be larger than maxBodyBytes.
func (s *Server) serveWith(acc access, bodyLimit int64, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p Principal
		err := refuseLargeBody(r, bodyLimit)
		if err == nil {
			p, err = s.authorize(r, acc)
		}
		if err == nil {
			err = h(w, r.WithContext(withPrincipal(r.Context(), p)))
		}
		note, _ := r.Context().Value(requestNoteKey{}).(*requestNote)
		if note == nil {
			note = &requestNote{} // served outside ServeHTTP (tests of a single handler)
		}
		note.subject = p.Subject
		if err != nil {
			e := asError(err)
			if e.Code == EUnauthenticated {
				w.Header().Set("WWW-Authenticate", `Bearer realm="medicpx", error="invalid_token"`)
			}
			if errors.Is(err, errBodyTooLarge) {
				drainBody(w, r)
			}
			writeJSON(w, codeStatus[e.Code], map[string]string{"detail": e.Detail})
			note.err = e
		}
	})
}

// authorize checks the bearer token when the route needs one, and the role when it needs staff.
func (s *Server) authorize(r *http.Request, acc access) (Principal, error) {
	if acc == anyone {
		return Principal{}, nil
	}
	tok, err := bearer(r)
	if err != nil {
		return Principal{}, err
	}
	p, err := s.auth.Verify(tok)
	if err != nil {
		return Principal{}, err
	}
	if acc == staff && !p.IsStaff() {
		return p, newError(EForbidden, msgForbidden)
	}
	return p, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/yaml")
	_, err := w.Write(openAPISpec)
	return err
}
