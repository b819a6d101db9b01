package main

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"medicpx/infra/testenv/rie"
	"medicpx/infra/testenv/versity"
)

// TestWarnsWithoutIssuerOrAudience: the API says at start when tokens are not bound to an issuer
// or audience, and stays quiet when one of them is set.
func TestWarnsWithoutIssuerOrAudience(t *testing.T) {
	bin, err := rie.BuildBootstrap(t.TempDir(), "./api/cmd/medicpx-api")
	if err != nil {
		t.Fatal(err)
	}
	const warning = "JWT_ISSUER and JWT_AUDIENCE are both unset"
	for _, tc := range []struct {
		extra []string
		warn  bool
	}{
		{nil, true},
		{[]string{"JWT_ISSUER=https://cpx.example.com"}, false},
		{[]string{"JWT_AUDIENCE=medicpx"}, false},
	} {
		addr, err := versity.FreeAddr()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin)
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "JWT_SECRET=" + strings.Repeat("k", 32), "API_ADDR=" + addr,
			"S3_ENDPOINT=http://127.0.0.1:1", "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=y"}, tc.extra...)
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var lines []string
		done := make(chan struct{})
		go func() {
			defer close(done)
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				lines = append(lines, sc.Text())
				if strings.Contains(sc.Text(), "api listening") {
					return
				}
			}
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		out := strings.Join(lines, "\n")
		if !strings.Contains(out, "api listening") {
			t.Fatalf("%v: the API did not start:\n%s", tc.extra, out)
		}
		if got := strings.Contains(out, warning); got != tc.warn {
			t.Errorf("%v: warned = %v, want %v:\n%s", tc.extra, got, tc.warn, out)
		}
	}
}
