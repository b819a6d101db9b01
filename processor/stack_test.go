package processor

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"medicpx/infra/testenv/logbuf"
	"medicpx/infra/testenv/versity/versitytest"
	"medicpx/shared/imagepolicy"
	"medicpx/shared/keys"
	"medicpx/shared/s3client"
	"medicpx/shared/scenarioindex"
)

// stack is a real versitygw whose events go to a real Receiver, and a Processor whose S3 client
// records every request it makes.
type stack struct {
	env   *versitytest.Env
	p     *Processor
	recv  *Receiver // nil without a webhook
	calls *callLog
	logs  *logbuf.Buffer
	hook  string
}

// startStack starts the receiver's HTTP endpoint first (versitygw sends a test event at start
// and exits if nobody answers), then versitygw, then wires the processor to it.
func startStack(t *testing.T, withReceiver bool) *stack {
	t.Helper()
	return startStackOn(t, withReceiver, versitytest.Options{})
}

// startStackOn is startStack on a versitygw started with o (a latency, a record of its requests).
func startStackOn(t *testing.T, withReceiver bool, o versitytest.Options) *stack {
	t.Helper()
	s := &stack{calls: &callLog{}, logs: &logbuf.Buffer{}}
	var handler atomic.Pointer[Receiver]
	webhook := ""
	if withReceiver {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if recv := handler.Load(); recv != nil {
				recv.ServeHTTP(w, r)
				return
			}
			// Only versitygw's start-up test event arrives before the receiver is wired.
			io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusOK)
		}))
		t.Cleanup(srv.Close)
		webhook = srv.URL + "/events"
		s.hook = webhook
	}
	o.Webhook = webhook
	s.env = versitytest.StartWith(t, o)
	client, err := s3client.New(context.Background(), s.env.S3, func(o *s3.Options) {
		o.HTTPClient = &http.Client{Transport: s.calls.wrap(http.DefaultTransport)}
	})
	if err != nil {
		t.Fatal(err)
	}
	var out io.Writer = s.logs
	if testing.Verbose() {
		out = io.MultiWriter(s.logs, os.Stderr)
	}
	s.p = &Processor{S3: client, Log: slog.New(slog.NewJSONHandler(out, nil)), Now: time.Now,
		Bucket: versitytest.Bucket, ReconcileGrace: time.Hour, Index: &scenarioindex.Refresher{}}
	if withReceiver {
		s.recv = NewReceiver(s.p, 2, 64)
		handler.Store(s.recv)
		t.Cleanup(func() { s.recv.Drain(context.Background()) })
	}
	return s
}

// idle reports whether the receiver has nothing queued or running.
func (r *Receiver) idle() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.states) == 0 && len(r.queue) == 0
}

// waitFor polls cond until it has held on three polls in a row (events arrive asynchronously, so
// one idle moment proves little), or fails after a bounded time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitForWithin(t, 30*time.Second, what, cond)
}

// waitForWithin is waitFor with its own bound, for work slower than a JPEG's (a HEIC conversion
// takes seconds of CPU, and the machine running the tests may be busy).
func waitForWithin(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	held := 0
	for held < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		if cond() {
			held++
		} else {
			held = 0
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// presignedPut uploads the way a browser does with the URL the API hands out: a presigned PUT
// that signs Content-Type and Content-Length.
func (s *stack) presignedPut(t *testing.T, key string, data []byte) {
	t.Helper()
	ctx := context.Background()
	ext := key[strings.LastIndexByte(key, '.')+1:]
	typ, _ := imagepolicy.ByExt(ext)
	req, err := s3.NewPresignClient(s.env.Client).PresignPutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(versitytest.Bucket), Key: &key,
		ContentType: aws.String(typ.MIME), ContentLength: aws.Int64(int64(len(data))),
	}, s3.WithPresignExpires(15*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var body io.Reader = http.NoBody
	if len(data) > 0 {
		body = bytes.NewReader(data)
	}
	hr, err := http.NewRequest(req.Method, req.URL, body)
	if err != nil {
		t.Fatal(err)
	}
	for name, vs := range req.SignedHeader {
		for _, v := range vs {
			hr.Header.Add(name, v)
		}
	}
	hr.ContentLength = int64(len(data))
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("presigned PUT %s: %s %s", key, resp.Status, b)
	}
}

// put writes an object directly, bypassing the API's limits.
func (s *stack) put(t *testing.T, key, contentType string, data []byte) {
	t.Helper()
	_, err := s.env.Client.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(versitytest.Bucket), Key: &key, Body: bytes.NewReader(data),
		ContentType: &contentType, ContentLength: aws.Int64(int64(len(data))),
	})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// list returns every key under prefix, sorted.
// outputs lists what the processor leaves under a scenario: originals and thumbnails, not the
// API's own _meta/ (the catalog the upload URL writes the picked name into).
func (s *stack) outputs(t *testing.T, scenario string) []string {
	t.Helper()
	return slices.DeleteFunc(s.list(t, keys.ScenarioPrefix(scenario)), func(key string) bool {
		k, err := keys.Parse(key)
		return err == nil && k.Kind == keys.Meta
	})
}

func (s *stack) list(t *testing.T, prefix string) []string {
	t.Helper()
	var out []string
	pages := s3.NewListObjectsV2Paginator(s.env.Client, &s3.ListObjectsV2Input{Bucket: aws.String(versitytest.Bucket), Prefix: &prefix})
	for pages.HasMorePages() {
		page, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			out = append(out, *o.Key)
		}
	}
	slices.Sort(out)
	return out
}

func (s *stack) head(t *testing.T, key string) *s3.HeadObjectOutput {
	t.Helper()
	h, err := s.env.Client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(versitytest.Bucket), Key: &key})
	if err != nil {
		t.Fatalf("head %s: %v", key, err)
	}
	return h
}

func (s *stack) get(t *testing.T, key string) []byte {
	t.Helper()
	out, err := s.env.Client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(versitytest.Bucket), Key: &key})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// postEvent sends a versitygw-shaped event for key to the receiver, as versitygw would.
func (s *stack) postEvent(t *testing.T, eventName, key string) {
	t.Helper()
	body := fmt.Sprintf(`{"Records":[{"eventVersion":"2.2","eventSource":"aws:s3","awsRegion":"us-east-1",`+
		`"eventTime":"2026-11-26T01:18:24Z","eventName":%q,"s3":{"s3SchemaVersion":"1.0",`+
		`"bucket":{"name":%q},"object":{"key":%q,"size":1,"eTag":"\"x\"","sequencer":"9"}},`+
		`"glacierEventData":{"restoreEventData":{"lifecycleRestorationExpiryTime":"","lifecycleRestoreStorageClass":""}}}]}`,
		eventName, versitytest.Bucket, key)
	resp, err := http.Post(s.hook, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("receiver answered %s", resp.Status)
	}
}

// call is one HTTP request the processor made to S3, with when it was sent and answered.
type call struct {
	Method, Key    string
	Prefix         string // a listing's prefix
	Ranged         bool
	Sent, Answered time.Time
	BodyRead       int64 // bytes of the answer's body the processor (or, for an error, the SDK) read
	Status         int
}

type callLog struct {
	mu    sync.Mutex
	calls []call
}

func (c *callLog) wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		// Path-style: /bucket/key.
		key := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/"+versitytest.Bucket), "/")
		c.mu.Lock()
		i := len(c.calls)
		c.calls = append(c.calls, call{Method: r.Method, Key: key, Prefix: r.URL.Query().Get("prefix"), Ranged: r.Header.Get("Range") != "", Sent: time.Now()})
		c.mu.Unlock()
		resp, err := next.RoundTrip(r)
		c.mu.Lock()
		c.calls[i].Answered = time.Now()
		if resp != nil {
			c.calls[i].Status = resp.StatusCode
		}
		c.mu.Unlock()
		if resp != nil {
			resp.Body = &countedBody{ReadCloser: resp.Body, log: c, i: i}
		}
		return resp, err
	})
}

// countedBody counts what is read of an answer's body into its call.
type countedBody struct {
	io.ReadCloser
	log *callLog
	i   int
}

func (b *countedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.log.mu.Lock()
	b.log.calls[b.i].BodyRead += int64(n)
	b.log.mu.Unlock()
	return n, err
}

// overlaps reports whether a method call on key was in flight at some moment between from and to.
func (c *callLog) overlaps(method, key string, from, to time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.ContainsFunc(c.calls, func(x call) bool {
		return x.Method == method && x.Key == key && x.Sent.Before(to) && from.Before(x.Answered)
	})
}

// since returns the calls made after the first n.
func (c *callLog) since(n int) []call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.calls[n:])
}

func (c *callLog) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.calls)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// readImage reads a fixture under testdata/images.
func readImage(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "images", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
