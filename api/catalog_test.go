package api

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"medicpx/shared/imagepolicy"
	"medicpx/shared/keys"
)

// upload asks for an upload URL as the page does and stores the bytes where the processor leaves
// a checked original, with its thumbnails: an image as it is after a successful upload.
func (st *stack) upload(tok, scenario, filename string) string {
	st.t.Helper()
	r := st.call("POST", "/patient-images/upload-url/"+scenario, tok, uploadBody(filename, "image/jpeg", 10, "PUT"))
	if r.Status != 200 {
		st.t.Fatalf("upload-url %s: %d %s", filename, r.Status, r.Raw)
	}
	key := r.str("s3_key")
	st.put(key, "image/jpeg", []byte("original "+filename), nil)
	st.markReady(key)
	return key
}

// listed returns the listing's items for a role, in order.
func (st *stack) listed(tok, scenario string) []map[string]any {
	st.t.Helper()
	r := st.call("GET", "/patient-images/scenarios/"+scenario+"/images", tok, nil)
	if r.Status != 200 {
		st.t.Fatalf("list: %d %s", r.Status, r.Raw)
	}
	var out []map[string]any
	for _, im := range r.Body["images"].([]any) {
		out = append(out, im.(map[string]any))
	}
	return out
}

func field(items []map[string]any, name string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i], _ = it[name].(string)
	}
	return out
}

func captionPath(key string) string {
	k, _ := keys.Parse(key)
	return "/patient-images/scenarios/" + k.Scenario + "/images/" + keys.Filename(key)
}

// TestNamesAndCaptions: the name the professor picked (Korean included) is listed, captions are
// saved, bounded and shown to students, and an image uploaded before names were kept lists "".
func TestNamesAndCaptions(t *testing.T) {
	st := newStack(t)
	prof, stud := st.token("professor"), st.token("student")
	legacy := st.original("1", id1, true)
	a := st.upload(prof, "1", "환자 얼굴 사진.jpg")
	b := st.upload(prof, "1", "x-ray (2).jpg")

	items := st.listed(prof, "1")
	if got := field(items, "original_filename"); !slices.Equal(got, []string{"", "환자 얼굴 사진.jpg", "x-ray (2).jpg"}) {
		t.Fatalf("names %q", got)
	}
	// Staff only: students get no name at all (issue 17).
	for _, it := range st.listed(stud, "1") {
		if _, ok := it["original_filename"]; ok {
			t.Fatalf("a student is given original_filename: %v", it)
		}
	}
	if got := field(items, "caption"); !slices.Equal(got, []string{"", "", ""}) {
		t.Fatalf("captions by default %q", got)
	}

	long := strings.Repeat("가", 500)
	cases := []struct {
		name, key, caption string
		status             int
		want               string
	}{
		{"korean with a line break", a, "  오른쪽 뺨의 발진\n3일 전부터  ", 200, "오른쪽 뺨의 발진\n3일 전부터"},
		{"500 characters (1,500 bytes)", b, long, 200, long},
		{"501 characters", b, long + "나", 422, ""},
		{"control character", b, "a\x00b", 422, ""},
		{"escape character", b, "a\x1bb", 422, ""},
		{"image from before names were kept", legacy, "예전 사진", 200, "예전 사진"},
		{"unknown image", keys.OriginalKey("1", id3, "jpg"), "x", 404, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := st.call("PATCH", captionPath(c.key), prof, map[string]any{"caption": c.caption})
			if r.Status != c.status {
				t.Fatalf("%d %s, want %d", r.Status, r.Raw, c.status)
			}
			if c.status == 200 {
				im := r.Body["image"].(map[string]any)
				if im["caption"] != c.want || im["s3_key"] != c.key {
					t.Fatalf("answered %s", r.Raw)
				}
			}
		})
	}
	if r := st.call("PATCH", captionPath(a), prof, map[string]any{}); r.Status != 422 {
		t.Fatalf("missing caption: %d %s", r.Status, r.Raw)
	}
	if r := st.call("PATCH", captionPath(a), prof, map[string]any{"caption": 5}); r.Status != 422 {
		t.Fatalf("caption not a string: %d %s", r.Status, r.Raw)
	}
	items = st.listed(stud, "1")
	if got := field(items, "caption"); !slices.Equal(got, []string{"예전 사진", "오른쪽 뺨의 발진\n3일 전부터", long}) {
		t.Fatalf("captions a student sees %q", got)
	}
	// The single-image status route carries the name to staff, never to students (issue 17).
	if r := st.call("GET", captionPath(a), prof, nil); r.Body["image"].(map[string]any)["original_filename"] != "환자 얼굴 사진.jpg" {
		t.Fatalf("status: %s", r.Raw)
	}
	if r := st.call("GET", captionPath(a), stud, nil); r.Status != 200 || strings.Contains(string(r.Raw), "환자 얼굴 사진") {
		t.Fatalf("status as a student: %s", r.Raw)
	}
}

// TestOrder: a professor's order is everyone's, new uploads go last in upload order, and the
// default representative is the first ready image in that order.
func TestOrder(t *testing.T) {
	st := newStack(t)
	prof, stud := st.token("professor"), st.token("student")
	// Ids that sort in upload order, so an order by key or age differs from the professors' order.
	var n int
	st.api.NewID = func() string { n++; return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }
	k1 := st.upload(prof, "1", "1.jpg")
	k2 := st.upload(prof, "1", "2.jpg")
	k3 := st.upload(prof, "1", "3.jpg")
	// Uploaded within one second: upload order, not the random id, decides.
	if got := field(st.listed(stud, "1"), "s3_key"); !slices.Equal(got, []string{k1, k2, k3}) {
		t.Fatalf("upload order %q", got)
	}
	rep := func() string {
		r := st.call("GET", "/patient-images/scenarios/1/image", stud, nil)
		return r.Body["image"].(map[string]any)["s3_key"].(string)
	}
	if rep() != k1 {
		t.Fatal("default representative is not the first")
	}
	r := st.call("PUT", "/patient-images/scenarios/1/order", prof, map[string]any{"s3_keys": []string{k3, k1}})
	if r.Status != 200 {
		t.Fatalf("order: %d %s", r.Status, r.Raw)
	}
	want := []string{k3, k1, k2} // k2 was not named: it follows
	if got := r.Body["s3_keys"].([]any); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("answered %v, want %v", got, want)
	}
	for _, tok := range []string{prof, stud} {
		if got := field(st.listed(tok, "1"), "s3_key"); !slices.Equal(got, want) {
			t.Fatalf("listing %q, want %q", got, want)
		}
	}
	if rep() != k3 {
		t.Fatal("default representative does not follow the order")
	}
	k4 := st.upload(prof, "1", "4.jpg")
	if got := field(st.listed(stud, "1"), "s3_key"); !slices.Equal(got, append(want, k4)) {
		t.Fatalf("a new upload is not last: %q", got)
	}
	// Pages follow the same order: two pages of two are the whole listing.
	var paged []string
	for path := "/patient-images/scenarios/1/images?limit=2"; len(paged) < 10; {
		r := st.call("GET", path, stud, nil)
		for _, im := range r.Body["images"].([]any) {
			paged = append(paged, im.(map[string]any)["s3_key"].(string))
		}
		next := r.str("next_cursor")
		if next == "" {
			break
		}
		path = "/patient-images/scenarios/1/images?limit=2&cursor=" + url.QueryEscape(next)
	}
	if !slices.Equal(paged, append(want, k4)) {
		t.Fatalf("pages %q, want %q", paged, append(want, k4))
	}
	for _, c := range []struct {
		name string
		body any
	}{
		{"missing", map[string]any{}},
		{"duplicate", map[string]any{"s3_keys": []string{k1, k1}}},
		{"other scenario", map[string]any{"s3_keys": []string{keys.OriginalKey("2", id1, "jpg")}}},
		{"thumbnail", map[string]any{"s3_keys": []string{keys.ThumbnailKey("1", id1, 320, "jpg")}}},
		{"not a list", map[string]any{"s3_keys": k1}},
	} {
		if r := st.call("PUT", "/patient-images/scenarios/1/order", prof, c.body); r.Status != 422 {
			t.Errorf("%s: %d %s, want 422", c.name, r.Status, r.Raw)
		}
	}
	if r := st.call("PUT", "/patient-images/scenarios/1/order", prof, `{"s3_keys": [`+strings.Repeat(`"x",`, maxOrderKeys)+`"x"]}`); r.Status != 422 && r.Status != 413 {
		t.Errorf("too many keys: %d", r.Status)
	}
}

// TestConcurrentEdits: two professors save captions and orders at the same moment, while uploads
// start; every caption and every name survives, and the order is one of the two, whole.
func TestConcurrentEdits(t *testing.T) {
	st := newStack(t)
	profA, profB := st.token("professor"), st.token("admin")
	const n = 6
	var ks []string
	for i := 0; i < n; i++ {
		ks = append(ks, st.upload(profA, "1", fmt.Sprintf("사진 %d.jpg", i)))
	}
	orderA := slices.Clone(ks)
	slices.Reverse(orderA)
	orderB := append(slices.Clone(ks[n/2:]), ks[:n/2]...)

	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan string, 4*n)
	run := func(f func() response, what string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if r := f(); r.Status != 200 {
				errs <- fmt.Sprintf("%s: %d %s", what, r.Status, r.Raw)
			}
		}()
	}
	for i, k := range ks {
		tok := map[bool]string{true: profA, false: profB}[i%2 == 0]
		run(func() response {
			return st.call("PATCH", captionPath(k), tok, map[string]any{"caption": fmt.Sprintf("캡션 %d", i)})
		}, "caption")
	}
	run(func() response {
		return st.call("PUT", "/patient-images/scenarios/1/order", profA, map[string]any{"s3_keys": orderA})
	}, "order A")
	run(func() response {
		return st.call("PUT", "/patient-images/scenarios/1/order", profB, map[string]any{"s3_keys": orderB})
	}, "order B")
	newKeys := make(chan string, n)
	for i := 0; i < 2; i++ {
		run(func() response {
			r := st.call("POST", "/patient-images/upload-url/1", profB, uploadBody(fmt.Sprintf("새 사진 %d.jpg", i), "image/jpeg", 10, "PUT"))
			newKeys <- r.str("s3_key")
			return r
		}, "upload-url")
	}
	close(start)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	close(newKeys)
	for k := range newKeys {
		st.put(k, "image/jpeg", []byte("new"), nil)
		st.markReady(k)
	}

	items := st.listed(profA, "1")
	byKey := map[string]map[string]any{}
	for _, it := range items {
		byKey[it["s3_key"].(string)] = it
	}
	for i, k := range ks {
		if got := byKey[k]["caption"]; got != fmt.Sprintf("캡션 %d", i) {
			t.Errorf("%s: caption %q lost", k, got)
		}
		if got := byKey[k]["original_filename"]; got != fmt.Sprintf("사진 %d.jpg", i) {
			t.Errorf("%s: name %q lost", k, got)
		}
	}
	names := field(items, "original_filename")
	for i := 0; i < 2; i++ {
		if !slices.Contains(names, fmt.Sprintf("새 사진 %d.jpg", i)) {
			t.Errorf("name of an upload started during the edits is lost: %q", names)
		}
	}
	got := field(items, "s3_key")[:n]
	if !slices.Equal(got, orderA) && !slices.Equal(got, orderB) {
		t.Errorf("order %q is neither A %q nor B %q", got, orderA, orderB)
	}
}

// TestManyUploadsAtOnce: a batch of upload URLs asked for at once in one scenario (a professor
// dropping a folder, several professors at once) all succeed, each with its name kept. (With
// the first backoff, 12 attempts of 5..25 ms, about half of 200 got a 409.)
func TestManyUploadsAtOnce(t *testing.T) {
	st := newStack(t)
	prof := st.token("professor")
	const n = 100
	var wg sync.WaitGroup
	keys := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := st.call("POST", "/patient-images/upload-url/1", prof, uploadBody(fmt.Sprintf("동시 %02d.jpg", i), "image/jpeg", 10, "PUT"))
			if r.Status != 200 {
				t.Errorf("upload-url %d: %d %s", i, r.Status, r.Raw)
			}
			keys[i] = r.str("s3_key")
		}()
	}
	wg.Wait()
	for _, k := range keys {
		st.put(k, "image/jpeg", []byte("x"), nil)
		st.markReady(k)
	}
	items := st.listed(prof, "1")
	if len(items) != n {
		t.Fatalf("%d listed, want %d", len(items), n)
	}
	names := field(items, "original_filename")
	for i := range n {
		if !slices.Contains(names, fmt.Sprintf("동시 %02d.jpg", i)) {
			t.Errorf("name %d lost", i)
		}
	}
}

// TestTrash: a delete keeps the seed's answer but moves the image to the trash; staff list and
// restore it under the same key, with its name, caption, place and pin; students see none of it.
func TestTrash(t *testing.T) {
	st := newStack(t)
	prof, stud := st.token("professor"), st.token("student")
	k1 := st.upload(prof, "1", "첫째.jpg")
	k2 := st.upload(prof, "1", "둘째.jpg")
	k3 := st.upload(prof, "1", "셋째.jpg")
	st.call("PATCH", captionPath(k2), prof, map[string]any{"caption": "대표 사진"})
	if r := st.call("PUT", "/patient-images/scenarios/1/image", prof, map[string]any{"s3_key": k2}); r.Status != 200 {
		t.Fatalf("pin: %s", r.Raw)
	}
	k, _ := keys.Parse(k2)
	thumbs := []string{keys.ThumbnailKey("1", k.ID, 320, "jpg"), keys.ThumbnailKey("1", k.ID, 1280, "jpg")}

	del := st.call("DELETE", "/patient-images/1?s3_key="+url.QueryEscape(k2), prof, nil)
	if del.Status != 200 || del.str("message") != "환자 이미지가 성공적으로 삭제되었습니다." {
		t.Fatalf("delete: %d %s", del.Status, del.Raw)
	}
	for _, key := range append([]string{k2}, thumbs...) {
		if st.exists(key) {
			t.Errorf("%s still listed after the delete", key)
		}
		if !st.exists(keys.TrashKey(key)) {
			t.Errorf("%s is not in the trash", key)
		}
	}
	if got := field(st.listed(stud, "1"), "s3_key"); !slices.Equal(got, []string{k1, k3}) {
		t.Fatalf("after delete %q", got)
	}
	if r := st.call("GET", "/patient-images/scenarios/1/image", stud, nil); r.Body["image"].(map[string]any)["s3_key"] != k1 {
		t.Fatalf("representative after deleting the pinned one: %s", r.Raw)
	}

	tr := st.call("GET", "/patient-images/scenarios/1/trash", prof, nil)
	if tr.Status != 200 || tr.Body["total_count"] != float64(1) {
		t.Fatalf("trash: %d %s", tr.Status, tr.Raw)
	}
	item := tr.Body["images"].([]any)[0].(map[string]any)
	if item["s3_key"] != k2 || item["original_filename"] != "둘째.jpg" || item["caption"] != "대표 사진" || item["thumbnail_url"] == nil {
		t.Fatalf("trash item %v", item)
	}
	if got := httpGet(t, item["thumbnail_url"].(string)); got != "thumb" {
		t.Fatalf("trash thumbnail fetched %q", got)
	}
	if r := st.call("GET", "/patient-images/scenarios/1/trash", stud, nil); r.Status != 403 {
		t.Fatalf("student reads the trash: %d", r.Status)
	}
	if r := st.call("POST", "/patient-images/scenarios/1/trash/restore", stud, map[string]any{"s3_key": k2}); r.Status != 403 || !st.exists(keys.TrashKey(k2)) {
		t.Fatalf("student restores: %d", r.Status)
	}

	res := st.call("POST", "/patient-images/scenarios/1/trash/restore", prof, map[string]any{"s3_key": k2})
	if res.Status != 200 || res.Body["representative"] != true {
		t.Fatalf("restore: %d %s", res.Status, res.Raw)
	}
	im := res.Body["image"].(map[string]any)
	if im["s3_key"] != k2 || im["status"] != "ready" || im["caption"] != "대표 사진" || im["original_filename"] != "둘째.jpg" {
		t.Fatalf("restored item %v", im)
	}
	for _, key := range append([]string{k2}, thumbs...) {
		if !st.exists(key) || st.exists(keys.TrashKey(key)) {
			t.Errorf("%s not moved back", key)
		}
	}
	// Back in its place, for students too, and representative again.
	if got := field(st.listed(stud, "1"), "s3_key"); !slices.Equal(got, []string{k1, k2, k3}) {
		t.Fatalf("after restore %q", got)
	}
	if r := st.call("GET", "/patient-images/scenarios/1/image", stud, nil); r.Body["image"].(map[string]any)["s3_key"] != k2 {
		t.Fatalf("representative after restore: %s", r.Raw)
	}
	if r := st.call("GET", "/patient-images/scenarios/1/trash", prof, nil); r.Body["total_count"] != float64(0) {
		t.Fatalf("trash after restore: %s", r.Raw)
	}
	for _, c := range []struct {
		name   string
		body   any
		status int
	}{
		{"again", map[string]any{"s3_key": k2}, 404},
		{"never deleted", map[string]any{"s3_key": keys.OriginalKey("1", id3, "jpg")}, 404},
		{"other scenario", map[string]any{"s3_key": keys.OriginalKey("2", id3, "jpg")}, 422},
		{"trash key", map[string]any{"s3_key": keys.TrashKey(k2)}, 422},
		{"missing", map[string]any{}, 422},
	} {
		if r := st.call("POST", "/patient-images/scenarios/1/trash/restore", prof, c.body); r.Status != c.status {
			t.Errorf("restore %s: %d %s, want %d", c.name, r.Status, r.Raw, c.status)
		}
	}
	// An upload still being checked (staged only) is removed, not kept in the trash.
	up := st.call("POST", "/patient-images/upload-url/1", prof, uploadBody("확인 중.jpg", "image/jpeg", 10, "PUT"))
	staged := keys.StagedKey(up.str("s3_key"))
	st.put(staged, "image/jpeg", []byte("unchecked"), nil)
	if r := st.call("DELETE", "/patient-images/1?s3_key="+url.QueryEscape(up.str("s3_key")), prof, nil); r.Status != 200 || st.exists(staged) || st.exists(keys.TrashKey(staged)) || st.exists(keys.TrashKey(up.str("s3_key"))) {
		t.Fatalf("delete of a staged upload: %d %s", r.Status, r.Raw)
	}
	// Once deleted, bytes under the final key are not the image (a promotion that lost to the
	// delete, about to be undone): nobody is shown them, and a restore brings back what was
	// trashed in their place.
	st.call("DELETE", "/patient-images/1?s3_key="+url.QueryEscape(k3), prof, nil)
	st.put(k3, "image/jpeg", []byte("newer bytes"), nil)
	st.markReady(k3)
	if got := field(st.listed(prof, "1"), "s3_key"); slices.Contains(got, k3) {
		t.Fatalf("a deleted image is listed again when bytes reach its final key: %q", got)
	}
	if r := st.call("GET", "/patient-images/scenarios/1/images/"+keys.Filename(k3), prof, nil); r.Status != 404 {
		t.Fatalf("status of a deleted image with bytes under its final key: %d %s", r.Status, r.Raw)
	}
	if r := st.call("POST", "/patient-images/scenarios/1/trash/restore", prof, map[string]any{"s3_key": k3}); r.Status != 200 || st.exists(keys.TrashKey(k3)) {
		t.Fatalf("restore over bytes behind the tombstone: %d %s", r.Status, r.Raw)
	}
	if got := string(st.get(k3)); got != "original 셋째.jpg" {
		t.Fatalf("restored image holds %q, want the trashed bytes", got)
	}
}

// TestRestoreWithoutThumbnails: an image trashed while it was still being checked, or whose
// thumbnails are gone, comes back through staging, so the processor makes its thumbnails again.
func TestRestoreWithoutThumbnails(t *testing.T) {
	st := newStack(t)
	prof := st.token("professor")
	key := st.original("1", id1, false) // a final original, thumbnails not (yet) there
	if r := st.call("DELETE", "/patient-images/1?s3_key="+url.QueryEscape(key), prof, nil); r.Status != 200 {
		t.Fatalf("delete: %d %s", r.Status, r.Raw)
	}
	r := st.call("POST", "/patient-images/scenarios/1/trash/restore", prof, map[string]any{"s3_key": key})
	if r.Status != 200 || r.Body["image"].(map[string]any)["status"] != "processing" {
		t.Fatalf("restore: %d %s", r.Status, r.Raw)
	}
	if st.exists(key) || !st.exists(keys.StagedKey(key)) || st.exists(keys.TrashKey(key)) {
		t.Fatal("not put back through staging")
	}
}

// TestConcurrentDeletes: the same image deleted from two pages at once (or a double click) is
// moved to the trash once; the other delete gets a 404 or succeeds, never a 500, and a restore
// brings back the original with its thumbnails.
func TestConcurrentDeletes(t *testing.T) {
	st := newStack(t)
	prof := st.token("professor")
	for round := 0; round < 5; round++ {
		key := st.upload(prof, "1", fmt.Sprintf("%d.jpg", round))
		k, _ := keys.Parse(key)
		var wg sync.WaitGroup
		statuses := make([]int, 4)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = st.call("DELETE", "/patient-images/1?s3_key="+url.QueryEscape(key), prof, nil).Status
			}()
		}
		wg.Wait()
		ok := 0
		for _, s := range statuses {
			switch s {
			case 200:
				ok++
			case 404:
			default:
				t.Fatalf("round %d: statuses %v", round, statuses)
			}
		}
		if ok == 0 {
			t.Fatalf("round %d: no delete succeeded: %v", round, statuses)
		}
		if r := st.call("POST", "/patient-images/scenarios/1/trash/restore", prof, map[string]any{"s3_key": key}); r.Status != 200 || r.Body["image"].(map[string]any)["status"] != "ready" {
			t.Fatalf("round %d: restore after concurrent deletes: %d %s", round, r.Status, r.Raw)
		}
		for _, size := range []int{320, 1280} {
			if !st.exists(keys.ThumbnailKey("1", k.ID, size, "jpg")) {
				t.Fatalf("round %d: thumbnail %d lost", round, size)
			}
		}
	}
}

// TestRejections: staff read the newest rejections with the reason, the Korean message and the
// name the professor picked; students may not.
func TestRejections(t *testing.T) {
	st := newStack(t)
	prof := st.token("professor")
	r := st.call("POST", "/patient-images/upload-url/1", prof, uploadBody("가짜 사진.jpg", "image/jpeg", 10, "PUT"))
	key := r.str("s3_key")
	st.put(keys.QuarantineKey(key), "image/jpeg", []byte("x"), map[string]string{keys.MetaReason: "type_mismatch"})
	st.seenByProcessor(key)
	st.put(keys.QuarantineKey(keys.OriginalKey("1", id1, "png")), "image/png", []byte("x"), map[string]string{keys.MetaReason: "corrupt"})
	st.put(keys.QuarantineKey(keys.OriginalKey("2", id2, "png")), "image/png", []byte("x"), map[string]string{keys.MetaReason: "corrupt"})

	got := st.call("GET", "/patient-images/scenarios/1/rejections", prof, nil)
	if got.Status != 200 || got.Body["total_count"] != float64(2) {
		t.Fatalf("%d %s", got.Status, got.Raw)
	}
	byKey := map[string]map[string]any{}
	for _, it := range got.Body["rejections"].([]any) {
		byKey[it.(map[string]any)["s3_key"].(string)] = it.(map[string]any)
	}
	a := byKey[key]
	if a == nil || a["original_filename"] != "가짜 사진.jpg" || a["reason"] != "type_mismatch" || !strings.Contains(a["message"].(string), "확장자") || a["rejected_at"] == "" {
		t.Fatalf("rejection %v", a)
	}
	if b := byKey[keys.OriginalKey("1", id1, "png")]; b == nil || b["original_filename"] != "" || b["message"] != imagepolicy.ReasonCorrupt.Message() {
		t.Fatalf("rejection without a name %v", b)
	}
	if r := st.call("GET", "/patient-images/scenarios/1/rejections", st.token("student"), nil); r.Status != 403 {
		t.Fatalf("student: %d", r.Status)
	}
}
