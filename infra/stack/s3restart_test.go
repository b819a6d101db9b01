package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"medicpx/infra/testenv/testimage"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"medicpx/shared/keys"
)

// TestS3RestartSweeps is issue 22 item 3: uploads whose events were lost while versitygw was down
// are processed as soon as the restarted versitygw answers, not at the next periodic sweep. The
// periodic sweep is set to an hour, so only the restart can explain their processing.
//
// The lost events are made deterministic: each upload's bytes are stored (with their content type)
// under a key the receiver ignores, then moved on disk to the staged key of an upload URL the API
// issued. versitygw's posix backend sees the object there, and no event ever told the receiver.
func TestS3RestartSweeps(t *testing.T) {
	const uploads = 3
	t.Setenv("RECONCILE_INTERVAL", "1h") // the children get the test's environment
	st, out := startWatched(t)
	data := st.opts.DataDir
	tok, err := st.Token("professor")
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, url, body string) []byte {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
			t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, b)
		}
		return b
	}
	ready := func() (n int, statuses []string) {
		var list struct {
			Images []struct {
				Status string `json:"status"`
			} `json:"images"`
		}
		if err := json.Unmarshal(call(http.MethodGet, st.APIURL+"/patient-images/scenarios/s3restart/images", ""), &list); err != nil {
			t.Fatal(err)
		}
		for _, im := range list.Images {
			statuses = append(statuses, im.Status)
			if im.Status == "ready" {
				n++
			}
		}
		return n, statuses
	}
	img := testimage.JPEG(640, 480)
	// The start-up sweeps (the receiver's, and on a fresh data folder the one retried until the
	// bucket exists) come first, or they would find the uploads.
	for deadline := time.Now().Add(time.Minute); !strings.Contains(out.String(), `"msg":"swept"`); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no start-up sweep within a minute")
		}
	}
	time.Sleep(2 * time.Second)
	bucketDir := filepath.Join(data, "s3", "medicpx")
	for i := range uploads {
		var u struct {
			S3Key string `json:"s3_key"`
		}
		body := fmt.Sprintf(`{"filename":"lost_%d.jpg","content_type":"image/jpeg","content_length":%d}`, i, len(img))
		if err := json.Unmarshal(call(http.MethodPost, st.APIURL+"/patient-images/upload-url/s3restart", body), &u); err != nil {
			t.Fatal(err)
		}
		scratch := fmt.Sprintf("scratch/lost_%d.jpg", i) // not staged: its event is ignored
		if _, err := st.S3.PutObject(context.Background(), &s3.PutObjectInput{
			Bucket: aws.String("medicpx"), Key: aws.String(scratch), Body: bytes.NewReader(img), ContentType: aws.String("image/jpeg"),
		}); err != nil {
			t.Fatal(err)
		}
		staged := filepath.Join(bucketDir, filepath.FromSlash(keys.StagedKey(u.S3Key)))
		if err := os.MkdirAll(filepath.Dir(staged), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(bucketDir, filepath.FromSlash(scratch)), staged); err != nil {
			t.Fatal(err)
		}
		if _, err := st.S3.HeadObject(context.Background(), &s3.HeadObjectInput{
			Bucket: aws.String("medicpx"), Key: aws.String(keys.StagedKey(u.S3Key)),
		}); err != nil {
			t.Fatalf("versitygw does not see the staged upload: %v", err)
		}
	}
	// Nothing processes them yet: no event came, and the periodic sweep is an hour away.
	time.Sleep(2 * time.Second)
	if n, statuses := ready(); n != 0 {
		t.Fatalf("%d uploads ready before versitygw restarted (%v): the test cannot tell what processed them", n, statuses)
	}

	old := st.sup.current("versitygw")
	p, err := os.FindProcess(old.(interface{ Pid() int }).Pid())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Kill(); err != nil { // SIGKILL: a crash, which the supervisor restarts
		t.Fatal(err)
	}
	<-old.Done()
	deadline := time.Now().Add(time.Minute)
	for st.sup.current("versitygw") == old {
		if time.Now().After(deadline) {
			t.Fatal("versitygw was not restarted within a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
	back := time.Now()
	for {
		n, statuses := ready()
		if n == uploads {
			t.Logf("all %d uploads ready %s after versitygw was back", uploads, time.Since(back).Round(100*time.Millisecond))
			return
		}
		if time.Since(back) > 20*time.Second {
			t.Fatalf("%d of %d uploads ready 20 s after versitygw was restarted (statuses %v)", n, uploads, statuses)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
