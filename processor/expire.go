package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"medicpx/shared/catalog"
	"medicpx/shared/config"
	"medicpx/shared/keys"
	"medicpx/shared/retire"
)

// Retention says how long each kind of record of an upload is kept that is not its image: what a
// professor deleted or the processor refused must not keep a patient's bytes, name or caption
// beyond it. A zero duration keeps that kind for ever.
type Retention struct {
	Trash      time.Duration // a deleted image, restorable until then (retire.TrashDays)
	Quarantine time.Duration // a refused upload (QUARANTINE_DAYS)
	Notes      time.Duration // an upload URL's note, once the URL has expired (UPLOAD_URL_TTL + margin)
	Tombstones time.Duration // a delete's tombstone (retire.Keep)
}

// noteMargin keeps a note beyond its URL's life for the upload sent at the last moment, which
// the processor (or, after a lost event, the sweep) still has to get to.
const noteMargin = time.Hour

// RetentionFrom is the processor's retention from its configuration.
func RetentionFrom(cfg config.Processor) Retention {
	return Retention{
		Trash:      retire.TrashDays * 24 * time.Hour,
		Quarantine: time.Duration(cfg.QuarantineDays) * 24 * time.Hour,
		Notes:      cfg.UploadTTL + noteMargin,
		Tombstones: retire.Keep,
	}
}

// Expired is what one Expire run removed.
type Expired struct {
	Trash, Quarantine, Notes, Tombstones, Locks int
	Forgotten                                   int // catalog entries removed with the last copy of their upload
}

// Expire removes what has outlived its retention: trash and quarantine copies, notes of upload
// URLs never used, tombstones that no upload URL can need any more, and locks whose holder died.
// When the last copy of an upload goes, so does what the catalog says of it (name, caption,
// place), so nothing that names a patient outlives the image. In AWS the bucket's lifecycle rules
// expire the same prefixes a day later, as a backstop for a sweep that did not run.
//
// An upload is forgotten only when it is nowhere else: the trash and quarantine are listed before
// and after staging and the final prefix, because a delete copies to the trash before it removes
// the original and a restore copies back before it removes the trash copy; whichever listing a
// move slips past, the other sees it.
func (p *Processor) Expire(ctx context.Context, bucket string) (Expired, error) {
	var ex Expired
	if p.Retention == (Retention{}) {
		return ex, nil // keep everything: nothing to look at
	}
	now := p.Now()
	alive := map[string]bool{} // scenario/id
	var candidates []keys.Key  // uploads whose trash or quarantine copy expired
	id := func(k keys.Key) string { return k.Scenario + "/" + k.ID }

	expire := func(root string, keep time.Duration, count *int) error {
		return p.listRaw(ctx, bucket, root+keys.Root, func(o types.Object) error {
			k, err := keys.Parse(strings.TrimPrefix(aws.ToString(o.Key), root))
			if err != nil || (k.Kind != keys.Original && k.Kind != keys.Thumbnail) {
				return nil
			}
			if keep <= 0 || now.Sub(aws.ToTime(o.LastModified)) < keep {
				alive[id(k)] = true
				return nil
			}
			if err := p.remove(ctx, bucket, aws.ToString(o.Key)); err != nil {
				return err
			}
			*count++
			// A thumbnail is a candidate too: a delete copies the original to the trash before
			// its thumbnails, so an original can expire a run before them (or a run can stop
			// between the original and the catalog write), and the run that removes the last
			// thumbnail is then the one that must forget the upload.
			candidates = append(candidates, k)
			return nil
		})
	}
	var errs []error
	errs = append(errs, expire(keys.TrashRoot, p.Retention.Trash, &ex.Trash),
		expire(keys.QuarantineRoot, p.Retention.Quarantine, &ex.Quarantine))
	for _, prefix := range []string{keys.IncomingRoot + keys.Root, keys.Root} {
		errs = append(errs, p.list(ctx, bucket, prefix, func(k keys.Key, _ time.Time) {
			if k.Kind == keys.Original || k.Kind == keys.Staged {
				alive[id(k)] = true
			}
		}))
	}
	for _, root := range []string{keys.TrashRoot, keys.QuarantineRoot} {
		errs = append(errs, p.list(ctx, bucket, root+keys.Root, func(k keys.Key, _ time.Time) {
			alive[id(k)] = true // Parse takes quarantine keys; trash keys are parsed below
		}))
		errs = append(errs, p.listRaw(ctx, bucket, root+keys.Root, func(o types.Object) error {
			if k, err := keys.Parse(strings.TrimPrefix(aws.ToString(o.Key), root)); err == nil {
				alive[id(k)] = true
			}
			return nil
		}))
	}
	if err := errors.Join(errs...); err != nil {
		return ex, err
	}

	// Forget the uploads whose last copy just went, one catalog write per scenario.
	byScenario := map[string][]string{}
	for _, k := range candidates {
		if !alive[id(k)] {
			alive[id(k)] = true // once per upload: an original and its thumbnails are one
			byScenario[k.Scenario] = append(byScenario[k.Scenario], k.ID)
		}
	}
	for scenario, ids := range byScenario {
		forgotten := 0
		if _, err := catalog.Update(ctx, p.S3, bucket, scenario, func(c *catalog.Catalog) error {
			forgotten = 0 // change may run again on a newer catalog
			for _, upload := range ids {
				if _, ok := c.Images[upload]; ok || slices.Contains(c.Order, upload) {
					forgotten++
				}
			}
			if !c.Forget(ids...) {
				return catalog.ErrNoChange
			}
			return nil
		}); err != nil {
			errs = append(errs, err)
			continue
		}
		ex.Forgotten += forgotten
		for _, upload := range ids {
			// Names that upload notes carried in their keys before notes moved to keys.NotesRoot.
			errs = append(errs, p.listRaw(ctx, bucket, keys.UploadIDPrefix(scenario, upload), func(o types.Object) error {
				return p.remove(ctx, bucket, aws.ToString(o.Key))
			}))
		}
	}

	errs = append(errs, p.listRaw(ctx, bucket, keys.NotesRoot, func(o types.Object) error {
		if p.Retention.Notes <= 0 || now.Sub(aws.ToTime(o.LastModified)) < p.Retention.Notes {
			return nil
		}
		ex.Notes++
		return p.remove(ctx, bucket, aws.ToString(o.Key))
	}))
	errs = append(errs, p.listRaw(ctx, bucket, keys.RetiredRoot, func(o types.Object) error {
		age := now.Sub(aws.ToTime(o.LastModified))
		switch {
		case strings.HasSuffix(aws.ToString(o.Key), ".lock"):
			// A lock is released within seconds; one this old lost its holder (its lease ran
			// out long ago, and the next Acquire would take it over anyway).
			if age < 10*retire.Lease {
				return nil
			}
			// Only the lock that was listed: one that an Acquire took over since (removed and
			// wrote anew) belongs to a live holder, and removing it would let a second operation
			// on the upload run beside that one.
			if err := p.removeIf(ctx, bucket, aws.ToString(o.Key), o.ETag); err != nil {
				return err
			}
			ex.Locks++
			return nil
		case p.Retention.Tombstones > 0 && age >= p.Retention.Tombstones:
			ex.Tombstones++
		default:
			return nil
		}
		return p.remove(ctx, bucket, aws.ToString(o.Key))
	}))
	err := errors.Join(errs...)
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelError
	}
	p.Log.LogAttrs(ctx, level, "expired", slog.String("bucket", bucket), slog.Int("trash", ex.Trash),
		slog.Int("quarantine", ex.Quarantine), slog.Int("notes", ex.Notes), slog.Int("tombstones", ex.Tombstones),
		slog.Int("locks", ex.Locks), slog.Int("forgotten", ex.Forgotten))
	return ex, err
}

// listRaw calls each for every object under prefix, and stops at the first error.
func (p *Processor) listRaw(ctx context.Context, bucket, prefix string, each func(types.Object) error) error {
	pages := s3.NewListObjectsV2Paginator(p.S3, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list %s: %w", prefix, err)
		}
		for _, obj := range page.Contents {
			if err := each(obj); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *Processor) remove(ctx context.Context, bucket, key string) error {
	return p.removeIf(ctx, bucket, key, nil)
}

// removeIf removes key if its ETag is still etag (any, when nil); an object replaced meanwhile
// stays (412 is not an error).
func (p *Processor) removeIf(ctx context.Context, bucket, key string, etag *string) error {
	if _, err := p.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &key, IfMatch: etag}); err != nil && !notThere(err) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}
