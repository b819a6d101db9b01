package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"medicpx/api"
	"medicpx/infra/stack"
	"medicpx/shared/versity"
)

const chromiumPath = "/usr/bin/chromium"

// syncBuffer collects the stack's logs from several processes, shown when the test fails.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// tab is one browser tab with its own sessionStorage, so one person's sign-in.
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
	b.shot("failed-"+b.name, b.ctx)
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
	b.t.Fatalf("%s (%s tab): %v\npage:\n%s", what, b.name, err, text)
}

// TestBrowser drives Debian's Chromium through the whole local stack (versitygw, the real
// processor, the API built with -tags devlogin): a professor uploads, pins and deletes; a student
// sees what the professor made visible.
func TestBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium is not installed: browser tests did NOT run (%s missing; apt-get install -y chromium)", chromiumPath)
	}
	root, err := versity.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	shots := filepath.Join(root, ".artifacts", "screenshots")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	// A failure shot from an earlier run must not be mistaken for this run's.
	old, _ := filepath.Glob(filepath.Join(shots, "failed-*.png"))
	for _, f := range old {
		_ = os.Remove(f)
	}

	bin := t.TempDir()
	start := time.Now()
	if err := stack.Build(bin); err != nil {
		t.Fatal(err)
	}
	t.Logf("built the stack in %s", time.Since(start).Round(time.Millisecond))
	logs := &syncBuffer{}
	st, err := stack.Start(context.Background(), stack.Options{
		DataDir: t.TempDir(), APIBin: filepath.Join(bin, "medicpx-api"), ProcessorBin: filepath.Join(bin, "medicpx-processor"),
		Output: logs,
	})
	if err != nil {
		t.Fatalf("start the stack: %v\n%s", err, logs)
	}
	defer st.Stop()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("stack logs:\n%s", logs)
		}
	})
	if resp, err := http.Get(st.APIURL + "/"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / on the API: %v %v: web.Mount is not wired into api/cmd/medicpx-api", err, resp)
	}

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
		chromedp.WindowSize(1280, 900),
	)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()

	var problems []string
	var pmu sync.Mutex
	shot := func(name string, ctx context.Context) {
		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		// A modal dialog's backdrop covers the viewport only: shoot what the person sees.
		capture := chromedp.FullScreenshot(100)
		if open, _ := chromedp.Run(c, chromedp.Evaluate[bool](`!!document.querySelector('dialog[open]')`)); open {
			capture = chromedp.CaptureScreenshot()
		}
		buf, err := chromedp.Run(c, capture)
		if err == nil {
			err = os.WriteFile(filepath.Join(shots, name+".png"), buf, 0o644)
		}
		if err != nil {
			t.Logf("screenshot %s: %v", name, err)
		}
	}
	newTab := func(name string, ctx context.Context) tab {
		// Page errors and CSP violations fail the test: the page would look fine in a
		// screenshot and still be broken for someone.
		exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
		entries := chromedp.Events(ctx, cdplog.EntryAdded)
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
				pmu.Lock()
				problems = append(problems, name+": exception: "+msg)
				pmu.Unlock()
			}
		}()
		go func() {
			for ev, err := range entries {
				if err != nil {
					return
				}
				if strings.Contains(ev.Entry.Text, "Content Security Policy") {
					pmu.Lock()
					problems = append(problems, name+": "+ev.Entry.Text)
					pmu.Unlock()
				}
			}
		}()
		return tab{t: t, name: name, ctx: ctx, shot: shot}
	}
	// The first Do starts the browser; it must not run under a timeout (that would end it).
	if err := chromedp.Do(browser, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	prof := newTab("professor", browser)
	studentCtx, cancelStudent := chromedp.NewContext(browser)
	defer cancelStudent()
	if err := chromedp.Do(studentCtx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("open a second tab: %v", err)
	}
	stud := newTab("student", studentCtx)

	// 1. Professor: one-click sign-in (this build has it), then the scenario picker.
	prof.do("open sign-in", chromedp.Navigate(st.APIURL+"/"))
	prof.wait("dev sign-in buttons", `!!document.querySelector('#dev-professor')`, 5*time.Second)
	shot("01-sign-in", prof.ctx)
	prof.do("sign in as professor", chromedp.Click(chromedp.CSS("#dev-professor")))
	prof.wait("scenario picker", `!!document.querySelector('#scenario-input')`, 5*time.Second)
	shot("02-picker", prof.ctx)
	prof.do("open scenario 1",
		chromedp.SendKeys(chromedp.CSS("#scenario-input"), "1"),
		chromedp.Click(chromedp.CSS("form button[type=submit]")))
	prof.wait("professor view", `location.pathname === '/scenarios/1' && !!document.querySelector('#drop-zone') && !!document.querySelector('#images .empty')`, 10*time.Second)
	shot("03-professor-empty", prof.ctx)

	// 2. The real file input (what keyboard users reach): a text file is refused in the browser.
	dir := t.TempDir()
	notes := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notes, []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	prof.wait("the file input is reachable by keyboard", `(() => { const i = document.querySelector('#file-input');
		i.focus(); return document.activeElement === i && i.labels.length > 0 && i.multiple; })()`, 2*time.Second)
	prof.do("pick a text file", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), []string{notes}))
	prof.wait("browser-side refusal", `[...document.querySelectorAll('#uploads li[data-state=invalid]')].some(li =>
		li.dataset.file === 'notes.txt' && li.textContent.includes('지원하지 않는 파일 형식'))`, 5*time.Second)

	// 3. Drag in a JPEG, a PNG and a fake .jpg. Every state a row passes through is recorded, to
	// prove the upload went through S3 (progress) and then the processor (processing → result).
	prof.eval("record states", `window.__states = {}; new MutationObserver((ms) => { for (const m of ms) {
		const li = m.target; if (!li.dataset || !li.dataset.file) continue;
		(window.__states[li.dataset.file] ||= []).push(li.dataset.state + ':' + (li.querySelector('progress') || {}).value);
	}}).observe(document.getElementById('uploads'), {subtree: true, attributes: true, attributeFilter: ['data-state']}); true`)
	files := []struct{ Name, Type, B64 string }{
		{"patient-face.jpg", "image/jpeg", base64.StdEncoding.EncodeToString(testJPEG(t))},
		{"wound-chart.png", "image/png", base64.StdEncoding.EncodeToString(testPNG(t))},
		{"fake.jpg", "image/jpeg", base64.StdEncoding.EncodeToString([]byte("this is text pretending to be a photo\n"))},
	}
	filesJSON, _ := json.Marshal(files)
	prof.eval("drop three files", fmt.Sprintf(`(() => {
		const dt = new DataTransfer();
		for (const f of %s) {
			const bin = atob(f.B64);
			dt.items.add(new File([Uint8Array.from(bin, (c) => c.charCodeAt(0))], f.Name, {type: f.Type}));
		}
		const zone = document.getElementById('drop-zone');
		for (const type of ['dragenter', 'dragover', 'drop']) {
			zone.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: dt}));
		}
		return dt.files.length;
	})()`, filesJSON))
	prof.wait("three upload rows with progress bars", `document.querySelectorAll('#uploads li[data-file] progress').length >= 3`, 5*time.Second)
	shot("04-uploading", prof.ctx)
	prof.wait("two ready, one rejected", `(() => {
		const s = (f) => (document.querySelector('#uploads li[data-file="' + f + '"]') || {dataset: {}}).dataset.state;
		return s('patient-face.jpg') === 'ready' && s('wound-chart.png') === 'ready' && s('fake.jpg') === 'rejected';
	})()`, 30*time.Second)
	var rows []struct {
		File, State, Text string
		Progress          float64
		ThumbWidth        int
		States            []string
	}
	// A thumbnail appears when its row turns ready; give the browser the time to fetch it from S3
	// before reading its size (on a loaded CI machine that is not instant).
	prof.wait("upload thumbnails loaded", `[...document.querySelectorAll('#uploads li[data-file][data-state=ready] .result img')].every(i => i.complete && i.naturalWidth > 0)`, 10*time.Second)
	if err := json.Unmarshal(prof.eval("read upload rows", `[...document.querySelectorAll('#uploads li[data-file]')].filter(li => li.dataset.file !== 'notes.txt').map(li => ({
		File: li.dataset.file, State: li.dataset.state, Text: li.querySelector('.state').textContent,
		Progress: li.querySelector('progress').value,
		ThumbWidth: (li.querySelector('.result img') || {}).naturalWidth || 0,
		States: window.__states[li.dataset.file] || []}))`), &rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		t.Logf("upload %s: %s, states %v, %q", r.File, r.State, r.States, r.Text)
		if r.Progress != 100 {
			t.Errorf("%s: progress bar at %v, want 100 after the PUT", r.File, r.Progress)
		}
		if !containsState(r.States, "processing:100") {
			t.Errorf("%s: never shown as uploaded and being checked: %v", r.File, r.States)
		}
		switch r.File {
		case "fake.jpg":
			if !strings.Contains(r.Text, "등록되지 않았습니다") || !strings.Contains(r.Text, "형식") {
				t.Errorf("fake.jpg: rejection text %q does not give the reason in Korean", r.Text)
			}
		default:
			if r.ThumbWidth == 0 {
				t.Errorf("%s: thumbnail did not load from S3", r.File)
			}
		}
	}
	prof.wait("two ready images listed", `document.querySelectorAll('#images li.tile[data-status=ready]').length === 2 &&
		[...document.querySelectorAll('#images li.tile img')].every(i => i.complete && i.naturalWidth > 0)`, 10*time.Second)
	shot("05-uploaded", prof.ctx)

	// 4. Pin the image that is not the representative yet (the oldest is by default).
	var keys struct{ Rep, Other string }
	if err := json.Unmarshal(prof.eval("read keys", `({Rep: document.querySelector('#images li.tile[data-rep=true]').dataset.key,
		Other: document.querySelector('#images li.tile[data-rep=false]').dataset.key})`), &keys); err != nil {
		t.Fatal(err)
	}
	prof.do("pin", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#images li.tile[data-key=%q] button.pin`, keys.Other))))
	prof.wait("pinned one shown as the representative", fmt.Sprintf(`(() => {
		const reps = document.querySelectorAll('#images li.tile[data-rep=true]');
		return reps.length === 1 && reps[0].dataset.key === %q && reps[0].querySelector('.badge') !== null;
	})()`, keys.Other), 10*time.Second)
	shot("06-pinned", prof.ctx)
	pinned, other := keys.Other, keys.Rep

	// The pages follow the listing's next_cursor: read page by page (one image each), the
	// professor's listing is the same as in one go.
	var paged, whole []string
	pagedJS := `import(document.querySelector('script[type=module]').src.replace(/[^/]*$/, 'api.js'))
		.then(async (m) => [(await m.listImages('1', 1)).images.map((i) => i.s3_key), (await m.listImages('1')).images.map((i) => i.s3_key)])`
	var both [2][]string
	if err := json.Unmarshal(prof.eval("list page by page", pagedJS), &both); err != nil {
		t.Fatal(err)
	}
	paged, whole = both[0], both[1]
	if len(whole) < 2 || strings.Join(paged, ",") != strings.Join(whole, ",") {
		t.Fatalf("listing page by page gave %v, in one go %v", paged, whole)
	}

	// 5. Student, on a phone-sized screen: exactly the two, the pinned one large and first.
	stud.do("phone viewport", chromedp.EmulateViewport(390, 844))
	stud.do("open sign-in", chromedp.Navigate(st.APIURL+"/scenarios/1"))
	stud.wait("sent to sign-in with the way back", `location.pathname === '/' && location.search.includes('next=') && !!document.querySelector('#dev-student')`, 5*time.Second)
	stud.do("sign in as student", chromedp.Click(chromedp.CSS("#dev-student")))
	studentSees := func(what string, hero string, others []string) {
		t.Helper()
		stud.wait(what, fmt.Sprintf(`(() => {
			const hero = document.querySelector('#representative');
			const img = hero && hero.querySelector('img');
			const others = [...document.querySelectorAll('#others li')].map(li => li.dataset.key);
			const all = [...document.querySelectorAll('[data-key]')];
			return location.pathname === '/scenarios/1' && hero && hero.dataset.key === %q && img.complete && img.naturalWidth > 0 &&
				JSON.stringify(others) === %q && all[0] === hero && all.length === 1 + others.length &&
				[...document.querySelectorAll('#others img')].every(i => i.complete && i.naturalWidth > 0 && i.alt);
		})()`, hero, mustJSON(others)), 10*time.Second)
	}
	studentSees("student sees the pinned image large and the other as a thumbnail", pinned, []string{other})
	shot("07-student", stud.ctx)
	// Keyboard: focus the thumbnail and press Enter.
	stud.do("open the thumbnail with Enter", chromedp.Focus(chromedp.CSS("#others button.thumb")), chromedp.KeyEvent(kb.Enter))
	stud.wait("large view", `document.querySelector('#large').open && document.querySelector('#large img').naturalWidth > 320`, 10*time.Second)
	shot("08-student-large", stud.ctx)
	stud.do("close with Escape", chromedp.KeyEvent(kb.Escape))
	stud.wait("large view closed", `!document.querySelector('#large').open`, 5*time.Second)

	// 6. Professor deletes the other image: cancel first (nothing happens), then confirm.
	del := chromedp.CSS(fmt.Sprintf(`#images li.tile[data-key=%q] button.delete`, other))
	prof.do("ask to delete", chromedp.Click(del))
	prof.wait("confirmation dialog", `document.querySelector('#confirm-delete').open`, 5*time.Second)
	prof.do("cancel", chromedp.Click(chromedp.CSS("#confirm-cancel")))
	prof.wait("dialog closed, nothing deleted", `!document.querySelector('#confirm-delete').open && document.querySelectorAll('#images li.tile').length === 2`, 5*time.Second)
	prof.do("ask to delete again, with the keyboard", chromedp.Focus(del), chromedp.KeyEvent(kb.Enter))
	prof.wait("confirmation dialog", `document.querySelector('#confirm-delete').open`, 5*time.Second)
	shot("09-confirm-delete", prof.ctx)
	prof.do("confirm", chromedp.Click(chromedp.CSS("#confirm-ok")))
	prof.wait("one image left", fmt.Sprintf(`document.querySelectorAll('#images li.tile').length === 1 &&
		!document.querySelector('#images li.tile[data-key=%q]')`, other), 10*time.Second)
	shot("10-after-delete", prof.ctx)

	// 7. The student reloads and no longer sees it.
	stud.do("reload", chromedp.Reload())
	studentSees("student no longer sees the deleted image", pinned, []string{})
	shot("11-student-after-delete", stud.ctx)

	// 8. A token the API refuses sends the person back to sign-in with the reason.
	bad, err := api.SignHS256([]byte(strings.Repeat("x", 32)), "local-student", "student", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	stud.eval("use a token the API refuses", fmt.Sprintf(`sessionStorage.setItem('medicpx.token', %q); true`, bad))
	stud.do("reload", chromedp.Reload())
	stud.wait("back at sign-in with a message", `location.pathname === '/' && /로그인/.test((document.querySelector('.notice') || {}).textContent || '')`, 10*time.Second)
	shot("12-token-refused", stud.ctx)

	// 9. Phone photos: HEIC refused with how to get a JPEG, a photo over 10 MiB shrunk and ready.
	checkPhonePhotos(t, prof, st.APIURL, func(name string, b *tab) { shot(name, b.ctx) })

	pmu.Lock()
	defer pmu.Unlock()
	for _, p := range problems {
		t.Errorf("page problem: %s", p)
	}
	t.Logf("screenshots in %s; whole test %s", shots, time.Since(start).Round(time.Millisecond))
}

func containsState(states []string, want string) bool {
	for _, s := range states {
		if s == want {
			return true
		}
	}
	return false
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// testJPEG and testPNG are drawn here rather than committed: a stand-in for a clinical photo
// with enough structure that a broken thumbnail is visible in the screenshots.
func testJPEG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 1600, 1200))
	for y := range 1200 {
		for x := range 1600 {
			img.Set(x, y, color.RGBA{uint8(180 + x%60), uint8(120 + y/20), uint8(100 + (x+y)/40), 255})
		}
	}
	// A disc in the middle, like a lesion on skin.
	for y := 450; y < 750; y++ {
		for x := 650; x < 950; x++ {
			if (x-800)*(x-800)+(y-600)*(y-600) < 150*150 {
				img.Set(x, y, color.RGBA{140, 40, 50, 255})
			}
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

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
