// Package processor turns one uploaded original into one outcome: ready (metadata stripped,
// thumbnails written next to it) or rejected (moved to quarantine with its reason). It runs on S3
// events in Lambda, behind the local event receiver, and from the reconcile sweep; all three call
// Process, which is idempotent so duplicated, late and reordered events are harmless.
package processor

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"medicpx/processor/pipeline"
	"medicpx/shared/imagepolicy"
	"medicpx/shared/keys"
	"medicpx/shared/s3client"
)

// Outcome is what happened to one object. The values appear in logs and tests.
type Outcome string

const (
	Ready     Outcome = "ready"     // thumbnails written, original stripped
	Rejected  Outcome = "rejected"  // moved to quarantine
	Unchanged Outcome = "unchanged" // already processed for the object's current ETag
	Ignored   Outcome = "ignored"   // not an original: thumbnails, _meta/, quarantine/, anything else
	Gone      Outcome = "gone"      // deleted or replaced before we got to it: a later event covers it
	Failed    Outcome = "error"     // transient: returned as an error so the caller retries
)

// Metadata keys the processor writes. The API reads MetaReason from the quarantine copy.
const (
	MetaSourceETag = "source-etag" // on thumbnails: the original's ETag, unquoted
	MetaReason     = "reason"      // on quarantine copies: a pipeline.Reason
	MetaDetail     = "detail"      // on quarantine copies: ASCII, at most MaxDetailLen bytes
	MaxDetailLen   = 256
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
}

var _ objectStore = (*s3.Client)(nil)

// Processor processes originals in S3. Bucket and ReconcileGrace are used only by sweeps that
// are not given a bucket by an event (the Lambda's scheduled event).
type Processor struct {
	S3             objectStore
	Log            *slog.Logger
	Now            func() time.Time
	Bucket         string
	ReconcileGrace time.Duration
}

// New returns a Processor with the real clock.
func New(client objectStore, log *slog.Logger, bucket string, grace time.Duration) *Processor {
	return &Processor{S3: client, Log: log, Now: time.Now, Bucket: bucket, ReconcileGrace: grace}
}

// report is what one Process call logs.
type report struct {
	outcome Outcome
	reason  string
	bytes   int64
	pixels  int64
}

// Process handles one object. A rejection is a normal outcome with a nil error; an error means a
// transient failure that is worth retrying, and nothing was deleted that should not have been.
func (p *Processor) Process(ctx context.Context, bucket, key string) (Outcome, error) {
	start := p.Now()
	var rep report
	var err error
	if k, perr := keys.Parse(key); perr != nil || k.Kind != keys.Original {
		// Our own writes (thumbnails, quarantine copies) fire events too: ignoring them without
		// a single S3 call is what keeps the processor loop-free and cheap.
		rep = report{outcome: Ignored}
	} else {
		rep, err = p.process(ctx, bucket, key, k)
	}
	if err != nil {
		rep.outcome = Failed
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
	if err != nil {
		level = slog.LevelError
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	p.Log.LogAttrs(ctx, level, "processed", attrs...)
}

func (p *Processor) process(ctx context.Context, bucket, key string, k keys.Key) (report, error) {
	head, err := p.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if notThere(err) {
		return report{outcome: Gone}, nil
	}
	if err != nil {
		return report{}, fmt.Errorf("head %s: %w", key, err)
	}
	size := deref(head.ContentLength)
	etag := unquote(deref(head.ETag))
	rep := report{bytes: size}

	// Size first: it is free, and a too-large object is never downloaded at all.
	switch {
	case size == 0:
		return p.quarantine(ctx, bucket, key, k, head, pipeline.Reject(pipeline.ReasonEmpty, "0 bytes"), rep)
	case size > imagepolicy.MaxBytes:
		return p.quarantine(ctx, bucket, key, k, head,
			pipeline.Reject(pipeline.ReasonTooLarge, "%d bytes > %d", size, imagepolicy.MaxBytes), rep)
	}

	done, present, err := p.thumbnailsCurrent(ctx, bucket, k, etag)
	if err != nil {
		return rep, err
	}
	if done {
		// The event of our own rewrite of the original, or a duplicate or late one.
		rep.outcome = Unchanged
		return rep, nil
	}

	sniff, err := p.get(ctx, bucket, key, etag, fmt.Sprintf("bytes=0-%d", pipeline.SniffLen-1), pipeline.SniffLen)
	if notThere(err) {
		return report{outcome: Gone, reason: "changed"}, nil
	}
	if err != nil {
		return rep, err
	}
	if _, err := pipeline.Sniff(sniff, k.Ext); err != nil {
		return p.rejectOrFail(ctx, bucket, key, k, head, err, rep)
	}

	// The If-Match and the read limit make sure we decode what we headed and sized, even if the
	// object was replaced in between.
	data, err := p.get(ctx, bucket, key, etag, "", imagepolicy.MaxBytes+1)
	if notThere(err) {
		return report{outcome: Gone, reason: "changed"}, nil
	}
	if err != nil {
		return rep, err
	}
	if int64(len(data)) > imagepolicy.MaxBytes {
		return p.quarantine(ctx, bucket, key, k, head,
			pipeline.Reject(pipeline.ReasonTooLarge, "more than %d bytes", imagepolicy.MaxBytes), rep)
	}
	res, err := pipeline.Run(data, k.Ext)
	if err != nil {
		return p.rejectOrFail(ctx, bucket, key, k, head, err, rep)
	}
	rep.pixels = int64(res.Width) * int64(res.Height)
	return p.store(ctx, bucket, key, k, head, etag, data, res, present, rep)
}

// store writes the stripped original, then the thumbnails. Thumbnails come last because their
// existence is what "ready" means to the API: ready must imply the original is already clean.
func (p *Processor) store(ctx context.Context, bucket, key string, k keys.Key, head *s3.HeadObjectOutput,
	etag string, data []byte, res *pipeline.Result, present []string, rep report) (report, error) {
	if !bytes.Equal(res.Original, data) {
		contentType := deref(head.ContentType)
		if contentType == "" {
			contentType = res.Type.MIME
		}
		// Keep what the uploader's presigned request stored (type, metadata, disposition): only
		// the bytes change. This PUT fires another event; it finds the thumbnails below current.
		// If-Match: a newer upload to the same key since we read it must not be replaced by the
		// stripped old bytes; its own event processes it.
		out, err := p.S3.PutObject(ctx, &s3.PutObjectInput{
			Bucket: &bucket, Key: &key, Body: bytes.NewReader(res.Original),
			ContentLength:      ptr(int64(len(res.Original))),
			ContentType:        &contentType,
			ContentDisposition: head.ContentDisposition,
			CacheControl:       head.CacheControl,
			Metadata:           head.Metadata,
			IfMatch:            ptr(quote(etag)),
		})
		if notThere(err) {
			return report{outcome: Gone, reason: "changed"}, nil
		}
		if err != nil {
			return rep, fmt.Errorf("rewrite stripped original %s: %w", key, err)
		}
		etag = unquote(deref(out.ETag))
		if etag == "" {
			return rep, fmt.Errorf("rewrite stripped original %s: no ETag in the response", key)
		}
	}
	for _, th := range res.Thumbnails {
		tkey := keys.ThumbnailKey(k.Scenario, k.ID, th.Size, th.Ext)
		_, err := p.S3.PutObject(ctx, &s3.PutObjectInput{
			Bucket: &bucket, Key: &tkey, Body: bytes.NewReader(th.Data),
			ContentLength: ptr(int64(len(th.Data))),
			ContentType:   ptr(th.ContentType),
			CacheControl:  ptr(ThumbnailCacheControl),
			Metadata:      map[string]string{MetaSourceETag: etag},
		})
		if err != nil {
			return rep, fmt.Errorf("put thumbnail %s: %w", tkey, err)
		}
	}
	// A replaced original can change between opaque and transparent: the pair of the other
	// extension, if there is one, describes old bytes and must not outlive them.
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
	rep.outcome = Ready
	return rep, nil
}

// rejectOrFail quarantines on a rejection and passes any other error on as transient.
func (p *Processor) rejectOrFail(ctx context.Context, bucket, key string, k keys.Key, head *s3.HeadObjectOutput,
	err error, rep report) (report, error) {
	if r, ok := pipeline.AsRejected(err); ok {
		return p.quarantine(ctx, bucket, key, k, head, r, rep)
	}
	return rep, fmt.Errorf("pipeline %s: %w", key, err)
}

// quarantine copies the original aside with its reason, and only then deletes it and anything
// derived from it. Thumbnails go before the original: if a delete fails, the retry still finds
// the original and does the whole move again (the copy is idempotent).
func (p *Processor) quarantine(ctx context.Context, bucket, key string, k keys.Key, head *s3.HeadObjectOutput,
	r *pipeline.Rejected, rep report) (report, error) {
	rep.outcome, rep.reason = Rejected, string(r.Reason)
	meta := make(map[string]string, len(head.Metadata)+2)
	for name, v := range head.Metadata {
		meta[name] = v
	}
	meta[MetaReason] = string(r.Reason)
	meta[MetaDetail] = asciiDetail(r.Detail)
	qkey := keys.QuarantineKey(key)
	_, err := p.S3.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket:            &bucket,
		Key:               &qkey,
		CopySource:        ptr(copySource(bucket, key)),
		CopySourceIfMatch: head.ETag,
		MetadataDirective: types.MetadataDirectiveReplace,
		ContentType:       head.ContentType,
		Metadata:          meta,
	})
	if notThere(err) {
		return report{outcome: Gone, reason: "changed"}, nil
	}
	if err != nil {
		return rep, fmt.Errorf("copy %s to quarantine: %w", key, err)
	}
	var derived []string
	for _, size := range imagepolicy.ThumbnailSizes {
		for _, ext := range keys.ThumbnailExts {
			derived = append(derived, keys.ThumbnailKey(k.Scenario, k.ID, size, ext))
		}
	}
	for _, dkey := range append(derived, key) {
		if _, err := p.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &dkey}); err != nil && !notThere(err) {
			return rep, fmt.Errorf("delete %s after quarantine: %w", dkey, err)
		}
	}
	return rep, nil
}

// thumbnailsCurrent reports whether both thumbnails of one extension exist and were made from the
// original with this ETag, and which extensions have thumbnails at all (so a stale pair can be
// removed later without blind deletes).
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
			if h.Metadata[MetaSourceETag] != etag {
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
	b := make([]byte, 0, min(len(s), MaxDetailLen))
	for _, r := range s {
		if len(b) == MaxDetailLen {
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
