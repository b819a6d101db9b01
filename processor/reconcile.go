package processor

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"medicpx/shared/keys"
)

// Sweep is what a listing found.
type Sweep struct {
	Listed   int      // objects listed under the prefix
	Complete int      // originals with a complete thumbnail pair
	Young    int      // originals without one, but younger than the grace period
	Pending  []string // originals without one, older than the grace period
	// Orphans are thumbnails older than the grace period whose original is gone: left behind when
	// an image was deleted while the processor was still writing them.
	Orphans []string
}

// ReconcileSummary is the result of a reconcile run.
type ReconcileSummary struct {
	Sweep
	Outcomes map[Outcome]int
}

// Pending lists everything under prefix in O(pages) calls and returns the originals that lack a
// processed result (keys.ThumbnailSet.Ready: the API's definition of ready too) and were last
// modified more than grace ago, and the orphaned thumbnails.
// It does not look at source-etag: Process does, for the few it is handed.
func (p *Processor) Pending(ctx context.Context, bucket, prefix string, grace time.Duration) (Sweep, error) {
	var sw Sweep
	type listed struct {
		k        keys.Key
		modified time.Time
	}
	var origs, thumbs []listed
	pages := s3.NewListObjectsV2Paginator(p.S3, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return sw, fmt.Errorf("list %s: %w", prefix, err)
		}
		for _, obj := range page.Contents {
			sw.Listed++
			k, err := keys.Parse(deref(obj.Key))
			switch {
			case err != nil:
			case k.Kind == keys.Thumbnail:
				thumbs = append(thumbs, listed{k, deref(obj.LastModified)})
			case k.Kind == keys.Original:
				origs = append(origs, listed{k, deref(obj.LastModified)})
			}
		}
	}
	// An upload is identified by scenario and ID; its thumbnails' extension is not the original's.
	upload := func(k keys.Key) string { return k.Scenario + "/" + k.ID }
	sets := map[string]keys.ThumbnailSet{}
	for _, t := range thumbs {
		if sets[upload(t.k)] == nil {
			sets[upload(t.k)] = keys.ThumbnailSet{}
		}
		sets[upload(t.k)].Add(t.k, t.modified)
	}
	cutoff := p.Now().Add(-grace)
	hasOriginal := map[string]bool{}
	for _, o := range origs {
		hasOriginal[upload(o.k)] = true
		switch {
		case sets[upload(o.k)].Ready(o.modified):
			sw.Complete++
		case o.modified.After(cutoff):
			sw.Young++
		default:
			sw.Pending = append(sw.Pending, o.k.String())
		}
	}
	for _, t := range thumbs {
		if !hasOriginal[upload(t.k)] && !t.modified.After(cutoff) {
			sw.Orphans = append(sw.Orphans, t.k.String())
		}
	}
	slices.Sort(sw.Orphans)
	return sw, nil
}

// Reconcile processes the originals that Pending finds: the answer to lost events and to POST
// uploads, whose local events carry no key. It keeps going after a failure and returns the first.
func (p *Processor) Reconcile(ctx context.Context, bucket, prefix string, grace time.Duration) (ReconcileSummary, error) {
	sw, err := p.Pending(ctx, bucket, prefix, grace)
	sum := ReconcileSummary{Sweep: sw, Outcomes: map[Outcome]int{}}
	if err != nil {
		return sum, err
	}
	var first error
	for _, key := range sw.Pending {
		out, err := p.Process(ctx, bucket, key)
		sum.Outcomes[out]++
		if err != nil && first == nil {
			first = err
		}
	}
	if err := p.deleteOrphans(ctx, bucket, sw.Orphans); err != nil && first == nil {
		first = err
	}
	level := slog.LevelInfo
	if first != nil {
		level = slog.LevelError
	}
	p.Log.LogAttrs(ctx, level, "reconciled",
		slog.String("bucket", bucket), slog.String("prefix", prefix),
		slog.Int("listed", sw.Listed), slog.Int("complete", sw.Complete), slog.Int("young", sw.Young),
		slog.Int("pending", len(sw.Pending)), slog.Int("orphans", len(sw.Orphans)), slog.Int("ready", sum.Outcomes[Ready]),
		slog.Int("rejected", sum.Outcomes[Rejected]), slog.Int("errors", sum.Outcomes[Failed]))
	return sum, first
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
