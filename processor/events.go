package processor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// object is one bucket/key an event is about, the key decoded.
type object struct {
	bucket, key string
}

// createdObjects extracts the objects that an S3 event says were created, decoding the keys (AWS
// URL-encodes them: "a+b%20c.jpg" is "a b c.jpg"). Records of other kinds, and keys that do not
// decode, are logged as ignored.
func (p *Processor) createdObjects(ctx context.Context, ev events.S3Event) []object {
	var objs []object
	for _, r := range ev.Records {
		bucket := r.S3.Bucket.Name
		key, err := url.QueryUnescape(r.S3.Object.Key)
		if err != nil || !strings.HasPrefix(r.EventName, "ObjectCreated:") {
			// Deletions are the API's business (it removes thumbnails with the original), and
			// locally each quarantine fires five of them: debug level keeps the log readable.
			p.Log.LogAttrs(ctx, slog.LevelDebug, "processed", slog.String("bucket", bucket),
				slog.String("key", r.S3.Object.Key), slog.String("outcome", string(Ignored)),
				slog.String("reason", r.EventName))
			continue
		}
		objs = append(objs, object{bucket: bucket, key: key})
	}
	return objs
}

// HandleS3 is the Lambda handler for S3 notifications. Every record is tried; the first transient
// error is returned so Lambda retries the event (processing is idempotent, so the records that
// succeeded are harmless to repeat).
func (p *Processor) HandleS3(ctx context.Context, ev events.S3Event) error {
	var first error
	for _, o := range p.createdObjects(ctx, ev) {
		if _, err := p.Process(ctx, o.bucket, o.key); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// HandleLambda is the function's single entry point: the same function receives S3
// notifications and the EventBridge schedule that runs the reconcile sweep.
func (p *Processor) HandleLambda(ctx context.Context, raw json.RawMessage) error {
	var probe struct {
		Records    json.RawMessage `json:"Records"`
		DetailType string          `json:"detail-type"`
		Event      string          `json:"Event"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return fmt.Errorf("decode event: %w", err)
	}
	switch {
	case probe.Records != nil:
		var ev events.S3Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			return fmt.Errorf("decode S3 event: %w", err)
		}
		return p.HandleS3(ctx, ev)
	case probe.DetailType == "Scheduled Event":
		return p.ScheduledSweep(ctx)
	case probe.Event == "s3:TestEvent":
		// S3 sends this once when a notification is configured.
		return nil
	}
	return errors.New("unknown event: neither S3 records nor a scheduled event")
}

// NormalizeVersity turns a versitygw webhook body into the AWS shape that HandleS3 and the
// receiver expect. versitygw differs from AWS: keys are not URL-encoded, event names carry an
// "s3:" prefix, ETags keep their quotes, its empty glacierEventData timestamp does not decode into
// events.S3Event, POST uploads arrive without a key, and at start-up it sends a test event. The
// test event yields no records; keyless records are dropped and counted, so the caller can sweep
// for the objects they stand for.
func NormalizeVersity(body []byte) (ev events.S3Event, keyless int, err error) {
	var in struct {
		Records []struct {
			EventVersion string    `json:"eventVersion"`
			EventSource  string    `json:"eventSource"`
			AWSRegion    string    `json:"awsRegion"`
			EventTime    time.Time `json:"eventTime"`
			EventName    string    `json:"eventName"`
			S3           struct {
				SchemaVersion   string `json:"s3SchemaVersion"`
				ConfigurationID string `json:"configurationId"`
				Bucket          struct {
					Name string `json:"name"`
					Arn  string `json:"arn"`
				} `json:"bucket"`
				Object struct {
					Key       string `json:"key"`
					Size      int64  `json:"size"`
					ETag      string `json:"eTag"`
					VersionID string `json:"versionId"`
					Sequencer string `json:"sequencer"`
				} `json:"object"`
			} `json:"s3"`
		} `json:"Records"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return events.S3Event{}, 0, fmt.Errorf("decode versitygw event: %w", err)
	}
	ev.Records = []events.S3EventRecord{}
	for _, r := range in.Records {
		if r.S3.Object.Key == "" {
			keyless++
			continue
		}
		ev.Records = append(ev.Records, events.S3EventRecord{
			EventVersion: r.EventVersion,
			EventSource:  r.EventSource,
			AWSRegion:    r.AWSRegion,
			EventTime:    r.EventTime,
			EventName:    strings.TrimPrefix(r.EventName, "s3:"),
			S3: events.S3Entity{
				SchemaVersion:   r.S3.SchemaVersion,
				ConfigurationID: r.S3.ConfigurationID,
				Bucket:          events.S3Bucket{Name: r.S3.Bucket.Name, Arn: "arn:aws:s3:::" + r.S3.Bucket.Name},
				Object: events.S3Object{
					Key:           encodeKey(r.S3.Object.Key),
					URLDecodedKey: r.S3.Object.Key,
					Size:          r.S3.Object.Size,
					ETag:          strings.Trim(r.S3.Object.ETag, `"`),
					VersionID:     r.S3.Object.VersionID,
					Sequencer:     r.S3.Object.Sequencer,
				},
			},
		})
	}
	return ev, keyless, nil
}

// encodeKey URL-encodes a key the way S3 notifications do: form encoding, slashes kept.
func encodeKey(key string) string {
	return strings.ReplaceAll(url.QueryEscape(key), "%2F", "/")
}
