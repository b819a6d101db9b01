package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/gorilla/mux"

	"medicpx/shared/catalog"
	"medicpx/shared/keys"
)

// Names, captions and order live in the scenario's catalog (shared/catalog). The API writes
// captions and the professors' order there; the name a professor picks is written by the upload
// URL to the upload's own note (keys.NoteKey), one write that no other upload contends with, and
// the processor moves it into the catalog when the upload arrives. So a listing reads one object
// for every name, caption and place, whatever number of upload URLs were handed out and never
// used. Upload IDs stay random UUIDv4s: the ID is the secret of the token-free s3_url (122 random
// bits), and a UUIDv7 would keep at most 74 random bits next to a guessable timestamp; order
// therefore comes from the note's stamp, not from the ID.

type entry = catalog.Entry

const (
	maxCaptionRunes = 500
	// maxOrderKeys bounds a reorder request before any work; maxOrderBody follows from it (a key
	// is about 70 bytes in JSON).
	maxOrderKeys = 2000
	maxOrderBody = maxOrderKeys * 128
)

const (
	msgBusy        = "다른 사람이 동시에 수정하고 있어 저장하지 못했습니다. 다시 시도해 주세요."
	msgCaptionLong = "캡션은 최대 500자입니다."
	msgCaptionBad  = "캡션에는 줄바꿈 외의 제어 문자를 쓸 수 없습니다."
)

// catalogForReading is the scenario's catalog, for reading only (updateCatalog reads its own). An
// unreadable catalog is logged, not fatal: the listing goes on without names and order.
func (s *Server) catalogForReading(ctx context.Context, scenario string) (*catalog.Catalog, error) {
	c, _, err := catalog.Read(ctx, s.store, s.cfg.S3.Bucket, scenario)
	if errors.Is(err, catalog.ErrUnreadable) {
		s.log.Error("unreadable catalog; listing without captions and the professors' order", "scenario", scenario, "error", err)
		return &catalog.Catalog{Images: map[string]*entry{}}, nil
	}
	return c, err
}

// updateCatalog applies change to the current catalog with a conditional write (catalog.Update),
// turning its failures into the API's errors. change must be safe to run again.
func (s *Server) updateCatalog(ctx context.Context, scenario string, change func(*catalog.Catalog) error) (*catalog.Catalog, error) {
	c, err := catalog.Update(ctx, s.store, s.cfg.S3.Bucket, scenario, change)
	var apiErr *Error
	switch {
	case err == nil:
		return c, nil
	case errors.As(err, &apiErr):
		return nil, err
	case errors.Is(err, catalog.ErrBusy):
		return nil, wrapError(EConflict, msgBusy, err)
	}
	return nil, wrapError(EInternal, msgInternal, err)
}

// recordUpload notes the name the professor picked for a new upload and its place in upload order
// in the upload's own note (see above): one write that no other upload contends with.
func (s *Server) recordUpload(ctx context.Context, scenario, id, filename string) error {
	n := catalog.Note{Name: filename, Stamp: s.stamps.next(s.Now())}
	if err := catalog.WriteNote(ctx, s.store, s.cfg.S3.Bucket, scenario, id, n); err != nil {
		// Even a 412 is internal: the ID was just minted, so nobody else can have written its note.
		return wrapError(EInternal, msgInternal, fmt.Errorf("record upload %s: %w", id, err))
	}
	return nil
}

// stampClock hands out upload stamps: the wall clock in nanoseconds, made strictly increasing
// within a process, so that uploads this process hands out keep their order even within one clock
// tick or under a test's fixed clock. Across processes (Lambda execution environments) the stamps
// follow the hosts' synchronised clocks: two requests one after the other are a network round
// trip apart, far more than the clocks' skew, and requests that overlap in time have no order of
// their own to keep (ties fall back to the key, below).
type stampClock struct {
	mu   sync.Mutex
	last int64
}

func (c *stampClock) next(now time.Time) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = max(now.UnixNano(), c.last+1)
	return c.last
}

// place is what the scenario's order needs of an original. An upload not arrived at the processor
// yet has no stamp in the catalog (its note has it): it was staged just now, after every upload
// listed with a stamp was handed its URL, so it goes by its staging time among the stamped.
func place(o original) catalog.Place {
	p := catalog.Place{ID: o.key.ID, Modified: aws.ToTime(o.obj.LastModified), Key: o.key.String()}
	p.Class, p.N = catalog.UploadRank(o.meta)
	if p.Class < 2 && o.staged {
		p.Class, p.N = 2, p.Modified.UnixNano()
	}
	return p
}

// arrange puts originals in the scenario's order (catalog.Compare).
func arrange(all []original, c *catalog.Catalog) {
	compare := c.Compare()
	slices.SortStableFunc(all, func(a, b original) int { return compare(place(a), place(b)) })
}

// patchImage is PATCH …/images/{filename} (staff) with any of {"caption", "note",
// "original_filename"}, at least one: every field is checked before anything is written, then all
// are saved in one catalog write. It answers with the item, and with warnings when a staff-only
// field (note, name) holds identifying text.
func (s *Server) patchImage(w http.ResponseWriter, r *http.Request) error {
	scenario, err := scenarioID(r)
	if err != nil {
		return err
	}
	k, err := keys.ParseOriginal(keys.ScenarioPrefix(scenario)+mux.Vars(r)["filename"], scenario)
	if err != nil {
		return wrapError(EInvalid, fmt.Sprintf(msgBadFilenameFmt, "업로드 URL이 준 stored_filename이어야 합니다."), err)
	}
	var body struct {
		Caption          *string `json:"caption"`
		Note             *string `json:"note"`
		OriginalFilename *string `json:"original_filename"`
	}
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	if body.Caption == nil && body.Note == nil && body.OriginalFilename == nil {
		return newError(EUnprocessable, "caption, note, original_filename 중 하나 이상이 필요합니다.")
	}
	var caption, note, nameWarning, noteWarning string
	var saved []string
	if body.Caption != nil {
		if caption, err = checkCaption(*body.Caption); err != nil {
			return err
		}
		saved = append(saved, fieldCaption)
	}
	if body.Note != nil {
		if note, noteWarning, err = checkNote(*body.Note); err != nil {
			return err
		}
		saved = append(saved, fieldNote)
	}
	if body.OriginalFilename != nil {
		if nameWarning, err = checkRename(*body.OriginalFilename, k); err != nil {
			return err
		}
		saved = append(saved, fieldFilename)
	}
	ctx := r.Context()
	o, err := s.lookup(ctx, k)
	if err != nil {
		return err
	}
	c, err := s.updateCatalog(ctx, scenario, func(c *catalog.Catalog) error {
		if body.Caption != nil {
			c.SetCaption(k.ID, caption)
		}
		if body.Note != nil {
			c.SetNote(k.ID, note)
		}
		if body.OriginalFilename != nil {
			c.Rename(k.ID, *body.OriginalFilename)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// o.meta came from lookup, with the name from the upload note when the catalog has none yet.
	e := c.Entry(k.ID)
	o.meta.Caption, o.meta.Note = e.Caption, e.Note
	if e.OriginalFilename != "" {
		o.meta.OriginalFilename = e.OriginalFilename
	}
	it, err := s.item(ctx, o)
	if err != nil {
		return err
	}
	resp := map[string]any{"scenario_id": scenario, "image": it, "message": savedMessage(saved)}
	if ws := warnings(nameWarning, noteWarning); len(ws) > 0 {
		resp["warnings"] = ws
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// savedMessage says which fields were saved: "캡션, 메모를 저장했습니다."
func savedMessage(fields []string) string {
	object := map[string]string{fieldCaption: "을", fieldNote: "를", fieldFilename: "을"}[fields[len(fields)-1]]
	return strings.Join(fields, ", ") + object + " 저장했습니다."
}

// setOrder is PUT …/order {"s3_keys": [...]}: the listed images come first, in that order; images
// the request does not name (e.g. uploaded meanwhile) keep their relative place after them.
func (s *Server) setOrder(w http.ResponseWriter, r *http.Request) error {
	scenario, err := scenarioID(r)
	if err != nil {
		return err
	}
	var body struct {
		S3Keys *[]string `json:"s3_keys"`
	}
	if err := decodeBodyLimit(w, r, &body, maxOrderBody); err != nil {
		return err
	}
	if body.S3Keys == nil {
		return newError(EUnprocessable, "s3_keys가 필요합니다.")
	}
	if len(*body.S3Keys) > maxOrderKeys {
		return newError(EUnprocessable, fmt.Sprintf("s3_keys는 최대 %d개입니다.", maxOrderKeys))
	}
	ids := make([]string, 0, len(*body.S3Keys))
	named := make([]string, 0, len(*body.S3Keys))
	seen := map[string]bool{}
	for _, raw := range *body.S3Keys {
		k, err := requireOriginal(&raw, scenario)
		if err != nil {
			return err
		}
		if seen[k.ID] {
			return newError(EUnprocessable, "s3_keys에 같은 이미지가 두 번 있습니다.")
		}
		seen[k.ID] = true
		ids = append(ids, k.ID)
		named = append(named, k.String())
	}
	ctx := r.Context()
	// Only images of this scenario (as staff list them: processing ones too) may be ordered; a key
	// that names nothing would be stored in every later catalog for nothing.
	all, err := s.scan(ctx, scenario, true)
	if err != nil {
		return err
	}
	listed := make(map[string]bool, len(all))
	for _, o := range all {
		listed[o.key.String()] = true
	}
	for _, key := range named {
		if !listed[key] {
			return newError(EUnprocessable, "s3_keys에 이 시나리오의 이미지가 아닌 키가 있습니다. 목록에 있는 이미지의 s3_key만 보낼 수 있습니다.")
		}
	}
	c, err := s.updateCatalog(ctx, scenario, func(c *catalog.Catalog) error {
		order := slices.Clone(ids)
		for _, id := range c.Order {
			// A trashed image keeps its place for a restore; a permanent delete removes it.
			if !seen[id] {
				order = append(order, id)
			}
		}
		c.Order = order
		return nil
	})
	if err != nil {
		return err
	}
	// The first image in the order is the cover when none is pinned.
	s.refreshIndex(ctx, scenario)
	arrange(all, c)
	out := make([]string, len(all))
	for i, o := range all {
		out[i] = o.key.String()
	}
	writeJSON(w, http.StatusOK, map[string]any{"scenario_id": scenario, "s3_keys": out, "message": "순서를 저장했습니다."})
	return nil
}
