package processor

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"medicpx/infra/testenv/heicsamples"
	"medicpx/infra/testenv/logbuf"
	"medicpx/infra/testenv/rie"
	"medicpx/shared/keys"
)

// startLambda builds the bootstrap as deployed and starts it under the Runtime Interface Emulator
// with s's configuration. invoke sends a fixture under testdata/events and fails the test unless
// the invocation succeeds; logs is the function's output, shown if the test fails.
func startLambda(t *testing.T, s *stack) (invoke func(fixture string), logs *logbuf.Buffer) {
	t.Helper()
	bootstrap, err := rie.BuildBootstrap(t.TempDir(), "./processor/cmd/medicpx-processor")
	if err != nil {
		t.Fatal(err)
	}
	logs = &logbuf.Buffer{}
	// GOMEMLIMIT as template.yaml sets it: the runtime refuses to start on a value it cannot parse.
	fn, err := rie.Start(bootstrap, append(slices.Clone(s.env.Vars), "GOMEMLIMIT=800MiB"), logs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		fn.Stop()
		if t.Failed() {
			t.Logf("rie output:\n%s", logs.String())
		}
	})
	invoke = func(fixture string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		body, err := fn.Invoke(ctx, readEvent(t, fixture))
		if err != nil || strings.Contains(string(body), "errorMessage") {
			t.Fatalf("invoke %s: %v %s", fixture, err, body)
		}
	}
	return invoke, logs
}

// TestLambdaUnderRIE builds the bootstrap as deployed and runs it under the Runtime Interface
// Emulator against versitygw, with an AWS-shaped event whose keys are URL-encoded.
func TestLambdaUnderRIE(t *testing.T) {
	s := startStack(t, false)

	// The fixture's records: a valid staged upload, "a+b%20c.jpg" under incoming/ (decodes to
	// "a b c.jpg": not an upload of ours, must be left alone) and one of our own thumbnails (the
	// notification's prefix filter keeps those away in AWS; the processor ignores them anyway).
	const scenario = "lambda-1"
	valid := keys.OriginalKey(scenario, "5f0c3a52-8d1e-4d43-9c1a-2f6b7e9d0a11", "jpg")
	odd := keys.StagedPrefix(scenario) + "a b c.jpg"
	s.put(t, keys.StagedKey(valid), "image/jpeg", readImage(t, "metadata/gps-serial-orientation6.jpg"))
	s.put(t, odd, "image/jpeg", readImage(t, "hostile/html.jpg"))

	invoke, logs := startLambda(t, s)
	invoke("aws-s3-put-encoded-keys.json")

	k, _ := keys.Parse(valid)
	want := []string{valid, keys.ThumbnailKey(scenario, k.ID, 1280, "jpg"), keys.ThumbnailKey(scenario, k.ID, 320, "jpg")}
	slices.Sort(want)
	if got := s.list(t, keys.ScenarioPrefix(scenario)); !slices.Equal(got, want) {
		t.Errorf("objects = %v\nwant %v", got, want)
	}
	if got := s.list(t, keys.StagedPrefix(scenario)); !slices.Equal(got, []string{odd}) {
		t.Errorf("staged = %v, want only the stray %q", got, odd)
	}
	if got := s.list(t, keys.QuarantineRoot); len(got) != 0 {
		t.Errorf("quarantine = %v, want none", got)
	}
	if got := s.head(t, keys.ThumbnailKey(scenario, k.ID, 320, "jpg")).Metadata[keys.MetaSourceETag]; got == "" || got != s.head(t, valid).Metadata[keys.MetaSourceETag] {
		t.Errorf("source-etag %q", got)
	}
	out := logs.String()
	for _, line := range []string{`outcome=ready`, `outcome=ignored`, `requestId=`, `key="` + odd + `"`} {
		if !strings.Contains(out, line) {
			t.Errorf("Lambda log lacks %s:\n%s", line, out)
		}
	}

	// POST and multipart uploads arrive under their own event names; in the multipart fixture
	// "100%25+off.jpg" decodes to "100% off.jpg", no upload of ours, which is left untouched.
	for _, c := range []struct{ fixture, scenario, id, ext, ctype, image string }{
		{"aws-s3-post.json", "lambda-2", "7a1e3c44-2b9d-4e8f-a1c2-3d4e5f6a7b8c", "png", "image/png", "valid/alpha.png"},
		{"aws-s3-multipart.json", "lambda-3", "9c2d4e66-3f1a-4b7c-8d9e-0a1b2c3d4e5f", "jpg", "image/jpeg", "valid/orient6.jpg"},
	} {
		key := keys.OriginalKey(c.scenario, c.id, c.ext)
		stray := keys.StagedPrefix(c.scenario) + "100% off.jpg"
		s.put(t, keys.StagedKey(key), c.ctype, readImage(t, c.image))
		s.put(t, stray, "image/jpeg", []byte("not ours"))
		invoke(c.fixture)
		want := []string{key, keys.ThumbnailKey(c.scenario, c.id, 1280, c.ext), keys.ThumbnailKey(c.scenario, c.id, 320, c.ext)}
		slices.Sort(want)
		if got := s.list(t, keys.ScenarioPrefix(c.scenario)); !slices.Equal(got, want) {
			t.Errorf("%s: objects = %v\nwant %v", c.fixture, got, want)
		}
		if got := s.list(t, keys.StagedPrefix(c.scenario)); !slices.Equal(got, []string{stray}) {
			t.Errorf("%s: staged = %v, want only %q", c.fixture, got, stray)
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

// TestLambdaBadKeySkipped: one record of an AWS-shaped event whose key does not URL-decode ("%+o"
// is no escape) is logged and skipped; the event's other records are processed and the
// invocation succeeds. aws-lambda-go's events.S3Event fails the whole event on such a key.
func TestLambdaBadKeySkipped(t *testing.T) {
	s := startStack(t, false)
	const scenario = "lambda-4"
	good := keys.OriginalKey(scenario, "3b8f2a10-6c4d-4e2f-9a7b-1c2d3e4f5a61", "jpg")
	hostile := keys.OriginalKey(scenario, "8e4c1d77-2a3b-4c5d-8e9f-0a1b2c3d4e72", "jpg")
	s.put(t, keys.StagedKey(good), "image/jpeg", readImage(t, "valid/orient6.jpg"))
	s.put(t, keys.StagedKey(hostile), "image/jpeg", readImage(t, "hostile/html.jpg"))

	invoke, logs := startLambda(t, s)
	invoke("aws-s3-put-bad-key.json")

	k, _ := keys.Parse(good)
	want := []string{good, keys.ThumbnailKey(scenario, k.ID, 1280, "jpg"), keys.ThumbnailKey(scenario, k.ID, 320, "jpg")}
	slices.Sort(want)
	if got := s.list(t, keys.ScenarioPrefix(scenario)); !slices.Equal(got, want) {
		t.Errorf("objects = %v\nwant %v", got, want)
	}
	if got := s.list(t, keys.QuarantineKey(keys.ScenarioPrefix(scenario))); !slices.Equal(got, []string{keys.QuarantineKey(hostile)}) {
		t.Errorf("quarantine = %v, want %v", got, []string{keys.QuarantineKey(hostile)})
	}
	if got := s.list(t, keys.StagedPrefix(scenario)); len(got) != 0 {
		t.Errorf("staged = %v, want none", got)
	}
	out := logs.String()
	for _, line := range []string{`outcome=ready`, `outcome=rejected`, `scenario_lambda-4/100%+off.jpg`, `invalid URL escape`} {
		if !strings.Contains(out, line) {
			t.Errorf("Lambda log lacks %s:\n%s", line, out)
		}
	}
}

// TestLambdaHEIC runs the deployed bootstrap (static, no cgo, the WebAssembly decoders inside)
// under the Runtime Interface Emulator on an AWS-shaped event for a staged .heic (the Nikon-tagged
// sample, with GPS and a serial) and a staged .avif: each becomes a stripped {uuid}.jpg with its
// two thumbnails, and staging is emptied.
func TestLambdaHEIC(t *testing.T) {
	dir := heicsamples.Dir(t)
	s := startStack(t, false)
	uploads := []struct {
		scenario, id string
		f            heicsamples.File
	}{
		{"lambda-heic", "3b9e2f10-6c4d-4e8a-9f1b-7a2c5d8e0f34", heicsamples.Files[2]},
		{"lambda-avif", "8d4c1a27-5e3f-4b9d-a0c6-2e7f9b1d3c58", heicsamples.Files[3]},
	}
	for _, u := range uploads {
		s.put(t, keys.StagedKey(keys.OriginalKey(u.scenario, u.id, u.f.Ext)), "image/"+u.f.Ext, heicsamples.Read(t, dir, u.f))
	}
	invoke, logs := startLambda(t, s)
	invoke("aws-s3-put-heic.json")
	for _, u := range uploads {
		final := keys.OriginalKey(u.scenario, u.id, "jpg")
		want := []string{final, keys.ThumbnailKey(u.scenario, u.id, 1280, "jpg"), keys.ThumbnailKey(u.scenario, u.id, 320, "jpg")}
		slices.Sort(want)
		if got := s.list(t, keys.ScenarioPrefix(u.scenario)); !slices.Equal(got, want) {
			t.Errorf("%s: objects = %v\nwant %v", u.f.Name, got, want)
		}
		if got := s.list(t, keys.StagedPrefix(u.scenario)); len(got) != 0 {
			t.Errorf("%s: staged = %v", u.f.Name, got)
		}
		heicsamples.CheckStripped(t, s.get(t, final), false)
	}
	if !strings.Contains(logs.String(), `removed=heic_converted`) {
		t.Errorf("Lambda log lacks removed=heic_converted:\n%s", logs.String())
	}
}
