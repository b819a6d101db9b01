package api

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"medicpx/shared/imagepolicy"
	"medicpx/shared/keys"
)

// nameOfBytes builds a file name of exactly n bytes of UTF-8: an ASCII prefix, as many
// three-byte Hangul syllables as fit, ASCII padding to the exact length, then ext.
func nameOfBytes(t *testing.T, n int, ext string) string {
	t.Helper()
	const prefix = "x-ray (2) "
	body := n - len(prefix) - len(ext)
	if body < 0 {
		t.Fatalf("no name of %d bytes ends in %s", n, ext)
	}
	name := prefix + strings.Repeat("가", body/3) + strings.Repeat("a", body%3) + ext
	if len(name) != n || !utf8.ValidString(name) {
		t.Fatalf("built a name of %d bytes, want %d", len(name), n)
	}
	return name
}

// hasHangul reports whether s has a Korean letter: the detail of an error is for the professor.
func hasHangul(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Hangul, r) })
}

// TestLongNames: every name the README allows (no path, no control character, an allowed
// extension, at most imagepolicy.MaxFilenameLen = 255 bytes) gets an upload URL, whose response
// and later listing carry the name exactly; a longer name is a 4xx with a Korean detail, never a
// 5xx. (The upload note's key carries the name base64url-encoded: on versitygw's posix backend,
// whose path components are at most 255 bytes, names of 149 bytes or more got a 500.)
func TestLongNames(t *testing.T) {
	st := newStack(t)
	prof, stud := st.token("professor"), st.token("student")
	allKorean255 := strings.Repeat("가", 83) + "xy.jpg" // 249 + 2 + 4 bytes
	cases := []struct {
		name, filename, ctype string
	}{
		{"148 bytes", nameOfBytes(t, 148, ".jpg"), "image/jpeg"},
		{"149 bytes", nameOfBytes(t, 149, ".jpg"), "image/jpeg"},
		{"200 bytes", nameOfBytes(t, 200, ".png"), "image/png"},
		{"254 bytes", nameOfBytes(t, 254, ".jpg"), "image/jpeg"},
		{"255 bytes", nameOfBytes(t, 255, ".jpg"), "image/jpeg"},
		{"255 bytes png", nameOfBytes(t, 255, ".png"), "image/png"},
		{"255 bytes nearly all Korean", allKorean255, "image/jpeg"},
	}
	if len(allKorean255) != imagepolicy.MaxFilenameLen {
		t.Fatalf("allKorean255 is %d bytes", len(allKorean255))
	}
	body := []byte("0123456789")
	want := map[string]string{} // s3_key → name
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := st.call("POST", "/patient-images/upload-url/1", prof, uploadBody(c.filename, c.ctype, len(body), "PUT"))
			if r.Status != 200 {
				t.Fatalf("%d-byte name: %d %s, want 200", len(c.filename), r.Status, r.Raw)
			}
			if got := r.str("original_filename"); got != c.filename {
				t.Fatalf("original_filename %q, want %q", got, c.filename)
			}
			key := r.str("s3_key")
			if _, err := keys.ParseOriginal(key, "1"); err != nil {
				t.Fatalf("s3_key %q: %v", key, err)
			}
			// The URL stages the bytes whatever the name (the processor is not running here).
			if got := httpPut(t, r.str("upload_url"), c.ctype, body); got != 200 || !st.exists(keys.StagedKey(key)) {
				t.Fatalf("PUT through the upload URL: %d, staged %v", got, st.exists(keys.StagedKey(key)))
			}
			// What the processor leaves once the bytes are checked.
			st.put(key, c.ctype, body, nil)
			st.markReady(key)
			want[key] = c.filename
		})
	}
	// The name is kept: listed to staff and on the status route, byte for byte; students get none.
	items := st.listed(prof, "1")
	listed := map[string]string{}
	for _, it := range items {
		listed[it["s3_key"].(string)], _ = it["original_filename"].(string)
	}
	for key, name := range want {
		if listed[key] != name {
			t.Errorf("%s lists original_filename %q, want the %d-byte name %q", key, listed[key], len(name), name)
		}
		if r := st.call("GET", captionPath(key), prof, nil); r.Status != 200 || r.Body["image"].(map[string]any)["original_filename"] != name {
			t.Errorf("status of %s: %d %s", key, r.Status, r.Raw)
		}
		if r := st.call("GET", captionPath(key), stud, nil); r.Status != 200 || strings.Contains(string(r.Raw), name) {
			t.Errorf("status of %s as a student: %d %s", key, r.Status, r.Raw)
		}
	}

	// One byte over: refused as a bad name, with a Korean detail, never a 5xx.
	for _, c := range []struct{ name, filename string }{
		{"256 bytes all Korean", strings.Repeat("가", 84) + ".jpg"},
		{"256 bytes mixed", nameOfBytes(t, 256, ".jpg")},
	} {
		t.Run(c.name, func(t *testing.T) {
			if len(c.filename) != imagepolicy.MaxFilenameLen+1 {
				t.Fatalf("%d bytes", len(c.filename))
			}
			r := st.call("POST", "/patient-images/upload-url/1", prof, uploadBody(c.filename, "image/jpeg", len(body), "PUT"))
			if (r.Status != 400 && r.Status != 422) || !hasHangul(r.str("detail")) {
				t.Fatalf("%d %s, want 400 or 422 with a Korean detail", r.Status, r.Raw)
			}
		})
	}
}
