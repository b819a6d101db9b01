package api

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"medicpx/shared/keys"
)

func listedKeys(r response) []string {
	var out []string
	imgs, _ := r.Body["images"].([]any)
	for _, im := range imgs {
		out = append(out, im.(map[string]any)["s3_key"].(string))
	}
	return out
}

// TestListingPages: limit and next_cursor walk a scenario's listing in its order (oldest first,
// ties by key), every page says the total, the last page has no cursor, and a listing without
// them is the whole scenario, as before.
func TestListingPages(t *testing.T) {
	st := newStack(t)
	for i := range 7 {
		st.original("pg", fmt.Sprintf("%08x-0000-4000-8000-%012x", 7-i, i), true)
	}
	st.original("pg", "99999999-0000-4000-8000-000000000000", false) // processing: staff only

	for _, c := range []struct {
		role  string
		total int
	}{{"student", 7}, {"professor", 8}} {
		t.Run(c.role, func(t *testing.T) {
			tok := st.token(c.role)
			whole := st.call("GET", "/patient-images/scenarios/pg/images", tok, nil)
			if whole.Status != 200 || len(listedKeys(whole)) != c.total || whole.Body["next_cursor"] != nil ||
				whole.Body["total_count"] != float64(c.total) {
				t.Fatalf("without limit: %d %s", whole.Status, whole.Raw)
			}
			var walked []string
			path := "/patient-images/scenarios/pg/images?limit=3"
			for pages := 0; ; pages++ {
				if pages > c.total {
					t.Fatal("the cursor never ends")
				}
				r := st.call("GET", path, tok, nil)
				got := listedKeys(r)
				if r.Status != 200 || len(got) == 0 || len(got) > 3 || r.Body["total_count"] != float64(c.total) {
					t.Fatalf("%s: %d %s", path, r.Status, r.Raw)
				}
				walked = append(walked, got...)
				next, more := r.Body["next_cursor"].(string)
				if !more {
					break
				}
				path = "/patient-images/scenarios/pg/images?limit=3&cursor=" + url.QueryEscape(next)
			}
			if want := listedKeys(whole); !slices.Equal(walked, want) {
				t.Fatalf("pages walked\n%v\nwant the listing's order\n%v", walked, want)
			}
		})
	}
}

// TestListingPageParamsAreChecked: a malformed limit or cursor is a 400 with a detail, never a
// silent first page, and a cursor cannot leave its scenario.
func TestListingPageParamsAreChecked(t *testing.T) {
	st := newStack(t)
	st.original("pg", "11111111-0000-4000-8000-000000000000", true)
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	other := encodeCursor("other", original{key: keys.Key{Kind: keys.Original, Scenario: "other", ID: "11111111-0000-4000-8000-000000000000", Ext: "jpg"},
		obj: types.Object{LastModified: aws.Time(time.Now())}})
	bad := []string{
		"limit=0", "limit=501", "limit=abc", "limit=1&limit=2", "limit=", "limit=1.5",
		"cursor=", "cursor=!!!", "cursor=" + b64("not json"), "cursor=" + other,
		"cursor=" + b64(`{"s":"pg","t":1,"f":"../../quarantine/x.jpg"}`),
		"cursor=" + b64(`{"s":"pg","t":1,"f":"11111111-0000-4000-8000-000000000000.jpg","x":1}`),
		"cursor=" + b64(`{"s":"pg","t":0,"f":"11111111-0000-4000-8000-000000000000.jpg"}`),
		"cursor=" + b64(`{"s":"pg","t":1,"f":"thumbnails/11111111-0000-4000-8000-000000000000_320.jpg"}`),
		"cursor=" + strings.Repeat("A", 600),
	}
	for _, q := range bad {
		r := st.call("GET", "/patient-images/scenarios/pg/images?"+q, st.token("student"), nil)
		if r.Status != 400 || r.str("detail") == "" {
			t.Errorf("?%s: %d %s, want 400 with a detail", q, r.Status, r.Raw)
		}
	}
	// A well-formed cursor for this scenario only moves within it: here, past everything.
	late := b64(fmt.Sprintf(`{"s":"pg","t":%d,"f":"ffffffff-0000-4000-8000-000000000000.jpg"}`, time.Now().Add(time.Hour).UnixNano()))
	if r := st.call("GET", "/patient-images/scenarios/pg/images?cursor="+late, st.token("student"), nil); r.Status != 200 || len(listedKeys(r)) != 0 {
		t.Errorf("a cursor after the last image: %d %s", r.Status, r.Raw)
	}
}

// TestPageFitsLambdasResponse: a full default page of images with session-token URLs, as the API
// function returns it to API Gateway, stays well inside Lambda's 6 MB response payload.
func TestPageFitsLambdasResponse(t *testing.T) {
	longURL := "https://medicpx-images-123456789012-ap-northeast-2.s3.ap-northeast-2.amazonaws.com/patient_images/scenario_1/thumbnails/" +
		"0b6f3f7e-5a0c-4e53-9d2a-3b1f0c6a9e10_1280.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIA&X-Amz-Date=20260101T000000Z" +
		"&X-Amz-Expires=3600&X-Amz-Security-Token=" + strings.Repeat("Q", 1500) + "&X-Amz-SignedHeaders=host&x-id=GetObject&X-Amz-Signature=" + strings.Repeat("f", 64)
	if len(longURL) < 1800 {
		t.Fatalf("URL of %d bytes is not realistic", len(longURL))
	}
	items := make([]image, maxPageSize)
	for i := range items {
		key := fmt.Sprintf("patient_images/scenario_1/%08x-5a0c-4e53-9d2a-3b1f0c6a9e10.jpg", i)
		items[i] = image{S3Key: key, S3URL: "https://medicpx-images-123456789012-ap-northeast-2.s3.ap-northeast-2.amazonaws.com/" + key,
			Filename: keys.Filename(key), FileSize: 10 << 20, LastModified: "2026-01-01T00:00:00Z", ETag: strings.Repeat("e", 32),
			Status: statusReady, URL: longURL, ThumbnailURL: longURL, DisplayURL: longURL}
	}
	body, err := json.Marshal(map[string]any{"scenario_id": "1", "images": items, "total_count": 100000, "message": "…", "next_cursor": strings.Repeat("c", 120)})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: string(body),
		Headers: map[string]string{"Content-Type": "application/json; charset=utf-8"}})
	if err != nil {
		t.Fatal(err)
	}
	const lambdaLimit = 6 << 20
	if len(payload) > lambdaLimit*3/4 {
		t.Fatalf("a page of %d images is %d bytes as a Lambda response; the limit is %d", maxPageSize, len(payload), lambdaLimit)
	}
	t.Logf("a full page: %d bytes (%.0f%% of Lambda's 6 MB)", len(payload), 100*float64(len(payload))/lambdaLimit)
}
