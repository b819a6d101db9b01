package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"medicpx/infra/testenv/versity/versitytest"
	"medicpx/shared/catalog"
	"medicpx/shared/config"
	"medicpx/shared/keys"
	"medicpx/shared/s3client"
)

const testSecret = "test-secret-that-is-at-least-32-bytes-long"

// stack is the API on a real versitygw, served over real HTTP.
type stack struct {
	t      testing.TB
	env    *versitytest.Env
	api    *Server
	url    string
	calls  atomic.Int64 // S3 requests the API made
	client *http.Client // validates every response against openapi.yaml

	mu  sync.Mutex
	now time.Time
}

type stackOption func(*config.API)

func newStack(t testing.TB, opts ...stackOption) *stack {
	t.Helper()
	return newStackOn(t, versitytest.Options{}, opts...)
}

// newStackOn is newStack on a versitygw started with o (a latency, a record of its requests).
func newStackOn(t testing.TB, o versitytest.Options, opts ...stackOption) *stack {
	t.Helper()
	st := &stack{t: t, env: versitytest.StartWith(t, o)}
	cfg := config.API{
		S3:             st.env.S3,
		JWT:            config.JWT{Secret: testSecret},
		UploadTTL:      time.Hour,
		DownloadMaxTTL: 7 * 24 * time.Hour,
		ListURLWindow:  time.Hour,
	}
	for _, o := range opts {
		o(&cfg)
	}
	counted, err := s3client.New(context.Background(), cfg.S3, func(o *s3.Options) {
		o.HTTPClient = countingClient{next: http.DefaultClient, n: &st.calls}
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(context.Background(), cfg.JWT)
	if err != nil {
		t.Fatal(err)
	}
	st.api = New(cfg, counted, v, slog.New(slog.NewTextHandler(io.Discard, nil)))
	st.api.Now = st.clock
	hs := httptest.NewServer(st.api)
	t.Cleanup(hs.Close)
	st.url = hs.URL
	st.client = &http.Client{Transport: specChecker(t)}
	return st
}

func (st *stack) clock() time.Time {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.now.IsZero() {
		return time.Now()
	}
	return st.now
}

func (st *stack) setNow(t time.Time) {
	st.mu.Lock()
	st.now = t
	st.mu.Unlock()
}

type countingClient struct {
	next *http.Client
	n    *atomic.Int64
}

func (c countingClient) Do(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.Do(r)
}

func (st *stack) token(role string) string {
	st.t.Helper()
	tok, err := SignHS256([]byte(testSecret), "user-"+role, role, time.Hour, time.Now())
	if err != nil {
		st.t.Fatal(err)
	}
	return tok
}

// response is a decoded API answer.
type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    []byte
}

func (r response) str(field string) string {
	s, _ := r.Body[field].(string)
	return s
}

// call sends a request; body is JSON-encoded unless it is a string or []byte (sent as is).
func (st *stack) call(method, path, token string, body any) response {
	st.t.Helper()
	return st.callAt(st.url, method, path, token, body)
}

// callAt is call against another server on the stack's bucket (see otherServer).
func (st *stack) callAt(base, method, path, token string, body any) response {
	st.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		st.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := st.client.Do(req)
	if err != nil {
		st.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			st.t.Fatalf("%s %s: invalid JSON %q", method, path, raw)
		}
	}
	return out
}

// put stores an object directly in S3 (what an uploader or the processor would have written).
func (st *stack) put(key, contentType string, body []byte, meta map[string]string) {
	st.t.Helper()
	_, err := st.env.Client.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(versitytest.Bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentType: aws.String(contentType), Metadata: meta,
	})
	if err != nil {
		st.t.Fatalf("put %s: %v", key, err)
	}
}

// original stores an original and, when ready, both thumbnails, as the processor leaves them.
func (st *stack) original(scenario, id string, ready bool) string {
	st.t.Helper()
	key := keys.OriginalKey(scenario, id, "jpg")
	st.put(key, "image/jpeg", []byte("original "+id), nil)
	if ready {
		st.markReady(key)
	}
	return key
}

func (st *stack) markReady(key string) {
	st.t.Helper()
	k, err := keys.Parse(key)
	if err != nil {
		st.t.Fatal(err)
	}
	for _, size := range []int{320, 1280} {
		st.put(keys.ThumbnailKey(k.Scenario, k.ID, size, "jpg"), "image/jpeg", []byte("thumb"), nil)
	}
	st.seenByProcessor(key)
}

// seenByProcessor does what the processor does first with every upload: the name its upload URL
// noted moves into the scenario's catalog.
func (st *stack) seenByProcessor(key string) {
	st.t.Helper()
	k, err := keys.Parse(key)
	if err != nil {
		st.t.Fatal(err)
	}
	ctx := context.Background()
	n, ok, err := catalog.ReadNote(ctx, st.env.Client, versitytest.Bucket, k.Scenario, k.ID)
	if err != nil {
		st.t.Fatal(err)
	}
	if ok {
		if _, err := catalog.Update(ctx, st.env.Client, versitytest.Bucket, k.Scenario, func(c *catalog.Catalog) error {
			c.AddNote(k.ID, n)
			return nil
		}); err != nil {
			st.t.Fatal(err)
		}
		if _, err := st.env.Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(versitytest.Bucket), Key: aws.String(keys.NoteKey(k.Scenario, k.ID))}); err != nil {
			st.t.Fatal(err)
		}
	}
}

// get reads an object's bytes.
func (st *stack) get(key string) []byte {
	st.t.Helper()
	out, err := st.env.Client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(versitytest.Bucket), Key: aws.String(key)})
	if err != nil {
		st.t.Fatal(err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		st.t.Fatal(err)
	}
	return b
}

func (st *stack) exists(key string) bool {
	st.t.Helper()
	_, err := st.env.Client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(versitytest.Bucket), Key: aws.String(key)})
	if err != nil && !s3client.IsNotFound(err) {
		st.t.Fatal(err)
	}
	return err == nil
}

// specChecker is an http.RoundTripper that checks every API response against openapi.yaml: the
// document is part of the contract, so a response that drifts from it fails the test that made it.
func specChecker(t testing.TB) http.RoundTripper {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openAPISpec)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	doc.Servers = nil // match any host
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		route, params, ferr := router.FindRoute(req)
		if ferr != nil {
			if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed && resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s %s answered %d but is not in openapi.yaml: %v", req.Method, req.URL.Path, resp.StatusCode, ferr)
			}
			return resp, nil
		}
		checkResponse(t, req, route, params, resp, body)
		return resp, nil
	})
}

func checkResponse(t testing.TB, req *http.Request, route *routers.Route, params map[string]string, resp *http.Response, body []byte) {
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	err := openapi3filter.ValidateResponse(req.Context(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(body)),
	})
	if err != nil {
		t.Errorf("%s %s → %d does not match openapi.yaml: %v\n%s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
