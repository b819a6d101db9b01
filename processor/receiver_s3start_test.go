package processor

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"medicpx/shared/keys"
)

// TestS3StartEventSweeps: versitygw's start-up test event makes the receiver sweep every staged
// upload, however young (the grace period here is an hour), for the events lost while S3 was
// down. Without it those uploads would wait for the periodic sweep (none here).
func TestS3StartEventSweeps(t *testing.T) {
	s := startStack(t, false) // no webhook: the uploads below send no events
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := NewReceiver(s.p, 1, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, ln, 0, 30*time.Second) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "the start-up sweep", func() bool { return strings.Contains(s.logs.String(), `"msg":"swept"`) })

	const uploads = 2
	for range uploads {
		s.put(t, keys.StagedKey(keys.OriginalKey("s3start", uuid.NewString(), "png")), "image/png", readImage(t, "valid/opaque.png"))
	}
	time.Sleep(time.Second)
	if got := s.list(t, keys.ThumbnailPrefix("s3start")); len(got) != 0 {
		t.Fatalf("processed before the test event: %v", got)
	}
	resp, err := http.Post("http://"+ln.Addr().String()+"/events", "application/json",
		bytes.NewReader(readEvent(t, "versitygw-test-event.json")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitFor(t, "the staged uploads to be processed after the test event", func() bool {
		return r.idle() && len(s.list(t, keys.ThumbnailPrefix("s3start"))) == 2*uploads &&
			len(s.list(t, keys.StagedPrefix("s3start"))) == 0
	})
}
