package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"medicpx/api"
	"medicpx/infra/stack"
	"medicpx/infra/stack/stacktest"
	"medicpx/infra/testenv/apiclient"
	"medicpx/infra/testenv/logbuf"
	"medicpx/infra/testenv/testimage"
	"medicpx/infra/testenv/versity"
)

const chromiumPath = "/usr/bin/chromium"

// tab is one browser tab. Tabs in one browser context share localStorage, so one sign-in.
type tab struct {
	t    *testing.T
	name string
	ctx  context.Context
	shot func(name string, ctx context.Context)
}

func (b tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail(what, err)
	}
}

// wait polls a JavaScript condition until it is true. It polls from Go, not with chromedp.Poll,
// because the pages navigate (sign-in, 401) and a navigation ends an in-page poll with an error.
func (b tab) wait(what, cond string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+cond+")"))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	if last == nil {
		last = fmt.Errorf("not true after %s", timeout)
	}
	b.fail(what, last)
}

func (b tab) eval(what, expr string) []byte {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.fail(what, err)
	}
	return raw
}

func (b tab) fail(what string, err error) {
	b.t.Helper()
	b.shot("failed-"+strings.ReplaceAll(b.name, " ", "-"), b.ctx)
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
	b.t.Fatalf("%s (%s tab): %v\npage:\n%s", what, b.name, err, text)
}

// viewport is a screen the flows run on.
type viewport struct {
	name          string
	width, height int64
	phone         bool
}

var viewports = []viewport{
	{name: "desktop", width: 1366, height: 768},
	{name: "phone", width: 390, height: 844, phone: true},
}

// browserEnv is the running stack and browser the flows share.
type browserEnv struct {
	t       *testing.T
	st      *stack.Stack
	browser context.Context
	shots   string
	axeJS   string
	dir     string
	mu      sync.Mutex
	problem []string
	taken   []string // screenshot files written
	logs    *logbuf.Buffer
}

// deletes counts the DELETE requests the API has logged so far.
func (e *browserEnv) deletes() int { return strings.Count(e.logs.String(), `"method":"DELETE"`) }

// TestBrowser drives Debian's Chromium through the whole local stack (versitygw, the real
// processor, the API built with -tags devlogin), on a desktop and on a phone screen, as a
// professor and as a student, and runs axe-core (WCAG 2.1 A and AA) on every page and dialog.
func TestBrowser(t *testing.T) {
	start := time.Now()
	e := startBrowserEnv(t, "")
	t.Logf("built and started the stack and Chromium in %s", time.Since(start).Round(time.Millisecond))
	if resp, err := http.Get(e.st.APIURL + "/"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / on the API: %v %v: web.Mount is not wired into api/cmd/medicpx-api", err, resp)
	}
	for _, vp := range viewports {
		ok := t.Run(vp.name, func(t *testing.T) { e.flows(t, vp, vp.name) })
		if !ok {
			break
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range e.problem {
		t.Errorf("page problem: %s", p)
	}
	t.Logf("%d screenshots in %s; whole test %s", len(e.taken), e.shots, time.Since(start).Round(time.Millisecond))
}

func (e *browserEnv) shot(name string, ctx context.Context) {
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// A modal dialog's backdrop covers the viewport only: shoot what the person sees.
	capture := chromedp.FullScreenshot(100)
	if open, _ := chromedp.Run(c, chromedp.Evaluate[bool](`!!document.querySelector('dialog[open]')`)); open {
		capture = chromedp.CaptureScreenshot()
	}
	buf, err := chromedp.Run(c, capture)
	if err == nil {
		err = os.WriteFile(filepath.Join(e.shots, name+".png"), buf, 0o644)
	}
	if err != nil {
		e.t.Logf("screenshot %s: %v", name, err)
		return
	}
	e.mu.Lock()
	e.taken = append(e.taken, name+".png")
	e.mu.Unlock()
}

// newTab opens a tab; with fresh true it gets its own browser context (its own localStorage: a
// different person), otherwise it shares parent's (another tab of the same person).
func (e *browserEnv) newTab(t *testing.T, name string, parent context.Context, fresh bool, vp viewport) (tab, context.CancelFunc) {
	var opts []chromedp.ContextOption
	if fresh {
		opts = append(opts, chromedp.WithNewBrowserContext())
	}
	ctx, cancel := chromedp.NewContext(parent, opts...)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("open tab %s: %v", name, err)
	}
	emulate := chromedp.EmulateViewport(vp.width, vp.height)
	if vp.phone {
		emulate = chromedp.EmulateViewport(vp.width, vp.height, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	if err := chromedp.Do(ctx, emulate); err != nil {
		t.Fatalf("viewport %s: %v", vp.name, err)
	}
	// Page errors and CSP violations fail the test: the page would look fine in a screenshot and
	// still be broken for someone.
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	entries := chromedp.Events(ctx, cdplog.EntryAdded)
	full := vp.name + " " + name
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			e.mu.Lock()
			e.problem = append(e.problem, full+": exception: "+msg)
			e.mu.Unlock()
		}
	}()
	go func() {
		for ev, err := range entries {
			if err != nil {
				return
			}
			if strings.Contains(ev.Entry.Text, "Content Security Policy") {
				e.mu.Lock()
				e.problem = append(e.problem, full+": "+ev.Entry.Text)
				e.mu.Unlock()
			}
		}
	}()
	return tab{t: t, name: full, ctx: ctx, shot: e.shot}, cancel
}

// axe runs axe-core on the page as it is now (dialogs included) and fails on any WCAG 2.1 A or
// AA violation. label-content-name-mismatch (WCAG 2.5.3) is experimental in axe: enabled here.
func (e *browserEnv) axe(b tab, what string) {
	b.t.Helper()
	b.eval("load axe-core", `window.axe ? true : (0, eval)(`+mustJSON(e.axeJS)+`) || true`)
	raw := b.eval("run axe-core on "+what, `axe.run(document, {
		runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
		rules: {'label-content-name-mismatch': {enabled: true}},
	}).then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
		nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary)})))`)
	var violations []struct {
		ID, Impact, Help string
		Nodes            []string
	}
	if err := json.Unmarshal(raw, &violations); err != nil {
		b.t.Fatalf("axe result: %v: %s", err, raw)
	}
	for _, v := range violations {
		b.t.Errorf("axe (%s, %s): %s [%s] %s\n  %s", b.name, what, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n  "))
	}
}

// s3Gate holds the browser's uploads to S3 (PUTs to presigned URLs) until released: an upload
// that is "on its way" for as long as a test needs.
type s3Gate struct {
	b      tab
	mu     sync.Mutex
	held   []fetch.RequestID
	cancel context.CancelFunc
}

func (e *browserEnv) holdUploads(b tab) *s3Gate {
	g := &s3Gate{b: b}
	ctx, cancel := context.WithCancel(b.ctx)
	g.cancel = cancel
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(b.ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: e.st.S3URL + "/*"}}}); err != nil {
		b.t.Fatalf("hold uploads: %v", err)
	}
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			if ev.Request.Method == http.MethodPut {
				g.mu.Lock()
				g.held = append(g.held, ev.RequestID)
				g.mu.Unlock()
				continue
			}
			_, _ = chromedp.Call(b.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
		}
	}()
	return g
}

func (g *s3Gate) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.held)
}

// release lets every held upload continue (or, with drop, ends it as a cancelled upload's
// connection ends) and stops holding new ones.
func (g *s3Gate) release(drop bool) {
	g.cancel()
	g.mu.Lock()
	held := g.held
	g.held = nil
	g.mu.Unlock()
	for _, id := range held {
		if drop {
			_, _ = chromedp.Call(g.b.ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: id, ErrorReason: network.ErrorReasonAborted})
			continue
		}
		_, _ = chromedp.Call(g.b.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: id})
	}
	if _, err := chromedp.Call(g.b.ctx, fetch.Disable, cdp.Empty{}); err != nil {
		g.b.t.Fatalf("stop holding uploads: %v", err)
	}
}

// failOnce makes the first S3 request whose URL contains part fail, as an expired link does
// (403 "Request has expired"); the browser's cache is off meanwhile, so the request does go out.
// fired tells whether it happened; stop ends the interception.
func (e *browserEnv) failOnce(b tab, part string) (fired func() bool, stop func()) {
	if _, err := chromedp.Call(b.ctx, network.Enable, network.EnableParams{}); err != nil {
		b.t.Fatalf("network: %v", err)
	}
	if _, err := chromedp.Call(b.ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		b.t.Fatalf("cache off: %v", err)
	}
	var failed atomic.Bool
	end := intercept(b, e.st.S3URL+"/*", func(ev *fetch.EventRequestPaused) *fetch.FulfillRequestParams {
		if !strings.Contains(ev.Request.URL, part) || !failed.CompareAndSwap(false, true) {
			return nil
		}
		return &fetch.FulfillRequestParams{ResponseCode: 403,
			Body: []byte("<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")}
	})
	return failed.Load, func() {
		end()
		_, _ = chromedp.Call(b.ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: false})
	}
}

// intercept pauses the tab's requests whose URL matches pattern and answers each with what answer
// returns for it (its RequestID is filled in), or lets it go on when that is nil. stop ends it.
func intercept(b tab, pattern string, answer func(*fetch.EventRequestPaused) *fetch.FulfillRequestParams) (stop func()) {
	ctx, cancel := context.WithCancel(b.ctx)
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(b.ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: pattern}}}); err != nil {
		b.t.Fatalf("intercept: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev, err := range paused {
			if err != nil {
				return
			}
			if a := answer(&ev); a != nil {
				a.RequestID = ev.RequestID
				_, _ = chromedp.Call(b.ctx, fetch.FulfillRequest, *a)
				continue
			}
			_, _ = chromedp.Call(b.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
		}
	}()
	return func() {
		cancel()
		<-done
		_, _ = chromedp.Call(b.ctx, fetch.Disable, cdp.Empty{})
	}
}

// directAPI is the API called directly, as another professor's browser would.
func (e *browserEnv) directAPI(t *testing.T) *apiclient.Client {
	t.Helper()
	tok, err := e.st.Token("professor")
	if err != nil {
		t.Fatal(err)
	}
	return apiclient.New(e.st.APIURL, tok)
}

// statusOf is the HTTP status of a professor's look at one upload's status route.
func (e *browserEnv) statusOf(t *testing.T, key string) int {
	t.Helper()
	_, err := e.directAPI(t).Status(t.Context(), key)
	if apiclient.StatusOf(err) == 0 {
		t.Fatal(err)
	}
	return apiclient.StatusOf(err)
}

func (e *browserEnv) file(t *testing.T, name string, body []byte) string {
	t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, body, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// card selects a professor's card by key; cardAt by position.
func card(key, inner string) string {
	return fmt.Sprintf(`#images li.tile[data-key=%q] %s`, key, inner)
}

// flows runs every flow of the issue on one viewport, in scenario sc.
func (e *browserEnv) flows(t *testing.T, vp viewport, sc string) {
	n := 0
	name := func(role, what string) string { n++; return fmt.Sprintf("%s-%s-%02d-%s", vp.name, role, n, what) }
	prof, closeProf := e.newTab(t, "professor", e.browser, true, vp)
	defer closeProf()
	stud, closeStud := e.newTab(t, "student", e.browser, true, vp)
	defer closeStud()
	page := e.st.APIURL + "/scenarios/" + sc

	// 1. Sign-in, picker, empty scenario.
	prof.do("open sign-in", chromedp.Navigate(e.st.APIURL+"/"))
	prof.wait("dev sign-in buttons", `!!document.querySelector('#dev-professor')`, 5*time.Second)
	e.axe(prof, "sign-in")
	e.shot(name("professor", "sign-in"), prof.ctx)
	prof.do("sign in as professor", chromedp.Click(chromedp.CSS("#dev-professor")))
	prof.wait("scenario picker", `!!document.querySelector('#scenario-input')`, 5*time.Second)
	e.axe(prof, "picker")
	e.shot(name("professor", "picker"), prof.ctx)
	prof.do("open the scenario",
		chromedp.SendKeys(chromedp.CSS("#scenario-input"), sc),
		chromedp.Click(chromedp.CSS("form button[type=submit]")))
	prof.wait("professor view", `location.pathname === '/scenarios/`+sc+`' && !!document.querySelector('#images .empty')`, 10*time.Second)
	if got := b2s(prof.eval("camera button", `(() => { const c = document.querySelector('#camera-pick');
		return c ? (c.getBoundingClientRect().width > 0 && document.querySelector('#camera-input').getAttribute('capture')) : 'none'; })()`)); vp.phone != (got == "environment") {
		t.Errorf("camera button on %s: %s", vp.name, got)
	}
	e.axe(prof, "empty scenario")
	e.shot(name("professor", "empty"), prof.ctx)
	// Grammar: the particle follows the last syllable (이미지 2를, 이미지 1을).
	if got := b2s(prof.eval("josa", `import(new URL('dom.js', document.querySelector('script[type=module]').src)).then(m =>
		['이미지 1', '이미지 2', '이미지 10', '사진', '사과', 'x.png'].map(w => m.josa(w, '을', '를')).join(','))`)); got != "이미지 1을,이미지 2를,이미지 10을,사진을,사과를,x.png를" {
		t.Errorf("josa: %s", got)
	}

	// 2. A batch: a text file refused in the browser, two photos, an animated GIF, a fake JPEG.
	prof.eval("record announcements", `window.__said = []; new MutationObserver(() => { const t = document.getElementById('status').textContent;
		if (t) window.__said.push(t); }).observe(document.getElementById('status'), {childList: true, characterData: true, subtree: true}); true`)
	batch := []string{
		e.file(t, "notes.txt", []byte("not an image")),
		e.file(t, "환자 얼굴.jpg", testimage.JPEG(1600, 1200)),
		e.file(t, "상처 차트.png", testPNG(t)),
		e.file(t, "맥박.gif", testGIF(t)),
		e.file(t, "fake.jpg", []byte("this is text pretending to be a photo\n")),
	}
	if vp.phone {
		prof.do("pick the batch", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), batch))
	} else {
		// Desktop: drag the files in (the drop zone gets a real DataTransfer).
		var files []map[string]string
		for _, p := range batch {
			b, _ := os.ReadFile(p)
			typ := map[string]string{".txt": "text/plain", ".jpg": "image/jpeg", ".png": "image/png", ".gif": "image/gif"}[filepath.Ext(p)]
			files = append(files, map[string]string{"name": filepath.Base(p), "type": typ, "b64": base64.StdEncoding.EncodeToString(b)})
		}
		prof.eval("drop the batch", fmt.Sprintf(`(() => {
			const dt = new DataTransfer();
			for (const f of %s) dt.items.add(new File([Uint8Array.from(atob(f.b64), c => c.charCodeAt(0))], f.name, {type: f.type}));
			const zone = document.getElementById('drop-zone');
			for (const type of ['dragenter', 'dragover', 'drop']) zone.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: dt}));
			return dt.files.length; })()`, mustJSON(files)))
	}
	prof.wait("the batch is decided", `(() => {
		const s = (f) => (document.querySelector('#uploads li[data-file="' + f + '"]') || {dataset: {}}).dataset.state;
		return s('notes.txt') === 'invalid' && s('환자 얼굴.jpg') === 'ready' && s('상처 차트.png') === 'ready' && s('맥박.gif') === 'ready' && s('fake.jpg') === 'rejected';
	})()`, 40*time.Second)
	prof.wait("batch summary", `document.querySelector('#upload-summary').textContent === '5개 중 3개 등록, 2개 거부'`, 5*time.Second)
	prof.wait("said once", `window.__said.filter(t => t.includes('5개 중 3개 등록, 2개 거부')).length === 1`, 5*time.Second)
	prof.wait("reasons in Korean", `document.querySelector('#uploads li[data-file="fake.jpg"] .state').textContent.includes('형식') &&
		document.querySelector('#uploads li[data-file="notes.txt"] .state').textContent.includes('지원하지 않는 파일 형식')`, 2*time.Second)
	prof.wait("three cards with their names and numbers", `(() => {
		const t = [...document.querySelectorAll('#images li.tile')];
		const names = t.map(li => li.querySelector('.name').textContent).sort().join('|');
		return t.length === 3 && names === ['맥박.gif', '상처 차트.png', '환자 얼굴.jpg'].sort().join('|') &&
			t.map(li => li.dataset.number).join() === '1,2,3' && t.every(li => li.querySelector('img') && li.querySelector('img').complete && li.querySelector('img').naturalWidth > 0);
	})()`, 15*time.Second)
	e.axe(prof, "after a batch")
	e.shot(name("professor", "batch-done"), prof.ctx)

	// 3. Paste a screenshot.
	png := base64.StdEncoding.EncodeToString(testPNGVariant(t, 1))
	prof.eval("paste an image", fmt.Sprintf(`(() => { const dt = new DataTransfer();
		dt.items.add(new File([Uint8Array.from(atob(%q), c => c.charCodeAt(0))], 'image.png', {type: 'image/png'}));
		document.body.dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true})); return true; })()`, png))
	prof.wait("pasted image registered under a readable name", `[...document.querySelectorAll('#uploads li[data-file]')].some(li =>
		li.dataset.file.startsWith('붙여넣은 이미지 ') && li.dataset.file.endsWith('.png') && li.dataset.state === 'ready') &&
		document.querySelectorAll('#images li.tile[data-status=ready]').length === 4`, 20*time.Second)

	// 4. Cancel an upload on its way, with the leave warning on; then retry it.
	gate := e.holdUploads(prof)
	prof.do("pick a photo", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), []string{e.file(t, "느린 사진.jpg", testimage.JPEG(1600, 1199))}))
	prof.wait("uploading", `(document.querySelector('#uploads li[data-file="느린 사진.jpg"]') || {dataset: {}}).dataset.state === 'uploading'`, 10*time.Second)
	for gate.count() == 0 {
		time.Sleep(50 * time.Millisecond)
	}
	const leaving = `(() => { const e = new Event('beforeunload', {cancelable: true}); window.dispatchEvent(e); return e.defaultPrevented; })()`
	if string(prof.eval("leave warning while uploading", leaving)) != "true" {
		t.Error("no warning before leaving while an upload runs")
	}
	e.shot(name("professor", "uploading"), prof.ctx)
	prof.do("cancel it", chromedp.Click(chromedp.CSS(`#uploads li[data-file="느린 사진.jpg"] button[data-action=cancel]`)))
	prof.wait("cancelled, focus on retry", `document.querySelector('#uploads li[data-file="느린 사진.jpg"]').dataset.state === 'cancelled' &&
		document.activeElement.dataset.action === 'retry'`, 5*time.Second)
	gate.release(true) // the aborted request never reaches S3
	if string(prof.eval("no leave warning when idle", leaving)) != "false" {
		t.Error("a warning before leaving with nothing running")
	}
	prof.do("retry", chromedp.Click(chromedp.CSS(`#uploads li[data-file="느린 사진.jpg"] button[data-action=retry]`)))
	prof.wait("retried upload ready", `document.querySelector('#uploads li[data-file="느린 사진.jpg"]').dataset.state === 'ready' &&
		document.querySelectorAll('#images li.tile[data-status=ready]').length === 5`, 20*time.Second)
	prof.wait("summary", `document.querySelector('#upload-summary').textContent === '7개 중 5개 등록, 2개 거부'`, 5*time.Second)
	e.shot(name("professor", "retried"), prof.ctx)

	// 5. After a reload, the rejection is still listed (from the API); "clear finished" clears it for good.
	prof.do("reload", chromedp.Reload())
	prof.wait("rejection listed after reload", `(() => { const li = document.querySelector('#uploads li[data-origin=server][data-file="fake.jpg"]');
		return li && li.dataset.state === 'rejected' && li.textContent.includes('형식'); })()`, 10*time.Second)
	e.shot(name("professor", "rejections-after-reload"), prof.ctx)
	prof.do("clear finished", chromedp.Click(chromedp.CSS("#clear-finished")))
	prof.wait("cleared", `document.querySelectorAll('#uploads li').length === 0`, 5*time.Second)
	prof.do("reload", chromedp.Reload())
	prof.wait("grid back", `document.querySelectorAll('#images li.tile').length === 5`, 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	if got := string(prof.eval("rows after clear and reload", `document.querySelectorAll('#uploads li').length`)); got != "0" {
		t.Errorf("cleared rejections came back after a reload: %s rows", got)
	}

	var keys []string
	readKeys := func() []string {
		prof.wait("grid settled", `document.querySelector('#images').getAttribute('aria-busy') === 'false'`, 10*time.Second)
		var k []string
		if err := json.Unmarshal(prof.eval("keys", `[...document.querySelectorAll('#images li.tile')].map(li => li.dataset.key)`), &k); err != nil {
			t.Fatal(err)
		}
		return k
	}
	keys = readKeys()

	// 6. A caption, edited in place; focus stays in the field after saving.
	prof.do("type a caption", chromedp.Click(chromedp.CSS(card(keys[0], "textarea"))), chromedp.SendKeys(chromedp.CSS(card(keys[0], "textarea")), "오른쪽 뺨의 발진, 3일 전부터"))
	prof.do("save it", chromedp.Click(chromedp.CSS(card(keys[0], "[data-control=save-caption]"))))
	prof.wait("saved", fmt.Sprintf(`document.querySelector(%q).disabled`, card(keys[0], "[data-control=save-caption]")), 5*time.Second)
	prof.do("reload", chromedp.Reload())
	prof.wait("caption kept", fmt.Sprintf(`(document.querySelector(%q) || {}).value === '오른쪽 뺨의 발진, 3일 전부터'`, card(keys[0], "textarea")), 10*time.Second)

	// 7. Reorder: the move-down button (focus follows the card), then drag and drop (desktop).
	prof.do("move the first down", chromedp.Click(chromedp.CSS(card(keys[0], "[data-control=down]"))))
	prof.wait("moved, focus kept", fmt.Sprintf(`(() => { const k = [...document.querySelectorAll('#images li.tile')].map(li => li.dataset.key);
		const a = document.activeElement; return k[0] === %q && k[1] === %q && a.dataset.control === 'down' && a.closest('li').dataset.key === %q; })()`,
		keys[1], keys[0], keys[0]), 10*time.Second)
	keys = readKeys()
	if !vp.phone {
		last := keys[len(keys)-1]
		prof.eval("drag the last card before the first", fmt.Sprintf(`(() => {
			const from = document.querySelector('#images li.tile[data-key="%s"]'), to = document.querySelector('#images li.tile');
			const dt = new DataTransfer(); const r = to.getBoundingClientRect();
			from.dispatchEvent(new DragEvent('dragstart', {bubbles: true, dataTransfer: dt}));
			for (const type of ['dragover', 'drop']) to.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: dt, clientX: r.left + 5, clientY: r.top + 5}));
			from.dispatchEvent(new DragEvent('dragend', {bubbles: true, dataTransfer: dt})); return true; })()`, last))
		prof.wait("dropped first", fmt.Sprintf(`document.querySelector('#images li.tile').dataset.key === %q`, last), 10*time.Second)
		keys = readKeys()
	}
	e.shot(name("professor", "reordered"), prof.ctx)

	// 8. Pin the second: focus stays on its pin button.
	prof.do("pin the second", chromedp.Click(chromedp.CSS(card(keys[1], "button.pin"))))
	prof.wait("pinned, focus kept", fmt.Sprintf(`(() => { const a = document.activeElement;
		return document.querySelector('#images li.tile[data-rep=true]').dataset.key === %q && a.dataset.control === 'pin' && a.closest('li').dataset.key === %q; })()`,
		keys[1], keys[1]), 10*time.Second)
	e.axe(prof, "cards")
	e.shot(name("professor", "pinned"), prof.ctx)

	// 9. Redraws (an upload turning ready redraws the grid twice) leave the focus where it was.
	prof.eval("count redraws", `window.__redraws = 0; new MutationObserver(() => window.__redraws++).observe(document.getElementById('images'), {childList: true}); true`)
	prof.do("focus a delete button", chromedp.Focus(chromedp.CSS(card(keys[2], "button.delete"))))
	prof.do("upload meanwhile", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), []string{e.file(t, "추가.png", testPNGVariant(t, 2))}))
	prof.wait("redrawn, focus kept", fmt.Sprintf(`window.__redraws >= 2 && document.querySelectorAll('#images li.tile[data-status=ready]').length === 6 &&
		document.activeElement.dataset.control === 'delete' && document.activeElement.closest('li').dataset.key === %q`, keys[2]), 20*time.Second)
	keys = readKeys()

	// The pages follow the listing's next_cursor: read page by page (one image each), the
	// professor's listing is the same as in one go, in the professors' order.
	var both [2][]string
	if err := json.Unmarshal(prof.eval("list page by page", fmt.Sprintf(`import(document.querySelector('script[type=module]').src.replace(/[^/]*$/, 'api.js'))
		.then(async (m) => [(await m.listImages(%q, 1)).images.map((i) => i.s3_key), (await m.listImages(%q)).images.map((i) => i.s3_key)])`, sc, sc)), &both); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(both[0], both[1]) || !slices.Equal(both[1], keys) {
		t.Errorf("listing page by page gave %v, in one go %v, on the page %v", both[0], both[1], keys)
	}

	// 10. The large view: arrows, swipe, GIF plays (the original), back to the opener.
	prof.do("open the first large", chromedp.Click(chromedp.CSS(card(keys[0], "button.pic"))))
	prof.wait("large view", `document.querySelector('#large').open && document.querySelector('#large img').naturalWidth > 0 && !document.querySelector('#large img').hidden &&
		document.querySelector('#large-counter').textContent === '1 / 6'`, 10*time.Second)
	prof.do("next with the arrow key", chromedp.KeyEvent(kb.ArrowRight))
	prof.wait("second", `document.querySelector('#large-counter').textContent === '2 / 6'`, 5*time.Second)
	if vp.phone {
		prof.eval("swipe left", `(() => { const s = document.querySelector('#large .stage'), r = s.getBoundingClientRect(), y = r.top + r.height / 2;
			s.dispatchEvent(new PointerEvent('pointerdown', {bubbles: true, clientX: r.right - 30, clientY: y, pointerType: 'touch'}));
			s.dispatchEvent(new PointerEvent('pointerup', {bubbles: true, clientX: r.left + 30, clientY: y + 5, pointerType: 'touch'})); return true; })()`)
		prof.wait("swiped to the third", `document.querySelector('#large-counter').textContent === '3 / 6'`, 5*time.Second)
	}
	for i := 0; i < 6; i++ {
		if string(prof.eval("title", `document.querySelector('#large-title').textContent.endsWith('맥박.gif')`)) == "true" {
			break
		}
		prof.do("next", chromedp.Click(chromedp.CSS("#large-next")))
	}
	prof.wait("the GIF plays: the original, not the first-frame thumbnail", `(() => { const i = document.querySelector('#large img');
		return i.src.includes('.gif') && !i.src.includes('thumbnails') && i.complete && i.naturalWidth > 0 && !i.hidden; })()`, 10*time.Second)
	e.axe(prof, "large view")
	e.shot(name("professor", "large-gif"), prof.ctx)
	prof.do("close", chromedp.KeyEvent(kb.Escape))
	prof.wait("closed, focus back on a card", `!document.querySelector('#large').open && document.activeElement.dataset.control === 'view'`, 5*time.Second)

	// 11. An error appears next to the action that caused it: pin an image someone just deleted.
	if _, err := e.directAPI(t).Delete(t.Context(), keys[3], false); err != nil {
		t.Fatal(err)
	}
	prof.do("pin the deleted one", chromedp.Click(chromedp.CSS(card(keys[3], "button.pin"))))
	prof.wait("error in that card, announced", fmt.Sprintf(`(() => { const p = document.querySelector(%q);
		return p && !p.hidden && p.getAttribute('role') === 'alert' && p.textContent.includes('찾을 수 없습니다'); })()`, card(keys[3], ".card-error")), 5*time.Second)
	e.shot(name("professor", "error-next-to-action"), prof.ctx)
	if _, err := e.directAPI(t).Restore(t.Context(), keys[3]); err != nil {
		t.Fatal(err)
	}
	prof.do("reload", chromedp.Reload())
	prof.wait("grid", `document.querySelectorAll('#images li.tile[data-status=ready]').length === 6`, 10*time.Second)
	keys = readKeys()

	// 12. Delete the representative: the confirmation says so; undo brings it back in place.
	repKey := b2s(prof.eval("rep", `document.querySelector('#images li.tile[data-rep=true]').dataset.key`))
	repIndex := slices.Index(keys, repKey)
	prof.do("ask to delete the representative", chromedp.Click(chromedp.CSS(card(repKey, "button.delete"))))
	prof.wait("confirmation", `document.querySelector('#confirm-delete').open && !document.querySelector('#confirm-rep').hidden &&
		document.querySelector('#confirm-rep').textContent.includes('대표 이미지')`, 5*time.Second)
	if got := b2s(prof.eval("josa in the question", `document.querySelector('#confirm-text').textContent`)); !strings.Contains(got, fmt.Sprintf("이미지 %d%s", repIndex+1, map[bool]string{true: "을", false: "를"}[hasBatchimDigit(repIndex+1)])) {
		t.Errorf("confirmation text %s", got)
	}
	e.axe(prof, "delete confirmation")
	e.shot(name("professor", "confirm-delete-representative"), prof.ctx)
	prof.do("cancel", chromedp.Click(chromedp.CSS("#confirm-cancel")))
	prof.wait("nothing deleted", `!document.querySelector('#confirm-delete').open && document.querySelectorAll('#images li.tile').length === 6`, 5*time.Second)
	deletesBefore := e.deletes()
	prof.do("delete, with the keyboard", chromedp.Focus(chromedp.CSS(card(repKey, "button.delete"))), chromedp.KeyEvent(kb.Enter))
	prof.wait("confirmation", `document.querySelector('#confirm-delete').open`, 5*time.Second)
	// Cancel and ask again at once: the cancelled question's close event arrives while the new
	// question is open, and must not count as a yes when the new one is confirmed.
	prof.eval("cancel and ask again in one go", fmt.Sprintf(`(() => { document.querySelector('#confirm-cancel').click();
		document.querySelector(%q).click(); return document.querySelector('#confirm-delete').open; })()`, card(repKey, "button.delete")))
	prof.wait("asked again", `document.querySelector('#confirm-delete').open`, 5*time.Second)
	prof.do("confirm", chromedp.Click(chromedp.CSS("#confirm-ok")))
	prof.wait("deleted, undo offered, focus in the grid", fmt.Sprintf(`!document.querySelector(%q) && !document.querySelector('#toast').hidden &&
		!!document.querySelector('#undo-delete') && document.activeElement.dataset.control === 'delete'`, card(repKey, "")), 10*time.Second)
	time.Sleep(300 * time.Millisecond) // a second request would follow at once
	if n := e.deletes() - deletesBefore; n != 1 {
		t.Errorf("one confirmed delete after a cancelled one sent %d DELETE requests", n)
	}
	e.axe(prof, "undo toast")
	e.shot(name("professor", "deleted-undo-toast"), prof.ctx)
	prof.do("undo", chromedp.Click(chromedp.CSS("#undo-delete")))
	prof.wait("back in its place, representative again", fmt.Sprintf(`(() => { const t = [...document.querySelectorAll('#images li.tile')];
		return t.length === 6 && t[%d].dataset.key === %q && t[%d].dataset.rep === 'true'; })()`, repIndex, repKey, repIndex), 10*time.Second)

	// 13. The trash view: delete one, restore it from the trash.
	victim := keys[len(keys)-1]
	prof.do("delete the last", chromedp.Click(chromedp.CSS(card(victim, "button.delete"))))
	prof.wait("confirmation", `document.querySelector('#confirm-delete').open && document.querySelector('#confirm-rep').hidden`, 5*time.Second)
	prof.do("confirm", chromedp.Click(chromedp.CSS("#confirm-ok")))
	prof.wait("deleted", fmt.Sprintf(`!document.querySelector(%q)`, card(victim, "")), 10*time.Second)
	prof.do("open the trash", chromedp.Click(chromedp.CSS("#trash-toggle")))
	prof.wait("listed in the trash", fmt.Sprintf(`!!document.querySelector('#trash-list li[data-key=%q] img') && document.querySelector('#trash-list li[data-key=%q] img').naturalWidth > 0`, victim, victim), 10*time.Second)
	e.axe(prof, "trash")
	e.shot(name("professor", "trash"), prof.ctx)
	prof.do("restore", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#trash-list button[data-key=%q][data-control=restore]`, victim))))
	prof.wait("restored", fmt.Sprintf(`!!document.querySelector(%q) && document.querySelector('#trash-list .empty')`, card(victim, "")), 10*time.Second)
	// ... and delete it again, then for good from the trash: asked first, then gone from the
	// trash and from the API (its status is a 404, not the trash's).
	prof.do("delete the last again", chromedp.Click(chromedp.CSS(card(victim, "button.delete"))))
	prof.wait("confirmation", `document.querySelector('#confirm-delete').open`, 5*time.Second)
	prof.do("confirm", chromedp.Click(chromedp.CSS("#confirm-ok")))
	prof.wait("in the trash again", fmt.Sprintf(`!document.querySelector(%q) && !!document.querySelector('#trash-list li[data-key=%q]')`, card(victim, ""), victim), 10*time.Second)
	// Clicked from script: on a phone the undo toast of the delete just made sits over the row.
	prof.eval("delete for good", fmt.Sprintf(`(() => { document.querySelector('#trash-list button[data-key=%q][data-control=purge]').click(); return true; })()`, victim))
	prof.wait("asked whether to delete for good", `document.querySelector('#confirm-delete').open && document.querySelector('#confirm-title').textContent.includes('완전히') &&
		document.querySelector('#confirm-ok').textContent === '완전히 삭제'`, 5*time.Second)
	e.axe(prof, "permanent delete question")
	e.shot(name("professor", "confirm-purge"), prof.ctx)
	prof.do("confirm", chromedp.Click(chromedp.CSS("#confirm-ok")))
	prof.wait("gone from the trash", `!!document.querySelector('#trash-list .empty')`, 10*time.Second)
	if got := e.statusOf(t, victim); got != http.StatusNotFound {
		t.Errorf("status of a permanently deleted image: %d, want 404", got)
	}
	keys = readKeys()

	// 14. The student: same order and numbers, captions under the images and as alt text.
	var profView []string
	_ = json.Unmarshal(prof.eval("professor's numbered names", `[...document.querySelectorAll('#images li.tile[data-status=ready]')].map(li => li.dataset.number + '. ' + li.querySelector('.name').textContent)`), &profView)
	stud.do("open the scenario", chromedp.Navigate(page))
	stud.wait("sent to sign-in with the way back", `location.pathname === '/' && location.search.includes('next=') && !!document.querySelector('#dev-student')`, 5*time.Second)
	stud.do("sign in as student", chromedp.Click(chromedp.CSS("#dev-student")))
	stud.wait("student view", `!!document.querySelector('#representative img') && document.querySelector('#representative img').naturalWidth > 0 &&
		[...document.querySelectorAll('#others img')].every(i => i.complete && i.naturalWidth > 0)`, 10*time.Second)
	var studView []string
	_ = json.Unmarshal(stud.eval("student's numbered names", `[document.querySelector('#representative figcaption strong').textContent.replace('대표 이미지 · ', ''),
		...[...document.querySelectorAll('#others figcaption strong')].map(s => s.textContent)].sort((a, b) => parseInt(a) - parseInt(b))`), &studView)
	// Same numbers; but students see labels ("사진 N", or the caption), never the names (issue 17).
	num := func(v []string) []string {
		out := make([]string, len(v))
		for i, s := range v {
			out[i], _, _ = strings.Cut(s, ". ")
		}
		return out
	}
	if !slices.Equal(num(profView), num(studView)) {
		t.Errorf("numbers differ:\n professor %q\n student   %q", profView, studView)
	}
	studText := b2s(stud.eval("student page text", `document.body.innerText + [...document.querySelectorAll('img')].map(i => i.alt).join(' ')`))
	for _, v := range profView {
		if _, name, _ := strings.Cut(v, ". "); strings.Contains(studText, name) {
			t.Errorf("the student page shows the file name %q", name)
		}
	}
	stud.wait("caption shown and used as alt", `(() => { const f = [...document.querySelectorAll('figure')].find(f => f.textContent.includes('오른쪽 뺨의 발진'));
		return f && f.querySelector('img').alt.includes('오른쪽 뺨의 발진'); })()`, 5*time.Second)
	stud.eval("record what the large view shows", `window.__seenLarge = new Set(); new MutationObserver(() => window.__seenLarge.add(document.querySelector('#large img').dataset.key))
		.observe(document.querySelector('#large img'), {attributes: true, attributeFilter: ['src']}); true`)
	e.axe(stud, "student view")
	e.shot(name("student", "view"), stud.ctx)
	stud.do("open the representative", chromedp.Click(chromedp.CSS("#representative button")))
	stud.wait("large view", `document.querySelector('#large').open && !document.querySelector('#large img').hidden && document.querySelector('#large img').naturalWidth > 0`, 10*time.Second)
	before := b2s(stud.eval("counter", `document.querySelector('#large-counter').textContent`))
	stud.do("next", chromedp.KeyEvent(kb.ArrowRight))
	stud.wait("moved on", fmt.Sprintf(`document.querySelector('#large-counter').textContent !== %q`, before), 5*time.Second)
	e.axe(stud, "student large view")
	e.shot(name("student", "large"), stud.ctx)
	stud.do("close", chromedp.KeyEvent(kb.Escape))

	// 15. An expired link reloads itself; a deleted image says so, never a broken icon.
	// An image whose large version this page has not loaded yet (not the representative, not the
	// one after it), so its request does go to S3; not the GIF, whose large view is its original.
	fresh := b2s(stud.eval("an image not seen large yet", `(() => {
		const num = (el) => parseInt(el.querySelector('figcaption strong').textContent.replace('대표 이미지 · ', ''), 10);
		const all = document.querySelectorAll('[data-key] figcaption strong').length;
		const seen = num(document.querySelector('#representative')) % all + 1;
		return [...document.querySelectorAll('#others li')].find(li => num(li) !== seen && !li.dataset.key.endsWith('.gif')).dataset.key; })()`))
	fired, stop := e.failOnce(stud, fresh[strings.LastIndexByte(fresh, '/')+1:strings.LastIndexByte(fresh, '.')]+"_1280.")
	stud.do("open it", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#others li[data-key=%q] button`, fresh))))
	stud.wait("shown after fetching a fresh link", `document.querySelector('#large').open && !document.querySelector('#large img').hidden && document.querySelector('#large img').naturalWidth > 0`, 10*time.Second)
	stop()
	if !fired() {
		t.Error("the expired-link case did not happen: the large image never went to S3")
	}
	stud.do("close", chromedp.KeyEvent(kb.Escape))
	// One whose large version this page never loaded (else the browser shows it from its cache).
	goneKey := b2s(stud.eval("an image not seen large", `[...document.querySelectorAll('#others li')].map(li => li.dataset.key).find(k => !window.__seenLarge.has(k))`))
	if _, err := e.directAPI(t).Delete(t.Context(), goneKey, false); err != nil {
		t.Fatal(err)
	}
	stud.do("open the deleted one", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#others li[data-key=%q] button`, goneKey))))
	stud.wait("a message, not a broken icon", `document.querySelector('#large').open && document.querySelector('#large img').hidden &&
		document.querySelector('#large .viewer-message').textContent.includes('삭제')`, 10*time.Second)
	e.shot(name("student", "large-deleted"), stud.ctx)
	stud.do("close", chromedp.KeyEvent(kb.Escape))
	if _, err := e.directAPI(t).Restore(t.Context(), goneKey); err != nil {
		t.Fatal(err)
	}

	// 16. The token expires during a batch: uploads on their way finish, then the page asks for
	// sign-in in place; the batch and its results are still there, and it goes on.
	// The API allows 30 s of clock skew past exp: this token is refused from about 5 s on.
	short, err := api.SignHS256([]byte(e.st.Secret), "local-professor", "professor", 35*time.Second, time.Now().Add(-60*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	expires := time.Now().Add(5 * time.Second)
	prof.eval("a token about to expire", fmt.Sprintf(`localStorage.setItem('medicpx.token', %q); true`, short))
	gate = e.holdUploads(prof)
	prof.do("pick two", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), []string{e.file(t, "배치 1.jpg", testimage.JPEG(1600, 1198)), e.file(t, "배치 2.png", testPNGVariant(t, 3))}))
	for gate.count() < 2 {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Until(expires) + time.Second)
	prof.eval("record announcements", `window.__said = []; new MutationObserver(() => { const t = document.getElementById('status').textContent;
		if (t) window.__said.push(t); }).observe(document.getElementById('status'), {childList: true, characterData: true, subtree: true}); true`)
	gate.release(false)
	prof.wait("uploads finished, then sign-in asked on the page", `document.querySelector('#reauth').open &&
		document.querySelector('#reauth-text').textContent.includes('토큰이 만료') && document.querySelector('#reauth').getAttribute('aria-describedby') === 'reauth-text' &&
		[...document.querySelectorAll('#uploads li')].every(li => li.dataset.state === 'processing' && li.querySelector('progress').value === 100) &&
		location.pathname === '/scenarios/`+sc+`'`, 15*time.Second)
	e.axe(prof, "sign-in again")
	e.shot(name("professor", "token-expired-mid-batch"), prof.ctx)
	prof.do("sign in again", chromedp.Click(chromedp.CSS("#reauth-dev-professor")))
	prof.wait("the batch went on", `!document.querySelector('#reauth').open && document.querySelector('#upload-summary').textContent === '2개 중 2개 등록, 0개 거부'`, 20*time.Second)
	// Said once: by the dialog (its description), not again by the live region.
	if got := string(prof.eval("expiry said", `window.__said.filter(t => t.includes('만료')).length`)); got != "0" {
		t.Errorf("the expiry was announced again in the live region: %s", prof.eval("said", `window.__said`))
	}
	e.shot(name("professor", "batch-after-sign-in"), prof.ctx)

	// Phone photos: HEIC refused with how to get a JPEG, a photo over 10 MiB shrunk and ready.
	if !vp.phone {
		checkPhonePhotos(t, prof, e.st.APIURL, func(what string, b *tab) { e.shot(name("professor", what), b.ctx) })
		prof.do("back", chromedp.Navigate(page))
		prof.wait("page", `!!document.querySelector('#images li.tile')`, 10*time.Second)
	}

	// Cover, pixelate, turn and crop in the browser before upload; measured in S3.
	e.checkEditor(t, prof, vp, func(what string) { e.shot(name("professor", what), prof.ctx) })
	prof.do("back", chromedp.Navigate(page))
	prof.wait("page", `!!document.querySelector('#images li.tile')`, 10*time.Second)

	// A file name that looks like it names a patient is taken (names are staff-only), and the row
	// says so.
	prof.do("pick a photo named for its patient", chromedp.SetUploadFiles(chromedp.CSS("#file-input"),
		[]string{e.file(t, "홍길동_800101-1234567_흉부.jpg", testimage.JPEG(400, 300))}))
	prof.wait("the row warns about the name", `[...document.querySelectorAll('#uploads li')].some(li =>
		li.textContent.includes('홍길동') && li.textContent.includes('주민등록번호'))`, 15*time.Second)
	e.shot(name("professor", "name-warning"), prof.ctx)

	// 17. One sign-in for every tab; signing out in one signs out all.
	other, closeOther := e.newTab(t, "professor-2", prof.ctx, false, vp)
	defer closeOther()
	other.do("open the scenario in a new tab", chromedp.Navigate(page))
	other.wait("signed in already", `!!document.querySelector('#images li.tile')`, 10*time.Second)
	other.do("sign out", chromedp.Click(chromedp.CSS("#sign-out")))
	prof.wait("signed out here too", `location.pathname === '/' && (document.querySelector('.notice') || {}).textContent === '다른 탭에서 로그아웃했습니다.'`, 10*time.Second)
	e.shot(name("professor", "signed-out-elsewhere"), prof.ctx)

	// 18. A token the API refuses sends the person back to sign-in with the reason.
	bad, err := api.SignHS256([]byte(strings.Repeat("x", 32)), "local-student", "student", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	stud.eval("use a token the API refuses", fmt.Sprintf(`localStorage.setItem('medicpx.token', %q); true`, bad))
	stud.do("reload", chromedp.Reload())
	stud.wait("back at sign-in with a message", `location.pathname === '/' && /로그인/.test((document.querySelector('.notice') || {}).textContent || '')`, 10*time.Second)
	e.shot(name("student", "token-refused"), stud.ctx)
}

// hasBatchimDigit: Sino-Korean readings of a number's last digit (일, 삼, 육, 칠, 팔, 십 … end in a
// consonant).
func hasBatchimDigit(n int) bool {
	if n%10 == 0 {
		return true
	}
	return map[int]bool{1: true, 3: true, 6: true, 7: true, 8: true}[n%10]
}

// b2s decodes a string that Evaluate returned as JSON.
func b2s(raw []byte) string {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return string(raw)
	}
	return s
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// testGIF is a small two-frame animation (a pulsing dot), to see that the large view plays it.
func testGIF(t *testing.T) []byte {
	pal := color.Palette{color.RGBA{240, 240, 240, 255}, color.RGBA{200, 30, 40, 255}}
	anim := &gif.GIF{}
	for f := 0; f < 2; f++ {
		img := image.NewPaletted(image.Rect(0, 0, 400, 300), pal)
		r := 40 + 40*f
		for y := range 300 {
			for x := range 400 {
				if (x-200)*(x-200)+(y-150)*(y-150) < r*r {
					img.SetColorIndex(x, y, 1)
				}
			}
		}
		anim.Image = append(anim.Image, img)
		anim.Delay = append(anim.Delay, 50)
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, anim); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testPNG is drawn here rather than committed, like testimage.JPEG: a diagram with enough
// structure that a broken thumbnail is visible in the screenshots.
func testPNG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 800, 600))
	for y := range 600 {
		for x := range 800 {
			c := color.RGBA{240, 244, 248, 255}
			if x%80 == 0 || y%60 == 0 {
				c = color.RGBA{150, 170, 200, 255}
			}
			if y > 200 && y < 420 && x > 100+y/2 && x < 260+y {
				c = color.RGBA{30, 110, 180, 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// startBrowserEnv starts the whole local stack and Chromium for one browser test, with its
// screenshots in their own folder (.artifacts/screenshots/<dir>; TestBrowser's in the folder
// itself), so that the tests never remove each other's. Without Chromium or axe-core it fails:
// the browser tests never pass without running.
func startBrowserEnv(t *testing.T, dir string) *browserEnv {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium is not installed: browser tests did NOT run (%s missing; apt-get install -y chromium)", chromiumPath)
	}
	root, err := versity.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	axePath := filepath.Join(os.Getenv("NODE_PATH"), "axe-core", "axe.min.js")
	if os.Getenv("NODE_PATH") == "" {
		axePath = filepath.Join(root, ".tools", "node", "node_modules", "axe-core", "axe.min.js")
	}
	axeJS, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatalf("axe-core is not installed (%v): run make tools; the accessibility checks did NOT run", err)
	}
	shots := filepath.Join(root, ".artifacts", "screenshots", dir)
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	old, _ := filepath.Glob(filepath.Join(shots, "*.png"))
	for _, f := range old {
		_ = os.Remove(f)
	}
	logs := &logbuf.Buffer{}
	st := stacktest.Start(t, stack.Options{Output: logs})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("stack logs:\n%s", logs)
		}
	})
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "ko-KR"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 900),
	)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browser, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return &browserEnv{t: t, st: st, browser: browser, shots: shots, axeJS: string(axeJS), dir: t.TempDir(), logs: logs}
}
