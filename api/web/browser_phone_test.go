package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"medicpx/infra/testenv/heicsamples"
	"medicpx/infra/testenv/phonesamples"
	"medicpx/shared/imagepolicy"
)

// exifOrientation6 is an EXIF APP1 segment holding only Orientation = 6 (turn a quarter clockwise
// to display), as phones write for a portrait photo stored landscape.
const exifOrientation6 = "\xff\xe1\x00\x22Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00\x00\x00\x00\x00"

// bigPhoneJPEG is a noisy 4320x3240 JPEG of about 13 MB with orientation 6, like a phone photo
// over 10 MiB: noise keeps the re-encoded JPEG large too, so the page has to reduce its size, not
// only its quality.
func bigPhoneJPEG(t *testing.T) []byte {
	const w, h = 4320, 3240
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(8, 13))
	for y := range h {
		for x := range w {
			i := img.PixOffset(x, y)
			img.Pix[i] = uint8(x*255/w) + uint8(rng.IntN(256))
			img.Pix[i+1] = uint8(y*255/h) + uint8(rng.IntN(256))
			img.Pix[i+2] = uint8(rng.IntN(256))
			img.Pix[i+3] = 255
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 92}); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	out := append(append(append([]byte{}, b[:2]...), exifOrientation6...), b[2:]...)
	if len(out) <= 10<<20 {
		t.Fatalf("the big photo is only %d bytes; it must be over 10 MiB", len(out))
	}
	return out
}

// checkPhonePhotos, in scenario 2: a GIF over 10 MiB is refused with the limit; a 13 MB JPEG is
// shrunk in the browser, upright, says by how much, and ends ready; a real iPhone HDR photo ends
// ready and the page says its HDR part was left out; real HEIC photos (with the empty type
// desktop browsers give them) are accepted, converted and said to be.
func checkPhonePhotos(t *testing.T, prof tab, apiURL string, shot func(string, *tab)) {
	t.Helper()
	prof.do("open scenario 2", chromedp.Navigate(apiURL+"/scenarios/2"))
	prof.wait("empty scenario 2", `location.pathname === '/scenarios/2' && !!document.querySelector('#images .empty')`, 10*time.Second)

	prof.eval("drop a big GIF", `(() => {
		const dt = new DataTransfer();
		dt.items.add(new File([new Uint8Array(11 * 1048576)], 'big.gif', {type: 'image/gif'}));
		const zone = document.getElementById('drop-zone');
		for (const type of ['dragenter', 'dragover', 'drop']) {
			zone.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: dt}));
		}
		return true;
	})()`)
	prof.wait("a GIF over 10 MiB is still refused", `(() => {
		const li = document.querySelector('#uploads li[data-file="big.gif"]');
		return li && li.dataset.state === 'invalid' && li.textContent.includes('최대 10MB');
	})()`, 5*time.Second)

	big := filepath.Join(t.TempDir(), "phone-photo.jpg")
	data := bigPhoneJPEG(t)
	if err := os.WriteFile(big, data, 0o644); err != nil {
		t.Fatal(err)
	}
	prof.do("pick a photo over 10 MiB", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), []string{big}))
	prof.wait("the big photo ends ready", `(() => {
		const li = document.querySelector('#uploads li[data-file="phone-photo.jpg"]');
		if (li && /rejected|failed|invalid/.test(li.dataset.state)) throw new Error(li.textContent);
		const img = li && li.querySelector('.result img');
		return li.dataset.state === 'ready' && img && img.complete && img.naturalWidth > 0;
	})()`, 90*time.Second)
	shot("13-phone-photos", &prof)
	var row struct {
		Note           string
		ThumbW, ThumbH int
	}
	if err := json.Unmarshal(prof.eval("read the shrunk photo", `(() => {
		const li = document.querySelector('#uploads li[data-file="phone-photo.jpg"]');
		const img = li.querySelector('.result img');
		return {Note: li.querySelector('.note').textContent, ThumbW: img.naturalWidth, ThumbH: img.naturalHeight};
	})()`), &row); err != nil {
		t.Fatal(err)
	}
	t.Logf("big photo: %d bytes, page says %q, thumbnail %dx%d", len(data), row.Note, row.ThumbW, row.ThumbH)
	m := regexp.MustCompile(`^(\d+\.\d)MB → (\d+\.\d)MB로 줄여서 올렸습니다\.`).FindStringSubmatch(row.Note)
	if m == nil {
		t.Fatalf("page note %q does not say how the photo was shrunk", row.Note)
	}
	before, _ := strconv.ParseFloat(m[1], 64)
	after, _ := strconv.ParseFloat(m[2], 64)
	if want := float64(len(data)) / 1048576; before < want-0.06 || before > want+0.06 || after > 10 || after <= 0 {
		t.Errorf("note says %.1fMB → %.1fMB; want %.1fMB → at most 10MB", before, after, want)
	}
	if row.ThumbH <= row.ThumbW {
		t.Errorf("thumbnail %dx%d: the portrait photo (orientation 6) was not shrunk upright", row.ThumbW, row.ThumbH)
	}

	t.Run("a real iPhone HDR photo says what was removed", func(t *testing.T) {
		dir := phonesamples.Dir(t)
		p := prof
		p.t = t
		p.do("pick an iPhone HDR photo", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), []string{filepath.Join(dir, "iphone14promax_gainmap.jpg")}))
		p.wait("ready, with what was left out", `(() => {
			const li = document.querySelector('#uploads li[data-file="iphone14promax_gainmap.jpg"]');
			if (li && /rejected|failed|invalid/.test(li.dataset.state)) throw new Error(li.textContent);
			return li && li.dataset.state === 'ready' && li.querySelector('.note').textContent === 'HDR 정보는 빼고 일반 사진으로 저장했습니다.';
		})()`, 30*time.Second)
		shot("14-phone-hdr", &p)
	})

	t.Run("real HEIC photos become JPEGs", func(t *testing.T) {
		dir := heicsamples.Dir(t)
		p := prof
		p.t = t
		// As Chrome gives a HEIC it cannot show: an empty type; the extension decides.
		names := []string{"iphonexr_rot90_gps.heic", "nikon_stonehenge_gps.heic"}
		var paths []string
		for _, n := range names {
			paths = append(paths, filepath.Join(dir, n))
		}
		p.do("pick two HEIC photos", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), paths))
		note := imagepolicy.RemovedSentence([]string{imagepolicy.RemovedHEICConverted})
		for _, n := range names {
			// A conversion is seconds of CPU, more on a busy machine.
			p.wait(n+" ready, said converted", fmt.Sprintf(`(() => {
				const li = document.querySelector('#uploads li[data-file=%q]');
				if (li && /rejected|failed|invalid/.test(li.dataset.state)) throw new Error(li.textContent);
				const img = li && li.querySelector('.result img');
				return li && li.dataset.state === 'ready' && li.querySelector('.note').textContent === %q &&
					!li.textContent.includes('설정 > 카메라') && img && img.complete && img.naturalWidth > 0;
			})()`, n, note), 180*time.Second)
		}
		var thumb struct{ W, H int }
		if err := json.Unmarshal(p.eval("the iPhone thumbnail", `(() => {
			const img = document.querySelector('#uploads li[data-file="iphonexr_rot90_gps.heic"] .result img');
			return {W: img.naturalWidth, H: img.naturalHeight};
		})()`), &thumb); err != nil {
			t.Fatal(err)
		}
		if thumb.H <= thumb.W {
			t.Errorf("iPhone thumbnail %dx%d: the portrait photo (irot) is not upright", thumb.W, thumb.H)
		}
		shot("15-heic", &p)
	})
}
