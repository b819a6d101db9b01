package processor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/uuid"

	"medicpx/infra/testenv/versity/versitytest"
	"medicpx/processor/pipeline"
	"medicpx/shared/config"
	"medicpx/shared/imagepolicy"
	"medicpx/shared/keys"
	"medicpx/shared/s3client"
)

// faultServer answers every request with the fault it is set to, the way S3 (or versitygw on a
// full disk) does: a status and an S3 XML error body, or, for "hang", nothing until the client
// gives up.
type faultServer struct {
	*httptest.Server
	fault atomic.Value // "507", "503", "500", "hang"
}

func startFaultServer(t *testing.T) *faultServer {
	f := &faultServer{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		var status int
		var code string
		switch f.fault.Load() {
		case "hang":
			select {
			case <-r.Context().Done():
			case <-time.After(time.Minute):
			}
			return
		case "507":
			status, code = http.StatusInsufficientStorage, "InsufficientStorage"
		case "503":
			status, code = http.StatusServiceUnavailable, "SlowDown"
		default:
			status, code = http.StatusInternalServerError, "InternalError"
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>injected</Message><RequestId>1</RequestId></Error>`, code)
	}))
	t.Cleanup(f.Close)
	return f
}

// faultyReads sends the GetObject calls for one key to another S3 client (a faultServer, or an
// endpoint nobody listens on) while on is set, so the processor sees the SDK's real errors.
type faultyReads struct {
	objectStore
	key   string
	on    *atomic.Bool
	fault *s3.Client
}

func (f faultyReads) GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if aws.ToString(in.Key) == f.key && f.on.Load() {
		return f.fault.GetObject(ctx, in, opts...)
	}
	return f.objectStore.GetObject(ctx, in, opts...)
}

// faultClient is an S3 client for endpoint with the test's credentials, trying each call once (the
// processor's own client retries; here every sweep should meet the fault).
func faultClient(t *testing.T, s *stack, endpoint string) *s3.Client {
	t.Helper()
	cfg := config.S3{Endpoint: endpoint, Region: s.env.S3.Region, PathStyle: true, Bucket: s.env.S3.Bucket}
	c, err := s3client.New(context.Background(), cfg, func(o *s3.Options) {
		o.Retryer = retry.AddWithMaxAttempts(retry.NewStandard(), 1)
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSweepInfrastructureFaults (issue 22, item 1): reading a good photo fails for six sweeps in a
// row (507 InsufficientStorage, 503 SlowDown, a timeout while waiting on S3, a refused connection,
// 500, 507 again), twice as many sweeps as MaxAttempts. None of it counts against the upload: it
// stays staged and uncounted, is never quarantined, and once S3 answers again the next sweep makes
// it ready.
func TestSweepInfrastructureFaults(t *testing.T) {
	s := startStack(t, false)
	ctx := context.Background()
	key := keys.StagedKey(keys.OriginalKey("faults", uuid.NewString(), "png"))
	s.put(t, key, "image/png", readImage(t, "valid/opaque.png"))
	srv := startFaultServer(t)
	byServer := faultClient(t, s, srv.URL)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close() // nobody listens there any more: connection refused
	refused := faultClient(t, s, closed.URL)

	var on atomic.Bool
	p := *s.p
	p.Now = func() time.Time { return time.Now().Add(time.Hour) }
	p.ObjectTimeout = 2 * time.Second // the hang ends at the object's deadline
	for i, fault := range []string{"507", "503", "hang", "refused", "500", "507"} {
		store := faultyReads{objectStore: s.p.S3, key: key, on: &on, fault: byServer}
		if fault == "refused" {
			store.fault = refused
		}
		srv.fault.Store(fault)
		on.Store(true)
		p.S3 = store
		sum, err := p.Reconcile(ctx, versitytest.Bucket, keys.Root, time.Minute)
		if !IsInfrastructure(err) || sum.Outcomes[Failed] != 1 || sum.Infra != 1 || sum.GaveUp != 0 {
			t.Fatalf("sweep %d (%s): %+v, %v; want one infrastructure fault", i+1, fault, sum, err)
		}
		if fault == "hang" && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("sweep %d: %v; want the object's deadline", i+1, err)
		}
		if n, err := p.attempts(ctx, versitytest.Bucket, key); err != nil || n != 0 {
			t.Fatalf("after sweep %d (%s) the upload records %d attempts (%v); want 0", i+1, fault, n, err)
		}
		if got := s.list(t, keys.QuarantineRoot); len(got) != 0 {
			t.Fatalf("after sweep %d (%s): quarantined %v", i+1, fault, got)
		}
	}
	on.Store(false)
	sum, err := p.Reconcile(ctx, versitytest.Bucket, keys.Root, time.Minute)
	if err != nil || sum.Outcomes[Ready] != 1 {
		t.Fatalf("once S3 recovered: %+v, %v; want the upload ready", sum, err)
	}
	k, _ := keys.Parse(key)
	if got := s.outputs(t, "faults"); len(got) != 3 || got[0] != k.OriginalKey() {
		t.Errorf("final layout = %v; want the original and its two thumbnails", got)
	}
	if got := s.list(t, keys.QuarantineRoot); len(got) != 0 {
		t.Errorf("quarantined %v", got)
	}
}

// TestSweepPoisonStillCounts: the image's own failures still count and still end in
// processing_failed after MaxAttempts: a decode that panics (recovered, the sweep goes on), one
// that overruns the object's deadline, and an attempt that never returns at all (a crash: the
// counter was written before the decode). A cancellation from outside during the decode does not
// count.
func TestSweepPoisonStillCounts(t *testing.T) {
	s := startStack(t, false)
	ctx := context.Background()
	key := keys.StagedKey(keys.OriginalKey("poison2", uuid.NewString(), "png"))
	s.put(t, key, "image/png", readImage(t, "valid/opaque.png"))
	p := *s.p
	p.Now = func() time.Time { return time.Now().Add(time.Hour) }
	p.ObjectTimeout = time.Second
	defer func(run func(context.Context, []byte, string) (*pipeline.Result, error)) { runPipeline = run }(runPipeline)
	attempts := func() int {
		t.Helper()
		n, err := p.attempts(ctx, versitytest.Bucket, key)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	// A cancellation of the sweep itself in the middle of the decode is not the upload's failure.
	sweep, cancel := context.WithCancel(ctx)
	runPipeline = func(ctx context.Context, _ []byte, _ string) (*pipeline.Result, error) {
		cancel()
		<-ctx.Done()
		return nil, fmt.Errorf("decode stopped: %w", context.Cause(ctx))
	}
	if out, _, err := p.Retry(sweep, versitytest.Bucket, key); out != Failed || !IsInfrastructure(err) || attempts() != 0 {
		t.Fatalf("cancelled from outside: %s %v, %d attempts; want an uncounted fault", out, err, attempts())
	}

	// A crash: the attempt never returns (Goexit runs the deferred calls, as little as a killed
	// process does, and no more).
	runPipeline = func(context.Context, []byte, string) (*pipeline.Result, error) { runtime.Goexit(); return nil, nil }
	done := make(chan struct{})
	go func() { defer close(done); p.Retry(ctx, versitytest.Bucket, key) }()
	<-done
	if n := attempts(); n != 1 {
		t.Fatalf("after a crash: %d attempts, want 1", n)
	}

	runPipeline = func(context.Context, []byte, string) (*pipeline.Result, error) { panic("decoder bug") }
	sum, err := p.Reconcile(ctx, versitytest.Bucket, keys.Root, time.Minute)
	if err == nil || IsInfrastructure(err) || sum.Outcomes[Failed] != 1 || sum.Infra != 0 || attempts() != 2 {
		t.Fatalf("panic: %+v, %v, %d attempts; want a counted failure", sum, err, attempts())
	}

	runPipeline = func(ctx context.Context, _ []byte, _ string) (*pipeline.Result, error) {
		<-ctx.Done() // a decode that does not finish within the object's deadline
		return nil, fmt.Errorf("decode stopped: %w", context.Cause(ctx))
	}
	sum, err = p.Reconcile(ctx, versitytest.Bucket, keys.Root, time.Minute)
	if err != nil || sum.GaveUp != 1 || sum.Infra != 0 {
		t.Fatalf("overrun: %+v, %v; want the upload given up on", sum, err)
	}
	k, _ := keys.Parse(key)
	q := s.head(t, keys.QuarantineKey(k.OriginalKey()))
	if q.Metadata[keys.MetaReason] != string(imagepolicy.ReasonProcessingFailed) || q.Metadata[keys.MetaDetail] != "3 attempts failed" {
		t.Errorf("quarantine metadata = %v", q.Metadata)
	}
}
