package smoke

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"medicpx/infra/stack"
	"medicpx/infra/stack/stacktest"
	"medicpx/infra/testenv/apiclient"
	"medicpx/infra/testenv/versity"
)

const chromium = "/usr/bin/chromium"

// pageServer serves the guide's display code and axios from an origin of its own
// (http://localhost:PORT, while the API is on 127.0.0.1: another site, not only another port).
func pageServer(t *testing.T) string {
	t.Helper()
	root, err := versity.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	nodePath := os.Getenv("NODE_PATH")
	if nodePath == "" {
		nodePath = filepath.Join(root, ".tools", "node", "node_modules")
	}
	axios, err := os.ReadFile(filepath.Join(nodePath, "axios", "dist", "axios.min.js"))
	if err != nil {
		t.Fatalf("axios is not installed (run `make tools`): %v", err)
	}
	page, err := os.ReadFile(filepath.Join("testdata", "display-patient-image.html"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/axios.min.js":
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = w.Write(axios)
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write(page)
		default:
			http.NotFound(w, r)
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
}

// TestAgainstLocalStack runs, on one local stack (versitygw, the real processor, the API):
//   - `make smoke`'s whole flow, which must pass, print every step and leave nothing behind;
//   - the guide's displayPatientImage code, axios and all, on a page of another origin, which
//     must show the representative image from its s3_url.
func TestAgainstLocalStack(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("Chromium is not installed: this test did NOT run (%s missing; apt-get install -y chromium)", chromium)
	}
	pageOrigin := pageServer(t)
	st := stacktest.Start(t, stack.Options{WebOrigins: []string{pageOrigin}})
	logs := &bytes.Buffer{}
	prof, _ := st.Token("professor")
	stud, _ := st.Token("student")

	t.Run("make smoke", func(t *testing.T) {
		var out bytes.Buffer
		err := Run(context.Background(), Config{APIURL: st.APIURL, ProfessorToken: prof, StudentToken: stud, Scenario: "smoke1", Out: &out})
		t.Logf("smoke output:\n%s", &out)
		if err != nil {
			t.Fatalf("smoke failed against the local stack: %v", err)
		}
		for i := 1; i <= 8; i++ {
			if !strings.Contains(out.String(), fmt.Sprintf("smoke: %d/8 ", i)) {
				t.Errorf("step %d/8 not reported", i)
			}
		}
		if !strings.Contains(out.String(), "smoke test passed") {
			t.Error("no final verdict printed")
		}
		if n := countImages(t, st.APIURL, prof, "smoke1"); n != 0 {
			t.Errorf("smoke left %d images (staged or final) behind", n)
		}
	})

	t.Run("smoke fails and cleans up when the student cannot see the image", func(t *testing.T) {
		// A professor's token where the student's should be still passes every step (staff see
		// everything); an invalid student token must fail the run, and the upload must be removed.
		var out bytes.Buffer
		err := Run(context.Background(), Config{APIURL: st.APIURL, ProfessorToken: prof, StudentToken: "not-a-token", Scenario: "smoke2", Out: &out})
		if err == nil || !strings.Contains(out.String(), "FAILED") || !strings.Contains(out.String(), "cleanup: deleted") {
			t.Fatalf("err %v, output:\n%s", err, &out)
		}
		if n := countImages(t, st.APIURL, prof, "smoke2"); n != 0 {
			t.Errorf("a failed smoke run left %d images behind", n)
		}
	})

	t.Run("guide's displayPatientImage on another origin", func(t *testing.T) {
		r := newRun(Config{APIURL: st.APIURL, ProfessorToken: prof, StudentToken: stud, Scenario: "display1", HTTP: http.DefaultClient, Timeout: 2 * time.Minute, Out: logs})
		if err := r.uploadReady(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = r.deleteImage(context.Background()) }()

		bctx, cancel := Browser(context.Background(), chromium)
		defer cancel()
		bctx, cancelT := context.WithTimeout(bctx, 90*time.Second)
		defer cancelT()
		page := pageOrigin + "/?api=" + st.APIURL + "&token=" + stud + "&scenario=display1"
		if err := chromedp.Do(bctx, chromedp.Navigate(page)); err != nil {
			t.Fatal(err)
		}
		var state struct {
			Src     string `json:"src"`
			Width   int    `json:"width"`
			Origin  string `json:"origin"`
			Loading bool   `json:"loading"`
		}
		for {
			raw, err := chromedp.Run(bctx, chromedp.Evaluate[string](`JSON.stringify((() => {
				const i = document.getElementById('patient-image');
				return {src: i.src, width: i.naturalWidth, origin: location.origin, loading: !i.src || !i.complete};
			})())`))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(raw), &state); err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			if !state.Loading {
				break
			}
			if bctx.Err() != nil {
				t.Fatalf("the guide's code never set or finished the image: %+v", state)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if state.Src != r.s3URL || state.Width == 0 || state.Origin == st.APIURL {
			t.Fatalf("page %s: <img src=%q> naturalWidth %d; want the s3_url %s shown", state.Origin, state.Src, state.Width, r.s3URL)
		}
		t.Logf("on %s the guide's code showed %s: naturalWidth %d", state.Origin, state.Src, state.Width)
	})
}

// countImages is what a professor sees in a scenario: final originals and staged uploads.
func countImages(t *testing.T, api, token, scenario string) int {
	t.Helper()
	list, err := apiclient.New(api, token).List(t.Context(), scenario, apiclient.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return list.TotalCount
}
