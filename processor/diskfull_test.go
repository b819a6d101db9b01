//go:build linux

package processor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/google/uuid"

	"medicpx/infra/testenv/testimage"
	"medicpx/infra/testenv/versity/versitytest"
	"medicpx/shared/keys"
)

// mountSmallTmpfs mounts a tmpfs of size on a new folder and makes it the folder temporary
// directories go to (TMPDIR), so versitytest.Start puts versitygw's data there. It skips the test,
// saying why, when it cannot: not root, or the mount is refused (no CAP_SYS_ADMIN, a container).
func mountSmallTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("the disk-full test mounts a tmpfs (size %s), which needs root (euid %d)", size, os.Geteuid())
	}
	dir, err := os.MkdirTemp("", "diskfull")
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		os.Remove(dir)
		t.Skipf("the disk-full test could not mount a tmpfs (size %s) on %s: %v", size, dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
		os.Remove(dir)
	})
	t.Setenv("TMPDIR", dir)
	return dir
}

// fill writes a file of zeros into dir until the file system is full (ENOSPC), bounded by
// limit bytes.
func fill(t *testing.T, dir string, limit int) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for written := 0; written < limit; {
		n, err := f.Write(chunk)
		written += n
		if errors.Is(err, syscall.ENOSPC) {
			return path
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("wrote %d bytes into %s without filling it", limit, dir)
	return ""
}

// TestSweepDiskFull (issue 22): versitygw's data folder is a small tmpfs. Valid photos are staged
// while there is room; then the disk fills, so every write S3 is asked for fails (507
// InsufficientStorage, or 500). Four sweeps while it is full each end in infrastructure faults,
// which never count against the uploads: their attempt tags stay 0 and nothing is quarantined,
// though that is more sweeps than MaxAttempts. Once the space is freed, the next sweep makes every
// photo ready.
func TestSweepDiskFull(t *testing.T) {
	mnt := mountSmallTmpfs(t, "8m")
	s := startStack(t, false)
	ctx := context.Background()

	const photos = 4
	var staged []string
	for i := range photos {
		key := keys.StagedKey(keys.OriginalKey("diskfull", uuid.NewString(), "jpg"))
		s.put(t, key, "image/jpeg", testimage.JPEG(640+16*i, 480))
		staged = append(staged, key)
	}
	filler := fill(t, mnt, 64<<20)

	// S3 itself says the disk is full: a write fails with 507 or 500.
	probe := keys.StagedKey(keys.OriginalKey("diskfull-probe", uuid.NewString(), "jpg"))
	_, err := s.env.Client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(versitytest.Bucket), Key: &probe,
		Body: bytes.NewReader(testimage.JPEG(640, 480)), ContentType: aws.String("image/jpeg")})
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) || (re.HTTPStatusCode() != 507 && re.HTTPStatusCode() != 500) {
		t.Fatalf("a PUT on the full disk: %v; want 507 InsufficientStorage or 500", err)
	}
	var ae smithy.APIError
	errors.As(err, &ae)
	t.Logf("full: a PUT answers %d %v", re.HTTPStatusCode(), errCode(ae))

	p := *s.p
	p.Now = func() time.Time { return time.Now().Add(time.Hour) } // past the reconcile grace
	p.ObjectTimeout = 20 * time.Second
	for sweep := 1; sweep <= MaxAttempts+1; sweep++ {
		sum, err := p.Reconcile(ctx, versitytest.Bucket, keys.Root, time.Minute)
		if !IsInfrastructure(err) || sum.Outcomes[Failed] != photos || sum.Infra != photos || sum.GaveUp != 0 {
			t.Fatalf("sweep %d on the full disk: %+v, %v; want %d infrastructure faults", sweep, sum, err, photos)
		}
		for _, key := range staged {
			if n, err := p.attempts(ctx, versitytest.Bucket, key); err != nil || n != 0 {
				t.Fatalf("after sweep %d %s records %d attempts (%v); want 0", sweep, key, n, err)
			}
		}
		if got := s.list(t, keys.QuarantineRoot); len(got) != 0 {
			t.Fatalf("after sweep %d: quarantined %v", sweep, got)
		}
		if sweep == 1 {
			t.Logf("sweep 1 on the full disk: %+v, %v", sum, err)
		}
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	sum, err := p.Reconcile(ctx, versitytest.Bucket, keys.Root, time.Minute)
	if err != nil || sum.Outcomes[Ready] != photos || sum.GaveUp != 0 {
		t.Fatalf("once space was freed: %+v, %v; want all %d photos ready", sum, err, photos)
	}
	for _, key := range staged {
		k, _ := keys.Parse(key)
		if h := s.head(t, k.OriginalKey()); aws.ToInt64(h.ContentLength) == 0 {
			t.Errorf("%s is empty", k.OriginalKey())
		}
	}
	if got := s.outputs(t, "diskfull"); len(got) != 3*photos {
		t.Errorf("final layout = %v; want %d originals with two thumbnails each", got, photos)
	}
	if got := s.list(t, keys.QuarantineRoot); len(got) != 0 {
		t.Errorf("quarantined (processing_failed) %v", got)
	}
	if got := s.list(t, keys.IncomingRoot+keys.ScenarioPrefix("diskfull")); len(got) != 0 {
		t.Errorf("still staged: %v", got)
	}
}

func errCode(ae smithy.APIError) string {
	if ae == nil {
		return ""
	}
	return fmt.Sprintf("%s (%s)", ae.ErrorCode(), ae.ErrorMessage())
}
