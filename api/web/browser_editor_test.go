package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// editSource is the 800x600 photo the editor tests work on: red grows to the right, green
// downwards, and blue is an 8-pixel checkerboard, so a pixelated block (25 pixels) is visibly
// uniform where the photo was not.
func editSource(t *testing.T) ([]byte, image.Image) {
	img := image.NewRGBA(image.Rect(0, 0, 800, 600))
	for y := range 600 {
		for x := range 800 {
			b := uint8(40)
			if (x/8+y/8)%2 == 1 {
				b = 220
			}
			img.Set(x, y, color.RGBA{uint8(30 + x*200/800), uint8(30 + y*200/600), b, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	// The reference is the JPEG as decoded, as the browser sees it.
	ref, err := jpeg.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), ref
}

// stats is the mean and standard deviation of each channel over r.
func stats(img image.Image, r image.Rectangle) (mean, sd [3]float64) {
	var sum, sq [3]float64
	n := 0.0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			for i, v := range []uint8{c.R, c.G, c.B} {
				sum[i] += float64(v)
				sq[i] += float64(v) * float64(v)
			}
			n++
		}
	}
	for i := range 3 {
		mean[i] = sum[i] / n
		sd[i] = math.Sqrt(math.Max(0, sq[i]/n-mean[i]*mean[i]))
	}
	return mean, sd
}

func maxDiff(a, b [3]float64) float64 {
	d := 0.0
	for i := range 3 {
		d = math.Max(d, math.Abs(a[i]-b[i]))
	}
	return d
}

// storedOriginal reads, straight from S3 through the listing's url, the original of the ready
// upload whose picked name is name.
func storedOriginal(t *testing.T, prof tab, sc, name string) image.Image {
	t.Helper()
	raw := prof.eval("the listing's url of "+name, fmt.Sprintf(`import(document.querySelector('script[type=module]').src.replace(/[^/]*$/, 'api.js'))
		.then(async (m) => { const im = (await m.listImages(%q)).images.find((i) => i.original_filename === %q && i.status === 'ready'); return im ? im.url : ''; })`, sc, name))
	u := b2s(raw)
	if u == "" {
		t.Fatalf("%s is not listed as ready", name)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET the stored %s: %d %s", name, resp.StatusCode, body)
	}
	img, _, err := image.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("decode the stored %s: %v", name, err)
	}
	return img
}

// checkEditor, in its own scenario: with "edit before upload" on, three picked photos open in the
// editor in turn. The first gets a black cover drawn with the mouse (a finger on the phone) and a
// pixelated rectangle made with the keyboard, the second is turned, the third cropped with the
// keyboard; what S3 holds is measured. A fourth is cancelled with Esc and never listed.
func (e *browserEnv) checkEditor(t *testing.T, prof tab, vp viewport, shot func(string)) {
	t.Helper()
	sc := "edit-" + vp.name
	prof.do("open the editor's scenario", chromedp.Navigate(e.st.APIURL+"/scenarios/"+sc))
	prof.wait("empty scenario", `location.pathname === '/scenarios/`+sc+`' && !!document.querySelector('#images .empty')`, 10*time.Second)
	prof.do("turn on editing before upload", chromedp.Click(chromedp.CSS(`label[for=edit-before-upload]`)))
	prof.wait("on", `document.querySelector('#edit-before-upload').checked`, 2*time.Second)

	src, ref := editSource(t)
	var pngSrc bytes.Buffer // a PNG of the same photo: the edited file is a JPEG named .jpg
	if err := png.Encode(&pngSrc, ref); err != nil {
		t.Fatal(err)
	}
	files := []string{e.file(t, "가리기.jpg", src), e.file(t, "회전.png", pngSrc.Bytes()), e.file(t, "자르기.jpg", src)}
	prof.do("pick three photos", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), files))
	const editing = `(() => { const d = document.querySelector('#editor'); return d.open && document.querySelector('#editor-title').textContent === %q &&
		document.querySelector('#editor-file').textContent.startsWith(%q) && document.activeElement.id === 'editor-canvas' &&
		document.querySelector('#editor-canvas').width > 0; })()`
	prof.wait("the editor opens on the first", fmt.Sprintf(editing, "사진 편집 (1/3)", "가리기.jpg"), 10*time.Second)
	if got := b2s(prof.eval("nothing sent yet", `String(document.querySelectorAll('#uploads li').length)`)); got != "0" {
		t.Errorf("%s upload rows while the first photo is in the editor", got)
	}

	// The canvas must fit the screen, and touch must not scroll it.
	var box struct{ L, T, W, H, VW, VH float64 }
	if err := json.Unmarshal(prof.eval("canvas box", `(() => { const r = document.querySelector('#editor-canvas').getBoundingClientRect();
		const d = document.querySelector('#editor').getBoundingClientRect();
		if (getComputedStyle(document.querySelector('#editor-canvas')).touchAction !== 'none') throw new Error('touch-action is not none');
		if (d.bottom > innerHeight + 1 || d.right > innerWidth + 1 || d.top < -1 || d.left < -1) throw new Error('the dialog does not fit: ' + JSON.stringify(d));
		return {L: r.left, T: r.top, W: r.width, H: r.height, VW: innerWidth, VH: innerHeight}; })()`), &box); err != nil {
		t.Fatal(err)
	}
	if box.W <= 0 || box.L < 0 || box.L+box.W > box.VW+1 || box.T+box.H > box.VH+1 {
		t.Errorf("the canvas %+v does not fit the %s screen", box, vp.name)
	}
	// Image pixel → screen point.
	pt := func(x, y float64) (float64, float64) { return box.L + x/800*box.W, box.T + y/600*box.H }

	// A cover, drawn from (100,100) to (300,250) with the mouse, or a finger on the phone.
	cover := image.Rect(100, 100, 300, 250)
	x0, y0 := pt(float64(cover.Min.X), float64(cover.Min.Y))
	x1, y1 := pt(float64(cover.Max.X), float64(cover.Max.Y))
	if vp.phone {
		touch := func(typ input.DispatchTouchEventType, x, y float64) chromedp.Action[chromedp.Void] {
			return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				p := input.DispatchTouchEventParams{Type: typ, TouchPoints: []*input.TouchPoint{}}
				if typ != input.DispatchTouchEventTypeTouchEnd {
					id := 0.0
					p.TouchPoints = []*input.TouchPoint{{X: x, Y: y, ID: &id}}
				}
				_, err := cdp.Call(ctx, tg, input.DispatchTouchEvent, p)
				return err
			})
		}
		prof.do("draw a cover with a finger",
			touch(input.DispatchTouchEventTypeTouchStart, x0, y0),
			touch(input.DispatchTouchEventTypeTouchMove, (x0+x1)/2, (y0+y1)/2),
			touch(input.DispatchTouchEventTypeTouchMove, x1, y1),
			touch(input.DispatchTouchEventTypeTouchEnd, 0, 0))
	} else {
		prof.do("draw a cover with the mouse",
			chromedp.MouseEvent(chromedp.MouseMoved, x0, y0),
			chromedp.MouseEvent(chromedp.MousePressed, x0, y0, chromedp.ButtonLeft, chromedp.ClickCount(1)),
			chromedp.MouseEvent(chromedp.MouseMoved, (x0+x1)/2, (y0+y1)/2, chromedp.ButtonLeft),
			chromedp.MouseEvent(chromedp.MouseMoved, x1, y1, chromedp.ButtonLeft),
			chromedp.MouseEvent(chromedp.MouseReleased, x1, y1, chromedp.ButtonLeft, chromedp.ClickCount(1)))
	}
	prof.wait("the cover is said", `document.querySelector('#editor-status').textContent.includes('검게 가리기 1곳을 더했습니다') &&
		document.querySelector('#editor-summary').textContent.startsWith('가리기 1곳 · 모자이크 0곳')`, 5*time.Second)

	// A pixelated square made with the keyboard: the first arrow makes a rectangle in the
	// middle (300,225 200x150), arrows move it by 10 pixels (1/80 of 800), Shift+arrows resize.
	prof.do("choose pixelate", chromedp.Click(chromedp.CSS(`#editor button[data-tool=pixelate]`)))
	prof.do("focus the photo", chromedp.Focus(chromedp.CSS("#editor-canvas")))
	prof.do("make a rectangle", chromedp.KeyEvent(kb.ArrowRight))
	for range 10 {
		prof.do("move right", chromedp.KeyEvent(kb.ArrowRight))
	}
	for range 5 {
		prof.do("taller", chromedp.KeyEvent(kb.ArrowDown, chromedp.KeyModifiers(chromedp.ModifierShift)))
	}
	prof.wait("where it is, said", `document.querySelector('#editor-status').textContent.includes('왼쪽에서 50%, 위에서 38%, 크기 25%×33%')`, 5*time.Second)
	prof.do("add it", chromedp.KeyEvent(kb.Enter))
	prof.wait("the pixelation is said", `document.querySelector('#editor-status').textContent.includes('모자이크 1곳을 더했습니다') &&
		document.querySelector('#editor-summary').textContent.startsWith('가리기 1곳 · 모자이크 1곳')`, 5*time.Second)
	pix := image.Rect(400, 225, 600, 425)
	e.axe(prof, "photo editor")
	shot("editor-cover-pixelate")
	prof.do("apply", chromedp.Click(chromedp.CSS("#editor-apply")))

	// The second: turned a quarter.
	prof.wait("the editor opens on the second", fmt.Sprintf(editing, "사진 편집 (2/3)", "회전.png"), 10*time.Second)
	prof.do("turn", chromedp.Click(chromedp.CSS("#editor-rotate")))
	prof.wait("turned", `document.querySelector('#editor-summary').textContent.includes('회전 90°') && document.querySelector('#editor-canvas').getAttribute('aria-label').includes('600×800')`, 5*time.Second)
	shot("editor-rotated")
	prof.do("apply", chromedp.Click(chromedp.CSS("#editor-apply")))

	// The third: cropped to 400x300 at (300,225) with the keyboard.
	prof.wait("the editor opens on the third", fmt.Sprintf(editing, "사진 편집 (3/3)", "자르기.jpg"), 10*time.Second)
	prof.do("choose crop", chromedp.Click(chromedp.CSS(`#editor button[data-tool=crop]`)))
	prof.wait("crop chosen", `document.querySelector('#editor button[data-tool=crop]').getAttribute('aria-pressed') === 'true'`, 2*time.Second)
	prof.do("focus the photo", chromedp.Focus(chromedp.CSS("#editor-canvas")))
	prof.do("make a rectangle", chromedp.KeyEvent(kb.ArrowDown))
	for range 20 {
		prof.do("wider", chromedp.KeyEvent(kb.ArrowRight, chromedp.KeyModifiers(chromedp.ModifierShift)))
	}
	for range 15 {
		prof.do("taller", chromedp.KeyEvent(kb.ArrowDown, chromedp.KeyModifiers(chromedp.ModifierShift)))
	}
	prof.do("crop", chromedp.KeyEvent(kb.Enter))
	prof.wait("the crop is said", `document.querySelector('#editor-summary').textContent.includes('자르기 400×300')`, 5*time.Second)
	e.axe(prof, "photo editor, cropping")
	shot("editor-crop")
	prof.do("apply", chromedp.Click(chromedp.CSS("#editor-apply")))

	prof.wait("the three edited photos are ready, as JPEGs under their names", `(() => {
		const li = (f) => document.querySelector('#uploads li[data-file="' + f + '"]');
		for (const f of ['가리기.jpg', '회전.jpg', '자르기.jpg']) {
			if (li(f) && /rejected|failed|invalid/.test(li(f).dataset.state)) throw new Error(li(f).textContent);
			if (!li(f) || li(f).dataset.state !== 'ready' || !li(f).querySelector('.note').textContent.startsWith('편집해서 올렸습니다')) return false;
		}
		return !document.querySelector('#editor').open && !li('회전.png');
	})()`, 40*time.Second)
	shot("edited-uploads")

	// What S3 holds: black in exactly the cover, uniform blocks in the pixelated square, the
	// photo unchanged elsewhere.
	got := storedOriginal(t, prof, sc, "가리기.jpg")
	if b := got.Bounds(); b.Dx() != 800 || b.Dy() != 600 {
		t.Fatalf("the covered photo is stored %dx%d, want 800x600", b.Dx(), b.Dy())
	}
	const margin = 6 // the pointer's rounding (a CSS pixel is about 2 image pixels) and JPEG ringing
	inCover := cover.Inset(margin)
	if m, _ := stats(got, inCover); m[0] > 12 || m[1] > 12 || m[2] > 12 {
		t.Errorf("the covered region %v is not black: mean %v", inCover, m)
	}
	for y := inCover.Min.Y; y < inCover.Max.Y; y += 3 {
		for x := inCover.Min.X; x < inCover.Max.X; x += 3 {
			if c := color.RGBAModel.Convert(got.At(x, y)).(color.RGBA); c.R > 40 || c.G > 40 || c.B > 40 {
				t.Fatalf("pixel (%d,%d) in the cover is %v", x, y, c)
			}
		}
	}
	const block = 25 // ceil(800/32)
	worst, blocks := 0.0, 0
	for by := pix.Min.Y; by < pix.Max.Y; by += block {
		for bx := pix.Min.X; bx < pix.Max.X; bx += block {
			r := image.Rect(bx, by, bx+block, by+block)
			m, sd := stats(got, r.Inset(5))
			want, srcSD := stats(ref, r)
			if srcSD[2] < 60 {
				t.Fatalf("the test photo is too smooth in %v to tell a pixelation: sd %v", r, srcSD)
			}
			worst = math.Max(worst, math.Max(sd[0], math.Max(sd[1], sd[2])))
			if d := maxDiff(m, want); d > 14 {
				t.Errorf("pixelated block %v has mean %v, want the photo's mean there %v", r, m, want)
			}
			blocks++
		}
	}
	if worst > 12 {
		t.Errorf("the pixelated square's %d blocks are not uniform: a block's inner standard deviation is %.1f (the photo's is about 90)", blocks, worst)
	}
	// Outside both, within JPEG tolerance of the photo.
	near := func(r image.Rectangle) bool {
		return r.Overlaps(cover.Inset(-10)) || r.Overlaps(pix.Inset(-10))
	}
	outside := 0
	for y := 0; y+16 <= 600; y += 40 {
		for x := 0; x+16 <= 800; x += 40 {
			r := image.Rect(x, y, x+16, y+16)
			if near(r) {
				continue
			}
			a, _ := stats(got, r)
			b, _ := stats(ref, r)
			if d := maxDiff(a, b); d > 10 {
				t.Errorf("outside the edits, %v changed: mean %v, the photo's %v", r, a, b)
			}
			outside++
		}
	}
	t.Logf("covered photo: cover %v black, %d pixelated blocks (worst inner sd %.1f), %d windows outside unchanged", inCover, blocks, worst, outside)

	// Turned clockwise: 600x800, the photo's bottom-left now top-left.
	got = storedOriginal(t, prof, sc, "회전.jpg")
	if b := got.Bounds(); b.Dx() != 600 || b.Dy() != 800 {
		t.Errorf("the turned photo is stored %dx%d, want 600x800", b.Dx(), b.Dy())
	} else {
		turned := image.NewRGBA(image.Rect(0, 0, 600, 800))
		for y := range 800 {
			for x := range 600 {
				turned.Set(x, y, ref.At(y, 599-x))
			}
		}
		compareWindows(t, "turned", got, turned)
	}

	// Cropped: 400x300, the photo's (300,225) now at the corner.
	got = storedOriginal(t, prof, sc, "자르기.jpg")
	if b := got.Bounds(); b.Dx() != 400 || b.Dy() != 300 {
		t.Errorf("the cropped photo is stored %dx%d, want 400x300", b.Dx(), b.Dy())
	} else {
		crop := image.NewRGBA(image.Rect(0, 0, 400, 300))
		draw.Draw(crop, crop.Bounds(), ref, image.Pt(300, 225), draw.Src)
		compareWindows(t, "cropped", got, crop)
	}

	// A registered image edited again (issue 17 item 5): the edited photo becomes a new upload
	// with the old one's caption, place and pin, and the old one is gone for good.
	var old struct{ Key, URL, S3URL string }
	if err := json.Unmarshal(prof.eval("the covered photo's listing", fmt.Sprintf(`import(document.querySelector('script[type=module]').src.replace(/[^/]*$/, 'api.js'))
		.then(async (m) => { const im = (await m.listImages(%q)).images.find((i) => i.original_filename === '가리기.jpg'); return {Key: im.s3_key, URL: im.url, S3URL: im.s3_url}; })`, sc)), &old); err != nil {
		t.Fatal(err)
	}
	prof.wait("three cards", `document.querySelectorAll('#images li.tile[data-status=ready]').length === 3`, 10*time.Second)
	prof.do("move it to the middle", chromedp.Click(chromedp.CSS(card(old.Key, "[data-control=down]"))))
	prof.wait("moved", fmt.Sprintf(`document.querySelector('#images').getAttribute('aria-busy') === 'false' && document.querySelectorAll('#images li.tile')[1] && [...document.querySelectorAll('#images li.tile')].findIndex(li => li.dataset.key === %q) >= 1`, old.Key), 10*time.Second)
	var pos int
	_ = json.Unmarshal(prof.eval("its place", fmt.Sprintf(`[...document.querySelectorAll('#images li.tile')].findIndex(li => li.dataset.key === %q)`, old.Key)), &pos)
	prof.do("caption it", chromedp.Click(chromedp.CSS(card(old.Key, "textarea"))), chromedp.SendKeys(chromedp.CSS(card(old.Key, "textarea")), "왼쪽 위를 가림"))
	prof.do("save", chromedp.Click(chromedp.CSS(card(old.Key, "[data-control=save-caption]"))))
	prof.wait("saved", fmt.Sprintf(`document.querySelector(%q).disabled`, card(old.Key, "[data-control=save-caption]")), 5*time.Second)
	prof.do("pin it", chromedp.Click(chromedp.CSS(card(old.Key, "button.pin"))))
	prof.wait("pinned", fmt.Sprintf(`document.querySelector(%q).dataset.rep === 'true'`, card(old.Key, "")), 10*time.Second)
	prof.do("edit it", chromedp.Click(chromedp.CSS(card(old.Key, "[data-control=edit]"))))
	prof.wait("the editor opens on its original", fmt.Sprintf(editing, "사진 편집", "가리기.jpg")+` && document.querySelector('#editor-skip').hidden &&
		document.querySelector('#editor-canvas').getAttribute('aria-label').includes('800×600')`, 10*time.Second)
	// One more cover, with the keyboard: the middle rectangle (300,225)-(500,375).
	prof.do("make a rectangle", chromedp.KeyEvent(kb.ArrowLeft))
	prof.do("cover it", chromedp.KeyEvent(kb.Enter))
	prof.wait("covered", `document.querySelector('#editor-summary').textContent.startsWith('가리기 1곳')`, 5*time.Second)
	applied := time.Now()
	prof.do("apply", chromedp.Click(chromedp.CSS("#editor-apply")))
	prof.wait("asked, saying the old link stops working", `document.querySelector('#confirm-delete').open && document.querySelector('#confirm-ok').textContent === '바꾸기' &&
		document.querySelector('#confirm-rep').textContent.includes('s3_url') && document.querySelector('#confirm-text').textContent.includes('완전히 삭제')`, 15*time.Second)
	t.Logf("asked %s after apply", time.Since(applied).Round(time.Millisecond))
	e.axe(prof, "replace with the edited photo")
	shot("confirm-replace-edited")
	prof.do("replace", chromedp.Click(chromedp.CSS("#confirm-ok")))
	prof.wait("replaced: a new card in its place, with its caption and pin", fmt.Sprintf(`(() => {
		const t = [...document.querySelectorAll('#images li.tile')];
		const n = t[%d];
		return t.length === 3 && !t.some(li => li.dataset.key === %q) && n && n.dataset.status === 'ready' && n.dataset.rep === 'true' &&
			n.querySelector('.name').textContent === '가리기.jpg' && n.querySelector('textarea').value === '왼쪽 위를 가림' &&
			document.activeElement.dataset.control === 'edit' && document.activeElement.closest('li') === n;
	})()`, pos, old.Key), 40*time.Second)
	shot("replaced-edited")
	if got := e.statusOf(t, old.Key); got != http.StatusNotFound {
		t.Errorf("the replaced image's status is %d, want 404 (deleted for good)", got)
	}
	if resp, err := http.Get(old.URL); err == nil {
		if resp.StatusCode == http.StatusOK {
			t.Errorf("the replaced image's original is still in S3")
		}
		resp.Body.Close()
	}
	got = storedOriginal(t, prof, sc, "가리기.jpg")
	if b := got.Bounds(); b.Dx() != 800 || b.Dy() != 600 {
		t.Fatalf("the replaced photo is stored %dx%d, want 800x600", b.Dx(), b.Dy())
	}
	for _, r := range []image.Rectangle{inCover, image.Rect(300, 225, 500, 375).Inset(4)} {
		if m, _ := stats(got, r); m[0] > 12 || m[1] > 12 || m[2] > 12 {
			t.Errorf("in the replaced photo, %v is not black: mean %v", r, m)
		}
	}

	// Esc cancels: the photo is not sent, not even listed.
	prof.do("pick one more", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), []string{e.file(t, "취소.jpg", src)}))
	prof.wait("the editor opens", fmt.Sprintf(editing, "사진 편집", "취소.jpg"), 10*time.Second)
	prof.do("Esc", chromedp.KeyEvent(kb.Escape))
	prof.wait("closed, said, focus back on the option", `!document.querySelector('#editor').open && document.activeElement.id === 'edit-before-upload'`, 5*time.Second)
	time.Sleep(500 * time.Millisecond)
	if got := b2s(prof.eval("rows", `String(document.querySelectorAll('#uploads li[data-file^="취소"]').length)`)); got != "0" {
		t.Errorf("a photo cancelled in the editor was listed for upload (%s rows)", got)
	}
}

// compareWindows compares 16x16 window means of two images of the same size.
func compareWindows(t *testing.T, what string, got, want image.Image) {
	t.Helper()
	b := want.Bounds()
	bad := 0
	for y := 0; y+16 <= b.Dy(); y += 40 {
		for x := 0; x+16 <= b.Dx(); x += 40 {
			r := image.Rect(x, y, x+16, y+16)
			g, _ := stats(got, r)
			w, _ := stats(want, r)
			if d := maxDiff(g, w); d > 10 {
				bad++
				if bad <= 3 {
					t.Errorf("%s photo: window %v has mean %v, want %v", what, r, g, w)
				}
			}
		}
	}
}
