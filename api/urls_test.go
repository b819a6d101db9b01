package api

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// listedURL returns the query of the first listed image's url field.
func listedURL(t *testing.T, st *stack) (string, url.Values) {
	t.Helper()
	r := st.call("GET", "/patient-images/scenarios/1/images", st.token("student"), nil)
	imgs, _ := r.Body["images"].([]any)
	if r.Status != 200 || len(imgs) == 0 {
		t.Fatalf("listing: %d %s", r.Status, r.Raw)
	}
	raw := imgs[0].(map[string]any)["url"].(string)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return raw, u.Query()
}

const amzDate = "20060102T150405Z"

// TestListedURLsNeverPredateTheirCredentials: a listed URL is signed as of its window's start, but
// never before the process first saw the credentials it signs with (in AWS: a role session that
// may have begun after the window did). The URL is still stable within the window, and works.
func TestListedURLsNeverPredateTheirCredentials(t *testing.T) {
	st := newStack(t)
	id := "55555555-5555-4555-8555-555555555555"
	st.original("1", id, true)
	// A window in the past, so the URLs are already valid against the real clock of versitygw.
	start := time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)
	st.setNow(start.Add(20 * time.Minute))
	first, q := listedURL(t, st)
	if got, want := q.Get("X-Amz-Date"), start.Add(20*time.Minute).Format(amzDate); got != want {
		t.Fatalf("first listing signed at %s, want %s (when the credentials were first seen, not the window start %s)",
			got, want, start.Format(amzDate))
	}
	// It still expires where every URL of this window does: two windows after the window's start.
	if got := q.Get("X-Amz-Expires"); got != fmt.Sprint(int((100 * time.Minute).Seconds())) {
		t.Fatalf("X-Amz-Expires = %s, want 6000", got)
	}
	if body := httpGet(t, first); body != "original "+id {
		t.Fatalf("the URL fetched %q", body)
	}
	st.setNow(start.Add(40 * time.Minute))
	if again, _ := listedURL(t, st); again != first {
		t.Fatalf("the URL changed within the window:\n%s\n%s", first, again)
	}
	// The next window began after the credentials were first seen: its start is safe.
	st.setNow(start.Add(time.Hour + time.Minute))
	_, q = listedURL(t, st)
	if got, want := q.Get("X-Amz-Date"), start.Add(time.Hour).Format(amzDate); got != want || q.Get("X-Amz-Expires") != "7200" {
		t.Fatalf("next window signed at %s for %s s, want %s for 7200 s", got, q.Get("X-Amz-Expires"), want)
	}
}

// rotatingCreds hands out one set of credentials until told to switch.
type rotatingCreds struct {
	mu  sync.Mutex
	cur aws.Credentials
}

func (r *rotatingCreds) Retrieve(context.Context) (aws.Credentials, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur, nil
}

func (r *rotatingCreds) set(c aws.Credentials) {
	r.mu.Lock()
	r.cur = c
	r.mu.Unlock()
}

// TestListedURLsFollowNewCredentials: when the role's session is renewed within a window, listed
// URLs are signed with the new session from then on (never served from the cache of the old one),
// and a URL never claims to outlive the credentials that signed it.
func TestListedURLsFollowNewCredentials(t *testing.T) {
	st := newStack(t)
	st.original("1", "66666666-6666-4666-8666-666666666666", true)
	start := time.Now().UTC().Truncate(time.Hour)
	creds := &rotatingCreds{cur: aws.Credentials{AccessKeyID: "ASIAFIRSTSESSION000", SecretAccessKey: "s1", SessionToken: "t1"}}
	st.api.creds = creds
	st.setNow(start.Add(5 * time.Minute))
	_, q := listedURL(t, st)
	if !strings.HasPrefix(q.Get("X-Amz-Credential"), "ASIAFIRSTSESSION000/") || q.Get("X-Amz-Security-Token") != "t1" {
		t.Fatalf("first session: %v", q)
	}

	creds.set(aws.Credentials{AccessKeyID: "ASIASECONDSESSION00", SecretAccessKey: "s2", SessionToken: "t2",
		CanExpire: true, Expires: start.Add(20 * time.Minute)})
	st.setNow(start.Add(10 * time.Minute))
	_, q = listedURL(t, st)
	if !strings.HasPrefix(q.Get("X-Amz-Credential"), "ASIASECONDSESSION00/") || q.Get("X-Amz-Security-Token") != "t2" {
		t.Fatalf("after the renewal the URL is still signed with the old session: %v", q)
	}
	if got, want := q.Get("X-Amz-Date"), start.Add(10*time.Minute).Format(amzDate); got != want {
		t.Fatalf("second session's URL signed at %s, want %s (first seen), not before", got, want)
	}
	// The session ends 10 minutes after signing: the URL says 600 s, not the window's 110 min.
	if got := q.Get("X-Amz-Expires"); got != "600" {
		t.Fatalf("X-Amz-Expires = %s, want 600 (the credentials' end)", got)
	}
}

// TestURLCacheIsBoundedByBytes: the cache holds at most its byte budget, whatever the URLs' length.
func TestURLCacheIsBoundedByBytes(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	long := "https://bucket.s3.ap-northeast-2.amazonaws.com/k?" + strings.Repeat("X", 1900) // a URL with a session token
	cases := []struct {
		name   string
		url    string
		budget int
	}{
		{"session-token URLs", long, 100_000},
		{"short URLs", "https://b/k?sig", 100_000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cache := urlCache{maxBytes: c.budget}
			for i := range 10_000 {
				cache.put(at, "AKID", fmt.Sprintf("patient_images/scenario_1/%036d.jpg", i), c.url)
			}
			held := 0
			for k, u := range cache.urls {
				held += len(k) + len(u) + urlEntryOverhead
			}
			if held > c.budget || held != cache.bytes {
				t.Fatalf("holds %d bytes (counted %d), budget %d", held, cache.bytes, c.budget)
			}
			perEntry := len("patient_images/scenario_1/") + 36 + len(".jpg") + len(c.url) + urlEntryOverhead
			if want := c.budget / perEntry; len(cache.urls) != want {
				t.Fatalf("holds %d URLs, want %d (as many as fit)", len(cache.urls), want)
			}
			if _, ok := cache.get(at, "AKID", fmt.Sprintf("patient_images/scenario_1/%036d.jpg", 0)); !ok {
				t.Fatal("the first URL is not served from the cache")
			}
			if _, ok := cache.get(at, "OTHER", fmt.Sprintf("patient_images/scenario_1/%036d.jpg", 0)); ok {
				t.Fatal("a URL signed with other credentials is served")
			}
		})
	}
	// The default budget keeps a 256 MB function safe: a few listed scenarios, not 190 MB.
	if maxCachedURLBytes > 32<<20 {
		t.Fatalf("maxCachedURLBytes = %d", maxCachedURLBytes)
	}
}
