package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRequestLog: exactly one structured line per request, for API routes and for routes mounted
// beside them (the pages), with the status, the subject and the internal cause, never the token.
func TestRequestLog(t *testing.T) {
	st := newStack(t)
	var buf bytes.Buffer
	st.api.log = slog.New(slog.NewJSONHandler(&buf, nil))
	st.api.Router().Handle("/page", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})).Methods(http.MethodGet)
	tok := st.token("student")
	send := func(method, path, token string) {
		req := httptest.NewRequest(method, path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		st.api.ServeHTTP(httptest.NewRecorder(), req)
	}
	send("GET", "/patient-images/scenarios/1/images", tok)
	send("POST", "/patient-images/upload-url/1", tok)
	send("GET", "/patient-images/scenarios/1/images", tok+"x")
	send("GET", "/page", "")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d log lines for 4 requests:\n%s", len(lines), buf.String())
	}
	want := []struct {
		status int
		sub    string
		err    string
	}{
		{200, "user-student", ""},
		{403, "user-student", msgForbidden},
		{401, "", msgBadToken},
		{418, "", ""},
	}
	for i, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not JSON: %s", line)
		}
		errText, _ := rec["error"].(string)
		if rec["msg"] != "request" || rec["status"] != float64(want[i].status) || rec["sub"] != want[i].sub ||
			!strings.HasPrefix(errText, want[i].err) || rec["ms"] == nil {
			t.Errorf("line %d = %s, want status %d sub %q error %q", i, line, want[i].status, want[i].sub, want[i].err)
		}
		if strings.Contains(line, tok) {
			t.Errorf("the token is in the log: %s", line)
		}
	}
}
