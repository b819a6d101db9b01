package processor

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"medicpx/shared/imagepolicy"
	"medicpx/shared/keys"
)

// Sweep is what a listing found.
type Sweep struct {
	Listed   int      // objects listed under the prefix
	Complete int      // originals with a complete thumbnail pair
	Young    int      // originals without one, but younger than the grace period
	Pending  []string // originals without one, older than the grace period
}

// ReconcileSummary is the result of a reconcile run.
type ReconcileSummary struct {
	Sweep
	Outcomes map[Outcome]int
}

// Pending lists everything under prefix in O(pages) calls and returns the originals that lack a
// complete thumbnail pair (both sizes, one extension) and were last modified more than grace ago.
// It does not look at source-etag: Process does, for the few it is handed.
func (p *Processor) Pending(ctx context.Context, bucket, prefix string, grace time.Duration) (Sweep, error) {
	var sw Sweep
	type orig struct {
		key      string
		k        keys.Key
		modified time.Time
	}
	var origs []orig
	thumbs := map[string]bool{}
	pages := s3.NewListObjectsV2Paginator(p.S3, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return sw, fmt.Errorf("list %s: %w", prefix, err)
		}
		for _, obj := range page.Contents {
			sw.Listed++
			key := deref(obj.Key)
			k, err := keys.Parse(key)
			switch {
			case err != nil:
			case k.Kind == keys.Thumbnail:
				thumbs[key] = true
			case k.Kind == keys.Original:
				origs = append(origs, orig{key: key, k: k, modified: deref(obj.LastModified)})
			}
		}
	}
	cutoff := p.Now().Add(-grace)
	for _, o := range origs {
		switch {
		case hasThumbnailPair(thumbs, o.k):
			sw.Complete++
		case o.modified.After(cutoff):
			sw.Young++
		default:
			sw.Pending = append(sw.Pending, o.key)
		}
	}
	return sw, nil
}

func hasThumbnailPair(thumbs map[string]bool, k keys.Key) bool {
	for _, ext := range thumbnailExts {
		pair := true
		for _, size := range imagepolicy.ThumbnailSizes {
			pair = pair && thumbs[keys.ThumbnailKey(k.Scenario, k.ID, size, ext)]
		}
		if pair {
			return true
		}
	}
	return false
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
	level := slog.LevelInfo
	if first != nil {
		level = slog.LevelError
	}
	p.Log.LogAttrs(ctx, level, "reconciled",
		slog.String("bucket", bucket), slog.String("prefix", prefix),
		slog.Int("listed", sw.Listed), slog.Int("complete", sw.Complete), slog.Int("young", sw.Young),
		slog.Int("pending", len(sw.Pending)), slog.Int("ready", sum.Outcomes[Ready]),
		slog.Int("rejected", sum.Outcomes[Rejected]), slog.Int("errors", sum.Outcomes[Failed]))
	return sum, first
}
