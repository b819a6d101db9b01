// Package smoke checks a running deployment end to end, the way the seed guide's frontend uses it
// (patient-image-upload-guide.md, "테스트"): a professor uploads, the processor makes the upload
// ready, a student lists it and reads the representative, the s3_url shows in a real <img> in
// headless Chromium with no token, the download URL serves it, and the professor deletes it, after
// which the s3_url is a 404. It prints each step and removes what it uploaded, even on failure.
// `make smoke` runs it (infra/cmd/medicpx-smoke); its test runs it against the local stack.
package smoke

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/chromedp/chromedp"

	"medicpx/infra/testenv/apiclient"
	"medicpx/infra/testenv/testimage"
)

// Config says which deployment to check, as whom.
type Config struct {
	APIURL         string // the API's base URL, e.g. https://abc.execute-api.ap-northeast-2.amazonaws.com
	ProfessorToken string
	StudentToken   string
	// Scenario is the scenario the smoke test uploads into; a fresh "smoke-…" one by default, so a
	// run never touches real scenarios.
	Scenario string
	Chromium string        // the browser; /usr/bin/chromium by default
	Timeout  time.Duration // how long the upload may take to become ready; 2 minutes by default
	Out      io.Writer     // the step-by-step report; os.Stdout by default
	// HTTP is the client for API and S3 calls; http.DefaultClient (redirects followed) by default.
	HTTP *http.Client
}

// Run performs the whole flow and returns the first step that did not behave as the guide says.
func Run(ctx context.Context, c Config) (err error) {
	if c.APIURL == "" || c.ProfessorToken == "" || c.StudentToken == "" {
		return errors.New("API_URL, PROFESSOR_TOKEN and STUDENT_TOKEN are required")
	}
	c.APIURL = strings.TrimRight(c.APIURL, "/")
	if c.Scenario == "" {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		c.Scenario = "smoke-" + hex.EncodeToString(b)
	}
	if c.Chromium == "" {
		c.Chromium = "/usr/bin/chromium"
	}
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Minute
	}
	if c.Out == nil {
		c.Out = os.Stdout
	}
	if c.HTTP == nil {
		c.HTTP = http.DefaultClient
	}
	r := newRun(c)
	r.say("smoke test of %s, scenario %q", c.APIURL, c.Scenario)
	defer func() {
		if r.key != "" && !r.deleted {
			// Clean up whatever happened: the test must not leave an image behind.
			if derr := r.deleteImage(context.WithoutCancel(ctx)); derr != nil {
				err = errors.Join(err, fmt.Errorf("cleanup: %w", derr))
			} else {
				r.say("cleanup: deleted %s", r.key)
			}
		}
		if err != nil {
			r.say("FAILED: %v", err)
		} else {
			r.say("smoke test passed")
		}
	}()
	return r.steps(ctx)
}

type run struct {
	Config
	prof, stud            *apiclient.Client
	key, s3URL, statusURL string
	deleted               bool
}

func newRun(c Config) *run {
	prof := &apiclient.Client{BaseURL: c.APIURL, Token: c.ProfessorToken, HTTP: c.HTTP}
	return &run{Config: c, prof: prof, stud: prof.As(c.StudentToken)}
}

func (r *run) say(format string, args ...any) {
	fmt.Fprintf(r.Out, "smoke: "+format+"\n", args...)
}

func (r *run) steps(ctx context.Context) error {
	var health map[string]any
	if _, err := r.prof.As("").Do(ctx, "GET", "/healthz", nil, &health); err != nil {
		return fmt.Errorf("healthz: %w", err)
	}
	r.say("1/8 API answers /healthz: %v", health["status"])

	if err := r.uploadReady(ctx); err != nil {
		return err
	}

	list, err := r.stud.List(ctx, r.Scenario, apiclient.ListOptions{})
	if err != nil {
		return fmt.Errorf("student listing: %w", err)
	}
	if list.TotalCount != 1 || len(list.Images) != 1 || list.Images[0].S3Key != r.key || list.Images[0].Status != "ready" {
		return fmt.Errorf("student listing: %+v, want the one ready upload", list)
	}
	if list.Images[0].S3URL != r.s3URL {
		return fmt.Errorf("listing s3_url %q differs from upload-url's %q", list.Images[0].S3URL, r.s3URL)
	}
	r.say("4/8 student lists it: 1 image, ready, same s3_url")

	rep, err := r.stud.Representative(ctx, r.Scenario)
	if err != nil {
		return fmt.Errorf("representative: %w", err)
	}
	if rep == nil || rep.S3Key != r.key || rep.S3URL != r.s3URL {
		return fmt.Errorf("representative %+v, want %s with the same s3_url", rep, r.key)
	}
	r.say("5/8 student reads the representative: the upload, same s3_url")

	w, h, err := ShowInBrowser(ctx, r.Chromium, r.s3URL)
	if err != nil {
		return fmt.Errorf("s3_url in <img>: %w", err)
	}
	r.say("6/8 headless Chromium shows s3_url in an <img> with no token: %dx%d", w, h)

	dl, err := r.stud.DownloadURL(ctx, r.key, 0)
	if err != nil {
		return fmt.Errorf("download-url: %w", err)
	}
	got, ctype, err := r.stud.Fetch(ctx, dl.DownloadURL)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if _, err := jpeg.DecodeConfig(bytes.NewReader(got)); err != nil || ctype != "image/jpeg" {
		return fmt.Errorf("download served %d bytes of %q that do not decode as JPEG: %v", len(got), ctype, err)
	}
	r.say("7/8 student downloads it: %d bytes, %s", len(got), ctype)

	if err := r.deleteImage(ctx); err != nil {
		return err
	}
	if code, err := r.stud.LinkStatus(ctx, r.s3URL); err != nil || code != http.StatusNotFound {
		return fmt.Errorf("after delete the s3_url answers %d (%v), want 404", code, err)
	}
	r.say("8/8 professor deletes it; its s3_url is now a 404")
	return nil
}

// uploadReady is the guide's upload flow as a professor, then waiting until the processor has
// made the upload ready (steps 2 and 3).
func (r *run) uploadReady(ctx context.Context) error {
	img := testimage.JPEG(480, 360)
	up, err := r.prof.PresignPut(ctx, r.Scenario, "smoke_patient.jpg", len(img))
	if err != nil {
		return fmt.Errorf("upload-url: %w", err)
	}
	r.key, r.s3URL, r.statusURL = up.S3Key, up.S3URL, up.StatusURL
	if _, err := up.Put(ctx, img, nil); err != nil {
		return fmt.Errorf("upload: PUT to the presigned URL: %w", err)
	}
	r.say("2/8 professor uploaded %d bytes to %s (s3_url %s)", len(img), r.key, r.s3URL)

	start := time.Now()
	for {
		st, err := r.prof.StatusAt(ctx, r.statusURL)
		if err != nil {
			return fmt.Errorf("status: %w", err)
		}
		if st.Status == "ready" {
			break
		}
		if st.Status == "rejected" {
			return fmt.Errorf("the processor rejected the smoke image: %s", st.Reason)
		}
		if time.Since(start) > r.Timeout {
			return fmt.Errorf("still %q after %s: is the processor running and receiving events?", st.Status, r.Timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	r.say("3/8 processor made it ready in %s", time.Since(start).Round(100*time.Millisecond))
	return nil
}

func (r *run) deleteImage(ctx context.Context) error {
	if _, err := r.prof.Delete(ctx, r.key, false); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	r.deleted = true
	return nil
}

// ShowInBrowser loads src into an <img> of a page in headless Chromium, as the guide's
// displayPatientImage does (imgElement.src = s3_url), and returns the decoded image's size. The
// page comes from a local server of its own, so the image is loaded cross-origin with no token.
func ShowInBrowser(ctx context.Context, chromium, src string) (w, h int, err error) {
	page := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(rw, `<!doctype html><meta charset="utf-8"><title>smoke</title><img id="patient-image" alt="">`)
	}))
	defer page.Close()
	bctx, cancel := Browser(ctx, chromium)
	defer cancel()
	bctx, cancelT := context.WithTimeout(bctx, 60*time.Second)
	defer cancelT()
	if err := chromedp.Do(bctx, chromedp.Navigate(page.URL)); err != nil {
		return 0, 0, err
	}
	set := fmt.Sprintf(`document.getElementById('patient-image').src = %q; true`, src)
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](set)); err != nil {
		return 0, 0, err
	}
	// [-1, -1] while loading; once complete, the decoded size (0 for a broken image).
	const probe = `(() => { const i = document.getElementById('patient-image');
		return i.complete ? [i.naturalWidth, i.naturalHeight] : [-1, -1]; })()`
	var size []int
	for {
		if size, err = chromedp.Run(bctx, chromedp.Evaluate[[]int](probe)); err != nil {
			return 0, 0, err
		}
		if len(size) == 2 && size[0] >= 0 {
			break
		}
		select {
		case <-bctx.Done():
			return 0, 0, fmt.Errorf("the <img> for %s never finished loading: %w", src, bctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	if size[0] == 0 {
		return 0, 0, fmt.Errorf("the <img> did not load %s (naturalWidth 0)", src)
	}
	return size[0], size[1], nil
}

// Browser starts headless Chromium; cancel stops it.
func Browser(ctx context.Context, chromium string) (context.Context, context.CancelFunc) {
	dir, _ := os.MkdirTemp("", "medicpx-smoke-chromium-")
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(dir),
	)
	bctx, cancelBrowser := chromedp.NewContext(alloc)
	return bctx, func() {
		cancelBrowser()
		cancelAlloc()
		_ = os.RemoveAll(dir)
	}
}
