package api

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/gorilla/mux"

	"medicpx/shared/keys"
	"medicpx/shared/s3client"
)

// catalog is what S3 keys cannot say about a scenario's images: the name the professor picked, a
// caption, and the order professors chose. It is kept in two places, by how often it changes:
//
//   - Captions and the professors' order change at human rate, from two professors at most: they
//     live in the scenario's _meta/catalog.json, and every change is a conditional write (If-Match
//     on the ETag that was read, If-None-Match: * for the first one) retried on 412, so two
//     professors editing at once each see their change kept.
//   - Names and upload order are written on the hot path, once per upload URL, and a page, make
//     bench or make burst asks for dozens to hundreds of URLs for one scenario at once. Through one
//     object that is a read-modify-write race all of them must win in turn: under 32 concurrent
//     requests the retries ran out and the API answered 409 although nobody else was editing. So
//     each upload writes its own note instead (keys.UploadKey, If-None-Match: *), an empty object
//     whose key carries the name and a time-ordered stamp. Writes of distinct keys never contend,
//     in one process or across Lambda execution environments, which is why this beats coalescing
//     writes to the one object: a group commit inside a process does nothing for a fleet of
//     Lambda environments, each serving one request, and backoff only trades the 409 for latency
//     that grows with the burst. Listings read the notes with one more paginated listing, so they
//     stay O(pages) S3 calls. Upload IDs stay random UUIDv4s: the ID is the secret of the
//     token-free s3_url (122 random bits), and a UUIDv7 would keep at most 74 random bits (62 with
//     google/uuid's NewV7, which spends rand_a on sub-millisecond time) next to a guessable
//     timestamp; order therefore comes from the note's stamp, not from the ID.
//
// Catalogs written before the notes hold names and upload order (entry.Seq) too; they are still
// read, and those uploads sort before every upload with a note, as they were made before.
type catalog struct {
	// Seq numbers uploads in the order their upload URLs were handed out.
	Seq    int64             `json:"seq"`
	Images map[string]*entry `json:"images"` // by upload id
	// Order is the upload ids as a professor arranged them. Images not in it follow, in upload order.
	Order []string `json:"order,omitempty"`
}

type entry struct {
	OriginalFilename string `json:"original_filename,omitempty"`
	Caption          string `json:"caption,omitempty"`
	// Seq is the upload order as catalogs recorded it before upload notes; no longer written.
	Seq int64 `json:"seq,omitempty"`
	// stamp is the upload note's place in upload order (0: no note). It is never written to the
	// catalog: catalogForReading fills it in from the notes.
	stamp int64
}

const (
	maxCaptionRunes = 500
	// maxCatalogBytes bounds what a read of the catalog may allocate. A thousand images with the
	// longest names and captions take about 2.5 MB.
	maxCatalogBytes = 32 << 20
	// maxOrderKeys bounds a reorder request before any work; maxOrderBody follows from it (a key
	// is about 70 bytes in JSON).
	maxOrderKeys = 2000
	maxOrderBody = maxOrderKeys * 128
	// catalogAttempts is how often a change is re-read and retried after another writer won; with
	// the backoff below that spans several seconds. Only captions and the professors' order are
	// written here, at human rate, so this is ample; upload URLs write their own notes and never
	// wait here (TestManyUploadsAtOnce, TestConcurrentPresigns).
	catalogAttempts = 40
	// catalogBackoff caps the random wait between attempts.
	catalogBackoff = 200 * time.Millisecond
)

const (
	msgBusy        = "다른 사람이 동시에 수정하고 있어 저장하지 못했습니다. 다시 시도해 주세요."
	msgCaptionLong = "캡션은 최대 500자입니다."
	msgCaptionBad  = "캡션에는 줄바꿈 외의 제어 문자를 쓸 수 없습니다."
)

func (c *catalog) entry(id string) entry {
	if c == nil || c.Images[id] == nil {
		return entry{}
	}
	return *c.Images[id]
}

// readCatalog returns the scenario's catalog and its ETag ("" when there is none yet).
func (s *Server) readCatalog(ctx context.Context, scenario string) (*catalog, string, error) {
	out, err := s.store.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.cfg.S3.Bucket), Key: aws.String(keys.CatalogKey(scenario))})
	if s3client.IsNotFound(err) {
		return &catalog{Images: map[string]*entry{}}, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read catalog: %w", err)
	}
	defer out.Body.Close()
	c := &catalog{}
	if err := json.NewDecoder(io.LimitReader(out.Body, maxCatalogBytes)).Decode(c); err != nil {
		return nil, "", fmt.Errorf("%w: scenario %s: %w", errCatalogUnreadable, scenario, err)
	}
	if c.Images == nil {
		c.Images = map[string]*entry{}
	}
	return c, aws.ToString(out.ETag), nil
}

// errCatalogUnreadable: a listing goes on without names and order (and logs it), but no change is
// written over it, since a write would replace every name and caption it holds.
var errCatalogUnreadable = errors.New("catalog is unreadable")

// catalogForReading is the scenario's catalog with the upload notes' names and stamps merged in,
// for reading only (never write it back: updateCatalog reads its own). The catalog and the notes
// are read side by side: one GET and O(pages) listing calls. An unreadable catalog is logged, not
// fatal.
func (s *Server) catalogForReading(ctx context.Context, scenario string) (*catalog, error) {
	type notesResult struct {
		notes []keys.Key
		err   error
	}
	nc := make(chan notesResult, 1)
	go func() {
		var res notesResult
		res.err = s.list(ctx, keys.UploadPrefix(scenario), false, func(o types.Object) {
			if k, err := keys.Parse(aws.ToString(o.Key)); err == nil && k.UploadNote() && k.Scenario == scenario {
				res.notes = append(res.notes, k)
			}
		})
		nc <- res
	}()
	c, _, err := s.readCatalog(ctx, scenario)
	if errors.Is(err, errCatalogUnreadable) {
		s.log.Error("unreadable catalog; listing without captions and the professors' order", "scenario", scenario, "error", err)
		c, err = &catalog{Images: map[string]*entry{}}, nil
	}
	n := <-nc
	if err = errors.Join(err, n.err); err != nil {
		return nil, err
	}
	for _, k := range n.notes {
		e := c.Images[k.ID]
		if e == nil {
			e = &entry{}
			c.Images[k.ID] = e
		}
		// The note is written before the upload URL is handed out, so it is the name; a catalog
		// name for the same ID only exists if an old API version wrote one during a deploy.
		e.OriginalFilename = k.PickedName
		// One note per ID (its key starts with the ID and it is written once, If-None-Match);
		// should two ever exist, the earlier stamp is when the URL was first handed out.
		if e.stamp == 0 || k.Stamp < e.stamp {
			e.stamp = k.Stamp
		}
	}
	return c, nil
}

// errRetryCatalog tells updateCatalog that another writer won the race.
var errRetryCatalog = errors.New("catalog changed while it was being updated")

// updateCatalog applies change to the current catalog and writes it only if nobody wrote in
// between; otherwise it reads again and reapplies change. change must be safe to run again.
func (s *Server) updateCatalog(ctx context.Context, scenario string, change func(*catalog) error) (*catalog, error) {
	for attempt := 0; attempt < catalogAttempts; attempt++ {
		if attempt > 0 {
			// Exponential backoff with full jitter, so writers that collided spread out.
			d := time.Millisecond + rand.N(min(catalogBackoff, 5*time.Millisecond<<min(attempt, 10)))
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(d):
			}
		}
		c, etag, err := s.readCatalog(ctx, scenario)
		if err != nil {
			return nil, wrapError(EInternal, msgInternal, err)
		}
		if err := change(c); err != nil {
			return nil, err
		}
		body, err := json.Marshal(c)
		if err != nil {
			return nil, wrapError(EInternal, msgInternal, err)
		}
		in := &s3.PutObjectInput{
			Bucket: aws.String(s.cfg.S3.Bucket), Key: aws.String(keys.CatalogKey(scenario)),
			Body: bytes.NewReader(body), ContentType: aws.String("application/json"),
		}
		if etag == "" {
			in.IfNoneMatch = aws.String("*")
		} else {
			in.IfMatch = aws.String(etag)
		}
		_, err = s.store.PutObject(ctx, in)
		switch s3client.HTTPStatus(err) {
		case 0:
			if err != nil {
				return nil, wrapError(EInternal, msgInternal, err)
			}
			return c, nil
		case http.StatusPreconditionFailed, http.StatusConflict: // 409: S3's ConditionalRequestConflict
			continue
		default:
			return nil, wrapError(EInternal, msgInternal, err)
		}
	}
	return nil, wrapError(EConflict, msgBusy, errRetryCatalog)
}

// recordUpload notes the name the professor picked for a new upload and its place in upload order
// in the upload's own note (see catalog): one write that no other upload contends with.
// If-None-Match: * still guards it, so a note is never replaced.
func (s *Server) recordUpload(ctx context.Context, scenario, id, filename string) error {
	_, err := s.store.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.cfg.S3.Bucket), Key: aws.String(keys.UploadKey(scenario, id, s.stamps.next(s.Now()), filename)),
		Body: bytes.NewReader(nil), ContentLength: aws.Int64(0), IfNoneMatch: aws.String("*"),
	})
	if err != nil {
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

// uploadRank places an image in upload order: images nothing is known of (from before names were
// kept) first, then those an old catalog numbered, then those with upload notes, by stamp.
func uploadRank(e entry) (class int, n int64) {
	switch {
	case e.stamp > 0:
		return 2, e.stamp
	case e.Seq > 0:
		return 1, e.Seq
	}
	return 0, 0
}

// arrange puts originals in the scenario's order: the professors' order first, then the rest in
// upload order (images from before the catalog existed by age, ahead of newer uploads).
func arrange(all []original, c *catalog) {
	pos := make(map[string]int, len(c.Order))
	for i, id := range c.Order {
		pos[id] = i
	}
	slices.SortStableFunc(all, func(a, b original) int {
		pa, oka := pos[a.key.ID]
		pb, okb := pos[b.key.ID]
		switch {
		case oka && okb:
			return pa - pb
		case oka != okb:
			if oka {
				return -1
			}
			return 1
		}
		ca, na := uploadRank(c.entry(a.key.ID))
		cb, nb := uploadRank(c.entry(b.key.ID))
		if d := cmp.Or(cmp.Compare(ca, cb), cmp.Compare(na, nb)); d != 0 {
			return d
		}
		if d := aws.ToTime(a.obj.LastModified).Compare(aws.ToTime(b.obj.LastModified)); d != 0 {
			return d
		}
		return strings.Compare(a.key.String(), b.key.String())
	})
}

// checkCaption enforces the caption's limits: valid UTF-8, at most 500 characters, and no control
// characters except line breaks and tabs.
func checkCaption(c string) (string, error) {
	if !utf8.ValidString(c) {
		return "", newError(EUnprocessable, msgCaptionBad)
	}
	c = strings.TrimSpace(strings.ReplaceAll(c, "\r\n", "\n"))
	if utf8.RuneCountInString(c) > maxCaptionRunes {
		return "", newError(EUnprocessable, msgCaptionLong)
	}
	for _, r := range c {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return "", newError(EUnprocessable, msgCaptionBad)
		}
	}
	return c, nil
}

// setCaption is PATCH …/images/{filename} {"caption": "…"}; it answers with the item.
func (s *Server) setCaption(w http.ResponseWriter, r *http.Request) error {
	scenario, err := scenarioID(r)
	if err != nil {
		return err
	}
	k, err := keys.ParseOriginal(keys.ScenarioPrefix(scenario)+mux.Vars(r)["filename"], scenario)
	if err != nil {
		return wrapError(EInvalid, fmt.Sprintf(msgBadFilenameFmt, "업로드 URL이 준 stored_filename이어야 합니다."), err)
	}
	var body struct {
		Caption *string `json:"caption"`
	}
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	if body.Caption == nil {
		return newError(EUnprocessable, "caption이 필요합니다.")
	}
	caption, err := checkCaption(*body.Caption)
	if err != nil {
		return err
	}
	ctx := r.Context()
	o, err := s.lookup(ctx, k)
	if err != nil {
		return err
	}
	c, err := s.updateCatalog(ctx, scenario, func(c *catalog) error {
		e := c.Images[k.ID]
		if e == nil {
			e = &entry{}
			c.Images[k.ID] = e
		}
		e.Caption = caption
		return nil
	})
	if err != nil {
		return err
	}
	// o.meta came from lookup, with the name from the upload note; only the caption changed.
	o.meta.Caption = c.entry(k.ID).Caption
	it, err := s.item(ctx, o)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"scenario_id": scenario, "image": it, "message": "캡션을 저장했습니다."})
	return nil
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
	}
	ctx := r.Context()
	_, err = s.updateCatalog(ctx, scenario, func(c *catalog) error {
		order := slices.Clone(ids)
		for _, id := range c.Order {
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
	all, err := s.scan(ctx, scenario, true)
	if err != nil {
		return err
	}
	out := make([]string, len(all))
	for i, o := range all {
		out[i] = o.key.String()
	}
	writeJSON(w, http.StatusOK, map[string]any{"scenario_id": scenario, "s3_keys": out, "message": "순서를 저장했습니다."})
	return nil
}
