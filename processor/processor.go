// Package processor turns one staged upload into one outcome: ready (its checked, stripped bytes
// promoted to the final key, thumbnails written next to it) or rejected (copied to quarantine with
// its reason). Either way the staged object is then removed. It runs on S3 events in Lambda,
// behind the local event receiver, and from the reconcile sweep; all three call Process, which is
// idempotent so duplicated, late and reordered events are harmless.
//
// The processor is the only writer of patient_images/: upload URLs write under incoming/ (see
// shared/keys), and S3 events fire only there. An image is ready when its final original and its
// thumbnails exist, because nothing but this package puts bytes there, and only checked ones.
package processor

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"medicpx/processor/pipeline"
	"medicpx/shared/imagepolicy"
	"medicpx/shared/keys"
	"medicpx/shared/retire"
	"medicpx/shared/s3client"
	"medicpx/shared/scenarioindex"
)

// Outcome is what happened to one object. The values appear in logs and tests.
type Outcome string

const (
	Ready     Outcome = "ready"     // stripped original promoted, thumbnails written
	Rejected  Outcome = "rejected"  // copied to quarantine
	Unchanged Outcome = "unchanged" // these staged bytes were already promoted (a duplicate or late event)
	Ignored   Outcome = "ignored"   // not a staged upload: originals, thumbnails, _meta/, quarantine/, anything else
	Gone      Outcome = "gone"      // deleted or replaced before we got to it: a later event covers it
	Failed    Outcome = "error"     // transient: returned as an error so the caller retries
)

// ThumbnailCacheControl lets browsers and CDNs keep a thumbnail forever: a changed original is a
// new upload with a new key, so a thumbnail's bytes never change under its key.
const ThumbnailCacheControl = "public, max-age=31536000, immutable"

// objectStore is the part of S3 the processor uses.
type objectStore interface {
	HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	CopyObject(context.Context, *s3.CopyObjectInput, ...func(*s3.Options)) (*s3.CopyObjectOutput, error)
	DeleteObject(context.Context, *s3.DeleteObjectInput, ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObjectTagging(context.Context, *s3.GetObjectTaggingInput, ...func(*s3.Options)) (*s3.GetObjectTaggingOutput, error)
	PutObjectTagging(context.Context, *s3.PutObjectTaggingInput, ...func(*s3.Options)) (*s3.PutObjectTaggingOutput, error)
}

var _ objectStore = (*s3.Client)(nil)

// Processor processes staged uploads in S3. Bucket and ReconcileGrace are used only by sweeps
// that are not given a bucket by an event (the Lambda's scheduled event).
type Processor struct {
	S3             objectStore
	Log            *slog.Logger
	Now            func() time.Time
	Bucket         string
	ReconcileGrace time.Duration
	// ObjectTimeout is each object's own deadline (none when 0): a hostile upload that is slow to
	// check ends as an error of its own instead of holding up the objects after it.
	ObjectTimeout time.Duration
	// Retention is how long a whole sweep keeps what identifies an upload without being its image
	// (see Expire); the zero value keeps everything.
	Retention Retention
}

// DefaultObjectTimeout bounds one object's processing. A legitimate photo takes about a second of
// CPU and the worst accepted input a few; Lambda's own limit (60 s) stays above it, so a sweep
// that meets a bad object still has time for the rest.
const DefaultObjectTimeout = 20 * time.Second

// New returns a Processor with the real clock.
func New(client objectStore, log *slog.Logger, bucket string, grace time.Duration) *Processor {
	return &Processor{S3: client, Log: log, Now: time.Now, Bucket: bucket, ReconcileGrace: grace,
		ObjectTimeout: DefaultObjectTimeout}
}

// report is what one Process call logs.
type report struct {
	outcome Outcome
	reason  string
	bytes   int64
	pixels  int64
	removed string // imagepolicy.JoinRemoved of what was cut off
	// named waits for the upload's name to be in the catalog (recordName, started when the upload
	// was first looked at, beside the checks); nil: not started.
	named func() error
}

// nameRecorded waits for rep's recordName, or runs one.
func (p *Processor) nameRecorded(ctx context.Context, bucket string, k keys.Key, rep report) error {
	if rep.named != nil {
		return rep.named()
	}
	return p.recordName(ctx, bucket, k, func() string { return "" })
}

// Process handles one staged upload. A rejection is a normal outcome with a nil error; an error
// means a failure that is worth retrying, and nothing was deleted that should not have been. An
// infrastructure fault (S3 5xx, throttling, the network, a deadline while waiting on S3) is
// returned as an *InfraError; any other error is the upload's own (faults.go).
func (p *Processor) Process(ctx context.Context, bucket, key string) (Outcome, error) {
	start := p.Now()
	var rep report
	var err error
	if k, perr := keys.Parse(key); perr != nil || k.Kind != keys.Staged {
		// The recursion guard is a filter: only staged uploads are work. In AWS the notification
		// is filtered to incoming/ already; this catches every other way a key can arrive (the
		// local webhook, a widened notification, a hand-made event) without a single S3 call.
		rep = report{outcome: Ignored}
	} else {
		if p.ObjectTimeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeoutCause(ctx, p.ObjectTimeout, errObjectDeadline)
			defer cancel()
		}
		rep, err = p.process(ctx, bucket, key, k)
	}
	if err != nil {
		rep.outcome = Failed
		err = classify(err)
	}
	p.logResult(ctx, bucket, key, rep, start, err)
	return rep.outcome, err
}

func (p *Processor) logResult(ctx context.Context, bucket, key string, rep report, start time.Time, err error) {
	level := slog.LevelInfo
	attrs := []slog.Attr{
		slog.String("bucket", bucket), slog.String("key", key), slog.String("outcome", string(rep.outcome)),
		slog.String("reason", rep.reason), slog.Int64("bytes", rep.bytes), slog.Int64("pixels", rep.pixels),
		slog.Int64("ms", p.Now().Sub(start).Milliseconds()),
	}
	if rep.removed != "" {
		attrs = append(attrs, slog.String("removed", rep.removed))
	}
	if err != nil {
		level = slog.LevelError
		fault := "upload"
		if IsInfrastructure(err) {
			fault = "infrastructure"
		}
		attrs = append(attrs, slog.String("err", err.Error()), slog.String("fault", fault))
	}
	p.Log.LogAttrs(ctx, level, "processed", attrs...)
}

// finalState is what the final key holds before a promotion.
type finalState struct {
	exists bool
	etag   string // unquoted
	source string // the staged ETag it was promoted from
}

func (p *Processor) process(ctx context.Context, bucket, staged string, k keys.Key) (report, error) {
	head, err := p.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &staged})
	if notThere(err) {
		return report{outcome: Gone}, nil
	}
	if err != nil {
		return report{}, fmt.Errorf("head %s: %w", staged, err)
	}
	size := deref(head.ContentLength)
	etag := unquote(deref(head.ETag))
	rep := report{bytes: size}

	// Size first: it is free, and a too-large object is never downloaded at all.
	switch {
	case size == 0:
		return p.quarantine(ctx, bucket, staged, k, head, pipeline.Reject(pipeline.ReasonEmpty, "0 bytes"), rep)
	case size > imagepolicy.MaxBytes:
		return p.quarantine(ctx, bucket, staged, k, head,
			pipeline.Reject(pipeline.ReasonTooLarge, "%d bytes > %d", size, imagepolicy.MaxBytes), rep)
	}

	// A deleted upload's key is retired (shared/retire): whatever is staged for it now came through
	// its upload URL after the delete, and is never checked, let alone promoted.
	if tomb, dead, err := retire.Lookup(ctx, p.S3, bucket, k); err != nil {
		return rep, err
	} else if dead {
		return p.refuseRetired(ctx, bucket, staged, k, head, tomb, rep)
	}

	// The name its upload URL noted goes into the catalog while the bytes are checked, so that
	// staff see it on the upload from now on; the outcome is written only once it is there. The
	// same write records the staged bytes' SHA-256 (duplicate detection), so it waits for them to
	// be read (not decoded); a path that never reads them gives it none.
	sums := make(chan string, 1)
	var sumOnce sync.Once
	setSum := func(sum string) { sumOnce.Do(func() { sums <- sum }) }
	defer setSum("")
	named := make(chan error, 1)
	go func() { named <- p.recordName(ctx, bucket, k, func() string { return <-sums }) }()
	rep.named = sync.OnceValue(func() error { setSum(""); return <-named })

	fin, err := p.final(ctx, bucket, k)
	if err != nil {
		return rep, err
	}
	done, present, err := p.thumbnailsCurrent(ctx, bucket, k, fin.etag)
	if err != nil {
		return rep, err
	}
	if fin.exists && fin.source == etag && done {
		// Promoted already: a duplicate or late event, or a crash before the staged copy was
		// removed. Finish that removal; nothing is decoded or written again.
		rep.outcome = Unchanged
		if err := p.nameRecorded(ctx, bucket, k, rep); err != nil {
			return rep, err
		}
		return rep, p.removeStaged(ctx, bucket, staged, etag)
	}

	sniff, err := p.get(ctx, bucket, staged, etag, fmt.Sprintf("bytes=0-%d", pipeline.SniffLen-1), pipeline.SniffLen)
	if notThere(err) {
		return report{outcome: Gone, reason: "changed"}, nil
	}
	if err != nil {
		return rep, err
	}
	if _, err := pipeline.Sniff(sniff, k.Ext); err != nil {
		return p.rejectOrFail(ctx, bucket, staged, k, head, err, rep)
	}

	// The If-Match and the read limit make sure we decode what we headed and sized, even if the
	// staged object was replaced in between.
	data, err := p.get(ctx, bucket, staged, etag, "", imagepolicy.MaxBytes+1)
	if notThere(err) {
		return report{outcome: Gone, reason: "changed"}, nil
	}
	if err != nil {
		return rep, err
	}
	if int64(len(data)) > imagepolicy.MaxBytes {
		return p.quarantine(ctx, bucket, staged, k, head,
			pipeline.Reject(pipeline.ReasonTooLarge, "more than %d bytes", imagepolicy.MaxBytes), rep)
	}
	sum := sha256.Sum256(data)
	setSum(base64.StdEncoding.EncodeToString(sum[:]))
	// The object's deadline reaches into the decoders: a decode cut off by it is an error of the
	// image (to be retried, then given up on by the sweep), not a verdict on the content; so is a
	// panic (checkImage).
	res, err := checkImage(ctx, data, k.Ext)
	if err != nil {
		return p.rejectOrFail(ctx, bucket, staged, k, head, err, rep)
	}
	rep.pixels = int64(res.Width) * int64(res.Height)
	return p.promote(ctx, bucket, staged, k, etag, fin, res, present, rep)
}

// final heads the final key of a staged upload.
func (p *Processor) final(ctx context.Context, bucket string, k keys.Key) (finalState, error) {
	key := k.OriginalKey()
	h, err := p.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if s3client.IsNotFound(err) {
		return finalState{}, nil
	}
	if err != nil {
		return finalState{}, fmt.Errorf("head %s: %w", key, err)
	}
	return finalState{exists: true, etag: unquote(deref(h.ETag)), source: h.Metadata[keys.MetaSourceETag]}, nil
}

// promote writes the stripped original to the final key, then the thumbnails, then removes the
// staged upload. Thumbnails come after the original because their existence is what "ready"
// means to the API: ready must imply the final original is already the checked one.
//
// The final object is a new PutObject with only what this service sets (the validated type and
// the source ETag), never a copy: headers such as Content-Disposition or Cache-Control that an
// uploader sent unsigned with a presigned PUT stay behind in staging.
func (p *Processor) promote(ctx context.Context, bucket, staged string, k keys.Key, etag string, fin finalState,
	res *pipeline.Result, present []string, rep report) (report, error) {
	final := k.OriginalKey()
	in := &s3.PutObjectInput{
		Bucket: &bucket, Key: &final, Body: bytes.NewReader(res.Original),
		ContentLength: ptr(int64(len(res.Original))),
		ContentType:   ptr(res.Type.MIME),
		Metadata:      map[string]string{keys.MetaSourceETag: etag},
	}
	if len(res.Removed) > 0 {
		rep.removed = imagepolicy.JoinRemoved(res.Removed)
		in.Metadata[keys.MetaRemoved] = rep.removed
	}
	// Compare-and-swap on the final key: if another worker promoted other bytes since we looked,
	// this write fails and the retry starts again from what is there now.
	if fin.exists {
		in.IfMatch = ptr(quote(fin.etag))
	} else {
		in.IfNoneMatch = ptr("*")
	}
	out, err := p.S3.PutObject(ctx, in)
	if notThere(err) {
		// Someone promoted first. If it was these very bytes (a duplicate event handled at the
		// same moment), that worker finishes the job; otherwise retry against the new state.
		if now, ferr := p.final(ctx, bucket, k); ferr == nil && now.exists && now.source == etag {
			rep.outcome = Unchanged
			return rep, nil
		}
		return rep, fmt.Errorf("promote %s: %s changed meanwhile: %w", staged, final, err)
	}
	if err != nil {
		return rep, fmt.Errorf("promote %s to %s: %w", staged, final, err)
	}
	finalETag := unquote(deref(out.ETag))
	if finalETag == "" {
		return rep, fmt.Errorf("promote %s: no ETag in the response", final)
	}
	// A delete may have started since the first look. Checked after each write of the promotion
	// and before the next: an image is ready only once its thumbnails exist, so a delete that
	// began before this look sees the original and moves it itself, and one that began after it
	// is seen by the next look (README, "Delete, permanent delete and the trash").
	if lost, err := p.lostToDelete(ctx, bucket, staged, k, etag); lost || err != nil {
		return report{outcome: Rejected, reason: string(imagepolicy.ReasonDeleted), bytes: rep.bytes}, err
	}
	for _, th := range res.Thumbnails {
		tkey := keys.ThumbnailKey(k.Scenario, k.ID, th.Size, th.Ext)
		_, err := p.S3.PutObject(ctx, &s3.PutObjectInput{
			Bucket: &bucket, Key: &tkey, Body: bytes.NewReader(th.Data),
			ContentLength: ptr(int64(len(th.Data))),
			ContentType:   ptr(th.ContentType),
			CacheControl:  ptr(ThumbnailCacheControl),
			Metadata:      map[string]string{keys.MetaSourceETag: finalETag},
		})
		if err != nil {
			return rep, fmt.Errorf("put thumbnail %s: %w", tkey, err)
		}
	}
	// A replacement can change between opaque and transparent: the pair of the other extension,
	// if there is one, describes old bytes and must not outlive them.
	for _, ext := range present {
		if len(res.Thumbnails) == 0 || ext == res.Thumbnails[0].Ext {
			continue
		}
		for _, size := range imagepolicy.ThumbnailSizes {
			stale := keys.ThumbnailKey(k.Scenario, k.ID, size, ext)
			if _, err := p.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &stale}); err != nil && !notThere(err) {
				return rep, fmt.Errorf("delete stale thumbnail %s: %w", stale, err)
			}
		}
	}
	if err := p.nameRecorded(ctx, bucket, k, rep); err != nil {
		return rep, err
	}
	if lost, err := p.lostToDelete(ctx, bucket, staged, k, etag); lost || err != nil {
		return report{outcome: Rejected, reason: string(imagepolicy.ReasonDeleted), bytes: rep.bytes}, err
	}
	rep.outcome = Ready
	// The scenario home counts it from now on. Derived data: a failed refresh is not the
	// upload's failure (retrying it would redo nothing else), and the sweep's rebuild heals it.
	if err := scenarioindex.Refresh(ctx, p.S3, bucket, k.Scenario); err != nil {
		p.Log.Warn("scenarios index not refreshed; the next sweep rebuilds it", "scenario", k.Scenario, "err", err)
	}
	return rep, p.removeStaged(ctx, bucket, staged, etag)
}

// removeStaged deletes a staged upload only while it still holds the bytes that were handled: the
// DeleteObject carries If-Match with the ETag read at the start. An upload URL can be replayed
// until it expires, and newer bytes staged meanwhile must stay for their own event; the 412 they
// cause is therefore not an error. S3 honours If-Match on DeleteObject in general purpose buckets
// (since 2025-09), and so does versitygw v1.8.0 (TestStagedReplayDuringPromotion proves it). A
// server that ignored the header would delete newer bytes staged in the window between the ETag
// read at the start of Process and this call: the whole check, decode and thumbnail writes, about
// 0.1–2 s per upload; the uploader would then see the older image and could upload again.
// versitygw v1.8.0 still has a window of its own, microseconds wide: its posix DeleteObject checks
// If-Match outside the per-key lock under which a PUT commits, so a replay that commits between
// its check and its unlink is deleted with a 204, and its event then finds nothing (Gone). No
// request of ours can close that window; only the local stack has it (TestReplayedUploadURL).
func (p *Processor) removeStaged(ctx context.Context, bucket, staged, etag string) error {
	_, err := p.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &staged, IfMatch: ptr(quote(etag))})
	if s3client.HTTPStatus(err) == http.StatusConflict {
		// A write to the key raced this delete (S3's ConditionalRequestConflict; versitygw answers
		// the same). Either newer bytes won, and their event follows, or these bytes are still
		// there, and the sweep finds them already promoted and finishes the removal.
		return nil
	}
	if err != nil && !notThere(err) {
		return fmt.Errorf("remove staged %s: %w", staged, err)
	}
	return nil
}

// rejectOrFail quarantines on a rejection and passes any other error on as transient.
func (p *Processor) rejectOrFail(ctx context.Context, bucket, staged string, k keys.Key, head *s3.HeadObjectOutput,
	err error, rep report) (report, error) {
	if r, ok := pipeline.AsRejected(err); ok {
		return p.quarantine(ctx, bucket, staged, k, head, r, rep)
	}
	return rep, fmt.Errorf("pipeline %s: %w", staged, err)
}

// quarantine copies a staged upload aside with its reason, and only then removes it from staging
// (conditionally, see removeStaged). The final key is not touched: if it holds an image, that one
// was checked, and a rejected replacement does not take it away.
func (p *Processor) quarantine(ctx context.Context, bucket, staged string, k keys.Key, head *s3.HeadObjectOutput,
	r *pipeline.Rejected, rep report) (report, error) {
	rep.outcome, rep.reason = Rejected, string(r.Reason)
	qkey := keys.QuarantineKey(k.OriginalKey())
	_, err := p.S3.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket:            &bucket,
		Key:               &qkey,
		CopySource:        ptr(copySource(bucket, staged)),
		CopySourceIfMatch: head.ETag,
		MetadataDirective: types.MetadataDirectiveReplace,
		TaggingDirective:  types.TaggingDirectiveReplace, // the sweep's attempt counter stays behind
		ContentType:       head.ContentType,
		Metadata:          map[string]string{keys.MetaReason: string(r.Reason), keys.MetaDetail: asciiDetail(r.Detail)},
	})
	if notThere(err) {
		return report{outcome: Gone, reason: "changed"}, nil
	}
	if err != nil {
		return rep, fmt.Errorf("copy %s to quarantine: %w", staged, err)
	}
	// The rejections list names the file the professor picked; a replay of a deleted upload
	// has no note of its own (that was taken when the upload first arrived).
	if r.Reason != imagepolicy.ReasonDeleted {
		if err := p.nameRecorded(ctx, bucket, k, rep); err != nil {
			return rep, err
		}
	}
	// A permanent delete that ran meanwhile may have missed the copy or the name: look again.
	if lost, err := p.lostToDelete(ctx, bucket, staged, k, unquote(deref(head.ETag))); lost || err != nil {
		rep.reason = string(imagepolicy.ReasonDeleted)
		return rep, err
	}
	return rep, p.removeStaged(ctx, bucket, staged, unquote(deref(head.ETag)))
}

// thumbnailsCurrent reports whether both thumbnails of one extension exist and were made from the
// final original with this ETag, and which extensions have thumbnails at all (so a stale pair can
// be removed later without blind deletes).
func (p *Processor) thumbnailsCurrent(ctx context.Context, bucket string, k keys.Key, etag string) (current bool, present []string, err error) {
	for _, ext := range keys.ThumbnailExts {
		pair := true
		for i, size := range imagepolicy.ThumbnailSizes {
			tkey := keys.ThumbnailKey(k.Scenario, k.ID, size, ext)
			h, err := p.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &tkey})
			if notThere(err) {
				pair = false
				if i == 0 {
					break // the usual case for a new upload: one HEAD per extension
				}
				continue
			}
			if err != nil {
				return false, nil, fmt.Errorf("head %s: %w", tkey, err)
			}
			if !slices.Contains(present, ext) {
				present = append(present, ext)
			}
			if etag == "" || h.Metadata[keys.MetaSourceETag] != etag {
				pair = false
			}
		}
		if pair {
			return true, present, nil
		}
	}
	return false, present, nil
}

// get reads at most limit bytes of the object version with the given ETag.
func (p *Processor) get(ctx context.Context, bucket, key, etag, rng string, limit int64) ([]byte, error) {
	in := &s3.GetObjectInput{Bucket: &bucket, Key: &key, IfMatch: ptr(quote(etag))}
	if rng != "" {
		in.Range = &rng
	}
	out, err := p.S3.GetObject(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, limit))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return data, nil
}

// notThere reports whether err says the object is gone or no longer the version we headed: not a
// failure, because the delete or the newer upload produces its own event.
func notThere(err error) bool {
	return s3client.IsNotFound(err) || s3client.HTTPStatus(err) == http.StatusPreconditionFailed
}

// asciiDetail makes a rejection detail safe for an S3 metadata header: printable ASCII, bounded.
func asciiDetail(s string) string {
	b := make([]byte, 0, min(len(s), keys.MaxDetailLen))
	for _, r := range s {
		if len(b) == keys.MaxDetailLen {
			break
		}
		if r < 0x20 || r > 0x7e {
			r = '?'
		}
		b = append(b, byte(r))
	}
	return string(b)
}

// copySource is CopyObject's "bucket/key", URL-encoded as S3 requires.
func copySource(bucket, key string) string {
	return (&url.URL{Path: bucket + "/" + key}).EscapedPath()
}

func unquote(etag string) string { return strings.Trim(etag, `"`) }
func quote(etag string) string   { return `"` + etag + `"` }

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
