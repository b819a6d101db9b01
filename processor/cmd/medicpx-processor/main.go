// Command medicpx-processor runs the upload processor: as an AWS Lambda function (S3 events and
// the reconcile schedule), as the local stack's receiver of versitygw events (serve), as a one-off
// sweep (reconcile), or on local files (check).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"medicpx/processor"
	"medicpx/shared/config"
	"medicpx/shared/keys"
	"medicpx/shared/pprofserver"
	"medicpx/shared/s3client"
	"medicpx/shared/scenarioindex"
)

const usage = `usage:
  medicpx-processor serve                    receive versitygw events on PROCESSOR_ADDR
  medicpx-processor reconcile [-prefix P] [-grace D]
                                             process uploads still staged after the grace period
  medicpx-processor check [-out DIR] FILE... run the pipeline on local files
With AWS_LAMBDA_RUNTIME_API set and no arguments it runs as a Lambda function.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 && os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		return runLambda(stderr)
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 1
	}
	switch args[0] {
	case "check":
		return runCheck(args[1:], stdout, stderr)
	case "serve", "reconcile":
	default:
		fmt.Fprint(stderr, usage)
		return 1
	}
	cfg, err := config.LoadProcessor(os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "configuration:\n%v\n", err)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	client, err := s3client.New(ctx, cfg.S3)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	p := processor.New(client, log, cfg.S3.Bucket, cfg.ReconcileGrace)
	p.Retention = processor.RetentionFrom(cfg)
	if args[0] == "serve" {
		if err := pprofserver.Start(log, "PROCESSOR_PPROF_ADDR"); err != nil {
			fmt.Fprintf(stderr, "configuration:\n%v\n", err)
			return 2
		}
		return runServe(ctx, p, cfg, stderr)
	}
	return runReconcile(ctx, p, cfg, args[1:], stdout, stderr)
}

func runLambda(stderr io.Writer) int {
	cfg, err := config.LoadProcessor(os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "configuration:\n%v\n", err)
		return 2
	}
	client, err := s3client.New(context.Background(), cfg.S3)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	// The Lambda logger adds the invocation's request id to every line logged with its context.
	p := processor.New(client, lambdacontext.NewLogger(), cfg.S3.Bucket, cfg.ReconcileGrace)
	p.Retention = processor.RetentionFrom(cfg)
	lambda.Start(p.HandleLambda)
	return 0
}

func runServe(ctx context.Context, p *processor.Processor, cfg config.Processor, stderr io.Writer) int {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	// Sweeps recover events dropped on a full queue or sent while the receiver was down.
	// RECONCILE_INTERVAL (local only) overrides the period; tests set it long to prove that a
	// sweep came from a trigger, not the clock.
	interval := max(cfg.ReconcileGrace, time.Minute)
	if v := os.Getenv("RECONCILE_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			fmt.Fprintf(stderr, "configuration:\nRECONCILE_INTERVAL: %q is not a duration of at least 1s\n", v)
			return 2
		}
		interval = d
	}
	// A receiver outlives its calls: uploads made ready while their scenario's index refresh is
	// under way are counted by one refresh shortly after, without waiting for it.
	p.Index = &scenarioindex.Refresher{Batch: scenarioindex.DefaultBatch, Log: p.Log}
	r := processor.NewReceiver(p, cfg.Workers, cfg.Queue)
	if err := r.Run(ctx, ln, interval, 30*time.Second); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

func runReconcile(ctx context.Context, p *processor.Processor, cfg config.Processor, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	fs.SetOutput(stderr)
	prefix := fs.String("prefix", keys.Root, "key prefix to sweep, under "+keys.Root+" (its staged uploads are under "+keys.IncomingRoot+" plus it)")
	grace := fs.Duration("grace", cfg.ReconcileGrace, "skip staged uploads younger than this")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		fmt.Fprint(stderr, usage)
		return 1
	}
	sum, err := p.Reconcile(ctx, cfg.S3.Bucket, *prefix, *grace)
	fmt.Fprintf(stdout, "listed %d, complete %d, young %d, processed %d: ready %d, unchanged %d, rejected %d (gave up on %d), gone %d, errors %d\n",
		sum.Listed, sum.Complete, sum.Young, len(sum.Pending), sum.Outcomes[processor.Ready], sum.Outcomes[processor.Unchanged],
		sum.Outcomes[processor.Rejected], sum.GaveUp, sum.Outcomes[processor.Gone], sum.Outcomes[processor.Failed])
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "write the stripped original and thumbnails into this directory")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		fmt.Fprint(stderr, usage)
		return 1
	}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	if err := processor.CheckFiles(stdout, *out, fs.Args()); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}
