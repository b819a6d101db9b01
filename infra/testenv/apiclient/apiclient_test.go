package apiclient

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestDo: the token and JSON body go out, a 2xx answer is decoded, and any other answer is an
// *APIError with the API's detail (or the body, when it has none).
func TestDo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("Authorization") != "Bearer tok":
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"detail":"토큰이 없습니다"}`))
		case r.URL.Path == "/patient-images/scenarios/1/images" && r.URL.Query().Get("cursor") == "c1" && r.URL.Query().Get("limit") == "2":
			w.Write([]byte(`{"scenario_id":"1","images":[{"s3_key":"k","status":"ready"}],"total_count":3,"next_cursor":"c2"}`))
		default:
			w.WriteHeader(http.StatusBadGateway)
			w.Write([]byte("bare\n"))
		}
	}))
	defer srv.Close()
	c := New(srv.URL+"/", "tok")
	l, err := c.List(t.Context(), "1", ListOptions{Limit: 2, Cursor: "c1"})
	if err != nil || len(l.Images) != 1 || l.Images[0].S3Key != "k" || l.TotalCount != 3 || l.NextCursor != "c2" {
		t.Fatalf("List = %+v, %v", l, err)
	}
	_, err = c.As("").List(t.Context(), "1", ListOptions{})
	var e *APIError
	if !errors.As(err, &e) || e.Status != http.StatusUnauthorized || e.Detail != "토큰이 없습니다" || StatusOf(err) != http.StatusUnauthorized {
		t.Fatalf("without a token: %#v", err)
	}
	if code, err := c.Do(t.Context(), http.MethodGet, "/other", nil, nil); code != http.StatusBadGateway || !errors.As(err, &e) || e.Detail != "bare" {
		t.Fatalf("Do = %d, %#v", code, err)
	}
	if StatusOf(nil) != http.StatusOK || StatusOf(errors.New("dial")) != 0 {
		t.Fatal("StatusOf")
	}
}
