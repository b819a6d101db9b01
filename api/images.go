package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/gorilla/mux"

	"medicpx/shared/catalog"
	"medicpx/shared/imagepolicy"
	"medicpx/shared/keys"
	"medicpx/shared/retire"
	"medicpx/shared/s3client"
)

// Status of an upload, as the API reports it.
const (
	statusProcessing = "processing"
	statusReady      = "ready"
	statusRejected   = "rejected"
)

// image is one listed image. The first six fields are the seed's contract; the rest are additions.
type image struct {
	S3Key        string `json:"s3_key"`
	S3URL        string `json:"s3_url"`
	Filename     string `json:"filename"`
	FileSize     int64  `json:"file_size"`
	LastModified string `json:"last_modified"`
	ETag         string `json:"etag"`
	Status       string `json:"status"`
	URL          string `json:"url"`
	ThumbnailURL string `json:"thumbnail_url,omitempty"`
	DisplayURL   string `json:"display_url,omitempty"`
	// OriginalFilename is the name the professor picked ("" for uploads from before names were
	// kept), and Note staff's own text: for staff only, absent (nil) for everyone else.
	OriginalFilename *string `json:"original_filename,omitempty"`
	Note             *string `json:"note,omitempty"`
	Caption          string  `json:"caption"`
	// Label is how students see the image named: its caption, else "사진 N" by its place among
	// the images students see (see number).
	Label string `json:"label"`
}

// original is an upload as listed: its final original with what the listing says of its
// thumbnails, or, when staged is set, only its staged copy (obj is then the staged object).
type original struct {
	key    keys.Key // always the final key: the one the client knows
	obj    types.Object
	thumbs keys.ThumbnailSet
	staged bool
	// removed: what the processor cut off a phone photo (metadata keys.MetaRemoved); known only when
	// the original was looked up by itself, not from a listing.
	removed []string
	meta    entry // from the scenario's catalog
	// number is the 1-based place of a ready image among the ready ones in the scenario's order
	// (what students see); 0 when not known yet (item then finds it).
	number int
}

// ready: a final original with its thumbnails (keys.ThumbnailSet.Ready). Only the processor writes
// there, so no timestamp is compared: replayed bytes wait in staging, never behind a final key.
func (o original) ready() bool { return !o.staged && o.thumbs.Ready() }

func scenarioID(r *http.Request) (string, error) {
	id := mux.Vars(r)["scenario_id"]
	if !keys.ValidScenario(id) {
		return "", newError(EInvalid, msgBadScenario)
	}
	return id, nil
}

// scan lists a scenario's originals and thumbnails, and for staff its staged uploads too: paginated
// listings, the final originals' after staging's and the others beside them, so the cost is
// O(pages), never a call per image, and an upload staff saw stays listed while it is promoted.
// A staged upload whose final original exists (new bytes sent through a replayed upload URL) is
// listed once, as that original: what is served is still the checked image. The scenario's
// catalog and its upload notes are read alongside (one more call and one more paginated listing)
// for names, captions and the order uploads come back in (arrange).
func (s *Server) scan(ctx context.Context, scenario string, withStaged bool) ([]original, error) {
	cc := make(chan catalogResult, 1)
	go func() {
		c, err := s.catalogForReading(ctx, scenario)
		cc <- catalogResult{c, err}
	}()
	type thumbResult struct {
		byID map[string]keys.ThumbnailSet
		err  error
	}
	tc := make(chan thumbResult, 1)
	go func() {
		byID := map[string]keys.ThumbnailSet{}
		err := s.list(ctx, keys.ThumbnailPrefix(scenario), false, func(o types.Object) {
			k, err := keys.Parse(aws.ToString(o.Key))
			if err != nil || k.Kind != keys.Thumbnail {
				return
			}
			if byID[k.ID] == nil {
				byID[k.ID] = keys.ThumbnailSet{}
			}
			byID[k.ID].Add(k, aws.ToTime(o.LastModified))
		})
		tc <- thumbResult{byID, err}
	}()
	type stagedResult struct {
		uploads []original
		err     error
	}
	sc := make(chan stagedResult, 1)
	go func() {
		var res stagedResult
		if withStaged {
			res.err = s.list(ctx, keys.StagedPrefix(scenario), true, func(o types.Object) {
				k, err := keys.Parse(aws.ToString(o.Key))
				if err != nil || k.Kind != keys.Staged {
					return
				}
				k = k.Original()
				res.uploads = append(res.uploads, original{key: k, obj: o, staged: true})
			})
		}
		sc <- res
	}()

	// Tombstones: an upload being deleted, or whose promotion lost to a delete and is being
	// undone, is not listed, whatever of it is still there. Usually none: one empty page.
	rc := make(chan error, 1)
	dead := map[string]bool{}
	go func() {
		rc <- s.list(ctx, keys.RetiredPrefix(scenario), false, func(o types.Object) {
			if h, ok := keys.RetiredHash(aws.ToString(o.Key), scenario); ok {
				dead[h] = true
			}
		})
	}()

	// The final prefix is listed only once staging has been: the processor writes an upload's
	// final original before it removes the staged copy, so an upload that staging no longer
	// shows is already under the final prefix when that listing starts. Read side by side, the
	// final listing could come first and staging second, and an upload being promoted in between
	// would be in neither (staff saw uploads vanish for up to 0.29 s during a burst). Without
	// staging (students) nothing waits.
	st := <-sc
	var out []original
	err := s.list(ctx, keys.ScenarioPrefix(scenario), true, func(o types.Object) {
		k, err := keys.Parse(aws.ToString(o.Key))
		if err != nil || k.Kind != keys.Original {
			return // a stray object is not an image of ours; never list it
		}
		out = append(out, original{key: k, obj: o})
	})
	t, c, rerr := <-tc, <-cc, <-rc
	if err = errors.Join(err, t.err, st.err, c.err, rerr); err != nil {
		return nil, wrapError(EInternal, msgInternal, err)
	}
	final := make(map[string]bool, len(out))
	for i := range out {
		out[i].thumbs = t.byID[out[i].key.ID]
		final[out[i].key.ID] = true
	}
	for _, u := range st.uploads {
		if !final[u.key.ID] {
			out = append(out, u)
		}
	}
	if len(dead) > 0 {
		out = slices.DeleteFunc(out, func(o original) bool { return dead[keys.IDHash(o.key.ID)] })
	}
	for i := range out {
		out[i].meta = c.c.Entry(out[i].key.ID)
	}
	arrange(out, c.c)
	return out, nil
}

func (s *Server) list(ctx context.Context, prefix string, delimit bool, each func(types.Object)) error {
	return s3client.List(ctx, s.store, s.cfg.S3.Bucket, prefix, delimit, each)
}

// item renders an original for a response. Its URLs are signed for the current window so repeated
// listings return identical URLs that browsers can cache. The name and the note go to staff only,
// whatever the route: the caller's principal decides, here.
func (s *Server) item(ctx context.Context, o original) (image, error) {
	key := o.key.String()
	it := image{
		S3Key:        key,
		S3URL:        s.s3URL(ctx, key),
		Filename:     keys.Filename(key),
		FileSize:     aws.ToInt64(o.obj.Size),
		LastModified: aws.ToTime(o.obj.LastModified).UTC().Format(time.RFC3339),
		ETag:         strings.Trim(aws.ToString(o.obj.ETag), `"`),
		Status:       statusProcessing,
		Caption:      o.meta.Caption,
	}
	if principalFrom(ctx).IsStaff() {
		it.OriginalFilename, it.Note = &o.meta.OriginalFilename, &o.meta.Note
	}
	var err error
	if it.Label, err = s.label(ctx, o); err != nil {
		return image{}, err
	}
	if o.staged {
		// Unchecked bytes are never handed out, not even to staff: no URL until it is promoted.
		return it, nil
	}
	if it.URL, err = s.windowURL(ctx, key); err != nil {
		return image{}, err
	}
	if o.ready() {
		it.Status = statusReady
		if it.ThumbnailURL, err = s.windowURL(ctx, o.thumbs[imagepolicy.ThumbnailSizes[0]].Key); err != nil {
			return image{}, err
		}
		if it.DisplayURL, err = s.windowURL(ctx, o.thumbs[imagepolicy.ThumbnailSizes[1]].Key); err != nil {
			return image{}, err
		}
	}
	return it, nil
}

// number numbers the ready originals of a scenario's arranged listing (scan) as students see
// them: 1, 2, … in order.
func number(all []original) {
	n := 0
	for i := range all {
		if all[i].ready() {
			n++
			all[i].number = n
		}
	}
}

// label is the image's label (image.Label): its caption, else "사진 N" for a ready image, else
// "사진" (a processing image has no place among what students see yet). An image looked up by
// itself is numbered from a listing of its scenario, one scan.
func (s *Server) label(ctx context.Context, o original) (string, error) {
	switch {
	case o.meta.Caption != "":
		return o.meta.Caption, nil
	case !o.ready():
		return "사진", nil
	case o.number == 0:
		all, err := s.scan(ctx, o.key.Scenario, false)
		if err != nil {
			return "", err
		}
		number(all)
		for _, a := range all {
			if a.key.ID == o.key.ID {
				o.number = a.number
			}
		}
		if o.number == 0 {
			return "사진", nil // deleted meanwhile
		}
	}
	return fmt.Sprintf("사진 %d", o.number), nil
}

// visible filters what a principal may see: staff see everything, others only ready images.
func visible(p Principal, all []original) []original {
	if p.IsStaff() {
		return all
	}
	return slices.DeleteFunc(slices.Clone(all), func(o original) bool { return !o.ready() })
}

func (s *Server) listImages(w http.ResponseWriter, r *http.Request) error {
	scenario, err := scenarioID(r)
	if err != nil {
		return err
	}
	limit, after, err := pageParams(r, scenario)
	if err != nil {
		return err
	}
	p := principalFrom(r.Context())
	all, err := s.scan(r.Context(), scenario, p.IsStaff())
	if err != nil {
		return err
	}
	number(all)
	shown := visible(p, all)
	// Listing is O(pages) S3 calls and cheap; the response is what must stay within Lambda's
	// limit, so the page is cut from the whole listing (also the only way to keep it in age order).
	pageItems, next := page(scenario, shown, limit, after)
	items := make([]image, 0, len(pageItems))
	for _, o := range pageItems {
		it, err := s.item(r.Context(), o)
		if err != nil {
			return err
		}
		items = append(items, it)
	}
	body := map[string]any{
		"scenario_id": scenario,
		"images":      items,
		// All the caller may see, across pages: with one page (any real scenario), len(images).
		"total_count": len(shown),
		"message":     fmt.Sprintf("시나리오 %s의 환자 이미지 %d개를 조회했습니다.", scenario, len(shown)),
	}
	if next != "" {
		body["next_cursor"] = next
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// pinRecord is what _meta/representative.json holds.
type pinRecord struct {
	S3Key    string `json:"s3_key"`
	PinnedBy string `json:"pinned_by,omitempty"`
	PinnedAt string `json:"pinned_at"`
}

// pinned returns the scenario's pinned key, or "" when none is pinned.
func (s *Server) pinned(ctx context.Context, scenario string) (string, error) {
	key, _, err := s.pinnedRecord(ctx, scenario)
	return key, err
}

// pinnedRecord is pinned with the ETag of the record it read ("" when there is none).
func (s *Server) pinnedRecord(ctx context.Context, scenario string) (key, etag string, err error) {
	out, err := s.store.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(s.cfg.S3.Bucket), Key: aws.String(keys.RepresentativeKey(scenario)),
	})
	if s3client.IsNotFound(err) {
		return "", "", nil
	}
	if err != nil {
		return "", "", wrapError(EInternal, msgInternal, err)
	}
	defer out.Body.Close()
	var rec pinRecord
	if err := json.NewDecoder(io.LimitReader(out.Body, maxBodyBytes)).Decode(&rec); err != nil {
		s.log.Warn("unreadable pin record; ignoring it", "scenario", scenario, "error", err)
		return "", aws.ToString(out.ETag), nil
	}
	return rec.S3Key, aws.ToString(out.ETag), nil
}

// unpin removes the scenario's pin if it names k, conditionally on the record it read: a pin of
// another image written meanwhile (which does not take k's lock) stays.
func (s *Server) unpin(ctx context.Context, k keys.Key) error {
	key, etag, err := s.pinnedRecord(ctx, k.Scenario)
	if err != nil || key != k.String() {
		return err
	}
	_, err = s.store.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: aws.String(s.cfg.S3.Bucket), Key: aws.String(keys.RepresentativeKey(k.Scenario)), IfMatch: aws.String(etag),
	})
	if err != nil && !s3client.IsNotFound(err) && s3client.HTTPStatus(err) != http.StatusPreconditionFailed {
		return wrapError(EInternal, msgInternal, fmt.Errorf("remove the pin: %w", err))
	}
	return nil
}

// lookup finds one upload without listing the scenario (lookupLive), with its catalog entry read
// beside it. A name not yet in the catalog (the upload has not reached the processor) comes from
// the upload's note: one more read, for a single upload only.
func (s *Server) lookup(ctx context.Context, k keys.Key) (original, error) {
	cc := make(chan catalogResult, 1)
	go func() {
		c, err := s.catalogForReading(ctx, k.Scenario)
		cc <- catalogResult{c, err}
	}()
	o, err := s.lookupLive(ctx, k)
	c := <-cc
	if err != nil {
		return original{}, err
	}
	if c.err != nil {
		return original{}, wrapError(EInternal, msgInternal, c.err)
	}
	o.meta = c.c.Entry(k.ID)
	if o.meta.OriginalFilename == "" {
		n, ok, err := catalog.ReadNote(ctx, s.store, s.cfg.S3.Bucket, k.Scenario, k.ID)
		if err != nil {
			return original{}, wrapError(EInternal, msgInternal, err)
		}
		if ok {
			o.meta.OriginalFilename = n.Name
		}
	}
	return o, nil
}

type catalogResult struct {
	c   *catalog.Catalog
	err error
}

// lookupLive is lookupUpload for an upload that is not deleted: one with a tombstone is not found,
// whatever objects of it still exist (a promotion that lost to a delete is being undone). Both
// are read side by side.
func (s *Server) lookupLive(ctx context.Context, k keys.Key) (original, error) {
	rc := make(chan error, 1)
	go func() {
		_, dead, err := retire.Lookup(ctx, s.store, s.cfg.S3.Bucket, k)
		if err == nil && dead {
			err = newError(ENotFound, msgNotFound)
		}
		rc <- err
	}()
	o, err := s.lookupUpload(ctx, k)
	if rerr := <-rc; rerr != nil {
		var apiErr *Error
		if errors.As(rerr, &apiErr) {
			return original{}, rerr
		}
		return original{}, wrapError(EInternal, msgInternal, rerr)
	}
	return o, err
}

// lookupUpload heads the final original and lists its thumbnails side by side (one round trip):
// ready needs both, and the listing is wasted only for an upload still staged.
func (s *Server) lookupUpload(ctx context.Context, k keys.Key) (original, error) {
	key := k.String()
	thumbs := keys.ThumbnailSet{}
	tc := make(chan error, 1)
	go func() {
		tc <- s.list(ctx, keys.ThumbnailPrefix(k.Scenario)+k.ID+"_", false, func(obj types.Object) {
			if t, err := keys.Parse(aws.ToString(obj.Key)); err == nil && t.Kind == keys.Thumbnail && t.ID == k.ID {
				thumbs.Add(t, aws.ToTime(obj.LastModified))
			}
		})
	}()
	head, err := s.store.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.cfg.S3.Bucket), Key: aws.String(key)})
	terr := <-tc
	if s3client.IsNotFound(err) {
		return s.lookupStaged(ctx, k)
	}
	if err = errors.Join(err, terr); err != nil {
		return original{}, wrapError(EInternal, msgInternal, err)
	}
	return original{key: k, thumbs: thumbs, obj: types.Object{
		Key: aws.String(key), Size: head.ContentLength, ETag: head.ETag, LastModified: head.LastModified,
	}, removed: imagepolicy.SplitRemoved(head.Metadata[keys.MetaRemoved])}, nil
}

// lookupStaged finds k's staged upload, which may have another extension than k (a .heic that
// becomes a .jpg): one listing of the id's staged keys, no dearer than a HEAD.
func (s *Server) lookupStaged(ctx context.Context, k keys.Key) (original, error) {
	var found *types.Object
	err := s.list(ctx, keys.StagedPrefix(k.Scenario)+k.ID+".", false, func(obj types.Object) {
		if sk, err := keys.Parse(aws.ToString(obj.Key)); err == nil && sk.Kind == keys.Staged && sk.OriginalKey() == k.String() && found == nil {
			found = &obj
		}
	})
	if err != nil {
		return original{}, wrapError(EInternal, msgInternal, err)
	}
	if found == nil {
		return original{}, newError(ENotFound, msgNotFound)
	}
	return original{key: k, staged: true, obj: *found}, nil
}

func (s *Server) representative(w http.ResponseWriter, r *http.Request) error {
	scenario, err := scenarioID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	// The pin and the scenario are read side by side (one round trip): the listing is what a pin
	// is checked against, and what the answer falls back to.
	type pinResult struct {
		key string
		err error
	}
	pc := make(chan pinResult, 1)
	go func() {
		key, err := s.pinned(ctx, scenario)
		pc <- pinResult{key, err}
	}()
	all, err := s.scan(ctx, scenario, false)
	pin := <-pc
	if err != nil {
		return err
	}
	if pin.err != nil {
		return pin.err
	}
	number(all)
	var chosen *original
	// A pin is used only while its image is ready and has no tombstone (scan hides those):
	// whatever interleaving left it behind, a trashed or deleted image is never the answer. It is
	// not cleared here: a restore in progress looks the same for a moment, and would lose the pin
	// it brings back.
	if k, perr := keys.ParseOriginal(pin.key, scenario); pin.key != "" && perr == nil {
		for i := range all {
			if all[i].key.String() == k.String() && all[i].ready() {
				chosen = &all[i]
				break
			}
		}
	}
	if chosen == nil {
		// No usable pin: the first ready image in the scenario's order, which stays the same as
		// more are added (new uploads go last).
		for i := range all {
			if all[i].ready() {
				chosen = &all[i]
				break
			}
		}
	}
	resp := map[string]any{"scenario_id": scenario, "image": nil,
		"message": fmt.Sprintf("시나리오 %s의 대표 환자 이미지가 없습니다.", scenario)}
	if chosen != nil {
		it, err := s.item(ctx, *chosen)
		if err != nil {
			return err
		}
		resp["image"], resp["message"] = it, "대표 환자 이미지를 조회했습니다."
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// bodyKey reads the route's scenario and a {"s3_key"} body, confined to an original of it.
func bodyKey(w http.ResponseWriter, r *http.Request) (keys.Key, error) {
	scenario, err := scenarioID(r)
	if err != nil {
		return keys.Key{}, err
	}
	var body struct {
		S3Key *string `json:"s3_key"`
	}
	if err := decodeBody(w, r, &body); err != nil {
		return keys.Key{}, err
	}
	return requireOriginal(body.S3Key, scenario)
}

func (s *Server) pin(w http.ResponseWriter, r *http.Request) error {
	k, err := bodyKey(w, r)
	if err != nil {
		return err
	}
	scenario := k.Scenario
	ctx := r.Context()
	// Under the upload's lock, as delete and restore: the pin is then ordered with them, and what
	// it checks (ready, no tombstone) still holds when its write lands. A pin that came first is
	// seen and dropped by the delete (moveToTrash); one that comes after a delete finds the
	// tombstone (404). Unlocked, a delete could read "no pin" between this check and the write,
	// and leave the pin on a trashed image.
	lock, err := s.lockUpload(ctx, k)
	if err != nil {
		return err
	}
	defer s.unlock(ctx, lock)
	o, err := s.lookup(ctx, k) // lookupLive: an upload with a tombstone is not found
	if err != nil {
		return err
	}
	if !o.ready() {
		return newError(EConflict, msgNotReady)
	}
	if err := s.writePin(ctx, k, principalFrom(ctx).Subject); err != nil {
		return err
	}
	s.refreshIndex(ctx, scenario)
	it, err := s.item(ctx, o)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"scenario_id": scenario, "image": it, "message": "대표 환자 이미지를 지정했습니다."})
	return nil
}

// writePin records k as its scenario's representative.
func (s *Server) writePin(ctx context.Context, k keys.Key, by string) error {
	rec, _ := json.Marshal(pinRecord{S3Key: k.String(), PinnedBy: by, PinnedAt: s.Now().UTC().Format(time.RFC3339)})
	_, err := s.store.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.cfg.S3.Bucket), Key: aws.String(keys.RepresentativeKey(k.Scenario)),
		Body: bytes.NewReader(rec), ContentType: aws.String("application/json"),
	})
	if err != nil {
		return wrapError(EInternal, msgInternal, err)
	}
	return nil
}

func (s *Server) imageStatus(w http.ResponseWriter, r *http.Request) error {
	scenario, err := scenarioID(r)
	if err != nil {
		return err
	}
	filename := mux.Vars(r)["filename"]
	k, err := keys.ParseOriginal(keys.ScenarioPrefix(scenario)+filename, scenario)
	if err != nil {
		return wrapError(EInvalid, fmt.Sprintf(msgBadFilenameFmt, "업로드 URL이 준 stored_filename이어야 합니다."), err)
	}
	ctx := r.Context()
	p := principalFrom(ctx)
	resp := map[string]any{"scenario_id": scenario, "s3_key": k.String(), "filename": filename}
	o, err := s.lookup(ctx, k)
	switch {
	case err == nil && (o.ready() || p.IsStaff()):
		it, err := s.item(ctx, o)
		if err != nil {
			return err
		}
		resp["status"], resp["image"] = it.Status, it
		resp["message"] = map[bool]string{true: "이미지 처리가 끝났습니다.", false: msgStillThere}[o.ready()]
		if o.ready() {
			// What a phone appended and the processor left out, said plainly.
			resp["removed"] = append([]string{}, o.removed...)
			if len(o.removed) > 0 {
				resp["removed_message"] = imagepolicy.RemovedSentence(o.removed)
			}
		}
		writeJSON(w, http.StatusOK, resp)
		return nil
	case err == nil, asError(err).Code == ENotFound:
	default:
		return err
	}
	if !p.IsStaff() {
		return newError(ENotFound, msgNotFound)
	}
	head, err := s.store.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.cfg.S3.Bucket), Key: aws.String(keys.QuarantineKey(k.String()))})
	if s3client.IsNotFound(err) {
		return newError(ENotFound, msgNotFound)
	}
	if err != nil {
		return wrapError(EInternal, msgInternal, err)
	}
	reason := imagepolicy.Reason(head.Metadata[keys.MetaReason])
	resp["status"], resp["reason"], resp["message"] = statusRejected, reason, reason.Message()
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// requireOriginal confines a caller-supplied s3_key to an original of the scenario in the path.
func requireOriginal(raw *string, scenario string) (keys.Key, error) {
	if raw == nil || *raw == "" {
		return keys.Key{}, newError(EUnprocessable, "s3_key가 필요합니다.")
	}
	k, err := keys.ParseOriginal(*raw, scenario)
	if err != nil {
		return keys.Key{}, wrapError(EUnprocessable, msgBadKey, err)
	}
	return k, nil
}
