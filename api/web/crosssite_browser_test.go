package web

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"medicpx/infra/smoke"
	"medicpx/infra/stack"
	"medicpx/infra/stack/stacktest"
)

// TestDevLoginCrossSiteInChromium: a page on another site auto-submits a form to the local
// stack's dev sign-in, as an attacker's page would, in a real Chromium against the real devlogin
// binary. The browser's own Origin and Sec-Fetch-Site headers must get it refused, while the
// API's own page still signs in with one click.
func TestDevLoginCrossSiteInChromium(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium is not installed: this test did NOT run (%s missing)", chromiumPath)
	}
	st := stacktest.Start(t, stack.Options{})

	// The attacker's page: another host name (localhost, while the API is 127.0.0.1).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	attacker := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><form method="POST" action="%s/dev/token"><input name="role" value="admin"></form>
<script>document.forms[0].submit()</script>`, st.APIURL)
	})}
	go func() { _ = attacker.Serve(ln) }()
	defer attacker.Close()
	evil := fmt.Sprintf("http://localhost:%d/", ln.Addr().(*net.TCPAddr).Port)

	bctx, cancel := smoke.Browser(context.Background(), chromiumPath)
	defer cancel()
	bctx, cancelT := context.WithTimeout(bctx, 60*time.Second)
	defer cancelT()
	if err := chromedp.Do(bctx, chromedp.Navigate(evil)); err != nil {
		t.Fatal(err)
	}
	var landed, text string
	for {
		landed, err = chromedp.Run(bctx, chromedp.Evaluate[string](`location.href`))
		if err == nil && strings.HasPrefix(landed, st.APIURL) {
			text, err = chromedp.Run(bctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
			if err == nil && text != "" {
				break
			}
		}
		if bctx.Err() != nil {
			t.Fatalf("the form was never answered: at %s, %v", landed, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(text, "개발용 로그인은 이 서버의 페이지에서만") || strings.Contains(text, `"token"`) {
		t.Fatalf("cross-site form POST answered:\n%s\nwant the refusal and no token", text)
	}

	// The API's own page: same origin, so the one-click sign-in works.
	if err := chromedp.Do(bctx, chromedp.Navigate(st.APIURL+"/")); err != nil {
		t.Fatal(err)
	}
	tok, err := chromedp.Run(bctx, chromedp.Evaluate[string](`fetch('/dev/token', {method: 'POST',
		headers: {'Content-Type': 'application/json'}, body: JSON.stringify({role: 'student'})})
		.then((r) => r.json()).then((d) => d.token || '')`, chromedp.EvalAwaitPromise))
	if err != nil || strings.Count(tok, ".") != 2 {
		t.Fatalf("same-origin sign-in: token %q, %v", tok, err)
	}
}
