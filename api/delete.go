package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"medicpx/shared/catalog"
	"medicpx/shared/keys"
	"medicpx/shared/retire"
	"medicpx/shared/s3client"
	"medicpx/shared/scenarioindex"
)

// Deleting (README, "Delete, permanent delete and the trash"). Every operation that changes
// whether an upload exists (delete, permanent delete, restore) holds the upload's lock for its
// whole run, so that they happen one at a time per upload, and writes the upload's tombstone
// before it removes anything, so that a promotion in flight or a replayed upload URL can never
// bring the upload back (shared/retire).

const (
	msgUploadBusy = "이 이미지에 대한 다른 작업이 진행 중입니다. 잠시 후 다시 시도해 주세요."
	msgPurged     = "환자 이미지를 완전히 삭제했습니다. 되살릴 수 없습니다."
)

// lockUpload takes the upload's lock (retire.Acquire).
func (s *Server) lockUpload(ctx context.Context, k keys.Key) (*retire.Lock, error) {
	l, err := retire.Acquire(ctx, s.store, s.cfg.S3.Bucket, k, s.Now)
	if errors.Is(err, retire.ErrBusy) {
		return nil, wrapError(EConflict, msgUploadBusy, err)
	}
	if err != nil {
		return nil, wrapError(EInternal, msgInternal, err)
	}
	return l, nil
}

func (s *Server) unlock(ctx context.Context, l *retire.Lock) {
	if err := l.Release(ctx); err != nil {
		// It runs out by itself after retire.Lease; until then the upload's next operation waits.
		s.log.Warn("lock not released", "error", err)
	}
}

// deleteImage is the guide's DELETE …/{scenario_id}?s3_key=…: the image goes to the trash. With
// &permanent=true it is removed for good instead (purge).
func (s *Server) deleteImage(w http.ResponseWriter, r *http.Request) error {
	scenario, err := scenarioID(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	raw := q["s3_key"]
	if len(raw) != 1 {
		return newError(EUnprocessable, "s3_key 쿼리 파라미터가 하나 필요합니다.")
	}
	k, err := requireOriginal(&raw[0], scenario)
	if err != nil {
		return err
	}
	switch p := q["permanent"]; {
	case len(p) == 0 || len(p) == 1 && p[0] == "false":
	case len(p) == 1 && p[0] == "true":
		return s.purge(w, r, k, false)
	default:
		return newError(EUnprocessable, "permanent는 true 또는 false여야 합니다.")
	}
	ctx := r.Context()
	lock, err := s.lockUpload(ctx, k)
	if err != nil {
		return err
	}
	defer s.unlock(ctx, lock)
	o, err := s.lookupLive(ctx, k) // deleted already (a double click): 404
	if err != nil {
		return err
	}
	// The tombstone first: from here on the processor neither promotes these bytes nor bytes
	// staged again through the upload URL, and undoes a promotion it finds it lost.
	if err := retire.Mark(ctx, s.store, s.cfg.S3.Bucket, k, retire.Trashed, s.Now()); err != nil {
		return wrapError(EInternal, msgInternal, err)
	}
	// Unchecked bytes are not kept in the trash.
	for _, staged := range keys.StagedKeys(k.String()) {
		if err := s.deleteObject(ctx, staged); err != nil {
			return wrapError(EInternal, msgInternal, err)
		}
	}
	// The seed's request and answer, but the image goes to the trash, restorable for 30 days. The
	// final key is read again now, after the tombstone: an upload that was still staged when it
	// was looked up above may have been promoted since, by a run whose last look came before the
	// tombstone and which therefore will not undo it (README, "Delete, permanent delete and the
	// trash"). A staged upload cannot be pinned (a pin needs a ready image and this lock).
	pinned := false
	if !o.staged {
		pin, err := s.pinned(ctx, scenario)
		if err != nil {
			return err
		}
		pinned = pin == k.String()
	}
	if err := s.moveToTrash(ctx, k, pinned, principalFrom(ctx).Subject); err != nil && !(o.staged && asError(err).Code == ENotFound) {
		return err
	}
	s.refreshIndex(ctx, scenario)
	writeJSON(w, http.StatusOK, map[string]any{"message": "환자 이미지가 성공적으로 삭제되었습니다.", "s3_key": k.String()})
	return nil
}

// purgeFromTrash is DELETE …/scenarios/{scenario_id}/trash?s3_key=…: a permanent delete of an image
// that is in the trash.
func (s *Server) purgeFromTrash(w http.ResponseWriter, r *http.Request) error {
	scenario, err := scenarioID(r)
	if err != nil {
		return err
	}
	raw := r.URL.Query()["s3_key"]
	if len(raw) != 1 {
		return newError(EUnprocessable, "s3_key 쿼리 파라미터가 하나 필요합니다.")
	}
	k, err := requireOriginal(&raw[0], scenario)
	if err != nil {
		return err
	}
	return s.purge(w, r, k, true)
}

// purge removes an upload for good: every object of it (staged, final, thumbnails, trash and
// quarantine copies), its note, its catalog entry and the pin. What stays is its tombstone, which
// names it by hash only and expires once no upload URL for it can still be used.
func (s *Server) purge(w http.ResponseWriter, r *http.Request, k keys.Key, fromTrash bool) error {
	ctx := r.Context()
	lock, err := s.lockUpload(ctx, k)
	if err != nil {
		return err
	}
	defer s.unlock(ctx, lock)
	key := k.String()
	objects := append(keys.StagedKeys(key), key, keys.TrashKey(key), keys.QuarantineKey(key), keys.NoteKey(k.Scenario, k.ID))
	found, err := s.existing(ctx, objects)
	if err != nil {
		return wrapError(EInternal, msgInternal, err)
	}
	c, err := s.catalogForReading(ctx, k.Scenario)
	if err != nil {
		return wrapError(EInternal, msgInternal, err)
	}
	_, inCatalog := c.Images[k.ID]
	if len(found) == 0 && !inCatalog && !fromTrash {
		// Only the scenarios index may still name it (a purge whose refresh failed): finish that.
		if named, err := scenarioindex.Names(ctx, s.store, s.cfg.S3.Bucket, k.Scenario, k.ID); err != nil {
			return wrapError(EInternal, msgInternal, err)
		} else if named {
			inCatalog = true
		}
	}
	switch {
	case fromTrash && !found[keys.TrashKey(key)]:
		return newError(ENotFound, msgNotInTrash)
	case len(found) == 0 && !inCatalog:
		return newError(ENotFound, msgNotFound)
	}
	if err := retire.Mark(ctx, s.store, s.cfg.S3.Bucket, k, retire.Purged, s.Now()); err != nil {
		return wrapError(EInternal, msgInternal, err)
	}
	// Thumbnails and the legacy notes (_meta/uploads/{id}.…) are found by listing their prefix.
	for _, root := range []string{"", keys.TrashRoot} {
		thumbs, err := s.thumbnailKeys(ctx, root, k)
		if err != nil {
			return wrapError(EInternal, msgInternal, err)
		}
		for _, t := range thumbs {
			objects = append(objects, root+t)
		}
	}
	err = s.list(ctx, keys.UploadIDPrefix(k.Scenario, k.ID), false, func(o types.Object) {
		objects = append(objects, aws.ToString(o.Key))
	})
	if err != nil {
		return wrapError(EInternal, msgInternal, err)
	}
	for _, o := range objects {
		if err := s.deleteObject(ctx, o); err != nil {
			return wrapError(EInternal, msgInternal, err)
		}
	}
	if _, err := s.updateCatalog(ctx, k.Scenario, func(c *catalog.Catalog) error {
		if !c.Forget(k.ID) {
			return catalog.ErrNoChange
		}
		return nil
	}); err != nil {
		return err
	}
	// The pin names the upload: it goes, unless another image was pinned meanwhile.
	if err := s.unpin(ctx, k); err != nil {
		return err
	}
	// So may the scenarios index (its cover): unlike other refreshes, this one is the request's,
	// since a permanent delete is not done while anything names the upload. A retry finds the
	// index naming it and refreshes again.
	if err := s.index.Refresh(ctx, s.store, s.cfg.S3.Bucket, k.Scenario); err != nil {
		return wrapError(EInternal, msgInternal, err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": msgPurged, "s3_key": key, "permanent": true})
	return nil
}

// existing reports which of the given keys exist, heading them side by side.
func (s *Server) existing(ctx context.Context, objects []string) (map[string]bool, error) {
	type result struct {
		key string
		ok  bool
		err error
	}
	ch := make(chan result, len(objects))
	for _, key := range objects {
		go func() {
			_, err := s.store.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.cfg.S3.Bucket), Key: aws.String(key)})
			if s3client.IsNotFound(err) {
				err = nil
				ch <- result{key: key}
				return
			}
			ch <- result{key, err == nil, err}
		}()
	}
	found := map[string]bool{}
	var errs []error
	for range objects {
		r := <-ch
		if r.ok {
			found[r.key] = true
		}
		errs = append(errs, r.err)
	}
	return found, errors.Join(errs...)
}
