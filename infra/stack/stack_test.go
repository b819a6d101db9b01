package stack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"medicpx/infra/testenv/apiclient"
	"medicpx/infra/testenv/logbuf"
	"medicpx/infra/testenv/testimage"
	"medicpx/infra/testenv/versity"
	"medicpx/shared/keys"
)

func buildBinaries(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := Build(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func startStack(t *testing.T, bin, data string) *Stack {
	t.Helper()
	var out io.Writer = io.Discard
	if testing.Verbose() {
		out = os.Stderr
	}
	st, err := Start(context.Background(), Options{
		DataDir: data, APIBin: filepath.Join(bin, "medicpx-api"), ProcessorBin: filepath.Join(bin, "medicpx-processor"),
		WebOrigins: []string{frontendOrigin}, Output: out,
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// frontendOrigin stands for the platform frontend's dev server, a browser origin other than the API's.
const frontendOrigin = "http://localhost:3000"

// preflight sends a browser's CORS preflight and returns the allowed origin.
func preflight(t *testing.T, url, method string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodOptions, url, nil)
	req.Header.Set("Origin", frontendOrigin)
	req.Header.Set("Access-Control-Request-Method", method)
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("Access-Control-Allow-Origin")
}

// TestCORS: the frontend's origin may call the API and upload to the bucket; no other origin may.
func TestCORS(t *testing.T) {
	st := startStack(t, buildBinaries(t), t.TempDir())
	defer st.Stop()
	if got := preflight(t, st.APIURL+"/patient-images/upload-url/1", "POST"); got != frontendOrigin {
		t.Errorf("API preflight: Access-Control-Allow-Origin %q", got)
	}
	if got := preflight(t, st.S3URL+"/medicpx/"+keys.StagedKey("patient_images/scenario_1/x.jpg"), "PUT"); got != frontendOrigin && got != "*" {
		t.Errorf("bucket preflight: Access-Control-Allow-Origin %q", got)
	}
	// The methods a browser preflights with the method itself in question: the local binary must
	// list each (caption is PATCH, the order PUT, delete DELETE), as the HTTP API does in AWS.
	for _, c := range []struct{ method, path string }{
		{"PATCH", "/patient-images/scenarios/1/images/x.jpg"},
		{"PUT", "/patient-images/scenarios/1/order"},
		{"DELETE", "/patient-images/1"},
	} {
		req, _ := http.NewRequest(http.MethodOptions, st.APIURL+c.path, nil)
		req.Header.Set("Origin", frontendOrigin)
		req.Header.Set("Access-Control-Request-Method", c.method)
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		methods := strings.Split(strings.ReplaceAll(resp.Header.Get("Access-Control-Allow-Methods"), " ", ""), ",")
		headers := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
		if resp.Header.Get("Access-Control-Allow-Origin") != frontendOrigin || !slices.Contains(methods, c.method) ||
			!strings.Contains(headers, "authorization") || !strings.Contains(headers, "content-type") {
			t.Errorf("API preflight for %s %s: %d %v", c.method, c.path, resp.StatusCode, resp.Header)
		}
	}
	req, _ := http.NewRequest(http.MethodOptions, st.APIURL+"/patient-images/upload-url/1", nil)
	req.Header.Set("Origin", "http://evil.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("API allowed an unknown origin")
	}
}

// jpegFile is the test photo in a file, for the seed's Node code.
func jpegFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "patient_photo.jpg")
	if err := os.WriteFile(p, testimage.JPEG(640, 480), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSeedFrontend runs the seed's own axios functions under Node against the whole local stack:
// professor upload → processor → student list → representative → download → delete.
func TestSeedFrontend(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is required (the machine ships Node 20)")
	}
	root, _ := versity.ModuleRoot()
	nodePath := os.Getenv("NODE_PATH")
	if nodePath == "" {
		nodePath = filepath.Join(root, ".tools", "node", "node_modules")
	}
	if _, err := os.Stat(filepath.Join(nodePath, "axios")); err != nil {
		t.Fatalf("axios is not installed under %s: run `make tools`", nodePath)
	}
	st := startStack(t, buildBinaries(t), t.TempDir())
	defer st.Stop()
	prof, err := st.Token("professor")
	if err != nil {
		t.Fatal(err)
	}
	stud, err := st.Token("student")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "testdata/seed-frontend.cjs")
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodePath, "BASE_URL="+st.APIURL, "PROFESSOR_TOKEN="+prof,
		"STUDENT_TOKEN="+stud, "IMAGE_PATH="+jpegFile(t), "SCENARIO_ID=seed1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "seed frontend flow: ok") {
		t.Fatalf("seed frontend: %v\n%s", err, out)
	}
}

// TestRestartKeepsData: a second start on the same data folder serves what the first stored, with
// the same secret (tokens stay valid).
func TestRestartKeepsData(t *testing.T) {
	bin, data := buildBinaries(t), t.TempDir()
	st := startStack(t, bin, data)
	key := "patient_images/scenario_1/11111111-1111-4111-8111-111111111111.jpg"
	img := testimage.JPEG(640, 480)
	if _, err := st.S3.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String("medicpx"), Key: aws.String(key), Body: bytes.NewReader(img), ContentType: aws.String("image/jpeg"),
	}); err != nil {
		t.Fatal(err)
	}
	tok, _ := st.Token("professor")
	st.Stop()
	if resp, err := http.Get(st.APIURL + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatal("API still answering after Stop")
	}

	st2 := startStack(t, bin, data)
	defer st2.Stop()
	if st2.Secret != st.Secret {
		t.Fatal("secret changed across restarts")
	}
	list, err := apiclient.New(st2.APIURL, tok).List(t.Context(), "1", apiclient.ListOptions{})
	if err != nil || !slices.ContainsFunc(list.Images, func(im apiclient.Image) bool { return im.S3Key == key }) {
		t.Fatalf("after restart: %v %+v", err, list)
	}
}

// startWatched starts a stack whose children's output (and the launcher's messages) the test
// reads, and shows when it fails.
func startWatched(t *testing.T) (*Stack, *logbuf.Buffer) {
	t.Helper()
	out := &logbuf.Buffer{}
	bin := buildBinaries(t)
	st, err := Start(context.Background(), Options{
		DataDir: t.TempDir(), APIBin: filepath.Join(bin, "medicpx-api"), ProcessorBin: filepath.Join(bin, "medicpx-processor"),
		Output: out,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		st.Stop()
		if t.Failed() {
			t.Logf("stack output:\n%s", out)
		}
	})
	return st, out
}

// TestProcessorKilledDuringBurst is issue 9's crash test: the processor is SIGKILLed in the middle
// of a burst of uploads through presigned URLs. The launcher must restart it, and the restarted
// processor must sweep at once, so that every upload becomes ready with nobody doing anything.
func TestProcessorKilledDuringBurst(t *testing.T) {
	const uploads, killAfter = 80, 25
	st, out := startWatched(t)
	tok, err := st.Token("professor")
	if err != nil {
		t.Fatal(err)
	}
	img := testimage.JPEG(640, 480)
	api := apiclient.New(st.APIURL, tok)
	killed := st.sup.current("processor").(*process)
	keys := map[string]bool{}
	for i := range uploads {
		if i == killAfter {
			if err := killed.cmd.Process.Kill(); err != nil { // SIGKILL: no drain, no goodbye
				t.Fatal(err)
			}
		}
		u, err := api.Upload(t.Context(), "burst", fmt.Sprintf("burst_%03d.jpg", i), img)
		if err != nil {
			t.Fatalf("upload %d: %v", i, err)
		}
		keys[u.S3Key] = true
	}
	<-killed.Done()

	// Nobody restarts anything from here on: the stack must finish the work by itself.
	deadline := time.Now().Add(3 * time.Minute)
	var ready, listed int
	for {
		list, err := api.List(t.Context(), "burst", apiclient.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ready, listed = 0, len(list.Images)
		for _, im := range list.Images {
			if keys[im.S3Key] && im.Status == "ready" {
				ready++
			}
		}
		if ready == uploads {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d uploads ready (%d listed) 3 minutes after the processor was killed", ready, uploads, listed)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if now := st.sup.current("processor").(*process); now == killed {
		t.Error("the processor was not replaced")
	}
	if !strings.Contains(out.String(), "processor exited unexpectedly (signal: killed)") {
		t.Errorf("no restart message in the stack's output")
	}
	// The restarted receiver swept at once and found the uploads whose events were lost (the
	// periodic sweep would only come a minute later).
	if !regexp.MustCompile(`"msg":"swept".*"pending":[1-9]`).MatchString(out.String()) {
		t.Errorf("no sweep with pending uploads in the stack's output")
	}
	select {
	case <-st.Failed():
		t.Fatalf("stack gave up: %v", st.Err())
	default:
	}
	t.Logf("all %d uploads ready; the processor was SIGKILLed after %d", uploads, killAfter)
}

// TestAPIAndS3AreRestarted: the API and versitygw are restarted like the processor, and the stack
// serves again (the same data) without anyone restarting it.
func TestAPIAndS3AreRestarted(t *testing.T) {
	st, out := startWatched(t)
	tok, _ := st.Token("student")
	list := func() int {
		_, err := apiclient.New(st.APIURL, tok).List(t.Context(), "1", apiclient.ListOptions{})
		return apiclient.StatusOf(err)
	}
	for _, name := range []string{"versitygw", "api"} {
		old := st.sup.current(name)
		proc, err := os.FindProcess(old.(interface{ Pid() int }).Pid())
		if err != nil {
			t.Fatal(err)
		}
		if err := proc.Kill(); err != nil {
			t.Fatal(err)
		}
		<-old.Done()
		// The new process may answer before the supervisor records it as current, so wait for
		// both rather than check the second once the first holds.
		deadline := time.Now().Add(time.Minute)
		for list() != http.StatusOK || st.sup.current(name) == old {
			if time.Now().After(deadline) {
				t.Fatalf("after killing %s the API never listed again from a replaced process (replaced: %v)",
					name, st.sup.current(name) != old)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if !strings.Contains(out.String(), name+" exited unexpectedly (signal: killed)") {
			t.Errorf("no restart message for %s", name)
		}
	}
}
