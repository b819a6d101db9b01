package apiclient

import (
	"errors"
	"io"
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

// TestPutRetriesFolderRace: a PUT answered versitygw's 409 ExistingObjectIsDirectory is sent again
// with the same body; any other 409, or a fifth one, is the caller's to see.
func TestPutRetriesFolderRace(t *testing.T) {
	const race = "<Error><Code>ExistingObjectIsDirectory</Code><Message>Existing Object is a directory.</Message></Error>"
	for _, tc := range []struct {
		name    string
		answers []string // the bodies of the 409s before a 200
		status  int
		puts    int
	}{
		{"race twice", []string{race, race}, http.StatusOK, 3},
		{"race five times", []string{race, race, race, race, race}, http.StatusConflict, 5},
		{"other conflict", []string{"<Error><Code>OperationAborted</Code></Error>"}, http.StatusConflict, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var bodies []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				bodies = append(bodies, string(b))
				if n := len(bodies); n <= len(tc.answers) {
					w.WriteHeader(http.StatusConflict)
					w.Write([]byte(tc.answers[n-1]))
				}
			}))
			defer srv.Close()
			g := &UploadGrant{UploadURL: srv.URL + "/k", S3Key: "k"}
			code, err := g.Put(t.Context(), []byte("photo"), nil)
			if code != tc.status || (err == nil) != (tc.status == http.StatusOK) {
				t.Errorf("Put = %d, %v; want %d", code, err, tc.status)
			}
			if len(bodies) != tc.puts {
				t.Errorf("%d PUTs, want %d", len(bodies), tc.puts)
			}
			for i, b := range bodies {
				if b != "photo" {
					t.Errorf("PUT %d carried %q", i+1, b)
				}
			}
		})
	}
}
