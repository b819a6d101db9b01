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

// createdObjects extracts the objects that an S3 event says were created, with their decoded keys
// (S3Object.URLDecodedKey: AWS URL-encodes keys, "a+b%20c.jpg" is "a b c.jpg"). The keys were
// decoded with the records (decodeS3Event, NormalizeVersity), so a key that does not decode never
// gets here. Records of other kinds are logged as ignored.
func (p *Processor) createdObjects(ctx context.Context, ev events.S3Event) []object {
	var objs []object
	for _, r := range ev.Records {
		bucket := r.S3.Bucket.Name
		if !strings.HasPrefix(r.EventName, "ObjectCreated:") {
			// Deletions are the API's business (it removes thumbnails with the original), and
			// locally each quarantine fires five of them: debug level keeps the log readable.
			p.Log.LogAttrs(ctx, slog.LevelDebug, "processed", slog.String("bucket", bucket),
				slog.String("key", r.S3.Object.Key), slog.String("outcome", string(Ignored)),
				slog.String("reason", r.EventName))
			continue
		}
		objs = append(objs, object{bucket: bucket, key: r.S3.Object.URLDecodedKey})
	}
	return objs
}

// s3Record is one record of an S3 notification as Lambda delivers it. Its UnmarshalJSON decodes
// the key itself, as events.S3Object's does, but a record that cannot be used (its key does not
// URL-decode, it has no key, it is not a record at all) does not fail the decoding of the event:
// Err says what is wrong, and the fields that did decode (bucket, raw key, event name) are kept
// for the log. events.S3Event fails the whole event on one bad key, losing its good records.
type s3Record struct {
	events.S3EventRecord
	Err error
}

func (r *s3Record) UnmarshalJSON(data []byte) error {
	// plainObject is events.S3Object without its UnmarshalJSON, which fails on a key that does not
	// decode. The outer fields shadow S3EventRecord.S3 and S3Entity.Object (encoding/json takes
	// the shallowest field of a name); pointers tell a missing "s3" or "object" from an empty one.
	type plainObject events.S3Object
	var in struct {
		events.S3EventRecord
		S3 *struct {
			events.S3Entity
			Object *plainObject `json:"object"`
		} `json:"s3"`
	}
	*r = s3Record{}
	err := json.Unmarshal(data, &in)
	r.S3EventRecord = in.S3EventRecord
	if in.S3 != nil {
		r.S3.SchemaVersion, r.S3.ConfigurationID, r.S3.Bucket = in.S3.SchemaVersion, in.S3.ConfigurationID, in.S3.Bucket
		if in.S3.Object != nil {
			r.S3.Object = events.S3Object(*in.S3.Object)
		}
	}
	r.S3.Object.URLDecodedKey = ""
	switch {
	case err != nil:
		r.Err = fmt.Errorf("malformed record: %w", err)
	case in.S3 == nil:
		r.Err = errors.New("no s3 entity")
	case in.S3.Object == nil || r.S3.Object.Key == "":
		r.Err = errors.New("no object key")
	default:
		key, err := url.QueryUnescape(r.S3.Object.Key)
		if err != nil {
			r.Err = fmt.Errorf("key does not URL-decode: %w", err)
		} else {
			r.S3.Object.URLDecodedKey = key
		}
	}
	return nil
}

// decodeS3Event decodes an S3 notification record by record: a record that cannot be used is
// logged (outcome ignored, with its raw key and why) and left out, and the event's other records
// are returned. Only an event whose Records are not a JSON array fails as a whole.
func (p *Processor) decodeS3Event(ctx context.Context, raw []byte) (events.S3Event, error) {
	var in struct {
		Records []s3Record `json:"Records"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return events.S3Event{}, err
	}
	ev := events.S3Event{Records: make([]events.S3EventRecord, 0, len(in.Records))}
	for i, r := range in.Records {
		if r.Err != nil {
			p.Log.LogAttrs(ctx, slog.LevelWarn, "processed", slog.String("bucket", r.S3.Bucket.Name),
				slog.String("key", r.S3.Object.Key), slog.String("outcome", string(Ignored)),
				slog.String("reason", r.Err.Error()), slog.String("event", r.EventName), slog.Int("record", i))
			continue
		}
		ev.Records = append(ev.Records, r.S3EventRecord)
	}
	return ev, nil
}

// HandleS3 is the Lambda handler for S3 notifications, whose records carry decoded keys in
// URLDecodedKey (as decodeS3Event and events.S3Object's UnmarshalJSON leave them). Every record is
// tried; the first transient error is returned so Lambda retries the event (processing is
// idempotent, so the records that succeeded are harmless to repeat).
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
		ev, err := p.decodeS3Event(ctx, raw)
		if err != nil {
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
