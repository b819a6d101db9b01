package api

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"medicpx/infra/testenv/versity/versitytest"
	"medicpx/shared/config"
	"medicpx/shared/keys"
)

// idHex has letters, so its upper-case form is another string.
const idHex = "abcdefab-cdef-4abc-8def-abcdefabcdef"

// follow asks for an s3_url the way an <img> does (no token) without following the redirect.
func (st *stack) follow(link string, hdr map[string]string) *http.Response {
	st.t.Helper()
	c := &http.Client{Transport: st.client.Transport, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	req, err := http.NewRequest(http.MethodGet, link, nil)
	if err != nil {
		st.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		st.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp
}

func body(r *http.Response) string {
	b, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	return string(b)
}

// TestS3URLIsOneLinkEverywhere: upload-url, the listing, the status route and the representative
// all give the same s3_url, which is the API's origin followed by the key path.
func TestS3URLIsOneLinkEverywhere(t *testing.T) {
	st := newStack(t)
	st.api.NewID = func() string { return id1 }
	prof := st.token("professor")
	up := st.call("POST", "/patient-images/upload-url/1", prof, uploadBody("a.jpg", "image/jpeg", 10, "PUT"))
	if up.Status != 200 {
		t.Fatalf("upload-url: %d %s", up.Status, up.Raw)
	}
	key := up.str("s3_key")
	want := st.url + "/" + key
	if got := up.str("s3_url"); got != want {
		t.Fatalf("upload-url s3_url %q, want %q", got, want)
	}
	st.original("1", id1, true) // the processor promoted it
	list := st.call("GET", "/patient-images/scenarios/1/images", st.token("student"), nil)
	rep := st.call("GET", "/patient-images/scenarios/1/image", st.token("student"), nil)
	status := st.call("GET", "/patient-images/scenarios/1/images/"+id1+".jpg", st.token("student"), nil)
	got := map[string]string{
		"listing":        list.Body["images"].([]any)[0].(map[string]any)["s3_url"].(string),
		"representative": rep.Body["image"].(map[string]any)["s3_url"].(string),
		"status":         status.Body["image"].(map[string]any)["s3_url"].(string),
	}
	for where, u := range got {
		if u != want {
			t.Errorf("%s s3_url %q, want %q", where, u, want)
		}
	}
}

// TestS3URLRedirectsOnlyWhenReady: the link serves exactly the stored, checked bytes while the
// image is ready, with a private cache lifetime inside the signed URL's life; every other state is
// the same 404 as a key that never existed.
func TestS3URLRedirectsOnlyWhenReady(t *testing.T) {
	st := newStack(t)
	now := time.Now().UTC().Truncate(time.Hour).Add(50 * time.Minute) // late in a window
	st.setNow(now)
	prof := st.token("professor")
	link := func(id string) string { return st.url + "/" + keys.OriginalKey("1", id, "jpg") }

	// Ready: a redirect to a presigned GET that serves the stored bytes.
	ready := st.original("1", id1, true)
	stored := []byte("checked and stripped bytes")
	st.put(ready, "image/jpeg", stored, nil)
	resp := st.follow(link(id1), nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("ready: %d %s", resp.StatusCode, body(resp))
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("X-Amz-Signature") == "" || !strings.HasSuffix(loc.Path, "/"+ready) {
		t.Fatalf("Location %q is not a presigned GET of %s", resp.Header.Get("Location"), ready)
	}
	if got := httpGet(t, loc.String()); got != string(stored) {
		t.Fatalf("redirect target served %q, want the stored %q", got, stored)
	}
	// Same window, same URL as the listing's: one cache entry for browsers.
	list := st.call("GET", "/patient-images/scenarios/1/images", st.token("student"), nil)
	if u := list.Body["images"].([]any)[0].(map[string]any)["url"]; u != loc.String() {
		t.Errorf("redirect target %s differs from the listing's url %v", loc, u)
	}
	// Cache-Control: private, and max-age ends before the signed URL does.
	cc := resp.Header.Get("Cache-Control")
	age, ok := strings.CutPrefix(cc, "private, max-age=")
	maxAge, err := strconv.Atoi(age)
	if !ok || err != nil || maxAge <= 0 {
		t.Fatalf("Cache-Control %q, want private with a positive max-age", cc)
	}
	signed, _ := time.Parse("20060102T150405Z", loc.Query().Get("X-Amz-Date"))
	life, _ := strconv.Atoi(loc.Query().Get("X-Amz-Expires"))
	remaining := signed.Add(time.Duration(life) * time.Second).Sub(now)
	if time.Duration(maxAge)*time.Second > remaining || remaining <= 0 {
		t.Errorf("max-age %ds outlives the URL's remaining %s", maxAge, remaining)
	}
	if resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("Referrer-Policy %q", resp.Header.Get("Referrer-Policy"))
	}

	// Every state that is not ready answers like a key that never existed.
	unknown := st.follow(link(id3), nil)
	if unknown.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown key: %d", unknown.StatusCode)
	}
	notFound := body(unknown)

	processing := keys.OriginalKey("1", id2, "jpg")
	st.put(keys.StagedKey(processing), "image/jpeg", []byte("unchecked"), nil)
	waiting := st.original("2", id2, false) // promoted, thumbnails not yet written

	rejectedKey := keys.OriginalKey("3", id1, "jpg")
	st.put(keys.QuarantineKey(rejectedKey), "image/jpeg", []byte("bad"), map[string]string{keys.MetaReason: "corrupt"})

	trashedKey := st.original("4", id1, true)
	st.put("trash/"+trashedKey, "image/jpeg", []byte("trashed"), nil)
	if _, err := st.env.Client.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(versitytest.Bucket), Key: aws.String(trashedKey)}); err != nil {
		t.Fatal(err)
	}

	deletedKey := st.original("5", id1, true)
	if d := st.call("DELETE", "/patient-images/5?s3_key="+url.QueryEscape(deletedKey), prof, nil); d.Status != 200 {
		t.Fatalf("delete: %d %s", d.Status, d.Raw)
	}

	cases := map[string]string{
		"processing (staged)":            st.url + "/" + processing,
		"promoted without thumbnails":    st.url + "/" + waiting,
		"rejected (quarantined)":         st.url + "/" + rejectedKey,
		"trashed":                        st.url + "/" + trashedKey,
		"deleted":                        st.url + "/" + deletedKey,
		"wrong extension":                st.url + "/" + keys.OriginalKey("1", id1, "png"),
		"not a UUID":                     st.url + "/patient_images/scenario_1/not-a-uuid.jpg",
		"bad scenario":                   st.url + "/patient_images/scenario_%2e%2e/" + id1 + ".jpg",
		"upper-case UUID of a ready one": st.url + "/patient_images/scenario_1/" + strings.ToUpper(idHex) + ".jpg",
		"percent-encoded slash in name":  st.url + "/patient_images/scenario_1/..%2Fscenario_1%2F" + id1 + ".jpg",
		"representative record (_meta)":  st.url + "/patient_images/scenario_1/representative.json",
	}
	st.put(keys.RepresentativeKey("1"), "application/json", []byte(`{"s3_key":"`+ready+`"}`), nil)
	if r := st.follow(st.url+"/"+st.original("1", idHex, true), nil); r.StatusCode != http.StatusFound {
		t.Fatalf("ready %s: %d", idHex, r.StatusCode)
	}
	for name, u := range cases {
		r := st.follow(u, nil)
		if r.StatusCode != http.StatusNotFound || r.Header.Get("Location") != "" {
			t.Errorf("%s: %d Location=%q, want 404", name, r.StatusCode, r.Header.Get("Location"))
			continue
		}
		if b := body(r); b != notFound {
			t.Errorf("%s: body %s differs from an unknown key's %s", name, b, notFound)
		}
	}
	// A token changes nothing: the link is the same capability for everyone.
	if r := st.follow(st.url+"/"+processing, map[string]string{"Authorization": "Bearer " + prof}); r.StatusCode != http.StatusNotFound {
		t.Errorf("processing with a professor's token: %d, want 404", r.StatusCode)
	}
	// Thumbnail paths are not links either.
	if r := st.follow(st.url+"/"+keys.ThumbnailKey("1", id1, 320, "jpg"), nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("thumbnail path: %d, want 404", r.StatusCode)
	}
}

// TestS3URLRateLimit: one client address gets its burst, then 429 with a detail; another address
// is unaffected, and the bucket refills with time.
func TestS3URLRateLimit(t *testing.T) {
	st := newStack(t, func(c *config.API) { c.LinkRate, c.LinkBurst = 1, 5 })
	now := time.Now()
	st.setNow(now)
	key := st.original("1", id1, true)
	for i := range 5 {
		if r := st.follow(st.url+"/"+key, nil); r.StatusCode != http.StatusFound {
			t.Fatalf("request %d within the burst: %d", i, r.StatusCode)
		}
	}
	r := st.follow(st.url+"/"+key, nil)
	if r.StatusCode != http.StatusTooManyRequests || !strings.Contains(body(r), msgTooMany) || r.Header.Get("Retry-After") == "" {
		t.Fatalf("over the burst: %d %s", r.StatusCode, body(r))
	}
	// Unknown keys count too: probing is what the limit is for.
	if r := st.follow(st.url+"/"+keys.OriginalKey("1", id3, "jpg"), nil); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("probe over the limit: %d, want 429", r.StatusCode)
	}
	if !st.api.limiter.allow("192.0.2.7", now) {
		t.Error("another client address was limited")
	}
	st.setNow(now.Add(2 * time.Second))
	if r := st.follow(st.url+"/"+key, nil); r.StatusCode != http.StatusFound {
		t.Errorf("after refilling: %d", r.StatusCode)
	}
}

// TestS3URLSettings: the plain identifier and the CDN base are the other two settings, and a
// configured public API URL wins over the request's Host.
func TestS3URLSettings(t *testing.T) {
	key := keys.OriginalKey("1", id1, "jpg")
	for _, tc := range []struct {
		name string
		opt  stackOption
		want func(st *stack) string
	}{
		{"configured API URL", func(c *config.API) { c.PublicAPIURL = "https://images.example.com/cpx" },
			func(*stack) string { return "https://images.example.com/cpx/" + key }},
		{"plain identifier", func(c *config.API) { c.S3URLMode = config.S3URLIdentifier },
			func(st *stack) string { return st.api.cfg.S3.PublicURL + "/" + key }},
		{"CDN", func(c *config.API) { c.S3URLMode, c.S3.PublicURL = config.S3URLCDN, "https://cdn.example.com" },
			func(*stack) string { return "https://cdn.example.com/" + key }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStack(t, tc.opt)
			st.original("1", id1, true)
			list := st.call("GET", "/patient-images/scenarios/1/images", st.token("student"), nil)
			if got := list.Body["images"].([]any)[0].(map[string]any)["s3_url"]; got != tc.want(st) {
				t.Errorf("s3_url %v, want %s", got, tc.want(st))
			}
		})
	}
}

// TestS3URLLinkBase: behind API Gateway the adapter gives an absolute URL; locally the Host is
// used, and a Host that is not a plain host[:port] never reaches a link.
func TestS3URLLinkBase(t *testing.T) {
	s := &Server{cfg: config.API{S3URLMode: config.S3URLAPI}}
	abs, _ := http.NewRequest("GET", "https://abc123.execute-api.ap-northeast-2.amazonaws.com/patient-images/scenarios/1/images", nil)
	local, _ := http.NewRequest("GET", "/x", nil)
	local.Host = "127.0.0.1:8080"
	proxied, _ := http.NewRequest("GET", "/x", nil)
	proxied.Host, proxied.Header = "cpx.example.com", http.Header{"X-Forwarded-Proto": {"https"}}
	hostile, _ := http.NewRequest("GET", "/x", nil)
	hostile.Host = "evil.example/@x"
	for _, tc := range []struct {
		r    *http.Request
		want string
	}{
		{abs, "https://abc123.execute-api.ap-northeast-2.amazonaws.com"},
		{local, "http://127.0.0.1:8080"},
		{proxied, "https://cpx.example.com"},
		{hostile, "http://localhost"},
	} {
		if got := s.linkBase(tc.r); got != tc.want {
			t.Errorf("Host %q: base %q, want %q", tc.r.Host, got, tc.want)
		}
	}
}

// TestS3URLLogLine: the request line names the path only: no query string and no signed Location.
func TestS3URLLogLine(t *testing.T) {
	st := newStack(t)
	var buf bytes.Buffer
	st.api.log = slog.New(slog.NewJSONHandler(&buf, nil))
	key := st.original("1", id1, true)
	if r := st.follow(st.url+"/"+key+"?utm=secret-query", nil); r.StatusCode != http.StatusFound {
		t.Fatalf("%d", r.StatusCode)
	}
	line := buf.String()
	if !strings.Contains(line, `"path":"/`+key+`"`) || strings.Contains(line, "secret-query") || strings.Contains(line, "X-Amz") {
		t.Errorf("log line %s", line)
	}
}
