package processor

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"medicpx/shared/keys"
	"medicpx/shared/rie"
)

// TestLambdaUnderRIE builds the bootstrap as deployed and runs it under the Runtime Interface
// Emulator against versitygw, with an AWS-shaped event whose keys are URL-encoded.
func TestLambdaUnderRIE(t *testing.T) {
	s := startStack(t, false)
	bootstrap, err := rie.BuildBootstrap(t.TempDir(), "./processor/cmd/medicpx-processor")
	if err != nil {
		t.Fatal(err)
	}

	// The fixture's records: a valid original, "a+b%20c.jpg" (decodes to "a b c.jpg": not an
	// original, must be left alone) and one of our own thumbnails.
	const scenario = "lambda-1"
	valid := keys.OriginalKey(scenario, "5f0c3a52-8d1e-4d43-9c1a-2f6b7e9d0a11", "jpg")
	odd := keys.ScenarioPrefix(scenario) + "a b c.jpg"
	s.put(t, valid, "image/jpeg", readImage(t, "metadata/gps-serial-orientation6.jpg"))
	s.put(t, odd, "image/jpeg", readImage(t, "hostile/html.jpg"))

	var logs lockedBuffer
	fn, err := rie.Start(bootstrap, s.env.Vars, &logs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		fn.Stop()
		if t.Failed() {
			t.Logf("rie output:\n%s", logs.String())
		}
	})
	invoke := func(fixture string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		body, err := fn.Invoke(ctx, readEvent(t, fixture))
		if err != nil || strings.Contains(string(body), "errorMessage") {
			t.Fatalf("invoke %s: %v %s", fixture, err, body)
		}
	}
	invoke("aws-s3-put-encoded-keys.json")

	k, _ := keys.Parse(valid)
	want := []string{odd, valid, keys.ThumbnailKey(scenario, k.ID, 1280, "jpg"), keys.ThumbnailKey(scenario, k.ID, 320, "jpg")}
	slices.Sort(want)
	if got := s.list(t, keys.ScenarioPrefix(scenario)); !slices.Equal(got, want) {
		t.Errorf("objects = %v\nwant %v", got, want)
	}
	if got := s.list(t, keys.QuarantineRoot); len(got) != 0 {
		t.Errorf("quarantine = %v, want none", got)
	}
	if got := s.head(t, keys.ThumbnailKey(scenario, k.ID, 320, "jpg")).Metadata[MetaSourceETag]; got != unquote(*s.head(t, valid).ETag) {
		t.Errorf("source-etag %q", got)
	}
	out := logs.String()
	for _, line := range []string{`outcome=ready`, `outcome=ignored`, `requestId=`, `key="` + odd + `"`} {
		if !strings.Contains(out, line) {
			t.Errorf("Lambda log lacks %s:\n%s", line, out)
		}
	}

	// POST and multipart uploads arrive under their own event names; in the multipart fixture
	// "100%25+off.jpg" decodes to "100% off.jpg", no original of ours, which is left untouched.
	for _, c := range []struct{ fixture, scenario, id, ext, ctype, image string }{
		{"aws-s3-post.json", "lambda-2", "7a1e3c44-2b9d-4e8f-a1c2-3d4e5f6a7b8c", "png", "image/png", "valid/alpha.png"},
		{"aws-s3-multipart.json", "lambda-3", "9c2d4e66-3f1a-4b7c-8d9e-0a1b2c3d4e5f", "jpg", "image/jpeg", "valid/orient6.jpg"},
	} {
		key := keys.OriginalKey(c.scenario, c.id, c.ext)
		s.put(t, key, c.ctype, readImage(t, c.image))
		s.put(t, keys.ScenarioPrefix(c.scenario)+"100% off.jpg", "image/jpeg", []byte("not ours"))
		invoke(c.fixture)
		want := []string{keys.ScenarioPrefix(c.scenario) + "100% off.jpg", key,
			keys.ThumbnailKey(c.scenario, c.id, 1280, c.ext), keys.ThumbnailKey(c.scenario, c.id, 320, c.ext)}
		slices.Sort(want)
		if got := s.list(t, keys.ScenarioPrefix(c.scenario)); !slices.Equal(got, want) {
			t.Errorf("%s: objects = %v\nwant %v", c.fixture, got, want)
		}
	}

	// The schedule's event goes to the same function: nothing is pending, so nothing changes.
	invoke("aws-scheduled-event.json")
	if got := s.list(t, keys.ScenarioPrefix(scenario)); !slices.Equal(got, want) {
		t.Errorf("after the scheduled sweep: %v", got)
	}
	if !strings.Contains(logs.String(), `message=reconciled`) {
		t.Errorf("no reconcile summary in the log")
	}
}
