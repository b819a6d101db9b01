package api

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"medicpx/shared/keys"
)

// Issue 17: what students see gives nothing away.

const (
	secretName = "홍길동_800101-1234567_흉부.jpg"
	secretNote = "보호자 연락 필요 — 교수 전용 메모 7f3a"
)

func patch(st *stack, tok, key string, body map[string]any) response {
	st.t.Helper()
	return st.call("PATCH", captionPath(key), tok, body)
}

func imageOf(r response) map[string]any {
	im, _ := r.Body["image"].(map[string]any)
	return im
}

// TestStudentsNeverSeeNamesOrNotes: no route a student may call carries the file name the
// professor picked or the staff note, not even as bytes anywhere in the answer; staff get both.
func TestStudentsNeverSeeNamesOrNotes(t *testing.T) {
	st := newStack(t)
	prof, stud := st.token("professor"), st.token("student")
	a := st.upload(prof, "1", secretName)
	b := st.upload(prof, "1", "14. 복부 촉진 소견 - 우상복부 압통 부위 확대 사진.jpg")
	for _, k := range []string{a, b} {
		if r := patch(st, prof, k, map[string]any{"note": secretNote}); r.Status != 200 {
			t.Fatalf("note: %d %s", r.Status, r.Raw)
		}
	}
	secrets := []string{secretName, "800101", "14. 복부 촉진", secretNote}
	leaks := func(what string, r response) {
		t.Helper()
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", what, r.Status, r.Raw)
		}
		for _, s := range secrets {
			if strings.Contains(string(r.Raw), s) {
				t.Errorf("%s carries %q to a student: %s", what, s, r.Raw)
			}
		}
		for _, f := range []string{`"original_filename"`, `"note"`} {
			if strings.Contains(string(r.Raw), f) {
				t.Errorf("%s has the field %s for a student", what, f)
			}
		}
	}
	list := st.call("GET", "/patient-images/scenarios/1/images", stud, nil)
	leaks("listing", list)
	leaks("listing page", st.call("GET", "/patient-images/scenarios/1/images?limit=1", stud, nil))
	leaks("representative", st.call("GET", "/patient-images/scenarios/1/image", stud, nil))
	if r := st.call("PUT", "/patient-images/scenarios/1/image", prof, map[string]any{"s3_key": b}); r.Status != 200 {
		t.Fatalf("pin: %s", r.Raw)
	}
	leaks("pinned representative", st.call("GET", "/patient-images/scenarios/1/image", stud, nil))
	for _, k := range []string{a, b} {
		leaks("status", st.call("GET", captionPath(k), stud, nil))
		leaks("download-url", st.call("POST", "/patient-images/download-url/1", stud, map[string]any{"s3_key": k}))
	}
	for _, it := range list.Body["images"].([]any) {
		if it.(map[string]any)["label"] == "" {
			t.Errorf("no label: %v", it)
		}
	}

	// Staff get both, on the listing, the status route and the trash.
	items := st.listed(prof, "1")
	if got := field(items, "original_filename"); !slices.Equal(got, []string{secretName, "14. 복부 촉진 소견 - 우상복부 압통 부위 확대 사진.jpg"}) {
		t.Errorf("staff names %q", got)
	}
	if got := field(items, "note"); !slices.Equal(got, []string{secretNote, secretNote}) {
		t.Errorf("staff notes %q", got)
	}
	if im := imageOf(st.call("GET", captionPath(a), prof, nil)); im["original_filename"] != secretName || im["note"] != secretNote {
		t.Errorf("staff status %v", im)
	}
	if r := st.call("DELETE", "/patient-images/1?s3_key="+url.QueryEscape(a), prof, nil); r.Status != 200 {
		t.Fatalf("delete: %s", r.Raw)
	}
	tr := st.call("GET", "/patient-images/scenarios/1/trash", prof, nil)
	if it := tr.Body["images"].([]any)[0].(map[string]any); it["original_filename"] != secretName || it["note"] != secretNote {
		t.Errorf("trash item %v", it)
	}
	if r := st.call("POST", "/patient-images/scenarios/1/trash/restore", prof, map[string]any{"s3_key": a}); r.Status != 200 || imageOf(r)["note"] != secretNote {
		t.Errorf("restore: %d %s", r.Status, r.Raw)
	}
}

// TestLabels: students see "사진 N" by the scenario's order, N counting the ready images only,
// or the caption when there is one; every route and page agrees, and staff see the same labels.
func TestLabels(t *testing.T) {
	st := newStack(t)
	prof, stud := st.token("professor"), st.token("student")
	a := st.upload(prof, "1", "a.jpg")
	p := st.call("POST", "/patient-images/upload-url/1", prof, uploadBody("processing.jpg", "image/jpeg", 10, "PUT")).str("s3_key")
	st.put(p, "image/jpeg", []byte("unfinished"), nil) // a final original without thumbnails: processing
	st.seenByProcessor(p)
	b := st.upload(prof, "1", "b.jpg")
	c := st.upload(prof, "1", "c.jpg")

	if got := field(st.listed(stud, "1"), "label"); !slices.Equal(got, []string{"사진 1", "사진 2", "사진 3"}) {
		t.Fatalf("student labels %q", got)
	}
	if got := field(st.listed(prof, "1"), "label"); !slices.Equal(got, []string{"사진 1", "사진", "사진 2", "사진 3"}) {
		t.Fatalf("staff labels %q", got)
	}
	r := patch(st, prof, b, map[string]any{"caption": "오른쪽 뺨의 발진"})
	if r.Status != 200 || imageOf(r)["label"] != "오른쪽 뺨의 발진" {
		t.Fatalf("caption: %d %s", r.Status, r.Raw)
	}
	if got := field(st.listed(stud, "1"), "label"); !slices.Equal(got, []string{"사진 1", "오른쪽 뺨의 발진", "사진 3"}) {
		t.Fatalf("labels with a caption %q", got)
	}
	// The professors' order renumbers them.
	if r := st.call("PUT", "/patient-images/scenarios/1/order", prof, map[string]any{"s3_keys": []string{c, b, a}}); r.Status != 200 {
		t.Fatalf("order: %s", r.Raw)
	}
	if got := field(st.listed(stud, "1"), "label"); !slices.Equal(got, []string{"사진 1", "오른쪽 뺨의 발진", "사진 3"}) {
		t.Fatalf("labels after reordering %q", got)
	}
	if got := field(st.listed(stud, "1"), "s3_key"); !slices.Equal(got, []string{c, b, a}) {
		t.Fatalf("order %q", got)
	}
	// A page, the status route and the representative number by the whole scenario.
	page2 := st.call("GET", "/patient-images/scenarios/1/images?limit=1&cursor="+url.QueryEscape(st.call("GET", "/patient-images/scenarios/1/images?limit=2", stud, nil).str("next_cursor")), stud, nil)
	if im := page2.Body["images"].([]any)[0].(map[string]any); im["s3_key"] != a || im["label"] != "사진 3" {
		t.Errorf("third image on its own page: %v", im)
	}
	if l := imageOf(st.call("GET", captionPath(a), stud, nil))["label"]; l != "사진 3" {
		t.Errorf("status label %v", l)
	}
	if im := imageOf(st.call("GET", "/patient-images/scenarios/1/image", stud, nil)); im["s3_key"] != c || im["label"] != "사진 1" {
		t.Errorf("representative %v", im)
	}
	if im := imageOf(st.call("PUT", "/patient-images/scenarios/1/image", prof, map[string]any{"s3_key": a})); im["label"] != "사진 3" {
		t.Errorf("pin answer %v", im)
	}
	if im := imageOf(st.call("GET", "/patient-images/scenarios/1/image", stud, nil)); im["s3_key"] != a || im["label"] != "사진 3" {
		t.Errorf("pinned representative %v", im)
	}
}

// TestRename: staff rename an image under upload-url's rules; students may not; a rename made
// before the processor folds the upload's note in is kept.
func TestRename(t *testing.T) {
	st := newStack(t)
	prof, stud := st.token("professor"), st.token("student")
	a := st.upload(prof, "1", "원래 이름.jpg")

	r := patch(st, prof, a, map[string]any{"original_filename": "14. 복부 촉진 소견.jpeg"})
	if r.Status != 200 || imageOf(r)["original_filename"] != "14. 복부 촉진 소견.jpeg" || r.Body["warnings"] != nil {
		t.Fatalf("rename: %d %s", r.Status, r.Raw)
	}
	if got := field(st.listed(prof, "1"), "original_filename"); !slices.Equal(got, []string{"14. 복부 촉진 소견.jpeg"}) {
		t.Fatalf("listed %q", got)
	}
	if r := patch(st, stud, a, map[string]any{"original_filename": "x.jpg"}); r.Status != 403 {
		t.Fatalf("student rename: %d %s", r.Status, r.Raw)
	}
	for _, c := range []struct{ name, filename string }{
		{"empty", ""},
		{"a path", "a/b.jpg"},
		{"a windows path", `a\b.jpg`},
		{"no extension", "사진"},
		{"another image type", "사진.png"},
		{"not an image", "사진.exe"},
		{"heic", "사진.heic"},
		{"control character", "a\x07b.jpg"},
		{"256 bytes", strings.Repeat("가", 84) + ".jpg"},
		{"right-to-left override", "사진\u202egpj.exe.jpg"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := patch(st, prof, a, map[string]any{"original_filename": c.filename})
			if r.Status != 422 || !hasHangul(r.str("detail")) {
				t.Fatalf("%d %s, want 422 with a Korean detail", r.Status, r.Raw)
			}
		})
	}
	if got := field(st.listed(prof, "1"), "original_filename"); !slices.Equal(got, []string{"14. 복부 촉진 소견.jpeg"}) {
		t.Fatalf("a refused rename changed the name: %q", got)
	}

	// Identifying text in a name is kept (staff only), with a warning.
	r = patch(st, prof, a, map[string]any{"original_filename": secretName})
	if r.Status != 200 || imageOf(r)["original_filename"] != secretName {
		t.Fatalf("rename with an RRN: %d %s", r.Status, r.Raw)
	}
	if ws, _ := r.Body["warnings"].([]any); len(ws) != 1 || !strings.Contains(ws[0].(string), "주민등록번호") {
		t.Fatalf("warnings %v", r.Body["warnings"])
	}

	// Renamed while its bytes wait in staging: the processor's fold of the upload note keeps it.
	up := st.call("POST", "/patient-images/upload-url/1", prof, uploadBody("업로드 이름.jpg", "image/jpeg", 10, "PUT"))
	k := up.str("s3_key")
	st.put(keys.StagedKey(k), "image/jpeg", []byte("staged"), nil)
	if r := patch(st, prof, k, map[string]any{"original_filename": "고친 이름.jpg"}); r.Status != 200 || imageOf(r)["original_filename"] != "고친 이름.jpg" {
		t.Fatalf("rename while staged: %d %s", r.Status, r.Raw)
	}
	st.put(k, "image/jpeg", []byte("checked"), nil)
	st.markReady(k) // folds the note in, as the processor does
	if got := field(st.listed(prof, "1"), "original_filename"); !slices.Contains(got, "고친 이름.jpg") || slices.Contains(got, "업로드 이름.jpg") {
		t.Fatalf("after the note was folded in %q", got)
	}
}

// TestNote: a staff note of up to 2,000 characters, with the caption's control-character rule;
// identifying text is kept there with a warning; students may not set one.
func TestNote(t *testing.T) {
	st := newStack(t)
	prof, stud := st.token("professor"), st.token("student")
	a := st.upload(prof, "1", "a.jpg")
	long := strings.Repeat("메", 2000)
	cases := []struct {
		name, note string
		status     int
		want       string
	}{
		{"2,000 characters", long, 200, long},
		{"2,001 characters", long + "모", 422, ""},
		{"line breaks and tabs", "  첫째 줄\r\n\t둘째 줄  ", 200, "첫째 줄\n\t둘째 줄"},
		{"control character", "a\x00b", 422, ""},
		{"left-to-right isolate", "a\u2066b\u2069", 422, ""},
		{"cleared", "", 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := patch(st, prof, a, map[string]any{"note": c.note})
			if r.Status != c.status {
				t.Fatalf("%d %s, want %d", r.Status, r.Raw, c.status)
			}
			if c.status == 200 && (imageOf(r)["note"] != c.want || r.Body["warnings"] != nil) {
				t.Fatalf("answered %s", r.Raw)
			}
			if c.status == 422 && !hasHangul(r.str("detail")) {
				t.Fatalf("detail %q", r.str("detail"))
			}
		})
	}
	r := patch(st, prof, a, map[string]any{"note": "보호자 010-1234-5678, hong@example.com"})
	if r.Status != 200 || imageOf(r)["note"] != "보호자 010-1234-5678, hong@example.com" {
		t.Fatalf("note with a phone number: %d %s", r.Status, r.Raw)
	}
	ws, _ := r.Body["warnings"].([]any)
	if len(ws) != 1 || !strings.Contains(ws[0].(string), "전화번호") || !strings.Contains(ws[0].(string), "이메일") || !strings.Contains(ws[0].(string), "메모") {
		t.Fatalf("warnings %v", r.Body["warnings"])
	}
	if r := patch(st, stud, a, map[string]any{"note": "x"}); r.Status != 403 {
		t.Fatalf("student note: %d %s", r.Status, r.Raw)
	}
	// Any subset in one body, at least one field; all checked before any is saved.
	r = patch(st, prof, a, map[string]any{"caption": "캡션", "note": "메모", "original_filename": "새 이름.jpg"})
	if im := imageOf(r); r.Status != 200 || im["caption"] != "캡션" || im["note"] != "메모" || im["original_filename"] != "새 이름.jpg" || im["label"] != "캡션" {
		t.Fatalf("all three: %d %s", r.Status, r.Raw)
	}
	if r := patch(st, prof, a, map[string]any{"caption": "010-1234-5678", "note": "바뀌면 안 됨"}); r.Status != 422 {
		t.Fatalf("refused caption with a note: %d %s", r.Status, r.Raw)
	}
	if im := imageOf(st.call("GET", captionPath(a), prof, nil)); im["note"] != "메모" || im["caption"] != "캡션" {
		t.Fatalf("a refused request saved part of itself: %v", im)
	}
	if r := patch(st, prof, a, map[string]any{}); r.Status != 422 {
		t.Fatalf("empty body: %d %s", r.Status, r.Raw)
	}
}

// TestCaptionsRefuseIdentifyingText: students see captions, so one holding a resident
// registration number, a phone number or an e-mail address is refused, with a Korean detail that
// names what was found; ordinary clinical numbers are accepted.
func TestCaptionsRefuseIdentifyingText(t *testing.T) {
	st := newStack(t)
	prof := st.token("professor")
	a := st.upload(prof, "1", "a.jpg")
	if r := patch(st, prof, a, map[string]any{"caption": "원래 캡션"}); r.Status != 200 {
		t.Fatal(r.Status)
	}
	for _, c := range []struct{ name, caption, found string }{
		{"rrn with hyphen", "환자 800101-1234567", "주민등록번호"},
		{"rrn without hyphen", "환자 8001011234567 흉부", "주민등록번호"},
		{"foreigner's number", "900101-5123456", "주민등록번호"},
		{"mobile with hyphens", "보호자 010-1234-5678", "전화번호"},
		{"mobile without hyphens", "보호자 01012345678", "전화번호"},
		{"landline", "병동 02-123-4567", "전화번호"},
		{"international", "+82 10 1234 5678", "전화번호"},
		{"email", "문의 hong.gildong@example.com", "이메일"},
		{"bidi override", "발진\u202e", "방향"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := patch(st, prof, a, map[string]any{"caption": c.caption})
			if r.Status != 422 || !strings.Contains(r.str("detail"), c.found) || !strings.Contains(r.str("detail"), "캡션") {
				t.Fatalf("%d %s, want 422 naming %s", r.Status, r.Raw, c.found)
			}
		})
	}
	if r := patch(st, prof, a, map[string]any{"caption": "800101-1234567"}); r.str("detail") != "캡션에 주민등록번호로 보이는 숫자가 있습니다. 학생에게 보이는 캡션에는 환자를 알아볼 수 있는 정보를 넣을 수 없습니다." {
		t.Errorf("detail %q", r.str("detail"))
	}
	for _, c := range []string{"BP 120/80", "2024-01-15 촬영", "BP 140/90 HR 88", "우상복부 3cm 종괴", "WBC 12.5, Hb 13.2, PLT 250, Na 140", "2024.01.15 14:30"} {
		t.Run("accepted "+c, func(t *testing.T) {
			if r := patch(st, prof, a, map[string]any{"caption": c}); r.Status != 200 || imageOf(r)["caption"] != c {
				t.Fatalf("%d %s", r.Status, r.Raw)
			}
		})
	}
}

// TestUploadNames: upload-url keeps a name holding identifying text (staff only) and warns about
// it; a name with a bidirectional control is refused.
func TestUploadNames(t *testing.T) {
	st := newStack(t)
	prof := st.token("professor")
	r := st.call("POST", "/patient-images/upload-url/1", prof, uploadBody(secretName, "image/jpeg", 10, "PUT"))
	if r.Status != 200 || r.str("original_filename") != secretName {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	ws, _ := r.Body["warnings"].([]any)
	if len(ws) != 1 || !strings.Contains(ws[0].(string), "주민등록번호") || !strings.Contains(ws[0].(string), "파일 이름") {
		t.Fatalf("warnings %v", r.Body["warnings"])
	}
	if r := st.call("POST", "/patient-images/upload-url/1", prof, uploadBody("환자_010-1234-5678.jpg", "image/jpeg", 10, "POST")); len(r.Body["warnings"].([]any)) != 1 {
		t.Fatalf("phone in a name: %s", r.Raw)
	}
	if r := st.call("POST", "/patient-images/upload-url/1", prof, uploadBody("IMG_20240115_123456.jpg", "image/jpeg", 10, "PUT")); r.Status != 200 || r.Body["warnings"] != nil {
		t.Fatalf("a camera's name warned: %s", r.Raw)
	}
	for _, name := range []string{"사진\u202egpj.exe.jpg", "\u2067사진.jpg", "사진\u202a.jpg"} {
		if r := st.call("POST", "/patient-images/upload-url/1", prof, uploadBody(name, "image/jpeg", 10, "PUT")); r.Status != 422 || !strings.Contains(r.str("detail"), "방향") {
			t.Errorf("%q: %d %s", name, r.Status, r.Raw)
		}
	}
}
