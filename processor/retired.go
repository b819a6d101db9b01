package processor

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"medicpx/processor/pipeline"
	"medicpx/shared/catalog"
	"medicpx/shared/imagepolicy"
	"medicpx/shared/keys"
	"medicpx/shared/retire"
)

// refuseRetired handles bytes staged for a deleted upload without looking at them: after a delete
// to the trash they are quarantined (the professor sees that they were refused); after a
// permanent delete they are dropped, since nothing of that upload may stay.
func (p *Processor) refuseRetired(ctx context.Context, bucket, staged string, k keys.Key, head *s3.HeadObjectOutput,
	tomb retire.Tombstone, rep report) (report, error) {
	if tomb.State == retire.Purged {
		rep.outcome, rep.reason = Rejected, string(imagepolicy.ReasonDeleted)
		return rep, p.removeStaged(ctx, bucket, staged, unquote(deref(head.ETag)))
	}
	return p.quarantine(ctx, bucket, staged, k, head, pipeline.Reject(imagepolicy.ReasonDeleted, "the upload was deleted"), rep)
}

// lostToDelete reports whether the upload was deleted while it was being promoted, and if so
// undoes the promotion: under the upload's lock, so that it cannot undo a restore, and only if the
// tombstone is still there once the lock is held. Everything under the final key and its
// thumbnails goes (while the tombstone stands, nothing there is the image: the delete moved what
// it found to the trash); after a permanent delete the quarantine copy and the name this run put
// in the catalog go too.
// A restore that came in between wins: its copy is the image, and this run stops.
func (p *Processor) lostToDelete(ctx context.Context, bucket, staged string, k keys.Key, etag string) (bool, error) {
	if _, dead, err := retire.Lookup(ctx, p.S3, bucket, k); err != nil || !dead {
		return false, err
	}
	lock, err := retire.Acquire(ctx, p.S3, bucket, k, p.Now)
	if err != nil {
		return false, err
	}
	defer func() {
		if err := lock.Release(ctx); err != nil {
			p.Log.Warn("lock not released", "key", k.String(), "err", err)
		}
	}()
	tomb, dead, err := retire.Lookup(ctx, p.S3, bucket, k)
	if err != nil {
		return false, err
	}
	if !dead {
		// Restored meanwhile; the restore replaced what this run wrote.
		return true, p.removeStaged(ctx, bucket, staged, etag)
	}
	doomed := []string{k.OriginalKey()}
	thumbs := keys.ThumbnailPrefix(k.Scenario) + k.ID + "_"
	list, err := p.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &thumbs})
	if err != nil {
		return false, fmt.Errorf("list %s: %w", thumbs, err)
	}
	for _, o := range list.Contents {
		doomed = append(doomed, aws.ToString(o.Key))
	}
	if tomb.State == retire.Purged {
		doomed = append(doomed, keys.NoteKey(k.Scenario, k.ID), keys.QuarantineKey(k.OriginalKey()))
		if _, err := catalog.Update(ctx, p.S3, bucket, k.Scenario, func(c *catalog.Catalog) error {
			if !c.Forget(k.ID) {
				return catalog.ErrNoChange
			}
			return nil
		}); err != nil {
			return false, err
		}
	}
	for _, key := range doomed {
		if _, err := p.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &key}); err != nil && !notThere(err) {
			return false, fmt.Errorf("undo %s: %w", key, err)
		}
	}
	return true, p.removeStaged(ctx, bucket, staged, etag)
}

// nameRead is what recordName needs before it writes: the upload's note and, when there is one,
// the scenario's catalog, read side by side (readName) beside the first look at the upload.
type nameRead struct {
	read  bool // false: not read yet (recordName reads it)
	note  catalog.Note
	noted bool
	cat   *catalog.Catalog
	etag  string
	err   error
}

// readName reads the upload's note and the scenario's catalog at once: usually the note is there
// (the upload is new) and the catalog is what the name goes into.
func (p *Processor) readName(ctx context.Context, bucket string, k keys.Key) nameRead {
	r := nameRead{read: true}
	var cerr error
	var wg sync.WaitGroup
	// While this process is writing the scenario's catalog for other uploads, the name will go in
	// one of those writes, which starts from the catalog the last one wrote: reading it here too
	// would be one GET and one decode of the whole catalog per upload of a batch, for nothing.
	if !catalogWrites.writing(p, bucket, k.Scenario) {
		wg.Go(func() { r.cat, r.etag, cerr = catalog.Read(ctx, p.S3, bucket, k.Scenario) })
	}
	r.note, r.noted, r.err = catalog.ReadNote(ctx, p.S3, bucket, k.Scenario, k.ID)
	wg.Wait()
	if r.err == nil && r.noted {
		r.err = cerr // the catalog matters only when there is a note to move into it
	}
	return r
}

// recordName moves the upload's note (the name its upload URL recorded, as readName found it, or
// reads it now) into the scenario's catalog, with the SHA-256 of the staged bytes (sum; "" when
// they were not read whole) in the same write; removeNote then removes the note. Idempotent: a
// repeated run finds no note, or a catalog that has it. Without a note a new checksum (new bytes
// through a replayed URL) is written only to an entry that exists, so nothing is brought back
// after a permanent delete. The catalog write is conditional on the catalog read: if another
// writer came in between, it is read again; the uploads this process records at once share one
// write (nameWrites).
func (p *Processor) recordName(ctx context.Context, bucket string, k keys.Key, r nameRead, sum string) error {
	if !r.read {
		r = p.readName(ctx, bucket, k)
	}
	if r.err != nil || !r.noted && sum == "" {
		return r.err
	}
	cat, etag := r.cat, r.etag
	if !r.noted {
		// readName keeps the catalog only for a note; read it again rather than trust a failed read.
		cat, etag = nil, ""
	}
	return catalogWrites.update(ctx, p, bucket, k.Scenario, cat, etag, func(c *catalog.Catalog) bool {
		changed := r.noted && c.AddNote(k.ID, r.note)
		return c.SetChecksum(k.ID, sum, r.noted) || changed
	})
}

// removeNote removes the upload's note once its name is in the catalog; nothing when the first
// look found none.
func (p *Processor) removeNote(ctx context.Context, bucket string, k keys.Key, r nameRead) error {
	if r.read && !r.noted {
		return nil
	}
	note := keys.NoteKey(k.Scenario, k.ID)
	if _, err := p.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &note}); err != nil && !notThere(err) {
		return fmt.Errorf("remove note %s: %w", note, err)
	}
	return nil
}
