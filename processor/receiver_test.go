package processor

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/uuid"

	"medicpx/infra/testenv/logbuf"
	"medicpx/infra/testenv/versity/versitytest"
	"medicpx/shared/keys"
)

func TestReceiverHTTP(t *testing.T) {
	s := startStack(t, false)
	r := NewReceiver(s.p, 1, 4)
	t.Cleanup(func() { r.Drain(context.Background()) })
	tests := []struct {
		name, method, path string
		body               []byte
		code               int
	}{
		{"health", http.MethodGet, "/healthz", nil, http.StatusOK},
		{"versitygw's start-up test event", http.MethodPost, "/events", readEvent(t, "versitygw-test-event.json"), http.StatusOK},
		{"POST upload without a key", http.MethodPost, "/events", readEvent(t, "versitygw-post-empty-key.json"), http.StatusOK},
		{"not JSON", http.MethodPost, "/events", []byte("<xml/>"), http.StatusBadRequest},
		{"GET on the webhook", http.MethodGet, "/events", nil, http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			r.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, bytes.NewReader(tt.body)))
			if w.Code != tt.code {
				t.Errorf("status %d, want %d", w.Code, tt.code)
			}
		})
	}
}

// TestPostUploadIsSwept: versitygw's event for a presigned POST upload has no key; the receiver
// sweeps for it, so POST uploads become ready on their own too.
func TestPostUploadIsSwept(t *testing.T) {
	s := startStack(t, true)
	key := keys.OriginalKey("post", uuid.NewString(), "png")
	p, err := s3.NewPresignClient(s.env.Client).PresignPostObject(context.Background(),
		&s3.PutObjectInput{Bucket: aws.String(versitytest.Bucket), Key: aws.String(keys.StagedKey(key))})
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range p.Values {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "x.png")
	fw.Write(readImage(t, "valid/opaque.png"))
	mw.Close()
	resp, err := http.Post(p.URL, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST upload: %s %s", resp.Status, b)
	}
	k, _ := keys.Parse(key)
	want := []string{key, keys.ThumbnailKey("post", k.ID, 1280, "jpg"), keys.ThumbnailKey("post", k.ID, 320, "jpg")}
	waitFor(t, "the swept POST upload to be ready", func() bool {
		return s.recv.idle() && slices.Equal(s.list(t, keys.ScenarioPrefix("post")), want) &&
			len(s.list(t, keys.StagedPrefix("post"))) == 0
	})
}

// TestServeDrainsOnShutdown: what is queued when the signal comes is still processed.
func TestServeDrainsOnShutdown(t *testing.T) {
	s := startStack(t, false)
	var originals []string
	for range 4 {
		key := keys.StagedKey(keys.OriginalKey("drain", uuid.NewString(), "png"))
		s.put(t, key, "image/png", readImage(t, "valid/opaque.png"))
		originals = append(originals, key)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := NewReceiver(s.p, 1, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, ln, 0, 30*time.Second) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	for _, key := range originals {
		if !r.Enqueue(versitytest.Bucket, key) {
			t.Fatalf("enqueue %s refused", key)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}
	if got := s.list(t, keys.ThumbnailPrefix("drain")); len(got) != 2*len(originals) {
		t.Errorf("after shutdown %d thumbnails, want %d: queue not drained", len(got), 2*len(originals))
	}
	if r.Enqueue(versitytest.Bucket, originals[0]) {
		t.Error("a drained receiver accepted work")
	}
	if !strings.Contains(s.logs.String(), "receiver stopped") {
		t.Error("no shutdown log")
	}
}

// TestReceiverQueueFull: a full queue drops the event with a warning instead of blocking the
// webhook (versitygw would time out), and a key already waiting is not queued twice.
func TestReceiverQueueFull(t *testing.T) {
	var logs logbuf.Buffer
	p := &Processor{Log: slog.New(slog.NewTextHandler(&logs, nil)), Now: time.Now, Bucket: "b"}
	r := NewReceiver(p, 0, 1) // no workers: nothing leaves the queue
	t.Cleanup(func() { r.Drain(context.Background()) })
	a, b := keys.StagedKey(keys.OriginalKey("q", uuid.NewString(), "jpg")), keys.StagedKey(keys.OriginalKey("q", uuid.NewString(), "jpg"))
	if !r.Enqueue("b", a) {
		t.Fatal("first event refused")
	}
	if !r.Enqueue("b", a) {
		t.Fatal("a duplicate of a waiting key must be absorbed, not dropped")
	}
	if r.Enqueue("b", b) {
		t.Fatal("an event beyond the queue's capacity was accepted")
	}
	if out := logs.String(); !strings.Contains(out, "queue full, event dropped") || !strings.Contains(out, b) {
		t.Fatalf("no warning for the dropped event:\n%s", out)
	}
	if err := r.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r.Enqueue("b", b) {
		t.Fatal("accepted work after Drain")
	}
}
