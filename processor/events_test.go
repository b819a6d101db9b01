package processor

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
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
