// Package versitytest starts a real versitygw for a test, with a fresh bucket, and stops it when
// the test ends. A missing binary fails the test: it is never skipped.
package versitytest

import (
	"context"
	"io"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"medicpx/infra/testenv/versity"
	"medicpx/shared/config"
	"medicpx/shared/s3client"
)

// Bucket is the bucket every test server starts with.
const Bucket = "medicpx-test"

// Env is a started server with its bucket and a client for it.
type Env struct {
	Server *versity.Server
	S3     config.S3
	Client *s3.Client
	// Vars are the environment variables (KEY=VALUE) that point a binary at this server.
	Vars []string
}

// Options are StartWith's choices.
type Options struct {
	Webhook string // receives the server's events when not empty
	// Latency delays every request (versity.Options.Latency); S3_LATENCY when zero.
	Latency time.Duration
	Record  bool // keep every request: Env.Server.Proxy.Requests
}

// Start starts versitygw in a temporary directory. webhook, when not empty, receives its events.
// S3_LATENCY, when set, delays every request.
func Start(tb testing.TB, webhook string) *Env {
	tb.Helper()
	return StartWith(tb, Options{Webhook: webhook})
}

// StartWith is Start with a latency and a record of the requests.
func StartWith(tb testing.TB, o Options) *Env {
	tb.Helper()
	ctx := context.Background()
	if o.Latency == 0 {
		var err error
		if o.Latency, err = versity.LatencyFromEnv(os.Getenv); err != nil {
			tb.Fatal(err)
		}
	}
	var out io.Writer
	if testing.Verbose() {
		out = os.Stderr
	}
	srv, err := versity.Start(ctx, versity.Options{
		Dir:        tb.TempDir(),
		AccessKey:  "test-access-key",
		SecretKey:  "test-secret-key-0123456789",
		Region:     "us-east-1",
		WebhookURL: o.Webhook,
		Output:     out,
		Latency:    o.Latency,
		Record:     o.Record,
	})
	if err != nil {
		tb.Fatalf("versitygw: %v", err)
	}
	tb.Cleanup(func() { srv.Stop() })
	vars := srv.Options.Env(Bucket)
	cfg, err := config.LoadProcessor(versity.Getenv(vars))
	if err != nil {
		tb.Fatal(err)
	}
	// Clients built with the default AWS chain (s3client.New) find the credentials here.
	tb.Setenv("AWS_ACCESS_KEY_ID", srv.Options.AccessKey)
	tb.Setenv("AWS_SECRET_ACCESS_KEY", srv.Options.SecretKey)
	client, err := s3client.New(ctx, cfg.S3)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(Bucket)}); err != nil {
		tb.Fatalf("create bucket: %v", err)
	}
	return &Env{Server: srv, S3: cfg.S3, Client: client, Vars: vars}
}
