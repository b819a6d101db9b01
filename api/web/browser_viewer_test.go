package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"medicpx/infra/testenv/apiclient"
	"medicpx/infra/testenv/testimage"
)

// TestBrowserViewer drives Chromium through the large view, the bulk actions, caption autosave,
// long captions and dark mode (issue 19), on the desktop and phone screens, as a professor and as
// a student, against the whole local stack; axe-core runs on every new state.
func TestBrowserViewer(t *testing.T) {
	e := startBrowserEnv(t, "viewer")
	for _, vp := range viewports {
		t.Run(vp.name, func(t *testing.T) { e.viewerFlows(t, vp) })
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range e.problem {
		t.Errorf("page problem: %s", p)
	}
	t.Logf("%d screenshots in %s", len(e.taken), e.shots)
}

// viewerScenario is what a viewport's flows start from: six ready images in scenario sc, the
// first a 2400x1800 photo (more than the 1280 px rendition), the fourth with a 500-character
// caption.
type viewerScenario struct {
	sc   string
	keys []string
	big  apiclient.Image // as staff list it
	long string          // the long caption
}

func (e *browserEnv) seedViewer(t *testing.T, sc string) viewerScenario {
	t.Helper()
	c := e.directAPI(t)
	ctx := t.Context()
	vs := viewerScenario{sc: sc}
	files := []struct {
		name string
		body []byte
	}{{"발진 근접.jpg", testimage.JPEG(2400, 1800)}}
	for _, n := range []string{"가", "나", "다", "라", "마"} {
		files = append(files, struct {
			name string
			body []byte
		}{"사진 " + n + ".jpg", testimage.JPEG(640, 480)})
	}
	for _, f := range files {
		g, err := c.Upload(ctx, sc, f.name, f.body)
		if err != nil {
			t.Fatalf("upload %s: %v", f.name, err)
		}
		vs.keys = append(vs.keys, g.S3Key)
	}
	for _, k := range vs.keys {
		for deadline := time.Now().Add(30 * time.Second); ; {
			st, err := c.Status(ctx, k)
			if err == nil && st.Status == "ready" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not ready: %+v %v", k, st, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// 500 characters with nothing a caption may not hold (no numbers that read as phone numbers).
	vs.long = strings.Repeat("오른쪽 아래팔 안쪽의 붉은 구진이 모여 있고 가장자리가 조금 부어 있음. ", 20)
	vs.long = string([]rune(vs.long)[:500])
	if _, err := c.SetCaption(ctx, vs.keys[3], vs.long); err != nil {
		t.Fatal(err)
	}
	l, err := c.List(ctx, sc, apiclient.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range l.Images {
		if im.S3Key == vs.keys[0] {
			vs.big = im
		}
	}
	if vs.big.S3Key == "" || vs.big.URL == "" || !strings.Contains(vs.big.DisplayURL, "_1280") {
		t.Fatalf("the big photo is not listed with its renditions: %+v", vs.big)
	}
	return vs
}

// signedIn opens a fresh browser context (its own person) signed in as role, on page.
func (e *browserEnv) signedIn(t *testing.T, role, page string, vp viewport) (tab, context.CancelFunc) {
	t.Helper()
	b, cancel := e.newTab(t, role, e.browser, true, vp)
	tok, err := e.st.Token(role)
	if err != nil {
		t.Fatal(err)
	}
	b.do("open the API's origin", chromedp.Navigate(e.st.APIURL+"/healthz"))
	b.eval("sign in", fmt.Sprintf(`localStorage.setItem('medicpx.token', %q); true`, tok))
	b.do("open "+page, chromedp.Navigate(page))
	return b, cancel
}

// touches sends one touch event with a finger at each point (ids 0, 1, …).
func touches(typ input.DispatchTouchEventType, pts ...[2]float64) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		p := input.DispatchTouchEventParams{Type: typ, TouchPoints: []*input.TouchPoint{}}
		for i, pt := range pts {
			id := float64(i)
			p.TouchPoints = append(p.TouchPoints, &input.TouchPoint{X: pt[0], Y: pt[1], ID: &id})
		}
		_, err := cdp.Call(ctx, tg, input.DispatchTouchEvent, p)
		return err
	})
}

// tap is a finger's tap at (x, y).
func tap(x, y float64) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{touches(input.DispatchTouchEventTypeTouchStart, [2]float64{x, y}), touches(input.DispatchTouchEventTypeTouchEnd)}
}

// center is the middle of the element sel, in viewport coordinates.
func (b tab) center(sel string) (x, y float64) {
	b.t.Helper()
	var p struct{ X, Y float64 }
	if err := json.Unmarshal(b.eval("where is "+sel, fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect();
		return {X: r.left + r.width / 2, Y: r.top + r.height / 2}; })()`, sel)), &p); err != nil {
		b.t.Fatal(err)
	}
	return p.X, p.Y
}

// press is a click with the mouse, or a tap on the phone.
func (b tab) press(what, sel string, phone bool) {
	b.t.Helper()
	b.do("scroll to "+sel, chromedp.ScrollIntoView(chromedp.CSS(sel)))
	x, y := b.center(sel)
	if phone {
		b.do(what, tap(x, y)...)
		return
	}
	b.do(what, chromedp.MouseClickXY(x, y))
}

const zoomOf = `parseInt(document.querySelector('#large-zoom').textContent, 10)`

func (e *browserEnv) viewerFlows(t *testing.T, vp viewport) {
	n := 0
	shot := func(b tab, role, what string) {
		n++
		e.shot(fmt.Sprintf("viewer-%s-%s-%02d-%s", vp.name, role, n, what), b.ctx)
	}
	vs := e.seedViewer(t, "viewer-"+vp.name)
	page := e.st.APIURL + "/scenarios/" + vs.sc
	prof, closeProf := e.signedIn(t, "professor", page, vp)
	defer closeProf()
	prof.wait("six cards", `document.querySelectorAll('#images li.tile[data-status=ready] img').length === 6 &&
		document.querySelector('#images li.tile img').naturalWidth > 0`, 15*time.Second)
	shot(prof, "professor", "grid")
	stud, closeStud := e.signedIn(t, "student", page, vp)
	defer closeStud()
	// Each step is a subtest: on pages without a feature, every step still runs and fails by itself.
	on := func(b tab, t *testing.T) tab { b.t = t; return b }

	// 1. The large view of the big photo: the 1280 px rendition first; zoomed to 200% the original.
	t.Run("zoom loads the original", func(t *testing.T) {
		prof := on(prof, t)
		prof.press("open the big photo", card(vs.keys[0], "button.pic"), vp.phone)
		prof.wait("large view with the rendition", `document.querySelector('#large').open && !document.querySelector('#large img').hidden &&
			document.querySelector('#large img').naturalWidth === 1280 && document.querySelector('#large img').src.includes('_1280')`, 10*time.Second)
		if vp.phone {
			var box struct{ L, T, W, H, VW, VH float64 }
			_ = json.Unmarshal(prof.eval("dialog box", `(() => { const r = document.querySelector('#large').getBoundingClientRect();
				return {L: r.left, T: r.top, W: r.width, H: r.height, VW: innerWidth, VH: innerHeight}; })()`), &box)
			if box.L != 0 || box.T != 0 || box.W != box.VW || math.Abs(box.H-box.VH) > 1 {
				t.Errorf("the large view on a phone is not full screen: %+v", box)
			}
			if ta := b2s(prof.eval("touch-action", `getComputedStyle(document.querySelector('#large .stage')).touchAction`)); ta != "none" {
				t.Errorf("the stage's touch-action is %q: pinch would zoom the page, not the photo", ta)
			}
		}
		sx, sy := prof.center("#large .stage")
		if vp.phone {
			// Pinch: two fingers from 60 px apart to 300 px apart.
			prof.do("pinch out",
				touches(input.DispatchTouchEventTypeTouchStart, [2]float64{sx - 30, sy}, [2]float64{sx + 30, sy}),
				touches(input.DispatchTouchEventTypeTouchMove, [2]float64{sx - 80, sy}, [2]float64{sx + 80, sy}),
				touches(input.DispatchTouchEventTypeTouchMove, [2]float64{sx - 150, sy}, [2]float64{sx + 150, sy}),
				touches(input.DispatchTouchEventTypeTouchEnd))
			prof.wait("pinched to about 500%", zoomOf+` >= 400`, 5*time.Second)
		} else {
			prof.do("double-click the photo",
				chromedp.MouseEvent(chromedp.MouseMoved, sx, sy),
				chromedp.MouseEvent(chromedp.MousePressed, sx, sy, chromedp.ButtonLeft, chromedp.ClickCount(1)),
				chromedp.MouseEvent(chromedp.MouseReleased, sx, sy, chromedp.ButtonLeft, chromedp.ClickCount(1)),
				chromedp.MouseEvent(chromedp.MousePressed, sx, sy, chromedp.ButtonLeft, chromedp.ClickCount(2)),
				chromedp.MouseEvent(chromedp.MouseReleased, sx, sy, chromedp.ButtonLeft, chromedp.ClickCount(2)))
			prof.wait("zoomed to 200%", zoomOf+` === 200`, 5*time.Second)
		}
		origPath := vs.big.URL[:strings.IndexByte(vs.big.URL, '?')]
		prof.wait("the original is loaded and shown", fmt.Sprintf(`(() => { const i = document.querySelector('#large img');
			return i.src === %q && i.naturalWidth === 2400 && i.complete && !i.hidden &&
				performance.getEntriesByType('resource').some(r => r.name.startsWith(%q)); })()`, vs.big.URL, origPath), 10*time.Second)
		e.axe(prof, "zoomed large view")
		shot(prof, "professor", "zoomed")
		if vp.phone {
			sx2, sy2 := sx, sy
			tx := func() string {
				return b2s(prof.eval("transform", `document.querySelector('#large img').style.transform`))
			}
			before := tx()
			prof.do("drag the zoomed photo",
				touches(input.DispatchTouchEventTypeTouchStart, [2]float64{sx2, sy2}),
				touches(input.DispatchTouchEventTypeTouchMove, [2]float64{sx2 + 40, sy2 + 30}),
				touches(input.DispatchTouchEventTypeTouchMove, [2]float64{sx2 + 80, sy2 + 60}),
				touches(input.DispatchTouchEventTypeTouchEnd))
			if tx() == before {
				t.Errorf("a drag did not move the zoomed photo (%s)", before)
			}
			prof.do("double-tap", append(tap(sx, sy), tap(sx, sy)...)...)
			prof.wait("a double tap goes back to 100%", zoomOf+` === 100`, 5*time.Second)
			prof.do("double-tap", append(tap(sx, sy), tap(sx, sy)...)...)
			prof.wait("and zooms to 200% again", zoomOf+` === 200`, 5*time.Second)
		} else {
			prof.do("wheel up", chromedp.MouseEvent(chromedp.MouseWheel, sx, sy, func(p *input.DispatchMouseEventParams) {
				p.DeltaX, p.DeltaY = 0.01, -300 // a DeltaX of 0 would be left out, and Chromium wants both
			}))
			prof.wait("the wheel zooms in", zoomOf+` > 200`, 5*time.Second)
		}
		// Keys: 0 fits, + zooms, arrows pan while zoomed (and turn the page only when not), - zooms out.
		counter := b2s(prof.eval("counter", `document.querySelector('#large-counter').textContent`))
		prof.do("0", chromedp.KeyEvent("0"))
		prof.wait("0 fits the photo", zoomOf+` === 100 && document.querySelector('#large img').style.transform === ''`, 5*time.Second)
		prof.do("+ +", chromedp.KeyEvent("+"), chromedp.KeyEvent("+"))
		prof.wait("+ zooms in", zoomOf+` === 225`, 5*time.Second)
		before := b2s(prof.eval("transform", `document.querySelector('#large img').style.transform`))
		prof.do("arrow right while zoomed", chromedp.KeyEvent(kb.ArrowRight))
		prof.wait("the arrow panned", fmt.Sprintf(`document.querySelector('#large img').style.transform !== %q`, before), 5*time.Second)
		if got := b2s(prof.eval("counter", `document.querySelector('#large-counter').textContent`)); got != counter {
			t.Errorf("an arrow key while zoomed turned the page: %s → %s", counter, got)
		}
		prof.do("- -", chromedp.KeyEvent("-"), chromedp.KeyEvent("-"))
		prof.wait("- zooms out", zoomOf+` === 100`, 5*time.Second)
	})

	// 2. "원본 다운로드": the original's bytes, under the name the professor picked.
	t.Run("download as staff", func(t *testing.T) {
		prof := on(prof, t)
		prof.ensureLarge(vs.keys[0], vp.phone)
		e.checkDownload(t, prof, "발진 근접.jpg")
	})

	// 3. "링크 복사" puts s3_url on the clipboard.
	t.Run("copy link", func(t *testing.T) {
		prof := on(prof, t)
		prof.ensureLarge(vs.keys[0], vp.phone)
		bctx := chromedp.FromContext(prof.ctx).BrowserContextID
		for _, name := range []string{"clipboard-read", "clipboard-write"} {
			if _, err := chromedp.CallBrowser(prof.ctx, browser.SetPermission, browser.SetPermissionParams{Permission: &browser.PermissionDescriptor{Name: name},
				Setting: browser.PermissionSettingGranted, Origin: e.st.APIURL, BrowserContextID: bctx}); err != nil {
				t.Fatalf("grant %s: %v", name, err)
			}
		}
		if _, err := chromedp.Call(prof.ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
			t.Fatal(err)
		}
		prof.press("copy the link", "#large-copy", vp.phone)
		prof.wait("said", `document.querySelector('#large-status').textContent.includes('복사했습니다')`, 5*time.Second)
		if got := b2s(prof.eval("read the clipboard", `navigator.clipboard.readText()`)); got != vs.big.S3URL {
			t.Errorf("clipboard holds %q, want s3_url %q", got, vs.big.S3URL)
		}
		e.axe(prof, "large view after download and copy")
		shot(prof, "professor", "large-copied")
		prof.do("close", chromedp.KeyEvent(kb.Escape))
	})

	// 4. Caption autosave: typed text is "unsaved" (leaving warns), saved on blur, kept after a reload.
	t.Run("caption autosave", func(t *testing.T) {
		prof := on(prof, t)
		const leaving = `(() => { const e = new Event('beforeunload', {cancelable: true}); window.dispatchEvent(e); return e.defaultPrevented; })()`
		area := card(vs.keys[1], "textarea")
		prof.do("close the large view if open", chromedp.KeyEvent(kb.Escape))
		// Closing the dialog gives the focus back to what opened it: typing before it has closed
		// can lose the text to that (seen once in CI, on a loaded machine).
		prof.wait("the large view closed", `!document.querySelector('#large').open`, 5*time.Second)
		prof.do("type a caption", chromedp.ScrollIntoView(chromedp.CSS(area)), chromedp.Focus(chromedp.CSS(area)), chromedp.SendKeys(chromedp.CSS(area), "왼쪽 무릎 찰과상"))
		prof.wait("the caption typed", fmt.Sprintf(`document.querySelector(%q).value.includes('왼쪽 무릎 찰과상')`, area), 5*time.Second)
		if string(prof.eval("leave with unsaved text", leaving)) != "true" {
			t.Error("no warning before leaving with an unsaved caption")
		}
		prof.wait("shown unsaved", fmt.Sprintf(`document.querySelector(%q).textContent === '저장하지 않음'`, card(vs.keys[1], ".caption-state")), 2*time.Second)
		prof.eval("leave the field", fmt.Sprintf(`(() => { document.querySelector(%q).blur(); return true; })()`, area))
		prof.wait("saved on blur, shown as saved", fmt.Sprintf(`document.querySelector(%q).textContent === '저장됨'`, card(vs.keys[1], ".caption-state")), 10*time.Second)
		if string(prof.eval("leave when saved", leaving)) != "false" {
			t.Error("a warning before leaving with every caption saved")
		}
		shot(prof, "professor", "caption-saved")
		prof.do("reload", chromedp.Reload())
		prof.wait("caption kept", fmt.Sprintf(`(document.querySelector(%q) || {}).value === '왼쪽 무릎 찰과상'`, area), 10*time.Second)
		// Debounced: typing and then waiting saves without leaving the field.
		prof.do("type more", chromedp.Focus(chromedp.CSS(area)), chromedp.SendKeys(chromedp.CSS(area), ", 2일 전"))
		prof.wait("saved while typing stopped", fmt.Sprintf(`document.querySelector(%q).textContent === '저장됨' && document.activeElement === document.querySelector(%q)`,
			card(vs.keys[1], ".caption-state"), area), 10*time.Second)
		if got := e.listed(t, vs.sc)[1].Caption; got != "왼쪽 무릎 찰과상, 2일 전" {
			t.Errorf("caption in the API after autosave: %q", got)
		}
	})

	// 5. Bulk delete: three selected (keyboard on the desktop, taps on the phone), one
	// confirmation, three DELETEs, one undo that restores all three.
	t.Run("bulk delete and one undo", func(t *testing.T) {
		prof := on(prof, t)
		victims := []string{vs.keys[1], vs.keys[2], vs.keys[4]}
		for _, k := range victims {
			if vp.phone {
				prof.press("select", card(k, "label.pick-label"), true)
			} else {
				prof.do("select with the keyboard", chromedp.Focus(chromedp.CSS(card(k, "input.pick"))), chromedp.KeyEvent(" "))
			}
		}
		prof.wait("three selected", `document.querySelector('#selection-count').textContent === '3개 선택됨' && !document.querySelector('#bulk-delete').disabled`, 5*time.Second)
		e.axe(prof, "three selected")
		shot(prof, "professor", "selected")
		deletesBefore := e.deletes()
		prof.press("delete the selected", "#bulk-delete", vp.phone)
		prof.wait("one confirmation for three", `document.querySelector('#confirm-delete').open && document.querySelector('#confirm-title').textContent === '이미지 3개를 삭제할까요?'`, 5*time.Second)
		e.axe(prof, "bulk delete question")
		shot(prof, "professor", "confirm-bulk")
		prof.do("confirm", chromedp.Click(chromedp.CSS("#confirm-ok")))
		prof.wait("three gone, one undo", `document.querySelectorAll('#images li.tile').length === 3 && !document.querySelector('#toast').hidden &&
			document.querySelector('#toast').textContent.includes('3개를 휴지통으로')`, 15*time.Second)
		if got := e.deletes() - deletesBefore; got != 3 {
			t.Errorf("%d DELETE requests for three images", got)
		}
		if l := e.listed(t, vs.sc); len(l) != 3 {
			t.Errorf("the API lists %d images after deleting three of six", len(l))
		}
		e.axe(prof, "after bulk delete")
		shot(prof, "professor", "bulk-deleted")
		prof.press("undo all", "#undo-delete", vp.phone)
		prof.wait("all three back", `document.querySelectorAll('#images li.tile').length === 6 && document.querySelector('#toast').hidden`, 15*time.Second)
		var got []string
		for _, im := range e.listed(t, vs.sc) {
			got = append(got, im.S3Key)
		}
		for _, k := range victims {
			if !slices.Contains(got, k) {
				t.Errorf("%s was not restored by the one undo", k)
			}
		}
	})

	// 6. Move the selected to the top: the last two, in their order, first for everyone.
	t.Run("move selected to the top and the bottom", func(t *testing.T) {
		prof := on(prof, t)
		cur := e.listed(t, vs.sc)
		last2 := []string{cur[4].S3Key, cur[5].S3Key}
		for _, k := range last2 {
			if vp.phone {
				prof.press("select", card(k, "label.pick-label"), true)
			} else {
				prof.do("select with the keyboard", chromedp.Focus(chromedp.CSS(card(k, "input.pick"))), chromedp.KeyEvent(" "))
			}
		}
		prof.wait("two selected, the bar stays on screen", `document.querySelector('#selection-count').textContent === '2개 선택됨' &&
			document.querySelector('#bulk-top').getBoundingClientRect().top >= 0 && document.querySelector('#bulk-top').getBoundingClientRect().bottom <= innerHeight`, 5*time.Second)
		prof.press("move them to the top", "#bulk-top", vp.phone)
		prof.wait("moved", fmt.Sprintf(`(() => { const k = [...document.querySelectorAll('#images li.tile')].map(li => li.dataset.key);
			return k[0] === %q && k[1] === %q && document.querySelector('#images').getAttribute('aria-busy') === 'false'; })()`, last2[0], last2[1]), 10*time.Second)
		if l := e.listed(t, vs.sc); l[0].S3Key != last2[0] || l[1].S3Key != last2[1] {
			t.Errorf("the API's order after moving two to the top: %s, %s", l[0].S3Key, l[1].S3Key)
		}
		prof.press("clear the selection", "#bulk-clear", vp.phone)
		// And one to the bottom.
		prof.press("select the first", card(last2[0], "label.pick-label"), vp.phone)
		prof.press("move it to the bottom", "#bulk-bottom", vp.phone)
		prof.wait("moved down", fmt.Sprintf(`(() => { const k = [...document.querySelectorAll('#images li.tile')].map(li => li.dataset.key);
			return k[5] === %q && document.querySelector('#images').getAttribute('aria-busy') === 'false'; })()`, last2[0]), 10*time.Second)
		if l := e.listed(t, vs.sc); l[5].S3Key != last2[0] || l[0].S3Key != last2[1] {
			t.Errorf("the API's order after moving one to the bottom: first %s, last %s", l[0].S3Key, l[5].S3Key)
		}
		prof.press("clear the selection", "#bulk-clear", vp.phone)
	})

	// 6b. A bulk delete where one DELETE fails: the page says how many of how many went, why the
	// other did not, keeps it selected with the reason on its card, and the undo brings back the rest.
	t.Run("bulk delete with one failure", func(t *testing.T) {
		prof := on(prof, t)
		cur := e.listed(t, vs.sc)
		picked := []string{cur[0].S3Key, cur[2].S3Key, cur[3].S3Key}
		refused := picked[1]
		stop := e.failDelete(prof, vs.sc, refused)
		defer stop()
		for _, k := range picked {
			prof.press("select", card(k, "label.pick-label"), vp.phone)
		}
		prof.wait("three selected", `document.querySelector('#selection-count').textContent === '3개 선택됨'`, 5*time.Second)
		prof.press("delete the selected", "#bulk-delete", vp.phone)
		prof.wait("asked once", `document.querySelector('#confirm-delete').open`, 5*time.Second)
		prof.do("confirm", chromedp.Click(chromedp.CSS("#confirm-ok")))
		prof.wait("two gone, the failure said in Korean", fmt.Sprintf(`(() => { const err = document.querySelector('#images').previousElementSibling;
			const kept = document.querySelector(%q);
			return document.querySelectorAll('#images li.tile').length === 4 && !err.hidden &&
				err.textContent === '3개 중 2개를 휴지통으로 옮겼고, 1개는 삭제하지 못했습니다: 저장소에 잠시 연결할 수 없습니다. 삭제하지 못한 이미지는 선택된 채로 남아 있습니다.' &&
				kept && kept.classList.contains('selected') && kept.querySelector('.card-error').textContent.includes('저장소에 잠시 연결할 수 없습니다') &&
				document.querySelector('#selection-count').textContent === '1개 선택됨' &&
				document.querySelector('#toast').textContent.includes('이미지 2개를 휴지통으로'); })()`, card(refused, "")), 15*time.Second)
		e.axe(prof, "bulk delete with a failure")
		shot(prof, "professor", "bulk-partial")
		if l := e.listed(t, vs.sc); len(l) != 4 {
			t.Errorf("the API lists %d images after two of three deletes went through", len(l))
		}
		prof.press("undo", "#undo-delete", vp.phone)
		prof.wait("the two are back", `document.querySelectorAll('#images li.tile').length === 6 && document.querySelector('#toast').hidden`, 15*time.Second)
		prof.press("clear the selection", "#bulk-clear", vp.phone)
	})

	// 7. The student: download under the neutral label, no copy link; the long caption is clamped
	// and keeps 이전/다음 on the screen.
	t.Run("student download and long caption", func(t *testing.T) {
		stud := on(stud, t)
		stud.do("reload: what the professor changed", chromedp.Reload())
		stud.wait("student view", `!!document.querySelector('#representative img') && document.querySelector('#representative img').naturalWidth > 0 &&
			document.querySelectorAll('#others img').length === 5`, 15*time.Second)
		var colH float64
		_ = json.Unmarshal(stud.eval("the long caption's column", fmt.Sprintf(`document.querySelector('[data-key=%q]').getBoundingClientRect().height`, vs.keys[3])), &colH)
		if colH > 500 {
			t.Errorf("the 500-character caption makes its column %.0f px tall", colH)
		}
		stud.wait("더 보기 on the long caption only", fmt.Sprintf(`(() => { const all = [...document.querySelectorAll('button.more:not([hidden])')];
			return all.length === 1 && all[0].closest('[data-key]').dataset.key === %q; })()`, vs.keys[3]), 5*time.Second)
		e.axe(stud, "student view with a clamped caption")
		shot(stud, "student", "view")
		stud.press("open the big photo", fmt.Sprintf(`[data-key=%q] button`, vs.keys[0]), vp.phone)
		stud.wait("large view", `document.querySelector('#large').open && !document.querySelector('#large img').hidden`, 10*time.Second)
		if string(stud.eval("copy link for a student", `!!document.querySelector('#large-copy')`)) != "false" {
			t.Error("students get 링크 복사")
		}
		label := b2s(stud.eval("the label", `document.querySelector('#large-title').textContent.replace(/^\d+\. /, '')`))
		if !strings.HasPrefix(label, "사진 ") {
			t.Fatalf("the student's title is %q, want a 사진 N label", label)
		}
		e.checkDownload(t, stud, label+".jpg")
		stud.do("close", chromedp.KeyEvent(kb.Escape))
		stud.press("open the long caption's photo", fmt.Sprintf(`[data-key=%q] button.thumb`, vs.keys[3]), vp.phone)
		const navOnScreen = `(() => { const ok = (id) => { const r = document.getElementById(id).getBoundingClientRect();
			return r.top >= 0 && r.bottom <= innerHeight && r.height > 0; }; return ok('large-prev') && ok('large-next'); })()`
		// 더 보기 appears once the caption is laid out (clampText measures it from a ResizeObserver,
		// after the frame that shows it): pressing it before then finds no box to scroll to.
		stud.wait("이전/다음 on the screen with the long caption, and its 더 보기", `document.querySelector('#large img').dataset.key === `+fmt.Sprintf("%q", vs.keys[3])+` && `+navOnScreen+
			` && !document.querySelector('#large .more').hidden`, 5*time.Second)
		stud.press("show the whole caption", "#large .more", vp.phone)
		stud.wait("expanded, still on the screen", `document.querySelector('#large .more').getAttribute('aria-expanded') === 'true' && `+navOnScreen, 5*time.Second)
		e.axe(stud, "large view with the whole caption")
		shot(stud, "student", "large-long-caption")
		stud.do("close", chromedp.KeyEvent(kb.Escape))
	})

	// 8. Dark mode, from the system setting: dark backgrounds, light text, and axe's contrast checks.
	t.Run("dark mode", func(t *testing.T) {
		prof := on(prof, t)
		stud := on(stud, t)
		for _, b := range []tab{prof, stud} {
			role := strings.TrimPrefix(b.name, vp.name+" ")
			if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
				t.Fatal(err)
			}
			var lum struct{ Page, Text, Card float64 }
			_ = json.Unmarshal(b.eval("colours", `(() => {
				const l = (c) => { const [r, g, b] = c.match(/[\d.]+/g).slice(0, 3).map(Number).map(v => v / 255)
					.map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
				const card = document.querySelector('#images li.tile, #representative');
				return {Page: l(getComputedStyle(document.documentElement).backgroundColor), Text: l(getComputedStyle(document.querySelector('h1')).color),
					Card: l(getComputedStyle(card).backgroundColor)}; })()`), &lum)
			if lum.Page > 0.05 || lum.Card > 0.05 || lum.Text < 0.6 {
				t.Errorf("%s in dark mode: luminance page %.3f, card %.3f, text %.3f; want dark backgrounds and light text", role, lum.Page, lum.Card, lum.Text)
			}
			e.axe(b, "dark mode")
			shot(b, role, "dark")
			b.press("open the big photo", fmt.Sprintf(`[data-key=%q] button`, vs.keys[0]), vp.phone)
			b.wait("large view", `document.querySelector('#large').open && !document.querySelector('#large img').hidden`, 10*time.Second)
			e.axe(b, "dark large view")
			shot(b, role, "dark-large")
			b.do("close", chromedp.KeyEvent(kb.Escape))
			if role == "professor" {
				b.press("select one", card(vs.keys[0], "label.pick-label"), vp.phone)
				e.axe(b, "dark with a selection")
				b.press("delete it", "#bulk-delete", vp.phone)
				b.wait("question", `document.querySelector('#confirm-delete').open`, 5*time.Second)
				e.axe(b, "dark bulk question")
				shot(b, role, "dark-confirm")
				b.do("cancel", chromedp.Click(chromedp.CSS("#confirm-cancel")))
			}
		}
	})
}

// failDelete makes the page's DELETE of key fail as an S3 outage would (500 with the API's
// Korean detail); the other requests go through. stop ends it.
func (e *browserEnv) failDelete(b tab, sc, key string) (stop func()) {
	return intercept(b, e.st.APIURL+"/patient-images/"+sc+"?*", func(ev *fetch.EventRequestPaused) *fetch.FulfillRequestParams {
		if ev.Request.Method != "DELETE" || !strings.Contains(ev.Request.URL, url.QueryEscape(key)) {
			return nil
		}
		return &fetch.FulfillRequestParams{ResponseCode: 500,
			ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "application/json"}},
			Body:            []byte(`{"detail": "저장소에 잠시 연결할 수 없습니다."}`)}
	})
}

// ensureLarge makes sure the large view shows key, opening it from the page if need be.
func (b tab) ensureLarge(key string, phone bool) {
	b.t.Helper()
	if string(b.eval("large view open?", fmt.Sprintf(`document.querySelector('#large').open && document.querySelector('#large img').dataset.key === %q`, key))) == "true" {
		return
	}
	b.do("close", chromedp.KeyEvent(kb.Escape))
	b.press("open "+key, fmt.Sprintf(`[data-key=%q] button[data-control=view]`, key), phone)
	b.wait("large view", `document.querySelector('#large').open && !document.querySelector('#large img').hidden`, 10*time.Second)
}

// listed is the scenario's listing as staff see it.
func (e *browserEnv) listed(t *testing.T, sc string) []apiclient.Image {
	t.Helper()
	l, err := e.directAPI(t).List(t.Context(), sc, apiclient.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l.Images
}

// checkDownload presses "원본 다운로드" in the open large view and waits for the browser to save
// a file named want holding exactly the stored original's bytes (read from S3 through the
// download route).
func (e *browserEnv) checkDownload(t *testing.T, b tab, want string) {
	t.Helper()
	dir := t.TempDir()
	bctx := chromedp.FromContext(b.ctx).BrowserContextID
	if _, err := chromedp.CallBrowser(b.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, BrowserContextID: bctx, DownloadPath: dir}); err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
	key := b2s(b.eval("key", `document.querySelector('#large img').dataset.key`))
	b.press("download the original", "#large-download", strings.HasPrefix(b.name, "phone"))
	var path string
	for deadline := time.Now().Add(15 * time.Second); path == ""; {
		entries, _ := os.ReadDir(dir)
		for _, en := range entries {
			if !strings.HasSuffix(en.Name(), ".crdownload") {
				path = filepath.Join(dir, en.Name())
			}
		}
		if time.Now().After(deadline) {
			b.fail("download", fmt.Errorf("no file in %s after 15 s (%v)", dir, entries))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := filepath.Base(path); got != want {
		t.Errorf("downloaded as %q, want %q", got, want)
	}
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.directAPI(t).DownloadURL(t.Context(), key, 60)
	if err != nil {
		t.Fatal(err)
	}
	stored, _, err := e.directAPI(t).Fetch(t.Context(), d.DownloadURL)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, stored) || len(body) < 10000 {
		t.Errorf("the download is %d bytes, the stored original %d: not the original", len(body), len(stored))
	}
	b.wait("said", `document.querySelector('#large-status').textContent.includes('저장했습니다')`, 5*time.Second)
}
