package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"medicpx/infra/testenv/versity/versitytest"
	"medicpx/shared/keys"
	"medicpx/shared/scenarioindex"
)

// scenarioRow is one decoded item of GET /patient-images/scenarios.
type scenarioRow struct {
	id, thumb, modified string
	count               int
}

func (st *stack) scenarios(tok, query string) ([]scenarioRow, string) {
	st.t.Helper()
	r := st.call("GET", "/patient-images/scenarios"+query, tok, nil)
	if r.Status != 200 {
		st.t.Fatalf("scenarios%s: %d %s", query, r.Status, r.Raw)
	}
	var rows []scenarioRow
	for _, x := range r.Body["scenarios"].([]any) {
		m := x.(map[string]any)
		row := scenarioRow{id: m["scenario_id"].(string), count: int(m["image_count"].(float64)), modified: m["last_modified"].(string)}
		row.thumb, _ = m["thumbnail_url"].(string)
		rows = append(rows, row)
	}
	next, _ := r.Body["next_cursor"].(string)
	if _, ok := r.Body["next_cursor"]; !ok {
		st.t.Fatalf("no next_cursor field: %s", r.Raw)
	}
	return rows, next
}

// refresh is what the processor does when an image of the scenario becomes ready.
func (st *stack) refresh(scenario string) {
	st.t.Helper()
	if err := scenarioindex.Refresh(context.Background(), st.env.Client, versitytest.Bucket, scenario); err != nil {
		st.t.Fatal(err)
	}
}

func rowOf(rows []scenarioRow, id string) *scenarioRow {
	for i := range rows {
		if rows[i].id == id {
			return &rows[i]
		}
	}
	return nil
}

// coverID is the upload id a presigned thumbnail URL names.
func coverID(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil || u == "" {
		t.Fatalf("thumbnail_url %q", u)
	}
	name := p.Path[strings.LastIndexByte(p.Path, '/')+1:]
	if !strings.Contains(p.RawQuery, "X-Amz-Signature=") {
		t.Fatalf("thumbnail_url %q is not presigned", u)
	}
	return strings.SplitN(name, "_", 2)[0]
}

// TestScenariosIndex: the scenario home lists the scenarios with ready images, newest first,
// with count and cover kept right by every route that changes them, and never a deleted image.
func TestScenariosIndex(t *testing.T) {
	st := newStack(t)
	prof := st.token("professor")
	if rows, next := st.scenarios(prof, ""); len(rows) != 0 || next != "" {
		t.Fatalf("empty bucket: %v %q", rows, next)
	}
	a1 := st.upload(prof, "A", "a1.jpg")
	a2 := st.upload(prof, "A", "a2.jpg")
	st.refresh("A")
	b1 := st.upload(prof, "B", "b1.jpg")
	st.refresh("B")
	// C: one upload handed out and staged, never processed; one original without thumbnails.
	c1 := st.call("POST", "/patient-images/upload-url/C", prof, uploadBody("c.jpg", "image/jpeg", 10, "PUT")).str("s3_key")
	st.put(keys.StagedKey(c1), "image/jpeg", []byte("staged"), nil)
	st.original("C", id1, false)
	st.refresh("C")
	rows, _ := st.scenarios(prof, "")
	if len(rows) != 2 || rowOf(rows, "A") == nil || rowOf(rows, "B") == nil {
		t.Fatalf("scenarios %+v, want A and B, and no C", rows)
	}
	id := func(key string) string { k, _ := keys.Parse(key); return k.ID }
	a := rowOf(rows, "A")
	if a.count != 2 || coverID(t, a.thumb) != id(a1) {
		t.Fatalf("A: %+v, want 2 images, cover a1", a)
	}
	// Order: a2 first moves the cover.
	if r := st.call("PUT", "/patient-images/scenarios/A/order", prof, map[string]any{"s3_keys": []string{a2, a1}}); r.Status != 200 {
		t.Fatalf("order: %d %s", r.Status, r.Raw)
	}
	if a := rowOf(st.scenariosAll(prof), "A"); coverID(t, a.thumb) != id(a2) {
		t.Fatalf("after the order change the cover is %s, want a2", coverID(t, a.thumb))
	}
	// Pin a1: the cover.
	if r := st.call("PUT", "/patient-images/scenarios/A/image", prof, map[string]any{"s3_key": a1}); r.Status != 200 {
		t.Fatalf("pin: %d %s", r.Status, r.Raw)
	}
	if a := rowOf(st.scenariosAll(prof), "A"); coverID(t, a.thumb) != id(a1) {
		t.Fatalf("after the pin the cover is %s, want a1", coverID(t, a.thumb))
	}
	// Delete the pinned cover: never counted nor cover afterwards.
	if r := st.call("DELETE", "/patient-images/A?s3_key="+url.QueryEscape(a1), prof, nil); r.Status != 200 {
		t.Fatalf("delete: %d %s", r.Status, r.Raw)
	}
	if a := rowOf(st.scenariosAll(prof), "A"); a == nil || a.count != 1 || coverID(t, a.thumb) != id(a2) {
		t.Fatalf("after deleting a1: %+v, want 1 image, cover a2", a)
	}
	// Restore: back, with its pin.
	if r := st.call("POST", "/patient-images/scenarios/A/trash/restore", prof, map[string]any{"s3_key": a1}); r.Status != 200 {
		t.Fatalf("restore: %d %s", r.Status, r.Raw)
	}
	if a := rowOf(st.scenariosAll(prof), "A"); a == nil || a.count != 2 || coverID(t, a.thumb) != id(a1) {
		t.Fatalf("after the restore: %+v, want 2 images, cover a1", a)
	}
	// Permanent delete of both: A goes, and the index names neither.
	for _, k := range []string{a1, a2} {
		if r := st.call("DELETE", "/patient-images/A?permanent=true&s3_key="+url.QueryEscape(k), prof, nil); r.Status != 200 {
			t.Fatalf("purge: %d %s", r.Status, r.Raw)
		}
	}
	if a := rowOf(st.scenariosAll(prof), "A"); a != nil {
		t.Fatalf("A still listed after its images were purged: %+v", a)
	}
	idx := string(st.get(keys.IndexKey))
	for _, k := range []string{a1, a2} {
		if strings.Contains(idx, id(k)) {
			t.Errorf("the index still names %s: %s", k, idx)
		}
	}
	if !strings.Contains(idx, id(b1)) {
		t.Errorf("the index lost B's cover: %s", idx)
	}
	// The index is no image: its key is refused by the s3_url route.
	if r := st.call("GET", "/"+keys.IndexKey, "", nil); r.Status != http.StatusNotFound {
		t.Errorf("GET /%s: %d, want 404", keys.IndexKey, r.Status)
	}
}

// scenariosAll reads every page.
func (st *stack) scenariosAll(tok string) []scenarioRow {
	st.t.Helper()
	var all []scenarioRow
	q := ""
	for {
		rows, next := st.scenarios(tok, q)
		all = append(all, rows...)
		if next == "" {
			return all
		}
		q = "?cursor=" + url.QueryEscape(next)
	}
}

// TestScenariosPaging: pages follow last_modified newest first (ties by scenario_id), with no
// scenario twice or missing, whatever the page size; bad limits or cursors are 400. The index is
// written directly: S3's LastModified has one-second steps, too coarse to order a quick test.
func TestScenariosPaging(t *testing.T) {
	st := newStack(t)
	prof := st.token("admin")
	base := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	ix := scenarioindex.Index{Scenarios: map[string]scenarioindex.Summary{}}
	at := map[string]time.Duration{"s1": 1, "s2": 2, "s3": 3, "s3b": 3, "s4": 4, "s5": 5}
	for s, d := range at {
		ix.Scenarios[s] = scenarioindex.Summary{Count: 1, Cover: keys.ThumbnailKey(s, id1, 320, "jpg"), LastModified: base.Add(d * time.Minute)}
	}
	body, _ := json.Marshal(ix)
	st.put(keys.IndexKey, "application/json", body, nil)
	want := []string{"s5", "s4", "s3", "s3b", "s2", "s1"}
	for _, size := range []int{1, 2, 4, 6, 200} {
		var got []string
		q := "?limit=" + strconv.Itoa(size)
		for pages := 0; ; pages++ {
			if pages > len(want) {
				t.Fatalf("limit %d: more pages than scenarios", size)
			}
			rows, next := st.scenarios(prof, q)
			if len(rows) > size {
				t.Fatalf("limit %d: page of %d", size, len(rows))
			}
			for _, r := range rows {
				got = append(got, r.id)
				if r.modified != base.Add(at[r.id]*time.Minute).Format(time.RFC3339) {
					t.Errorf("%s: last_modified %s", r.id, r.modified)
				}
			}
			if next == "" {
				break
			}
			q = "?limit=" + strconv.Itoa(size) + "&cursor=" + url.QueryEscape(next)
		}
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: %v, want %v", size, got, want)
		}
	}
	for _, q := range []string{"?limit=0", "?limit=201", "?limit=x", "?limit=1&limit=2", "?cursor=nope", "?cursor=" + strings.Repeat("a", 600)} {
		if r := st.call("GET", "/patient-images/scenarios"+q, prof, nil); r.Status != 400 || r.str("detail") == "" {
			t.Errorf("%s: %d %s, want 400", q, r.Status, r.Raw)
		}
	}
}
