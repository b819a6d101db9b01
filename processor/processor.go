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
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"medicpx/processor/pipeline"
	"medicpx/shared/catalog"
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
	// Index coalesces the scenarios index refreshes of the uploads this process makes ready at
	// once (a receiver's workers, which also let those of a busy scenario run after they return:
	// Refresher.Batch); nil refreshes for each upload on its own.
	Index *scenarioindex.Refresher
}

// cpuSlots holds one token per check (decode, strip, thumbnails) running in this process: at most
// GOMAXPROCS at once, however many uploads are in flight, so that a receiver with more workers
// than cores overlaps their S3 round trips without the decodes crowding each other (or memory).
var cpuSlots = make(chan struct{}, runtime.GOMAXPROCS(0))

// checkLimited is checkImage once a CPU slot is free.
func checkLimited(ctx context.Context, data []byte, ext string) (*pipeline.Result, error) {
	select {
	case cpuSlots <- struct{}{}:
	case <-ctx.Done():
		// The processor's own load, not the upload's fault: never counted against it.
		return nil, &InfraError{Err: fmt.Errorf("waiting for a CPU slot: %w", context.Cause(ctx))}
	}
	defer func() { <-cpuSlots }()
	return checkImage(ctx, data, ext)
}

// DefaultObjectTimeout bounds one object's processing. A legitimate photo takes about a second of
// CPU and the worst accepted input a few; Lambda's own limit (60 s) stays above it, so a sweep
// that meets a bad object still has time for the rest.
const DefaultObjectTimeout = 20 * time.Second

// New returns a Processor with the real clock.
func New(client objectStore, log *slog.Logger, bucket string, grace time.Duration) *Processor {
	return &Processor{S3: client, Log: log, Now: time.Now, Bucket: bucket, ReconcileGrace: grace,
		ObjectTimeout: DefaultObjectTimeout, Index: &scenarioindex.Refresher{}}
}

// report is what one Process call logs.
type report struct {
	outcome Outcome
	reason  string
	bytes   int64
	pixels  int64
	removed string // imagepolicy.JoinRemoved of what was cut off
	// name is the upload's note and the catalog as the first look read them; named waits for the
	// note's name to be in the catalog (recordName, started by startName); nil: not started.
	name  nameRead
	named func() error
	// sum is the SHA-256 of the staged bytes (base64), once they were read whole: recorded in the
	// catalog with the name, for duplicate detection.
	sum string
}

// startName starts moving the upload's note into the catalog, unless that has started already.
func (p *Processor) startName(ctx context.Context, bucket string, k keys.Key, rep *report) {
	if rep.named != nil {
		return
	}
	nr, sum := rep.name, rep.sum
	done := make(chan error, 1)
	go func() { done <- p.recordName(ctx, bucket, k, nr, sum) }()
	rep.named = sync.OnceValue(func() error { return <-done })
}

// nameRecorded waits for the upload's name to be in the catalog (starting that if need be), then
// removes its note.
func (p *Processor) nameRecorded(ctx context.Context, bucket string, k keys.Key, rep report) error {
	p.startName(ctx, bucket, k, &rep)
	if err := rep.named(); err != nil {
		return err
	}
	return p.removeNote(ctx, bucket, k, rep.name)
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

// firstLook is what Process reads of an upload before it decides anything. None of the reads
// depends on another, so they go out at once: one round trip. The staged object's body is read
// only once its size and the tombstone allow it.
type firstLook struct {
	obj    *s3.GetObjectOutput // the staged upload, body unread
	objErr error
	tomb   retire.Tombstone
	dead   bool
	err    error // the tombstone's, the final key's or the thumbnails' read
	fin    finalState
	thumbs thumbState
	name   nameRead
}

func (p *Processor) look(ctx context.Context, bucket, staged string, k keys.Key) firstLook {
	var l firstLook
	var errs [3]error
	var wg sync.WaitGroup
	wg.Go(func() {
		l.obj, l.objErr = p.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &staged}, s3client.StoredChecksums)
	})
	wg.Go(func() { l.tomb, l.dead, errs[0] = retire.Lookup(ctx, p.S3, bucket, k) })
	wg.Go(func() { l.fin, errs[1] = p.final(ctx, bucket, k) })
	wg.Go(func() { l.thumbs, errs[2] = p.thumbnailHeads(ctx, bucket, k) })
	wg.Go(func() { l.name = p.readName(ctx, bucket, k) })
	wg.Wait()
	l.err = errors.Join(errs[:]...)
	return l
}

func (p *Processor) process(ctx context.Context, bucket, staged string, k keys.Key) (report, error) {
	l := p.look(ctx, bucket, staged, k)
	if l.obj != nil {
		defer l.obj.Body.Close()
	}
	if notThere(l.objErr) {
		return report{outcome: Gone}, nil
	}
	if l.objErr != nil {
		return report{}, fmt.Errorf("get %s: %w", staged, l.objErr)
	}
	size := deref(l.obj.ContentLength)
	etag := unquote(deref(l.obj.ETag))
	head := &s3.HeadObjectOutput{ETag: l.obj.ETag, ContentType: l.obj.ContentType, ContentLength: l.obj.ContentLength}
	rep := report{bytes: size, name: l.name}

	// Size first, from the answer's headers: a too-large object's body is never read.
	switch {
	case size == 0:
		return p.quarantine(ctx, bucket, staged, k, head, pipeline.Reject(pipeline.ReasonEmpty, "0 bytes"), rep)
	case size > imagepolicy.MaxBytes:
		return p.quarantine(ctx, bucket, staged, k, head,
			pipeline.Reject(pipeline.ReasonTooLarge, "%d bytes > %d", size, imagepolicy.MaxBytes), rep)
	}

	// A deleted upload's key is retired (shared/retire): whatever is staged for it now came through
	// its upload URL after the delete, and is never checked, let alone promoted: its body is not read.
	if l.err != nil {
		return rep, l.err
	}
	if l.dead {
		return p.refuseRetired(ctx, bucket, staged, k, head, l.tomb, rep)
	}

	if l.fin.exists && l.fin.source == etag && l.thumbs.current(l.fin) {
		// Promoted already: a duplicate or late event, or a crash before the staged copy was
		// removed. Finish that removal; nothing is decoded or written again.
		rep.outcome = Unchanged
		if err := p.nameRecorded(ctx, bucket, k, rep); err != nil {
			return rep, err
		}
		return rep, p.removeStaged(ctx, bucket, staged, etag)
	}

	// The magic bytes are checked before the rest of the body is read: an upload refused by them
	// costs pipeline.SniffLen bytes. The read limit makes sure we decode what we sized, whatever
	// the body turns out to hold.
	data, err := readSniffed(l.obj.Body, size, k.Ext)
	if err != nil {
		if _, ok := pipeline.AsRejected(err); ok {
			return p.rejectOrFail(ctx, bucket, staged, k, head, err, rep)
		}
		return rep, fmt.Errorf("read %s: %w", staged, err)
	}
	if int64(len(data)) > imagepolicy.MaxBytes {
		return p.quarantine(ctx, bucket, staged, k, head,
			pipeline.Reject(pipeline.ReasonTooLarge, "more than %d bytes", imagepolicy.MaxBytes), rep)
	}
	// An upload made through the page carries its SHA-256 (checksum_sha256), which S3 checked
	// against these bytes and kept: hashing them again was 3% of a burst's processor CPU.
	if rep.sum = s3client.StoredSHA256(l.obj); rep.sum == "" {
		rep.sum = catalog.Checksum(data)
	}
	// The object's deadline reaches into the decoders: a decode cut off by it is an error of the
	// image (to be retried, then given up on by the sweep), not a verdict on the content; so is a
	// panic (checkImage).
	res, err := checkLimited(ctx, data, k.Ext)
	if err != nil {
		return p.rejectOrFail(ctx, bucket, staged, k, head, err, rep)
	}
	rep.pixels = int64(res.Width) * int64(res.Height)
	return p.promote(ctx, bucket, staged, k, etag, l.fin, res, l.thumbs, rep)
}

// readSniffed reads a staged upload's body (size bytes by its headers) up to one byte over the
// limit, and stops after the first pipeline.SniffLen bytes with the rejection when they are not
// an image of the key's extension.
func readSniffed(body io.Reader, size int64, ext string) ([]byte, error) {
	buf := bytes.NewBuffer(make([]byte, 0, min(size, imagepolicy.MaxBytes)+1))
	n, err := io.CopyN(buf, body, pipeline.SniffLen)
	if err != nil && err != io.EOF {
		return nil, err
	}
	if _, err := pipeline.Sniff(buf.Bytes(), ext); err != nil {
		return nil, err
	}
	if _, err := buf.ReadFrom(io.LimitReader(body, imagepolicy.MaxBytes+1-n)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
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

// promote writes the stripped original to the final key and the thumbnails beside it, all at
// once, then removes the staged upload. "Ready" is an original with its thumbnails, and only
// checked bytes are ever written to either, so the order between them does not matter to readers.
// Every write is a compare-and-swap on what the first look saw (If-Match on its ETag, or
// If-None-Match when there was nothing): of two runs promoting different bytes of one upload at
// the same moment (a replayed upload URL), at most one succeeds with all its writes and goes on to
// remove the staged copy; one that lost any write fails and is retried against what is there then.
// Runs promoting the same bytes (duplicate events at once, as Lambda delivers them) can split the
// writes between them: a write lost to an object made from the same staged ETag counts as done, so
// that each run finishes the promotion and none leaves the staged copy behind for the sweep.
//
// The final object is a new PutObject with only what this service sets (the validated type and
// the source ETag), never a copy: headers such as Content-Disposition or Cache-Control that an
// uploader sent unsigned with a presigned PUT stay behind in staging.
func (p *Processor) promote(ctx context.Context, bucket, staged string, k keys.Key, etag string, fin finalState,
	res *pipeline.Result, thumbs thumbState, rep report) (report, error) {
	final := k.OriginalKey()
	in := &s3.PutObjectInput{
		Bucket: &bucket, Key: &final, Body: bytes.NewReader(res.Original),
		ContentLength:     ptr(int64(len(res.Original))),
		ContentType:       ptr(res.Type.MIME),
		Metadata:          map[string]string{keys.MetaSourceETag: etag},
		ChecksumAlgorithm: storedChecksum,
	}
	if len(res.Removed) > 0 {
		rep.removed = imagepolicy.JoinRemoved(res.Removed)
		in.Metadata[keys.MetaRemoved] = rep.removed
	}
	casOn(in, fin.exists, fin.etag)
	// The name its upload URL noted goes into the catalog beside these writes, so that staff see
	// it on the upload once it is ready; the outcome is written only once it is there.
	p.startName(ctx, bucket, k, &rep)
	var wg sync.WaitGroup
	var perr error
	var peer bool // the original was written by a run promoting these very bytes at the same moment
	wg.Go(func() {
		if _, perr = p.S3.PutObject(ctx, in); notThere(perr) {
			now, ferr := p.final(ctx, bucket, k)
			peer = ferr == nil && now.exists && now.source == etag
		}
		if peer {
			perr = nil
		}
	})
	terrs := make([]error, len(res.Thumbnails))
	for i, th := range res.Thumbnails {
		wg.Go(func() { terrs[i] = p.putThumbnail(ctx, bucket, k, th, etag, thumbs) })
	}
	wg.Wait()
	terr := errors.Join(terrs...)
	// A delete may have started since the first look: looked for once every write of the promotion
	// is answered, whether each succeeded or not (a run that lost the original's compare-and-swap
	// may still have written a thumbnail, and a write that failed may still have landed). A delete
	// whose tombstone came before this look finds nothing here that is not undone below (and
	// readers hide an upload with a tombstone meanwhile); one whose tombstone came after it finds
	// every write done, and moves them to the trash itself (README, "Delete, permanent delete and
	// the trash"). The name is in the catalog first, so that a permanent delete that missed it is
	// undone too.
	if err := rep.named(); err != nil {
		if lost, lerr := p.lostToDelete(ctx, bucket, staged, k, etag); lost {
			return report{outcome: Rejected, reason: string(imagepolicy.ReasonDeleted), bytes: rep.bytes}, lerr
		}
		return rep, err
	}
	// When every write succeeded, what follows a promotion goes beside the look: the pair of the
	// other extension, if there is one, describes old bytes (a replacement can change between
	// opaque and transparent), and the note's name is in the catalog now.
	var staleErr, noteErr error
	if perr == nil && terr == nil {
		wg.Go(func() { staleErr = p.removeStalePair(ctx, bucket, k, res, thumbs) })
		wg.Go(func() { noteErr = p.removeNote(ctx, bucket, k, rep.name) })
	}
	lost, lerr := p.lostToDelete(ctx, bucket, staged, k, etag)
	wg.Wait()
	if lost {
		return report{outcome: Rejected, reason: string(imagepolicy.ReasonDeleted), bytes: rep.bytes}, lerr
	}
	if lerr != nil {
		return rep, lerr
	}
	if notThere(perr) {
		// Someone promoted other bytes first (a replayed upload URL): retry against the new state.
		return rep, fmt.Errorf("promote %s: %s changed meanwhile: %w", staged, final, perr)
	}
	if perr != nil {
		return rep, fmt.Errorf("promote %s to %s: %w", staged, final, perr)
	}
	if err := errors.Join(terr, staleErr, noteErr); err != nil {
		return rep, err
	}
	rep.outcome = Ready
	if peer {
		rep.outcome = Unchanged
	}
	// The scenario home counts it from now on (in a receiver's burst, within Refresher.Batch),
	// refreshed beside the staged copy's removal (it reads nothing of staging). Derived data: a
	// failed refresh is not the upload's failure (retrying it would redo nothing else), and the
	// sweep's rebuild heals it.
	indexed := make(chan error, 1)
	go func() { indexed <- p.refreshIndex(ctx, bucket, k.Scenario) }()
	err := p.removeStaged(ctx, bucket, staged, etag)
	if ierr := <-indexed; ierr != nil {
		p.Log.Warn("scenarios index not refreshed; the next sweep rebuilds it", "scenario", k.Scenario, "err", ierr)
	}
	return rep, err
}

// refreshIndex refreshes the scenario's entry in the scenarios index, through p.Index if set.
func (p *Processor) refreshIndex(ctx context.Context, bucket, scenario string) error {
	if p.Index == nil {
		return scenarioindex.Refresh(ctx, p.S3, bucket, scenario)
	}
	return p.Index.Refresh(ctx, p.S3, bucket, scenario)
}

// putThumbnail writes one thumbnail, conditionally on what the first look saw under its key.
// Its source ETag is the staged upload's, as on the original: a thumbnail belongs to the original
// that names the same source.
func (p *Processor) putThumbnail(ctx context.Context, bucket string, k keys.Key, th pipeline.Thumbnail, source string, seen thumbState) error {
	tkey := keys.ThumbnailKey(k.Scenario, k.ID, th.Size, th.Ext)
	in := &s3.PutObjectInput{
		Bucket: &bucket, Key: &tkey, Body: bytes.NewReader(th.Data),
		ContentLength:     ptr(int64(len(th.Data))),
		ContentType:       ptr(th.ContentType),
		CacheControl:      ptr(ThumbnailCacheControl),
		Metadata:          map[string]string{keys.MetaSourceETag: source},
		ChecksumAlgorithm: storedChecksum,
	}
	was, exists := seen[th.Ext][th.Size]
	casOn(in, exists, was.etag)
	_, err := p.S3.PutObject(ctx, in)
	if notThere(err) {
		// Lost to a run promoting the same upload at the same moment (a duplicate event)? Then the
		// thumbnail it wrote is this one, byte for byte: the same bytes make the same thumbnail.
		if h, herr := p.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &tkey}); herr == nil &&
			h.Metadata[keys.MetaSourceETag] == source {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("put thumbnail %s: %w", tkey, err)
	}
	return nil
}

// removeStalePair deletes the thumbnails of the other extension than the ones just written.
func (p *Processor) removeStalePair(ctx context.Context, bucket string, k keys.Key, res *pipeline.Result, seen thumbState) error {
	for _, ext := range seen.present() {
		if len(res.Thumbnails) == 0 || ext == res.Thumbnails[0].Ext {
			continue
		}
		for _, size := range imagepolicy.ThumbnailSizes {
			stale := keys.ThumbnailKey(k.Scenario, k.ID, size, ext)
			if _, err := p.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &stale}); err != nil && !notThere(err) {
				return fmt.Errorf("delete stale thumbnail %s: %w", stale, err)
			}
		}
	}
	return nil
}

// storedChecksum is the checksum the processor's image writes carry (the original it promotes and
// its thumbnails): S3 refuses a body that arrived damaged instead of storing it. It is CRC32
// because that is the cheapest of S3's algorithms to compute here (hash/crc32 uses the CPU's
// carry-less multiply); sent with none, versitygw and S3 compute CRC64NVME over every body anyway.
const storedChecksum = types.ChecksumAlgorithmCrc32

// casOn makes a write conditional on the object being as seen: the version with etag (unquoted),
// or absent.
func casOn(in *s3.PutObjectInput, exists bool, etag string) {
	if exists {
		in.IfMatch = ptr(quote(etag))
	} else {
		in.IfNoneMatch = ptr("*")
	}
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

// thumbState is what the first look saw of an upload's thumbnails: by extension and size, the
// ones that exist.
type thumbState map[string]map[int]seenThumb

type seenThumb struct{ etag, source string } // unquoted

// thumbnailHeads heads every thumbnail an upload can have (pipeline.ThumbnailExts), all at once.
func (p *Processor) thumbnailHeads(ctx context.Context, bucket string, k keys.Key) (thumbState, error) {
	ts := thumbState{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var errs []error
	for _, ext := range pipeline.ThumbnailExts(k.Ext) {
		for _, size := range imagepolicy.ThumbnailSizes {
			wg.Go(func() {
				tkey := keys.ThumbnailKey(k.Scenario, k.ID, size, ext)
				h, err := p.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &tkey})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case notThere(err):
				case err != nil:
					errs = append(errs, fmt.Errorf("head %s: %w", tkey, err))
				default:
					if ts[ext] == nil {
						ts[ext] = map[int]seenThumb{}
					}
					ts[ext][size] = seenThumb{etag: unquote(deref(h.ETag)), source: h.Metadata[keys.MetaSourceETag]}
				}
			})
		}
	}
	wg.Wait()
	return ts, errors.Join(errs...)
}

// current reports whether every thumbnail of one extension exists and was made from the bytes the
// final original fin was promoted from. Thumbnails name the staged upload's ETag, as the original
// does; those written before they did name the final original's own ETag, which still counts.
func (ts thumbState) current(fin finalState) bool {
	if !fin.exists {
		return false
	}
	for _, ext := range keys.ThumbnailExts {
		pair := len(ts[ext]) == len(imagepolicy.ThumbnailSizes)
		for _, t := range ts[ext] {
			if t.source == "" || (t.source != fin.source && t.source != fin.etag) {
				pair = false
			}
		}
		if pair {
			return true
		}
	}
	return false
}

// present is which extensions have thumbnails at all (so a stale pair can be removed without blind
// deletes).
func (ts thumbState) present() []string {
	var out []string
	for _, ext := range keys.ThumbnailExts {
		if len(ts[ext]) > 0 {
			out = append(out, ext)
		}
	}
	return out
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
