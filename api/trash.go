package api

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"medicpx/shared/imagepolicy"
	"medicpx/shared/keys"
	"medicpx/shared/retire"
	"medicpx/shared/s3client"
)

// A deleted image is moved to trash/ (the same key behind the prefix) and kept for trashDays, after
// which the bucket's lifecycle rule (template.yaml) expires it. Nothing else reads trash/: the
// processor's key parser refuses it, and students have no route to it.
const trashDays = retire.TrashDays

const (
	msgNotInTrash    = "휴지통에서 이미지를 찾을 수 없습니다. 30일이 지나 완전히 지워졌을 수 있습니다."
	msgAlreadyListed = "같은 이미지가 이미 목록에 있습니다."
)

// trashItem is one deleted image as the trash (a staff route) lists it, name and note included.
type trashItem struct {
	S3Key            string `json:"s3_key"`
	Filename         string `json:"filename"`
	OriginalFilename string `json:"original_filename"`
	Caption          string `json:"caption"`
	Note             string `json:"note"`
	FileSize         int64  `json:"file_size"`
	DeletedAt        string `json:"deleted_at"`
	ExpiresAt        string `json:"expires_at"`
	ThumbnailURL     string `json:"thumbnail_url,omitempty"`
}

// copyObject copies within the bucket. meta, when not nil, replaces the object's metadata (its
// type and caching headers are carried over from head).
func (s *Server) copyObject(ctx context.Context, from, to string, head *s3.HeadObjectOutput, meta map[string]string) error {
	in := &s3.CopyObjectInput{
		Bucket: aws.String(s.cfg.S3.Bucket), Key: aws.String(to),
		CopySource: aws.String(s.cfg.S3.Bucket + "/" + (&url.URL{Path: from}).EscapedPath()),
		// No object tags are carried: the images have none worth keeping, and copying tags would
		// need s3:GetObjectTagging and s3:PutObjectTagging, which the API's role does not have.
		TaggingDirective: types.TaggingDirectiveReplace,
	}
	if meta != nil {
		in.MetadataDirective = types.MetadataDirectiveReplace
		in.Metadata = meta
		in.ContentType = head.ContentType
		in.CacheControl = head.CacheControl
	}
	if _, err := s.store.CopyObject(ctx, in); err != nil {
		return fmt.Errorf("copy %s to %s: %w", from, to, err)
	}
	return nil
}

func (s *Server) deleteObject(ctx context.Context, key string) error {
	// A key that is already gone is deleted: S3 answers 204 for it, but versitygw answers 404
	// NoSuchKey when another delete of the same key (a double click, two pages) removed it a moment
	// before, which must not turn into a 500.
	if _, err := s.store.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.cfg.S3.Bucket), Key: aws.String(key)}); err != nil && !s3client.IsNotFound(err) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// thumbnailKeys lists every thumbnail of one upload under root ("" or keys.TrashRoot), a stale
// pair of the other extension included.
func (s *Server) thumbnailKeys(ctx context.Context, root string, k keys.Key) ([]string, error) {
	var out []string
	err := s.list(ctx, root+keys.ThumbnailPrefix(k.Scenario)+k.ID+"_", false, func(o types.Object) {
		if t, err := keys.Parse(strings.TrimPrefix(aws.ToString(o.Key), root)); err == nil && t.Kind == keys.Thumbnail && t.ID == k.ID {
			out = append(out, t.String())
		}
	})
	return out, err
}

// moveToTrash moves an original and its thumbnails to trash/: every copy is made before anything
// is removed, and the original goes last, so a failure leaves the image listed and a retry of
// the delete finishes the move. A pin on it is dropped (the next in order becomes representative)
// and remembered on the trashed copy, so a restore can bring it back. The caller holds the
// upload's lock, as the pin route does, so pinned (read under it) stays true or false meanwhile.
func (s *Server) moveToTrash(ctx context.Context, k keys.Key, pinned bool, by string) error {
	key := k.String()
	head, err := s.store.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.cfg.S3.Bucket), Key: aws.String(key)})
	if s3client.IsNotFound(err) {
		return newError(ENotFound, msgNotFound)
	}
	if err != nil {
		return wrapError(EInternal, msgInternal, err)
	}
	thumbs, err := s.thumbnailKeys(ctx, "", k)
	if err != nil {
		return wrapError(EInternal, msgInternal, err)
	}
	meta := maps.Clone(head.Metadata)
	if meta == nil {
		meta = map[string]string{}
	}
	meta[keys.MetaDeletedBy] = by
	if pinned {
		meta[keys.MetaWasRepresentative] = "true"
	}
	if err := s.copyObject(ctx, key, keys.TrashKey(key), head, meta); s3client.IsNotFound(err) {
		return newError(ENotFound, msgNotFound) // a delete at the same moment moved it first
	} else if err != nil {
		return wrapError(EInternal, msgInternal, err)
	}
	for _, t := range thumbs {
		// Gone meanwhile: a concurrent delete of the same image copied it already.
		if err := s.copyObject(ctx, t, keys.TrashKey(t), nil, nil); err != nil && !s3client.IsNotFound(err) {
			return wrapError(EInternal, msgInternal, err)
		}
	}
	// Thumbnails before the original: if the original's removal then fails, a retry still finds
	// it and finishes; the reverse order could strand thumbnails that nothing lists.
	for _, t := range thumbs {
		if err := s.deleteObject(ctx, t); err != nil {
			return wrapError(EInternal, msgInternal, err)
		}
	}
	if err := s.deleteObject(ctx, key); err != nil {
		return wrapError(EInternal, msgInternal, err)
	}
	if pinned {
		// The pin route takes the upload's lock too, so no pin of this image lands while the
		// delete runs; a pin of another image may, and unpin leaves that one alone.
		if err := s.unpin(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// listTrash is GET …/trash (staff): deleted images, newest first, at O(pages) S3 calls.
func (s *Server) listTrash(w http.ResponseWriter, r *http.Request) error {
	scenario, err := scenarioID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	root := keys.TrashRoot
	var found []original
	thumbs := map[string]keys.ThumbnailSet{}
	err = s.list(ctx, root+keys.ScenarioPrefix(scenario), true, func(o types.Object) {
		if k, err := keys.ParseOriginal(strings.TrimPrefix(aws.ToString(o.Key), root), scenario); err == nil {
			found = append(found, original{key: k, obj: o})
		}
	})
	if err == nil {
		err = s.list(ctx, root+keys.ThumbnailPrefix(scenario), false, func(o types.Object) {
			if t, err := keys.Parse(strings.TrimPrefix(aws.ToString(o.Key), root)); err == nil && t.Kind == keys.Thumbnail {
				if thumbs[t.ID] == nil {
					thumbs[t.ID] = keys.ThumbnailSet{}
				}
				thumbs[t.ID].Add(t, aws.ToTime(o.LastModified))
			}
		})
	}
	if err != nil {
		return wrapError(EInternal, msgInternal, err)
	}
	c, err := s.catalogForReading(ctx, scenario)
	if err != nil {
		return wrapError(EInternal, msgInternal, err)
	}
	slices.SortFunc(found, func(a, b original) int {
		return aws.ToTime(b.obj.LastModified).Compare(aws.ToTime(a.obj.LastModified))
	})
	items := make([]trashItem, 0, len(found))
	for _, o := range found {
		deleted := aws.ToTime(o.obj.LastModified).UTC()
		e := c.Entry(o.key.ID)
		it := trashItem{
			S3Key: o.key.String(), Filename: keys.Filename(o.key.String()),
			OriginalFilename: e.OriginalFilename, Caption: e.Caption, Note: e.Note, FileSize: aws.ToInt64(o.obj.Size),
			DeletedAt: deleted.Format(time.RFC3339), ExpiresAt: deleted.AddDate(0, 0, trashDays).Format(time.RFC3339),
		}
		if t, ok := thumbs[o.key.ID][imagepolicy.ThumbnailSizes[0]]; ok {
			if it.ThumbnailURL, err = s.windowURL(ctx, root+t.Key); err != nil {
				return err
			}
		}
		items = append(items, it)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"scenario_id": scenario, "images": items, "total_count": len(items), "retention_days": trashDays,
		"message": fmt.Sprintf("휴지통에 이미지 %d개가 있습니다. 삭제 후 %d일이 지나면 완전히 지워집니다.", len(items), trashDays),
	})
	return nil
}

// restoreFromTrash is POST …/trash/restore {"s3_key"}: the image comes back under the same key,
// with its name, caption and place in the order (the catalog keeps them), and its pin when it
// was the representative and nothing else has been pinned since.
func (s *Server) restoreFromTrash(w http.ResponseWriter, r *http.Request) error {
	k, err := bodyKey(w, r)
	if err != nil {
		return err
	}
	scenario := k.Scenario
	ctx := r.Context()
	key, bucket := k.String(), aws.String(s.cfg.S3.Bucket)
	lock, err := s.lockUpload(ctx, k)
	if err != nil {
		return err
	}
	defer s.unlock(ctx, lock)
	_, dead, err := retire.Lookup(ctx, s.store, s.cfg.S3.Bucket, k)
	if err != nil {
		return wrapError(EInternal, msgInternal, err)
	}
	head, err := s.store.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bucket, Key: aws.String(keys.TrashKey(key))})
	if s3client.IsNotFound(err) {
		// Also a restore that got here second, after the first one brought the image back.
		return newError(ENotFound, msgNotInTrash)
	}
	if err != nil {
		return wrapError(EInternal, msgInternal, err)
	}
	if !dead {
		if _, err := s.store.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bucket, Key: aws.String(key)}); err == nil {
			return newError(EConflict, msgAlreadyListed)
		} else if !s3client.IsNotFound(err) {
			return wrapError(EInternal, msgInternal, err)
		}
	}
	// Behind the tombstone, whatever is under the final key or in staging is not the image: a
	// promotion that lost to the delete, or bytes sent through the upload URL since. Neither is
	// what the professor restores, so both go before the tombstone does.
	leftovers := append(keys.StagedKeys(key), key)
	if dead {
		thumbs, err := s.thumbnailKeys(ctx, "", k)
		if err != nil {
			return wrapError(EInternal, msgInternal, err)
		}
		leftovers = append(thumbs, leftovers...)
	}
	for _, o := range leftovers {
		if err := s.deleteObject(ctx, o); err != nil {
			return wrapError(EInternal, msgInternal, err)
		}
	}
	// Before the copies: a copy to staging must find the upload alive when the processor gets it.
	if err := retire.Clear(ctx, s.store, s.cfg.S3.Bucket, k); err != nil {
		return wrapError(EInternal, msgInternal, err)
	}
	thumbs, err := s.thumbnailKeys(ctx, keys.TrashRoot, k)
	if err != nil {
		return wrapError(EInternal, msgInternal, err)
	}
	meta := maps.Clone(head.Metadata)
	wasRep := meta[keys.MetaWasRepresentative] == "true"
	delete(meta, keys.MetaWasRepresentative)
	delete(meta, keys.MetaDeletedBy)
	if meta == nil {
		meta = map[string]string{}
	}
	// The original first, its thumbnails after (the sweep takes thumbnails without an original
	// for orphans): a final original with its thumbnails is ready again without the processor. A
	// trashed image without a full set of thumbnails goes back through staging instead, so the
	// processor checks it again and makes them.
	set := keys.ThumbnailSet{}
	for _, t := range thumbs {
		if tk, err := keys.Parse(t); err == nil {
			set.Add(tk, time.Time{})
		}
	}
	dest := key
	if !set.Ready() {
		dest = keys.StagedKey(key)
	}
	if err := s.copyObject(ctx, keys.TrashKey(key), dest, head, meta); err != nil {
		return wrapError(EInternal, msgInternal, err)
	}
	for _, t := range thumbs {
		if err := s.copyObject(ctx, keys.TrashKey(t), t, nil, nil); err != nil {
			return wrapError(EInternal, msgInternal, err)
		}
	}
	for _, t := range thumbs {
		if err := s.deleteObject(ctx, keys.TrashKey(t)); err != nil {
			return wrapError(EInternal, msgInternal, err)
		}
	}
	if err := s.deleteObject(ctx, keys.TrashKey(key)); err != nil {
		return wrapError(EInternal, msgInternal, err)
	}
	o, err := s.lookup(ctx, k)
	if err != nil {
		return err
	}
	repinned := false
	if wasRep && o.ready() {
		if cur, err := s.pinned(ctx, scenario); err != nil {
			return err
		} else if cur == "" {
			if err := s.writePin(ctx, k, principalFrom(ctx).Subject); err != nil {
				return err
			}
			repinned = true
		}
	}
	s.refreshIndex(ctx, scenario)
	it, err := s.item(ctx, o)
	if err != nil {
		return err
	}
	msg := "이미지를 되살렸습니다."
	if repinned {
		msg = "이미지를 되살리고 다시 대표 이미지로 지정했습니다."
	}
	writeJSON(w, http.StatusOK, map[string]any{"scenario_id": scenario, "image": it, "representative": repinned, "message": msg})
	return nil
}
