// Package stack runs the whole service locally: the processor's event receiver, versitygw
// sending it bucket events, and the API. `make run` uses it, and so do the end-to-end tests, so
// what a developer runs is what the tests prove.
package stack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"medicpx/api"
	"medicpx/infra/testenv/versity"
	"medicpx/shared/config"
	"medicpx/shared/s3client"
)

// Options says where things run. Empty addresses mean free loopback ports.
type Options struct {
	DataDir       string // S3 data and the JWT secret live here; reused across runs
	APIBin        string // built medicpx-api
	ProcessorBin  string // built medicpx-processor
	APIAddr       string
	S3Addr        string
	ProcessorAddr string
	Bucket        string
	// WebOrigins are other browser origins (e.g. the platform frontend's dev server) that may call
	// the API and PUT/POST/GET the bucket (CORS on both).
	WebOrigins []string
	Output     io.Writer // the children's logs
	// S3Latency delays every S3 request of the API, the processor and browsers by this much
	// (versity.Options.Latency: a proxy on S3Addr in front of versitygw), as in AWS.
	S3Latency time.Duration
}

// Stack is a running local stack.
type Stack struct {
	APIURL, S3URL, ProcessorURL string
	Secret                      string
	Env                         []string // what the binaries were given
	S3                          *s3.Client
	proc, api                   *process
	s3srv                       *versity.Server
	s3opts                      versity.Options
	opts                        Options
	sup                         *supervisor
	stopOnce                    sync.Once
}

const (
	accessKey = "medicpx-local"
	secretKey = "medicpx-local-secret"
	region    = "us-east-1"
)

// Start brings the stack up in dependency order: receiver first (versitygw exits when its
// webhook is down), then versitygw, the bucket and its CORS, then the API. Every address must be
// free first: one that is taken fails the start with a *PortTakenError naming it and, when it can
// be found, the process holding it (a leftover stack would otherwise answer the health checks).
// From then on a child that crashes is restarted with backoff; one that keeps crashing, or one
// that is stopped by a signal, stops the whole stack (Failed, Err).
func Start(ctx context.Context, o Options) (st *Stack, err error) {
	if o.Bucket == "" {
		o.Bucket = "medicpx"
	}
	if o.Output == nil {
		o.Output = io.Discard
	}
	for _, a := range []*string{&o.APIAddr, &o.S3Addr, &o.ProcessorAddr} {
		if *a == "" {
			if *a, err = versity.FreeAddr(); err != nil {
				return nil, err
			}
		}
	}
	for _, a := range []struct{ setting, addr string }{
		{"API_ADDR", o.APIAddr}, {"S3_ADDR", o.S3Addr}, {"PROCESSOR_ADDR", o.ProcessorAddr},
	} {
		if err := checkFree(a.setting, a.addr); err != nil {
			return nil, err
		}
	}
	secret, err := LoadSecret(o.DataDir)
	if err != nil {
		return nil, err
	}
	st = &Stack{
		APIURL: "http://" + o.APIAddr, S3URL: "http://" + o.S3Addr, ProcessorURL: "http://" + o.ProcessorAddr,
		Secret: secret, opts: o, sup: newSupervisor(o.Output),
	}
	st.sup.onFail = st.Stop
	defer func() {
		if err != nil {
			st.Stop()
			st = nil
		}
	}()
	st.s3opts = versity.Options{
		Dir: filepath.Join(o.DataDir, "s3"), Addr: o.S3Addr, AccessKey: accessKey, SecretKey: secretKey,
		Region: region, WebhookURL: st.ProcessorURL + "/events", Output: o.Output,
		StartProcess: startChildProcess, Latency: o.S3Latency,
	}
	st.Env = append(append(os.Environ(), st.s3opts.Env(o.Bucket)...),
		"JWT_SECRET="+secret,
		"API_ADDR="+o.APIAddr, "PROCESSOR_ADDR="+o.ProcessorAddr,
		"CORS_ORIGINS="+strings.Join(o.WebOrigins, ","),
		"RECONCILE_GRACE=5s",
	)

	if st.proc, err = st.startProcessor(ctx); err != nil {
		return st, err
	}
	st.s3srv, err = st.startS3(ctx)
	if err != nil {
		return st, err
	}
	cfg, err := config.LoadProcessor(versity.Getenv(st.Env))
	if err != nil {
		return st, err
	}
	st.S3, err = s3client.New(ctx, cfg.S3, func(so *s3.Options) {
		so.Credentials = credentials.NewStaticCredentialsProvider(accessKey, secretKey, "")
	})
	if err != nil {
		return st, err
	}
	if err := st.ensureBucket(ctx); err != nil {
		return st, err
	}
	if st.api, err = st.startAPI(ctx); err != nil {
		return st, err
	}
	st.sup.watch("processor", st.proc, func(ctx context.Context) (running, error) { return st.startProcessor(ctx) })
	st.sup.watch("versitygw", st.s3srv, func(ctx context.Context) (running, error) { return st.startS3(ctx) })
	st.sup.watch("api", st.api, func(ctx context.Context) (running, error) { return st.startAPI(ctx) })
	return st, nil
}

// startProcessor starts the event receiver and waits until it serves. A receiver sweeps the
// bucket as soon as it listens, so a restarted one picks up at once every upload whose event
// was sent while it was down (versitygw does not retry a webhook).
// A receiver also sweeps every staged upload when versitygw (re)starts (its start-up test event),
// for the events lost while S3 was down.
func (st *Stack) startProcessor(ctx context.Context) (*process, error) {
	return st.startChild(ctx, "processor", "PROCESSOR_ADDR", st.opts.ProcessorAddr, st.opts.ProcessorBin, "serve")
}

func (st *Stack) startAPI(ctx context.Context) (*process, error) {
	return st.startChild(ctx, "api", "API_ADDR", st.opts.APIAddr, st.opts.APIBin)
}

// startS3 starts versitygw on a port that is free, and checks that the server answering is it.
func (st *Stack) startS3(ctx context.Context) (*versity.Server, error) {
	if err := checkFree("S3_ADDR", st.opts.S3Addr); err != nil {
		return nil, fmt.Errorf("versitygw: %w", err)
	}
	s, err := versity.Start(ctx, st.s3opts)
	if err != nil {
		return nil, err
	}
	if err := ours("versitygw", s, s.Pid(), s.ListenAddr); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

// startChild starts a service on addr (which must be free) and waits until it, and not some other
// process, serves there.
func (st *Stack) startChild(ctx context.Context, name, setting, addr, bin string, args ...string) (*process, error) {
	if err := checkFree(setting, addr); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	url := "http://" + addr
	cmd := exec.Command(bin, args...)
	cmd.Env = st.Env
	cmd.Stdout, cmd.Stderr = st.opts.Output, st.opts.Output
	p, err := startProcess(cmd)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(bin), err)
	}
	if err := waitServing(ctx, url+"/healthz", p); err != nil {
		_ = p.Stop()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := ours(name, p, p.Pid(), addr); err != nil {
		_ = p.Stop()
		return nil, err
	}
	return p, nil
}

// ours checks that what answered on addr is the child just started: it is still alive and (where
// /proc tells) it holds the listening socket. The address was free just before the child started,
// so this only catches a process that took it in between.
func ours(name string, r running, pid int, addr string) error {
	select {
	case <-r.Done():
		return fmt.Errorf("%s exited at start: %v", name, r.Err())
	default:
	}
	if holds, known := listensOn(pid, addr); known && !holds {
		who := "another process"
		if h, ok := PortHolder(addr); ok {
			who = h.String()
		}
		return fmt.Errorf("%s (pid %d) started, but %s answers on %s instead", name, pid, who, addr)
	}
	return nil
}

// Failed is closed when a child kept crashing and the stack stopped itself; Err says which.
func (st *Stack) Failed() <-chan struct{} { return st.sup.failed }

// Err is why the stack stopped itself, once Failed is closed.
func (st *Stack) Err() error { return st.sup.err }

func (st *Stack) ensureBucket(ctx context.Context) error {
	b := aws.String(st.opts.Bucket)
	_, err := st.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b})
	var owned *types.BucketAlreadyOwnedByYou
	var exists *types.BucketAlreadyExists
	if err != nil && !errors.As(err, &owned) && !errors.As(err, &exists) {
		return fmt.Errorf("create bucket: %w", err)
	}
	origins := append([]string{st.APIURL}, st.opts.WebOrigins...)
	_, err = st.S3.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: b, CORSConfiguration: &types.CORSConfiguration{
		CORSRules: []types.CORSRule{{
			AllowedOrigins: origins,
			AllowedMethods: []string{"GET", "PUT", "POST", "HEAD"},
			AllowedHeaders: []string{"Content-Type", "Content-Length", "x-amz-*"},
			ExposeHeaders:  []string{"ETag"},
			MaxAgeSeconds:  aws.Int32(3600),
		}},
	}})
	if err != nil {
		return fmt.Errorf("bucket CORS: %w", err)
	}
	return nil
}

// Token signs a token for role with the stack's secret, as `make token` does.
func (st *Stack) Token(role string) (string, error) { return Token(st.Secret, role) }

// Token signs a 12-hour token for role with a local stack's secret.
func Token(secret, role string) (string, error) {
	return api.SignHS256([]byte(secret), "local-"+role, role, 12*time.Hour, time.Now())
}

// Stop ends supervision, then everything it started, in reverse order (the receiver last:
// versitygw notifies it until it is gone), and waits for each. Calling it again does nothing.
func (st *Stack) Stop() {
	st.stopOnce.Do(func() {
		children := map[string]running{}
		if st.sup != nil {
			children = st.sup.stop()
		}
		// Children that failed during Start were never handed to the supervisor.
		for name, r := range map[string]running{"processor": st.proc, "versitygw": st.s3srv, "api": st.api} {
			if _, ok := children[name]; !ok && !isNil(r) {
				children[name] = r
			}
		}
		for _, name := range []string{"api", "versitygw", "processor"} {
			if r, ok := children[name]; ok {
				_ = r.Stop()
			}
		}
	})
}

func isNil(r running) bool {
	switch v := r.(type) {
	case *process:
		return v == nil
	case *versity.Server:
		return v == nil
	}
	return r == nil
}

// waitServing waits until url answers 200, and gives up at once if the process p exits.
func waitServing(ctx context.Context, url string, p running) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		select {
		case <-p.Done():
			return fmt.Errorf("exited at start: %v", p.Err())
		default:
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer: %w", url, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// LoadSecret reads the JWT secret of the local stack whose data lives in dataDir, creating a random
// one on first use: no secret is ever committed, and tokens stay valid across restarts.
func LoadSecret(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "jwt-secret")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return strings.TrimSpace(string(b)), nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	s := base64.RawURLEncoding.EncodeToString(raw)
	return s, os.WriteFile(path, []byte(s+"\n"), 0o600)
}

// Build compiles the stack's two binaries into dir, as `make build` does. The local stack's API is
// built with the "devlogin" tag, which adds the one-click sign-in; the Lambda build never has it.
func Build(dir string) error {
	root, err := versity.ModuleRoot()
	if err != nil {
		return err
	}
	for _, b := range []struct{ pkg, tags string }{
		{"./api/cmd/medicpx-api", "devlogin"},
		{"./processor/cmd/medicpx-processor", ""},
	} {
		cmd := exec.Command("go", "build", "-tags", b.tags, "-o", dir+"/", b.pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %v\n%s", b.pkg, err, out)
		}
	}
	return nil
}
