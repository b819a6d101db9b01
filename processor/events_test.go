package processor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func readEvent(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// The versitygw fixtures were captured from versitygw v1.8.0 posting to a test server.
func TestNormalizeVersity(t *testing.T) {
	type rec struct{ name, bucket, key, decoded, etag string }
	tests := []struct {
		file    string
		want    []rec
		keyless int
	}{
		{file: "versitygw-test-event.json"},
		{file: "versitygw-put.json", want: []rec{{"ObjectCreated:Put", "bkt",
			"patient_images/scenario_1/0b1e2c3d-0000-4000-8000-000000000001.jpg",
			"patient_images/scenario_1/0b1e2c3d-0000-4000-8000-000000000001.jpg", "5d41402abc4b2a76b9719d911017c592"}}},
		{file: "versitygw-put-special-key.json", want: []rec{{"ObjectCreated:Put", "bkt",
			"patient_images/scenario_1/a%2Bb+c%25%C3%A9.jpg", "patient_images/scenario_1/a+b c%é.jpg",
			"5d41402abc4b2a76b9719d911017c592"}}},
		{file: "versitygw-copy-quarantine.json", want: []rec{{"ObjectCreated:Copy", "bkt",
			"quarantine/patient_images/scenario_1/0b1e2c3d-0000-4000-8000-000000000001.jpg",
			"quarantine/patient_images/scenario_1/0b1e2c3d-0000-4000-8000-000000000001.jpg", "5d41402abc4b2a76b9719d911017c592"}}},
		{file: "versitygw-delete.json", want: []rec{{"ObjectRemoved:Delete", "bkt",
			"patient_images/scenario_1/0b1e2c3d-0000-4000-8000-000000000001.jpg",
			"patient_images/scenario_1/0b1e2c3d-0000-4000-8000-000000000001.jpg", ""}}},
		{file: "versitygw-multipart.json", want: []rec{{"ObjectCreated:CompleteMultipartUpload", "bkt",
			"patient_images/scenario_1/0b1e2c3d-0000-4000-8000-000000000003.jpg",
			"patient_images/scenario_1/0b1e2c3d-0000-4000-8000-000000000003.jpg", "8d355a2cf80658161c294a33878f9085-1"}}},
		{file: "versitygw-post-empty-key.json", keyless: 1},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ev, keyless, err := NormalizeVersity(readEvent(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if keyless != tt.keyless || len(ev.Records) != len(tt.want) {
				t.Fatalf("%d records, %d keyless; want %d, %d", len(ev.Records), keyless, len(tt.want), tt.keyless)
			}
			for i, w := range tt.want {
				r := ev.Records[i]
				got := rec{r.EventName, r.S3.Bucket.Name, r.S3.Object.Key, r.S3.Object.URLDecodedKey, r.S3.Object.ETag}
				if got != w {
					t.Errorf("record %d = %+v, want %+v", i, got, w)
				}
				// The AWS shape round-trips: what AWS's own decoder makes of it is the real key.
				raw, _ := json.Marshal(ev)
				var back events.S3Event
				if err := json.Unmarshal(raw, &back); err != nil {
					t.Fatalf("normalised event does not decode as events.S3Event: %v", err)
				}
				if k, _ := url.QueryUnescape(back.Records[i].S3.Object.Key); k != w.decoded {
					t.Errorf("decoded key %q, want %q", k, w.decoded)
				}
			}
		})
	}
}

// Why the receiver needs its own decoder: versitygw's raw events do not decode as AWS events.
func TestVersityEventIsNotAWSShaped(t *testing.T) {
	var ev events.S3Event
	if err := json.Unmarshal(readEvent(t, "versitygw-put.json"), &ev); err == nil {
		t.Fatal("versitygw's event decoded into events.S3Event; the glacierEventData workaround may be obsolete")
	}
	if err := json.Unmarshal(readEvent(t, "versitygw-put-special-key.json"), &ev); err == nil {
		t.Fatal("expected a decode error")
	}
}

// An AWS event is decoded record by record: a record whose key does not URL-decode, or that is
// malformed, is logged and skipped, and the event's other records are still returned.
func TestDecodeS3Event(t *testing.T) {
	record := func(event, s3 string) string {
		return `{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1",` +
			`"eventTime":"2026-11-26T01:20:00.123Z","eventName":"` + event + `"` + s3 + `}`
	}
	created := func(key string) string {
		return record("ObjectCreated:Put", `,"s3":{"s3SchemaVersion":"1.0","bucket":{"name":"bkt","arn":"arn:aws:s3:::bkt"},`+
			`"object":{"key":"`+key+`","size":5,"eTag":"5d41402abc4b2a76b9719d911017c592"}}`)
	}
	type skip struct{ key, reason string }
	tests := []struct {
		name    string
		records []string
		want    []object // what createdObjects makes of the decoded event
		skipped []skip   // the warnings, in order: raw key and a fragment of the reason
	}{
		{name: "encoded key", records: []string{created("a+b%20c.jpg")}, want: []object{{"bkt", "a b c.jpg"}}},
		{name: "slashes and escapes", records: []string{created("incoming/x/100%25+off%C3%A9.jpg")},
			want: []object{{"bkt", "incoming/x/100% offé.jpg"}}},
		{name: "bad escape", records: []string{created("%zz")}, skipped: []skip{{"%zz", `invalid URL escape "%zz"`}}},
		{name: "lone percent", records: []string{created("%")}, skipped: []skip{{"%", `invalid URL escape "%"`}}},
		{name: "truncated escape", records: []string{created("%E0%A4%A")}, skipped: []skip{{"%E0%A4%A", `invalid URL escape "%A"`}}},
		{name: "not created", records: []string{record("ObjectRemoved:Delete",
			`,"s3":{"bucket":{"name":"bkt"},"object":{"key":"a.jpg","sequencer":"01"}}`)}},
		{name: "no s3", records: []string{record("ObjectCreated:Put", "")}, skipped: []skip{{"", "no s3 entity"}}},
		{name: "no object", records: []string{record("ObjectCreated:Put", `,"s3":{"bucket":{"name":"bkt"}}`)},
			skipped: []skip{{"", "no object key"}}},
		{name: "empty key", records: []string{created("")}, skipped: []skip{{"", "no object key"}}},
		{name: "wrong type", records: []string{record("ObjectCreated:Put", `,"s3":{"bucket":{"name":"bkt"},"object":{"key":"a.jpg","size":"big"}}`)},
			skipped: []skip{{"a.jpg", "malformed record"}}},
		{name: "not an object", records: []string{`"Records"`, `null`}, skipped: []skip{{"", "malformed record"}, {"", "no s3 entity"}}},
		{name: "bad among good", records: []string{created("ok%201.jpg"), created("50%+off.jpg"), created("ok+2.jpg")},
			want: []object{{"bkt", "ok 1.jpg"}, {"bkt", "ok 2.jpg"}}, skipped: []skip{{"50%+off.jpg", `invalid URL escape "%+o"`}}},
		{name: "urlDecodedKey in the input is not trusted", records: []string{strings.Replace(created("a%2Bb.jpg"),
			`"key"`, `"urlDecodedKey":"spoof.jpg","key"`, 1)}, want: []object{{"bkt", "a+b.jpg"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			p := &Processor{Log: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))}
			ev, err := p.decodeS3Event(context.Background(), []byte(`{"Records":[`+strings.Join(tt.records, ",")+`]}`))
			if err != nil {
				t.Fatal(err)
			}
			if got := p.createdObjects(context.Background(), ev); !slices.Equal(got, tt.want) {
				t.Errorf("objects = %v, want %v", got, tt.want)
			}
			var lines []map[string]any
			for line := range strings.Lines(logs.String()) {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("log line %q: %v", line, err)
				}
				lines = append(lines, m)
			}
			if len(lines) != len(tt.skipped) {
				t.Fatalf("log:\n%s\nwant %d warnings", logs.String(), len(tt.skipped))
			}
			for i, w := range tt.skipped {
				m := lines[i]
				if m["level"] != "WARN" || m["msg"] != "processed" || m["outcome"] != string(Ignored) || m["key"] != w.key ||
					!strings.Contains(fmt.Sprint(m["reason"]), w.reason) {
					t.Errorf("warning %d = %v, want key %q, reason containing %q", i, m, w.key, w.reason)
				}
			}
		})
	}
	// Only an event whose Records are not an array fails as a whole.
	p := &Processor{Log: slog.New(slog.DiscardHandler)}
	if _, err := p.decodeS3Event(context.Background(), []byte(`{"Records":{}}`)); err == nil {
		t.Error("Records as an object decoded")
	}
}

// What aws-lambda-go's own type does with the same event: one bad key fails all of it. If this
// ever passes, decodeS3Event's reason to exist has gone.
func TestS3EventFailsWhole(t *testing.T) {
	var ev events.S3Event
	err := json.Unmarshal(readEvent(t, "aws-s3-put-bad-key.json"), &ev)
	if err == nil || !strings.Contains(err.Error(), "invalid URL escape") {
		t.Fatalf("events.S3Event decoded the fixture with a bad key: err %v", err)
	}
	p := &Processor{Log: slog.New(slog.DiscardHandler)}
	ours, err := p.decodeS3Event(context.Background(), readEvent(t, "aws-s3-put-bad-key.json"))
	if err != nil || len(ours.Records) != 2 {
		t.Fatalf("decodeS3Event: %d records, %v; want the 2 good ones", len(ours.Records), err)
	}
}

// The receiver's path: versitygw's keys are not URL-encoded, and NormalizeVersity leaves them as
// they are in URLDecodedKey, which createdObjects uses; "%" in such a key is no escape.
func TestCreatedObjectsVersity(t *testing.T) {
	ev, _, err := NormalizeVersity(readEvent(t, "versitygw-put-special-key.json"))
	if err != nil {
		t.Fatal(err)
	}
	p := &Processor{Log: slog.New(slog.DiscardHandler)}
	want := []object{{"bkt", "patient_images/scenario_1/a+b c%é.jpg"}}
	if got := p.createdObjects(context.Background(), ev); !slices.Equal(got, want) {
		t.Errorf("objects = %v, want %v", got, want)
	}
}
