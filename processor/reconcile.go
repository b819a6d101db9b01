package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"medicpx/processor/pipeline"
	"medicpx/shared/imagepolicy"
	"medicpx/shared/keys"
	"medicpx/shared/scenarioindex"
)

// Sweep is what a listing found.
type Sweep struct {
	Listed   int      // objects listed under the staged and the final prefix
	Complete int      // final originals with every thumbnail
	Young    int      // staged uploads younger than the grace period: their events are still due
	Pending  []string // staged uploads older than the grace period: their event was lost or failed
	// Orphans are thumbnails older than the grace period whose original is gone: left behind when
	// an image was deleted while the processor was still writing them.
	Orphans []string
}

// ReconcileSummary is the result of a reconcile run.
type ReconcileSummary struct {
	Sweep
	Outcomes map[Outcome]int
	GaveUp   int // quarantined with imagepolicy.ReasonProcessingFailed
	// Infra counts the failures (of Outcomes[Failed]) that were infrastructure faults: not counted
	// against their uploads, which the next sweep tries again.
	Infra int
	// Deferred counts the pending uploads (and orphans) left for the next sweep because the run's
	// deadline came too close to start another.
	Deferred int
}

// ListError is a sweep that could not list what to do: the one failure of a scheduled sweep that
// is worth Lambda's retry. An object that fails is retried by the next sweep anyway (and given up
// on after MaxAttempts), so it does not fail the run.
type ListError struct{ Err error }

func (e *ListError) Error() string { return e.Err.Error() }
func (e *ListError) Unwrap() error { return e.Err }

// sweepMargin is kept beside one object's budget for the summary line and the return: a sweep
// that is cut off by Lambda's timeout is reported as failed and retried as a whole.
const sweepMargin = 5 * time.Second

// reserve is how much time must be left before the ctx deadline for a sweep to take one more
// upload: the most one Retry may take (its object deadline plus the counter's calls), plus margin.
func (p *Processor) reserve() time.Duration {
	per := p.ObjectTimeout
	if per <= 0 {
		per = DefaultObjectTimeout
	}
	return per + 10*time.Second + sweepMargin
}

// timeLeft reports whether ctx leaves room for another upload. The deadline is compared with
// p.Now, the Processor's clock (the wall clock outside tests).
func (p *Processor) timeLeft(ctx context.Context) bool {
	deadline, ok := ctx.Deadline()
	return !ok || deadline.Sub(p.Now()) >= p.reserve()
}

// Pending lists, for prefix (under keys.Root, e.g. "patient_images/" or one scenario's prefix),
// the staged uploads under keys.IncomingRoot+prefix and the final layout under prefix, in O(pages)
// calls. Work is simply what has sat in staging longer than grace: a processed upload leaves
// staging, so nothing needs a timestamp comparison. It also returns the orphaned thumbnails.
func (p *Processor) Pending(ctx context.Context, bucket, prefix string, grace time.Duration) (Sweep, error) {
	var sw Sweep
	cutoff := p.Now().Add(-grace)
	// An upload is identified by scenario and ID; its thumbnails' extension is not the original's.
	upload := func(k keys.Key) string { return k.Scenario + "/" + k.ID }
	staged := map[string]bool{}
	err := p.list(ctx, bucket, keys.IncomingRoot+prefix, func(k keys.Key, modified time.Time) {
		sw.Listed++
		if k.Kind == keys.Staged {
			staged[upload(k)] = true
		}
		switch {
		case k.Kind != keys.Staged:
		case modified.After(cutoff):
			sw.Young++
		default:
			sw.Pending = append(sw.Pending, k.String())
		}
	})
	if err != nil {
		return sw, err
	}
	type listed struct {
		k        keys.Key
		modified time.Time
	}
	var origs, thumbs []listed
	err = p.list(ctx, bucket, prefix, func(k keys.Key, modified time.Time) {
		sw.Listed++
		switch k.Kind {
		case keys.Thumbnail:
			thumbs = append(thumbs, listed{k, modified})
		case keys.Original:
			origs = append(origs, listed{k, modified})
		}
	})
	if err != nil {
		return sw, err
	}
	sets := map[string]keys.ThumbnailSet{}
	for _, t := range thumbs {
		if sets[upload(t.k)] == nil {
			sets[upload(t.k)] = keys.ThumbnailSet{}
		}
		sets[upload(t.k)].Add(t.k, t.modified)
	}
	hasOriginal := map[string]bool{}
	for _, o := range origs {
		hasOriginal[upload(o.k)] = true
		if sets[upload(o.k)].Ready() {
			sw.Complete++
		}
	}
	for _, t := range thumbs {
		// A promotion writes its thumbnails and its original at once and removes the staged copy
		// only after both: a thumbnail of an upload still staged is one whose original may be on
		// its way (written after this listing passed the originals), never an orphan. Staging is
		// listed first, so a promotion that finished before the originals were listed shows its
		// original, and one that did not still shows its staged copy.
		if !hasOriginal[upload(t.k)] && !staged[upload(t.k)] && !t.modified.After(cutoff) {
			sw.Orphans = append(sw.Orphans, t.k.String())
		}
	}
	slices.Sort(sw.Pending)
	slices.Sort(sw.Orphans)
	return sw, nil
}

// list calls each for every key under prefix that parses as part of the layout.
func (p *Processor) list(ctx context.Context, bucket, prefix string, each func(keys.Key, time.Time)) error {
	return p.listRaw(ctx, bucket, prefix, func(obj types.Object) error {
		if k, err := keys.Parse(deref(obj.Key)); err == nil {
			each(k, deref(obj.LastModified))
		}
		return nil
	})
}

// Reconcile processes the staged uploads that Pending finds: the answer to lost or failed events
// and to POST uploads, whose local events carry no key. Each goes through Retry, so an upload that
// keeps failing is given up on instead of being retried forever. It keeps going after a failure
// and returns the first; a listing failure is a *ListError. With a deadline on ctx (Lambda's), it
// stops taking uploads while one more could still overrun it, and leaves the rest (Deferred) to
// the next sweep.
func (p *Processor) Reconcile(ctx context.Context, bucket, prefix string, grace time.Duration) (ReconcileSummary, error) {
	sw, err := p.Pending(ctx, bucket, prefix, grace)
	sum := ReconcileSummary{Sweep: sw, Outcomes: map[Outcome]int{}}
	if err != nil {
		return sum, &ListError{Err: err}
	}
	var first error
	for i, key := range sw.Pending {
		if !p.timeLeft(ctx) {
			sum.Deferred += len(sw.Pending) - i
			break
		}
		out, gaveUp, err := p.Retry(ctx, bucket, key)
		sum.Outcomes[out]++
		if gaveUp {
			sum.GaveUp++
		}
		if IsInfrastructure(err) {
			sum.Infra++
		}
		if err != nil && first == nil {
			first = err
		}
	}
	orphans := sw.Orphans
	if sum.Deferred > 0 {
		sum.Deferred += len(orphans)
		orphans = nil
	}
	if err := p.deleteOrphans(ctx, bucket, orphans); err != nil && first == nil {
		first = err
	}
	// A whole sweep also expires what must not outlive its retention (Expire logs its own line).
	if prefix == keys.Root && sum.Deferred == 0 && p.timeLeft(ctx) {
		if _, err := p.Expire(ctx, bucket); err != nil && first == nil {
			first = err
		}
		// And rebuilds the scenarios index from a scan, so a refresh that was lost heals.
		if p.timeLeft(ctx) {
			if changed, err := scenarioindex.Rebuild(ctx, p.S3, bucket); err != nil {
				if first == nil {
					first = err
				}
			} else if changed > 0 {
				p.Log.Warn("scenarios index rebuilt: a refresh had been lost", "entries", changed)
			}
		}
	}
	level := slog.LevelInfo
	if first != nil {
		level = slog.LevelError
	}
	p.Log.LogAttrs(ctx, level, "reconciled",
		slog.String("bucket", bucket), slog.String("prefix", prefix),
		slog.Int("listed", sw.Listed), slog.Int("complete", sw.Complete), slog.Int("young", sw.Young),
		slog.Int("pending", len(sw.Pending)), slog.Int("orphans", len(sw.Orphans)), slog.Int("ready", sum.Outcomes[Ready]),
		slog.Int("rejected", sum.Outcomes[Rejected]), slog.Int("gave_up", sum.GaveUp), slog.Int("errors", sum.Outcomes[Failed]),
		slog.Int("infra_faults", sum.Infra), slog.Int("deferred", sum.Deferred))
	return sum, first
}

// ScheduledSweep is the Lambda's scheduled reconcile run. Partial progress is success: uploads
// that failed or were deferred are the next sweep's, and failing the run would only make Lambda
// retry the whole sweep twice and then park the schedule's event in the failure queue. Only a
// listing failure fails it (nothing was learned, and a retry may list).
func (p *Processor) ScheduledSweep(ctx context.Context) error {
	_, err := p.Reconcile(ctx, p.Bucket, keys.Root, p.ReconcileGrace)
	var le *ListError
	if errors.As(err, &le) {
		return err
	}
	return nil
}

// deleteOrphans removes thumbnails whose original is gone; it keeps going and returns the first error.
func (p *Processor) deleteOrphans(ctx context.Context, bucket string, orphans []string) error {
	var first error
	for _, key := range orphans {
		if _, err := p.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &key}); err != nil && !notThere(err) && first == nil {
			first = fmt.Errorf("delete orphaned thumbnail %s: %w", key, err)
		}
	}
	return first
}

// MaxAttempts is how many sweeps try a staged upload before giving up on it. Its events have
// already had their own tries (Lambda retries an async event twice) before the first sweep sees
// it, so three more means about five attempts in all, over three sweep intervals. Only the
// upload's own failures count (faults.go): an infrastructure fault is retried by every sweep for
// as long as the upload is staged.
const MaxAttempts = 3

// Retry is the sweep's way of processing a staged upload whose event did not finish it. It counts
// the attempt on the object before trying, so that an attempt that never returns (the process
// crashed or was killed in the decode) has counted; and once MaxAttempts attempts have failed it
// quarantines the upload with imagepolicy.ReasonProcessingFailed instead of trying again. An
// attempt that ends in an infrastructure fault (an *InfraError) gives its count back: the tag is
// written again with the value it had, and the upload is left for the next sweep, however many
// sweeps that takes. The whole attempt has the object's own deadline. gaveUp reports the quarantine.
//
// The give-back is a write to S3 right after S3 failed, so it may fail too: it runs on a context
// of its own (not the object's spent deadline) with the SDK's retries, and if it still fails the
// attempt stays counted, which costs the upload one of its MaxAttempts, never more per sweep.
func (p *Processor) Retry(ctx context.Context, bucket, key string) (out Outcome, gaveUp bool, err error) {
	k, perr := keys.Parse(key)
	if perr != nil || k.Kind != keys.Staged {
		out, err = p.Process(ctx, bucket, key)
		return out, false, err
	}
	if p.ObjectTimeout > 0 {
		var cancel context.CancelFunc
		// The counter's calls and the give-up copy get a little room beyond Process's own deadline.
		ctx, cancel = context.WithTimeout(ctx, p.ObjectTimeout+10*time.Second)
		defer cancel()
	}
	n, err := p.attempts(ctx, bucket, key)
	if notThere(err) {
		return Gone, false, nil
	}
	if err != nil {
		return Failed, false, classify(err)
	}
	if n >= MaxAttempts {
		out, err = p.giveUp(ctx, bucket, key, k, n)
		return out, out == Rejected, classify(err)
	}
	// PutObjectTagging is not conditional: bytes staged again between the read above and this
	// write would inherit one attempt. That costs them at most one try, and keeps no bytes.
	if err := p.setAttempts(ctx, bucket, key, n+1); notThere(err) {
		return Gone, false, nil
	} else if err != nil {
		return Failed, false, classify(err)
	}
	out, err = p.Process(ctx, bucket, key)
	if IsInfrastructure(err) {
		p.giveBack(ctx, bucket, key, n)
		return out, false, err
	}
	if err != nil && n+1 >= MaxAttempts && ctx.Err() == nil {
		gout, gerr := p.giveUp(ctx, bucket, key, k, n+1)
		if gerr == nil && gout == Rejected {
			return gout, true, nil
		}
	}
	return out, false, err
}

// giveBack restores the attempt counter to n after an attempt that the infrastructure failed. Not
// in a defer on purpose: an attempt that never returns keeps its count.
func (p *Processor) giveBack(ctx context.Context, bucket, key string, n int) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := p.setAttempts(ctx, bucket, key, n); err != nil && !notThere(err) {
		p.Log.LogAttrs(ctx, slog.LevelWarn, "attempt not given back",
			slog.String("bucket", bucket), slog.String("key", key), slog.Int("attempts", n+1), slog.String("err", err.Error()))
	}
}

func (p *Processor) attempts(ctx context.Context, bucket, key string) (int, error) {
	out, err := p.S3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return 0, fmt.Errorf("get tags of %s: %w", key, err)
	}
	for _, t := range out.TagSet {
		if deref(t.Key) == keys.TagAttempts {
			n, err := strconv.Atoi(deref(t.Value))
			if err != nil || n < 0 {
				return MaxAttempts, nil // not ours to have written: treat as spent
			}
			return n, nil
		}
	}
	return 0, nil
}

func (p *Processor) setAttempts(ctx context.Context, bucket, key string, n int) error {
	_, err := p.S3.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: &bucket, Key: &key,
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: ptr(keys.TagAttempts), Value: ptr(strconv.Itoa(n))}}}})
	if err != nil {
		return fmt.Errorf("tag %s: %w", key, err)
	}
	return nil
}

// giveUp quarantines a staged upload that failed MaxAttempts times, with imagepolicy.ReasonProcessingFailed:
// the bytes are kept in quarantine and the professor is told to try another file, instead of the
// upload staying "processing" and costing a try on every sweep.
func (p *Processor) giveUp(ctx context.Context, bucket, key string, k keys.Key, attempts int) (Outcome, error) {
	start := p.Now()
	head, err := p.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if notThere(err) {
		return Gone, nil
	}
	if err != nil {
		return Failed, fmt.Errorf("head %s: %w", key, err)
	}
	rep, err := p.quarantine(ctx, bucket, key, k, head,
		pipeline.Reject(imagepolicy.ReasonProcessingFailed, "%d attempts failed", attempts), report{bytes: deref(head.ContentLength)})
	if err != nil {
		rep.outcome = Failed
	}
	p.logResult(ctx, bucket, key, rep, start, err)
	return rep.outcome, err
}
