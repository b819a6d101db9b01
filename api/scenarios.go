package api

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"medicpx/shared/keys"
	"medicpx/shared/scenarioindex"
)

// The staff's scenario home (issue 19): GET /patient-images/scenarios reads the scenarios index
// (shared/scenarioindex), one object, so a page costs one S3 call whatever the number of
// scenarios. The routes that change what the index says (delete, permanent delete, restore, pin,
// order) refresh the scenario's entry once they are done (refreshIndex).

const (
	defaultScenarioPage = 50
	maxScenarioPage     = 200
	msgBadScenarioLimit = "limit은 1에서 200 사이의 정수여야 합니다."
)

// scenarioItem is one scenario of the home's list.
type scenarioItem struct {
	ScenarioID   string  `json:"scenario_id"`
	ImageCount   int     `json:"image_count"`
	ThumbnailURL *string `json:"thumbnail_url"`
	LastModified string  `json:"last_modified"`
}

// scenarioCursor is where a page ends: the last item's place in the order (last_modified
// newest first, then scenario_id).
type scenarioCursor struct {
	At time.Time `json:"t"`
	ID string    `json:"s"`
}

func (c scenarioCursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (scenarioCursor, bool) {
	var c scenarioCursor
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || !keys.ValidScenario(c.ID) {
		return scenarioCursor{}, false
	}
	return c, true
}

// listScenarios is GET /patient-images/scenarios?limit=N&cursor=C (staff): the scenarios that
// have ready images, newest change first.
func (s *Server) listScenarios(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit := defaultScenarioPage
	if v, ok := q["limit"]; ok {
		n, err := strconv.Atoi(strings.Join(v, ","))
		if len(v) != 1 || err != nil || n < 1 || n > maxScenarioPage {
			return newError(EInvalid, msgBadScenarioLimit)
		}
		limit = n
	}
	var after *scenarioCursor
	if v, ok := q["cursor"]; ok {
		c, valid := decodeCursor(v[0])
		if len(v) != 1 || len(v[0]) > 512 || !valid {
			return newError(EInvalid, msgBadPage)
		}
		after = &c
	}
	ctx := r.Context()
	ix, _, err := scenarioindex.Read(ctx, s.store, s.cfg.S3.Bucket)
	if err != nil {
		return wrapError(EInternal, msgInternal, err)
	}
	type entry struct {
		id  string
		sum scenarioindex.Summary
	}
	all := make([]entry, 0, len(ix.Scenarios))
	for id, sum := range ix.Scenarios {
		if keys.ValidScenario(id) && sum.Count > 0 {
			all = append(all, entry{id, sum})
		}
	}
	order := func(at time.Time, id string, b entry) int {
		return cmp.Or(b.sum.LastModified.Compare(at), strings.Compare(id, b.id))
	}
	slices.SortFunc(all, func(a, b entry) int { return order(a.sum.LastModified, a.id, b) })
	if after != nil {
		// The first entry that comes after the cursor's place.
		i, _ := slices.BinarySearchFunc(all, *after, func(e entry, c scenarioCursor) int {
			if order(e.sum.LastModified, e.id, entry{c.ID, scenarioindex.Summary{LastModified: c.At}}) <= 0 {
				return -1
			}
			return 1
		})
		all = all[i:]
	}
	var next *string
	if len(all) > limit {
		all = all[:limit]
		last := all[len(all)-1]
		c := scenarioCursor{At: last.sum.LastModified, ID: last.id}.encode()
		next = &c
	}
	items := make([]scenarioItem, 0, len(all))
	for _, e := range all {
		it := scenarioItem{ScenarioID: e.id, ImageCount: e.sum.Count, LastModified: e.sum.LastModified.UTC().Format(time.RFC3339)}
		if t, err := keys.Parse(e.sum.Cover); err == nil && t.Kind == keys.Thumbnail && t.Scenario == e.id {
			u, err := s.windowURL(ctx, t.String())
			if err != nil {
				return err
			}
			it.ThumbnailURL = &u
		}
		items = append(items, it)
	}
	writeJSON(w, http.StatusOK, map[string]any{"scenarios": items, "next_cursor": next})
	return nil
}

// refreshIndex recomputes the scenario's entry in the scenarios index after a change. It is
// derived data: a failure is logged, not the request's, and the sweep's rebuild heals it.
func (s *Server) refreshIndex(ctx context.Context, scenario string) {
	if err := s.index.Refresh(context.WithoutCancel(ctx), s.store, s.cfg.S3.Bucket, scenario); err != nil {
		s.log.Error("scenarios index not refreshed; the next sweep rebuilds it", "scenario", scenario, "error", err)
	}
}
