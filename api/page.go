package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"medicpx/shared/keys"
)

// Listing pages. A listing of about a thousand images, three presigned URLs of ~1.9 KB each, passes
// the 6 MB that Lambda returns through API Gateway, so listings are paged: the optional `limit`
// query parameter (1..maxPageSize) and the opaque `cursor` from a previous page's `next_cursor`.
const (
	// maxPageSize is also the default page: larger than any real scenario (a few images each), and
	// about 3 MB of JSON at ~6 KB per image with session-token URLs (TestPageFitsLambdasResponse).
	maxPageSize = 500
	msgBadLimit = "limit은 1에서 500 사이의 정수여야 합니다."
	msgBadPage  = "cursor가 올바르지 않습니다. 이전 응답의 next_cursor를 그대로 보내세요."
)

// cursor is the position after which the next page starts: an upload in the listing's order (the
// scenario's order, see arrange), found by its file name; by its age only if it was deleted
// between the pages. It names its scenario and is checked against the request, and its
// key must be an original of that scenario. It never reaches S3: it only selects where to start
// in the scenario's own listing, so a forged one can only move within what the caller may see.
type cursor struct {
	Scenario string `json:"s"`
	Modified int64  `json:"t"` // LastModified, Unix nanoseconds
	Filename string `json:"f"` // the upload's stored file name
}

func encodeCursor(scenario string, o original) string {
	b, _ := json.Marshal(cursor{Scenario: scenario, Modified: aws.ToTime(o.obj.LastModified).UnixNano(), Filename: keys.Filename(o.key.String())})
	return base64.RawURLEncoding.EncodeToString(b)
}

// after reports whether o comes after the cursor's position in the listing's order.
func (c cursor) after(scenario string, o original) bool {
	t := aws.ToTime(o.obj.LastModified).UnixNano()
	if t != c.Modified {
		return t > c.Modified
	}
	return o.key.String() > keys.ScenarioPrefix(scenario)+c.Filename
}

// pageParams reads limit and cursor; a malformed one is a 400, never a silent first page.
func pageParams(r *http.Request, scenario string) (int, *cursor, error) {
	q := r.URL.Query()
	limit := maxPageSize
	if v, ok := q["limit"]; ok {
		n, err := strconv.Atoi(strings.Join(v, ","))
		if err != nil || len(v) != 1 || n < 1 || n > maxPageSize {
			return 0, nil, newError(EInvalid, msgBadLimit)
		}
		limit = n
	}
	v, ok := q["cursor"]
	if !ok {
		return limit, nil, nil
	}
	bad := newError(EInvalid, msgBadPage)
	if len(v) != 1 || len(v[0]) > 512 {
		return 0, nil, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(v[0])
	if err != nil {
		return 0, nil, bad
	}
	var c cursor
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || dec.More() || c.Scenario != scenario || c.Modified <= 0 ||
		c.Modified > time.Now().Add(24*time.Hour).UnixNano() {
		return 0, nil, bad
	}
	if _, err := keys.ParseOriginal(keys.ScenarioPrefix(scenario)+c.Filename, scenario); err != nil {
		return 0, nil, bad
	}
	return limit, &c, nil
}

// page cuts one page out of a listing in its order, and the cursor of the page after it ("" when
// this is the last).
func page(scenario string, all []original, limit int, after *cursor) ([]original, string) {
	start := 0
	if after != nil {
		if i := slices.IndexFunc(all, func(o original) bool { return keys.Filename(o.key.String()) == after.Filename }); i >= 0 {
			start = i + 1
		} else {
			for start < len(all) && !after.after(scenario, all[start]) {
				start++
			}
		}
	}
	end := min(start+limit, len(all))
	next := ""
	if end < len(all) {
		next = encodeCursor(scenario, all[end-1])
	}
	return all[start:end], next
}
