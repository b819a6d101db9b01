package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"medicpx/infra/testenv/apiclient"
	"medicpx/infra/testenv/testimage"
	"medicpx/shared/catalog"
)

// TestBrowserUploads drives Chromium through issue 19's flows on the whole local stack, on a
// desktop and on a phone screen: the platform's sign-in handoff (#access_token), a batch (15 files,
// 5 on the phone) whose network drops for 2 s in the middle (answers of uploads that reached S3
// lost, then the tab offline), "다시 시도" of an upload that did arrive, an expired URL and a PUT
// answered 409 sent again by themselves, the duplicate question, the checksum header on the PUT,
// the scenario home with covers, recent scenarios and search, what a scenario ID is, and a pasted
// image named in the browser's local time; axe-core on each new state.
func TestBrowserUploads(t *testing.T) {
	e := startBrowserEnv(t, "uploads")
	for _, vp := range viewports {
		if !t.Run(vp.name, func(t *testing.T) { e.uploadFlows(t, vp) }) {
			break
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range e.problem {
		t.Errorf("page problem: %s", p)
	}
	t.Logf("%d screenshots in %s", len(e.taken), e.shots)
}

// putSeen is one PUT the page sent to S3.
type putSeen struct {
	url, checksum string
}

// wifi is the tab's network as hospital Wi-Fi treats it. lose(n) loses the answers of the next n
// PUTs to S3 after S3 stored them (the page sees a dropped connection); hold() keeps the next
// PUT's answer (its bytes are in S3) until drop(); offline(true/false) takes the whole tab off
// the network and back, navigator.onLine and its events included. Every PUT is recorded.
type wifi struct {
	b      tab
	mu     sync.Mutex
	losing int
	lost   chan struct{}
	holdOn bool
	answer *s3Answer
	held   []fetch.RequestID
	heldC  chan struct{}
	puts   []putSeen
	stop   context.CancelFunc
}

func (e *browserEnv) wifi(b tab) *wifi {
	w := &wifi{b: b, heldC: make(chan struct{}, 8)}
	ctx, cancel := context.WithCancel(b.ctx)
	w.stop = cancel
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(b.ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
		{URLPattern: e.st.S3URL + "/*", RequestStage: fetch.RequestStageRequest},
		{URLPattern: e.st.S3URL + "/*", RequestStage: fetch.RequestStageResponse},
	}}); err != nil {
		b.t.Fatalf("intercept S3: %v", err)
	}
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			put := ev.Request.Method == http.MethodPut
			response := ev.ResponseStatusCode != 0 || ev.ResponseErrorReason != ""
			w.mu.Lock()
			switch {
			case put && !response:
				sum, _ := ev.Request.Headers["x-amz-checksum-sha256"].(string)
				w.puts = append(w.puts, putSeen{url: ev.Request.URL, checksum: sum})
				if a := w.answer; a != nil {
					w.answer = nil
					w.mu.Unlock()
					_, _ = chromedp.Call(b.ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: ev.RequestID, ResponseCode: int64(a.status),
						ResponseHeaders: []*fetch.HeaderEntry{{Name: "Access-Control-Allow-Origin", Value: "*"}},
						Body:            []byte("<Error><Code>" + a.code + "</Code><Message>" + a.message + "</Message></Error>")})
					continue
				}
				w.mu.Unlock()
				_, _ = chromedp.Call(b.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
			case put && w.losing > 0 && ev.ResponseStatusCode == http.StatusOK:
				w.losing--
				if w.losing == 0 {
					close(w.lost)
				}
				w.mu.Unlock()
				_, _ = chromedp.Call(b.ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonInternetDisconnected})
			case put && w.holdOn && ev.ResponseStatusCode == http.StatusOK:
				w.holdOn = false
				w.held = append(w.held, ev.RequestID)
				w.mu.Unlock()
				w.heldC <- struct{}{}
			case response:
				w.mu.Unlock()
				_, _ = chromedp.Call(b.ctx, fetch.ContinueResponse, fetch.ContinueResponseParams{RequestID: ev.RequestID})
			default:
				w.mu.Unlock()
				_, _ = chromedp.Call(b.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
			}
		}
	}()
	return w
}

// lose arms the loss of the next n PUT answers; the channel closes when they are lost.
func (w *wifi) lose(n int) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.losing = n
	w.lost = make(chan struct{})
	return w.lost
}

// hold keeps the next PUT answer; the channel receives once it is held.
func (w *wifi) hold() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.holdOn = true
	return w.heldC
}

// s3Answer is an S3 error answer to a PUT, given in its place.
type s3Answer struct {
	status        int
	code, message string
}

var (
	// S3's answer to a presigned URL past its time.
	answerExpired = s3Answer{http.StatusForbidden, "AccessDenied", "Request has expired"}
	// versitygw's answer to a PUT into a folder it is removing (S3 answers 409 OperationAborted to
	// a PUT that meets another operation on its key).
	answerConflict = s3Answer{http.StatusConflict, "ExistingObjectIsDirectory", "Existing Object is a directory."}
)

// answerNext answers the next PUT with a instead of sending it to S3.
func (w *wifi) answerNext(a s3Answer) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.answer = &a
}

// drop ends the held answers as a lost connection ends them.
func (w *wifi) drop() {
	w.mu.Lock()
	held := w.held
	w.held = nil
	w.mu.Unlock()
	for _, id := range held {
		_, _ = chromedp.Call(w.b.ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: id, ErrorReason: network.ErrorReasonInternetDisconnected})
	}
}

func (w *wifi) seen() []putSeen {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]putSeen{}, w.puts...)
}

func (w *wifi) offline(off bool) {
	w.b.t.Helper()
	if _, err := chromedp.Call(w.b.ctx, network.Enable, network.EnableParams{}); err != nil {
		w.b.t.Fatalf("network: %v", err)
	}
	if _, err := chromedp.Call(w.b.ctx, emulateNetworkConditions, networkConditions{Offline: off, DownloadThroughput: -1, UploadThroughput: -1}); err != nil {
		w.b.t.Fatalf("network conditions: %v", err)
	}
	if _, err := chromedp.Call(w.b.ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: off, DownloadThroughput: -1, UploadThroughput: -1}); err != nil {
		w.b.t.Fatalf("network state: %v", err)
	}
}

func (w *wifi) close() {
	w.stop()
	_, _ = chromedp.Call(w.b.ctx, fetch.Disable, cdp.Empty{})
}

// networkConditions are the parameters of Network.emulateNetworkConditions, which Chromium still
// has (the tab's whole network offline, in-flight requests failed) though this cdproto only
// carries its per-rule successor.
type networkConditions struct {
	Offline            bool    `json:"offline"`
	Latency            float64 `json:"latency"`
	DownloadThroughput float64 `json:"downloadThroughput"`
	UploadThroughput   float64 `json:"uploadThroughput"`
}

var emulateNetworkConditions = cdp.Command[networkConditions, cdp.Empty]{Method: "Network.emulateNetworkConditions"}

// seoulTab is a tab whose clock is in Seoul, as the professors' browsers are.
func (e *browserEnv) seoulTab(t *testing.T, name string, vp viewport) (tab, context.CancelFunc) {
	b, cancel := e.newTab(t, name, e.browser, true, vp)
	if _, err := chromedp.Call(b.ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Seoul"}); err != nil {
		t.Fatalf("time zone: %v", err)
	}
	return b, cancel
}

// noTokenInHistory fails when the address or any history entry of the tab holds the token.
func noTokenInHistory(t *testing.T, b tab, tok string) {
	t.Helper()
	if href := b2s(b.eval("address", `location.href`)); strings.Contains(href, "access_token") || strings.Contains(href, tok[:20]) {
		t.Errorf("the token stayed in the address: %s", href)
	}
	h, err := chromedp.Call(b.ctx, page.GetNavigationHistory, cdp.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range h.Entries {
		if strings.Contains(en.URL, "access_token") || strings.Contains(en.URL, tok[:20]) {
			t.Errorf("the token is in the history: entry %q", en.URL)
		}
	}
}

func (e *browserEnv) listing(t *testing.T, sc string) []apiclient.Image {
	t.Helper()
	l, err := e.directAPI(t).List(t.Context(), sc, apiclient.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l.Images
}

// uploadURLs counts the upload-url requests the API logged for scenario sc.
func (e *browserEnv) uploadURLs(sc string) int {
	return strings.Count(e.logs.String(), `"method":"POST","path":"/patient-images/upload-url/`+sc+`"`)
}

func pathOf(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

func (e *browserEnv) uploadFlows(t *testing.T, vp viewport) {
	sc := "net-" + vp.name
	n := 0
	name := func(role, what string) string { n++; return fmt.Sprintf("%s-%s-%02d-%s", vp.name, role, n, what) }
	profTok, err := e.st.Token("professor")
	if err != nil {
		t.Fatal(err)
	}
	studTok, err := e.st.Token("student")
	if err != nil {
		t.Fatal(err)
	}
	prof, closeProf := e.seoulTab(t, "professor", vp)
	defer closeProf()

	// 1. The platform's link: signs in, opens the scenario, and the token leaves the address bar
	// and the history at once. The empty scenario says so plainly.
	prof.do("follow the platform's link", chromedp.Navigate(e.st.APIURL+"/#access_token="+profTok+"&scenario="+sc))
	prof.wait("the scenario opened", `location.pathname === '/scenarios/`+sc+`' && !!document.querySelector('#images .empty')`, 10*time.Second)
	noTokenInHistory(t, prof, profTok)
	if got := b2s(prof.eval("empty text", `document.querySelector('#images .empty').textContent`)); !strings.Contains(got, "이 시나리오에는 아직 이미지가 없습니다") {
		t.Errorf("empty scenario says %q", got)
	}
	if got := b2s(prof.eval("stored token", `localStorage.getItem('medicpx.token')`)); got != profTok {
		t.Errorf("the handed-off token was not kept for the other tabs")
	}
	// The retry rules: waits double up to a cap, half of each wait random; what is sent again.
	if got := b2s(prof.eval("backoff and transient", `import(new URL('uploads.js', document.querySelector('script[type=module]').src)).then((m) => [
		m.backoff(0, () => 0), m.backoff(0, () => 1), m.backoff(2, () => 0), m.backoff(2, () => 1), m.backoff(20, () => 1),
		...[0, 408, 429, 500, 503, 400, 401, 403, 404, 409, 413].map((s) => m.transient({status: s}))].join())`)); got != "500,1000,2000,4000,15000,true,true,true,true,true,false,false,false,false,false,false" {
		t.Errorf("backoff and transient: %s", got)
	}
	e.axe(prof, "handoff: empty scenario")
	e.shot(name("professor", "handoff-empty"), prof.ctx)

	// 2. A batch (15 photos on the desktop, as the professor sends them; 5 on the phone);
	// the answers of the first two PUTs are lost after S3 stored them, and the tab goes offline
	// for 2 s. Every row ends registered, never "실패", and the scenario has exactly that many.
	count := 15
	if vp.phone {
		count = 5
	}
	prof.eval("record row states", `window.__states = new Set(); new MutationObserver((ms) => { for (const m of ms)
		if (m.target.dataset && m.target.dataset.state) window.__states.add(m.target.dataset.state); })
		.observe(document.getElementById('uploads'), {subtree: true, attributes: true, attributeFilter: ['data-state']}); true`)
	w := e.wifi(prof)
	defer w.close()
	var batch []string
	bodies := map[string][]byte{}
	var names []string
	for i := range count {
		f := fmt.Sprintf("병동 사진 %d.jpg", i+1)
		names = append(names, f)
		bodies[f] = testimage.JPEG(1200+40*i, 900)
		batch = append(batch, e.file(t, f, bodies[f]))
	}
	lost := w.lose(2)
	prof.do("pick the photos", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), batch))
	select {
	case <-lost:
	case <-time.After(30 * time.Second):
		t.Fatal("no PUT reached S3 within 30 s")
	}
	w.offline(true)
	prof.wait("the page says the connection dropped and waits", `(() => { const o = document.getElementById('upload-offline');
		return o && !o.hidden && o.textContent.includes('연결이 끊겼습니다') && !document.getElementById('upload-total').hidden &&
			document.getElementById('upload-total-text').textContent.includes('`+fmt.Sprint(count)+`개 중'); })()`, 5*time.Second)
	e.axe(prof, "offline mid-batch")
	e.shot(name("professor", "offline"), prof.ctx)
	time.Sleep(2 * time.Second)
	w.offline(false)
	prof.wait("every row registered", `(() => { const li = [...document.querySelectorAll('#uploads li')];
		return li.length === `+fmt.Sprint(count)+` && li.every((x) => x.dataset.state === 'ready'); })()`, 180*time.Second)
	if got := b2s(prof.eval("states seen", `[...window.__states].sort().join(',')`)); strings.Contains(got, "failed") {
		t.Errorf("a row read failed during the drop (states %s)", got)
	}
	prof.wait("summary", fmt.Sprintf(`document.getElementById('upload-summary').textContent === '%d개 중 %d개 등록, 0개 거부'`, count, count), 5*time.Second)
	if imgs := e.listing(t, sc); len(imgs) != count {
		t.Errorf("after the drop the scenario has %d images, want %d", len(imgs), count)
	}
	// The PUTs carried the checksum of their bytes (S3 refuses others).
	for _, p := range w.seen() {
		found := false
		for _, b := range bodies {
			found = found || p.checksum == catalog.Checksum(b)
		}
		if !found {
			t.Errorf("PUT %s carried x-amz-checksum-sha256 %q, the SHA-256 of none of the photos", p.url[:strings.IndexByte(p.url, '?')], p.checksum)
		}
	}
	// The batch folds to its summary and the new images, above the grid.
	prof.wait("folded, new images shown", `(() => { const rows = [...document.querySelectorAll('#uploads li')];
		const fresh = [...document.querySelectorAll('#upload-new li img')];
		return rows.every((r) => r.hidden) && fresh.length === `+fmt.Sprint(count)+` && fresh.every((i) => i.complete && i.naturalWidth > 0) &&
			!document.getElementById('upload-details').hidden && document.getElementById('upload-total').hidden &&
			document.getElementById('upload-offline').hidden; })()`, 10*time.Second)
	prof.wait("grid shows the batch", `document.querySelectorAll('#images li.tile[data-status=ready]').length === `+fmt.Sprint(count)+` && !document.querySelector('#main > .error:not([hidden])')`, 15*time.Second)
	t.Logf("%s: after the batch the grid starts %s px down", vp.name, b2s(prof.eval("grid position", `String(Math.round(document.getElementById('images').getBoundingClientRect().top + scrollY))`)))
	e.axe(prof, "batch folded")
	e.shot(name("professor", "batch-folded"), prof.ctx)
	prof.do("show the rows", chromedp.Click(chromedp.CSS("#upload-details")))
	prof.wait("rows shown in pick order", fmt.Sprintf(`[...document.querySelectorAll('#uploads li')].map((r) => r.hidden ? '' : r.dataset.file).join('|') === %q`,
		strings.Join(names, "|")), 5*time.Second)
	e.axe(prof, "batch rows shown")

	// 3. "다시 시도" of an upload whose bytes reached S3 while the page lost the answer: the page
	// asks the status route and follows it, with no second upload.
	before := len(w.seen())
	held := w.hold()
	prof.do("pick one more", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), []string{e.file(t, "재시도.jpg", testimage.JPEG(1000, 800))}))
	select {
	case <-held:
	case <-time.After(30 * time.Second):
		t.Fatal("the PUT never reached S3")
	}
	prof.do("cancel it", chromedp.Click(chromedp.CSS(`#uploads li[data-file="재시도.jpg"] button[data-action=cancel]`)))
	prof.wait("cancelled", `document.querySelector('#uploads li[data-file="재시도.jpg"]').dataset.state === 'cancelled'`, 5*time.Second)
	w.drop()
	askedBefore := e.uploadURLs(sc)
	prof.do("retry", chromedp.Click(chromedp.CSS(`#uploads li[data-file="재시도.jpg"] button[data-action=retry]`)))
	prof.wait("the retried upload registered", `document.querySelector('#uploads li[data-file="재시도.jpg"]').dataset.state === 'ready'`, 30*time.Second)
	if got := e.uploadURLs(sc) - askedBefore; got != 0 {
		t.Errorf("the retry asked for %d more upload URLs; the upload had arrived", got)
	}
	if got := len(w.seen()) - before; got != 1 {
		t.Errorf("the retry sent %d PUTs in all, want the one that had arrived", got)
	}
	if imgs := e.listing(t, sc); len(imgs) != count+1 {
		t.Errorf("after the retry the scenario has %d images, want %d", len(imgs), count+1)
	}

	// An expired URL: a fresh one for the same key, and the upload goes on by itself.
	before = len(w.seen())
	asked := e.uploadURLs(sc)
	w.answerNext(answerExpired)
	prof.do("pick a photo whose URL expired", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), []string{e.file(t, "만료.jpg", testimage.JPEG(1000, 780))}))
	prof.wait("registered after a fresh URL", `document.querySelector('#uploads li[data-file="만료.jpg"]').dataset.state === 'ready'`, 30*time.Second)
	if p := w.seen()[before:]; len(p) != 2 || pathOf(p[0].url) != pathOf(p[1].url) {
		t.Errorf("after an expired URL the page sent %d PUTs; want 2 to one key: %v", len(p), p)
	}
	if got := e.uploadURLs(sc) - asked; got != 2 {
		t.Errorf("after an expired URL the page asked for %d upload URLs, want 2 (the first, and a fresh one for its key)", got)
	}
	if imgs := e.listing(t, sc); len(imgs) != count+2 {
		t.Errorf("after the expired URL the scenario has %d images, want %d", len(imgs), count+2)
	}

	// A PUT S3 answered 409 (another operation on the key at that moment) is sent again by
	// itself, to the same URL: CI once saw versitygw's folder race fail a row of the batch.
	before = len(w.seen())
	asked = e.uploadURLs(sc)
	w.answerNext(answerConflict)
	prof.do("pick a photo whose PUT meets a conflict", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), []string{e.file(t, "충돌.jpg", testimage.JPEG(1000, 760))}))
	prof.wait("registered after the conflict", `document.querySelector('#uploads li[data-file="충돌.jpg"]').dataset.state === 'ready'`, 30*time.Second)
	if p := w.seen()[before:]; len(p) != 2 || p[0].url != p[1].url {
		t.Errorf("after a 409 the page sent %d PUTs; want 2 to one URL: %v", len(p), p)
	}
	if got := e.uploadURLs(sc) - asked; got != 1 {
		t.Errorf("after a 409 the page asked for %d upload URLs, want 1", got)
	}
	if imgs := e.listing(t, sc); len(imgs) != count+3 {
		t.Errorf("after the conflict the scenario has %d images, want %d", len(imgs), count+3)
	}

	// 4. The same photo again: asked first, and not sent when the answer is no; two copies of one
	// photo in a batch: the second is asked about.
	// After a reload, so that only the API can know the photo is there.
	prof.do("reload", chromedp.Reload())
	prof.wait("grid back", `document.querySelectorAll('#images li.tile[data-status=ready]').length === `+fmt.Sprint(count+3), 10*time.Second)
	prof.do("pick photo 1 again", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), []string{batch[0]}))
	prof.wait("duplicate question", `document.querySelector('#duplicate').open && document.querySelector('#duplicate-title').textContent === '이미 올린 사진과 같습니다'`, 15*time.Second)
	e.axe(prof, "duplicate question")
	e.shot(name("professor", "duplicate"), prof.ctx)
	prof.do("do not send it", chromedp.Click(chromedp.CSS("#duplicate-skip")))
	prof.wait("left out", `[...document.querySelectorAll('#uploads li[data-file="병동 사진 1.jpg"]')].some((r) => r.dataset.state === 'skipped')`, 5*time.Second)
	twin := testimage.JPEG(900, 700)
	prof.do("pick two copies of one photo", chromedp.SetUploadFiles(chromedp.CSS("#file-input"),
		[]string{e.file(t, "쌍둥이 A.jpg", twin), e.file(t, "쌍둥이 B.jpg", twin)}))
	prof.wait("asked about the copy", `document.querySelector('#duplicate').open && document.querySelector('#duplicate-text').textContent.includes('쌍둥이')`, 15*time.Second)
	prof.do("do not send the copy", chromedp.Click(chromedp.CSS("#duplicate-skip")))
	prof.wait("one of the two registered", `(() => { const s = ['쌍둥이 A.jpg', '쌍둥이 B.jpg'].map((f) => document.querySelector('#uploads li[data-file="' + f + '"]').dataset.state).sort().join();
		return s === 'ready,skipped'; })()`, 30*time.Second)
	if imgs := e.listing(t, sc); len(imgs) != count+4 {
		t.Errorf("after the duplicate questions the scenario has %d images, want %d", len(imgs), count+4)
	}

	// 5. A pasted screenshot is named in the browser's own time (Seoul here), not UTC.
	prof.eval("paste an image", fmt.Sprintf(`(() => { const dt = new DataTransfer();
		dt.items.add(new File([Uint8Array.from(atob(%q), c => c.charCodeAt(0))], 'image.png', {type: 'image/png'}));
		document.body.dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true})); return true; })()`,
		base64.StdEncoding.EncodeToString(testPNG(t))))
	prof.wait("pasted row", `[...document.querySelectorAll('#uploads li[data-file]')].some((li) => li.dataset.file.startsWith('붙여넣은 이미지 '))`, 5*time.Second)
	pasted := b2s(prof.eval("pasted name", `[...document.querySelectorAll('#uploads li[data-file]')].find((li) => li.dataset.file.startsWith('붙여넣은 이미지 ')).dataset.file`))
	seoul, _ := time.LoadLocation("Asia/Seoul")
	m := regexp.MustCompile(`^붙여넣은 이미지 (\d{4}-\d\d-\d\d \d\d-\d\d-\d\d)\.png$`).FindStringSubmatch(pasted)
	if m == nil {
		t.Errorf("pasted image named %q", pasted)
	} else if at, err := time.ParseInLocation("2006-01-02 15-04-05", m[1], seoul); err != nil || time.Since(at).Abs() > 10*time.Minute {
		t.Errorf("pasted image named %q: not the Seoul time now (%s)", pasted, time.Now().In(seoul).Format("2006-01-02 15:04:05"))
	}
	prof.wait("pasted image registered", `[...document.querySelectorAll('#uploads li[data-file]')].some((li) => li.dataset.file.startsWith('붙여넣은 이미지 ') && li.dataset.state === 'ready')`, 30*time.Second)

	// 6. A student from the platform: the scenario opens, no token stays; the home lists the
	// recent scenario only (the list of every scenario is for staff).
	stud, closeStud := e.seoulTab(t, "student", vp)
	defer closeStud()
	stud.do("follow the platform's link", chromedp.Navigate(e.st.APIURL+"/#access_token="+studTok+"&scenario="+sc))
	stud.wait("the student view", `location.pathname === '/scenarios/`+sc+`' && document.querySelectorAll('#viewer-body img').length === `+fmt.Sprint(count+5)+` &&
		[...document.querySelectorAll('#viewer-body img')].every((i) => i.complete && i.naturalWidth > 0)`, 15*time.Second)
	noTokenInHistory(t, stud, studTok)
	e.axe(stud, "student handoff")
	e.shot(name("student", "handoff"), stud.ctx)
	stud.do("home", chromedp.Navigate(e.st.APIURL+"/"))
	stud.wait("recent scenario with its cover, no staff list", fmt.Sprintf(`(() => { const img = document.querySelector('#recent li[data-scenario=%q] img');
		return img && img.complete && img.naturalWidth > 0 && !document.getElementById('scenario-list') && !document.body.textContent.includes('null'); })()`, sc), 10*time.Second)
	e.axe(stud, "student home")
	e.shot(name("student", "home"), stud.ctx)
	stud.do("an empty scenario", chromedp.Navigate(e.st.APIURL+"/scenarios/"+sc+"-none"))
	stud.wait("says it plainly", `(document.querySelector('#viewer-body .empty') || {}).textContent.includes('이 시나리오에는 아직 이미지가 없습니다')`, 10*time.Second)
	e.axe(stud, "student empty scenario")

	// A refused token in the link: the sign-in page says so, and the token is gone too.
	bad, closeBad := e.seoulTab(t, "stranger", vp)
	defer closeBad()
	badTok := profTok[:len(profTok)-4] + "AAAA"
	bad.do("a link with a bad token", chromedp.Navigate(e.st.APIURL+"/#access_token="+badTok+"&scenario="+sc))
	bad.wait("sign-in with the reason", `!!document.querySelector('#token-input') && document.querySelector('#main .notice').textContent.includes('CPX 플랫폼')`, 10*time.Second)
	noTokenInHistory(t, bad, badTok)
	e.axe(bad, "refused handoff")
	e.shot(name("stranger", "refused-handoff"), bad.ctx)
	// 7. The scenario home: this scenario first among the recent ones, every scenario with
	// images with its cover, count and last change, a search box, and what an ID is.
	prof.do("home", chromedp.Navigate(e.st.APIURL+"/"))
	prof.wait("scenario list with covers", fmt.Sprintf(`(() => { const li = document.querySelector('#scenario-list li[data-scenario=%q]');
		const img = li && li.querySelector('img');
		return img && img.complete && img.naturalWidth > 0 && li.textContent.includes('이미지 `+fmt.Sprint(count+5)+`개') && li.textContent.includes('마지막 변경') &&
			document.querySelector('#recent li').dataset.scenario === %q; })()`, sc, sc), 15*time.Second)
	if got := b2s(prof.eval("id help", `document.getElementById('scenario-help').textContent`)); !strings.Contains(got, "시나리오 이름이 아닙니다") {
		t.Errorf("the ID box does not say what an ID is: %q", got)
	}
	e.axe(prof, "scenario home")
	e.shot(name("professor", "home"), prof.ctx)
	prof.do("search", chromedp.SendKeys(chromedp.CSS("#scenario-search"), "zz-none"))
	prof.wait("nothing found", `document.querySelectorAll('#scenario-list li[data-scenario]').length === 0 && document.querySelector('#scenario-list .empty') && document.getElementById('recent').closest('section').hidden`, 5*time.Second)
	prof.eval("clear the search", `(() => { const s = document.getElementById('scenario-search'); s.value = ''; s.dispatchEvent(new Event('input')); return true; })()`)
	prof.do("search this one", chromedp.SendKeys(chromedp.CSS("#scenario-search"), vp.name[:4]))
	prof.wait("found", fmt.Sprintf(`[...document.querySelectorAll('#scenario-list li[data-scenario]')].map((l) => l.dataset.scenario).join() === %q`, sc), 5*time.Second)
	prof.do("a name instead of an ID", chromedp.SendKeys(chromedp.CSS("#scenario-input"), "복통 시나리오 1"), chromedp.Click(chromedp.CSS("#open-form button[type=submit]")))
	prof.wait("told what an ID is", `[...document.querySelectorAll('#main .error')].some((p) => !p.hidden && p.textContent.includes('시나리오 이름이 아니라'))`, 5*time.Second)
	e.axe(prof, "home with a search and an error")
	e.shot(name("professor", "home-search"), prof.ctx)

}

// testPNGVariant is testPNG with a mark in its top row: other bytes, so that the page does not
// ask whether it is the same photo again (flows that upload "another" diagram).
func testPNGVariant(t *testing.T, n int) []byte {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(testPNG(t)))
	if err != nil {
		t.Fatal(err)
	}
	m := image.NewRGBA(img.Bounds())
	draw.Draw(m, m.Bounds(), img, image.Point{}, draw.Src)
	for x := range n {
		m.Set(1+2*x, 1, color.RGBA{200, 30, 30, 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
