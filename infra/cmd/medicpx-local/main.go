// Command medicpx-local runs the whole service on this machine (`make run`): the processor's
// event receiver, versitygw and the API, until Ctrl-C. Data persists under the data folder.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"medicpx/infra/stack"
	"medicpx/infra/testenv/versity"
	"medicpx/shared/pprofserver"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "token" {
		os.Exit(token(os.Args[2:]))
	}
	env := func(name, def string) string {
		if v := os.Getenv(name); v != "" {
			return v
		}
		return def
	}
	data := flag.String("data", env("LOCAL_DATA", ".local"), "data folder (S3 objects, JWT secret)")
	bin := flag.String("bin", env("LOCAL_BIN", ".local/bin"), "folder with the built binaries")
	apiAddr := flag.String("api", env("API_ADDR", "127.0.0.1:8080"), "API listen address")
	s3Addr := flag.String("s3", env("S3_ADDR", "127.0.0.1:7070"), "S3 (versitygw) listen address")
	procAddr := flag.String("processor", env("PROCESSOR_ADDR", "127.0.0.1:8090"), "processor receiver address")
	origins := flag.String("origins", env("WEB_ORIGINS", ""), "other browser origins (e.g. the frontend dev server) allowed to call the API and the bucket, comma-separated")
	flag.Parse()
	latency, err := versity.LatencyFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "medicpx-local:", err)
		os.Exit(2)
	}
	// This process holds the S3_LATENCY proxy: a burst at 25 ms spends CPU here too.
	if err := pprofserver.Start(slog.New(slog.NewTextHandler(os.Stderr, nil)), "LOCAL_PPROF_ADDR"); err != nil {
		fmt.Fprintln(os.Stderr, "medicpx-local:", err)
		os.Exit(2)
	}

	// Stop on SIGINT, SIGTERM or SIGHUP, and when the parent goes away or (make) is being stopped:
	// `make run` execs this binary, so make's SIGTERM reaches it, but make keeps a SIGINT to itself.
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer cancel()
	go func() {
		if why, ok := <-stack.WatchParent(ctx, 200*time.Millisecond); ok {
			fmt.Fprintf(os.Stderr, "medicpx-local: %s; stopping\n", why)
			cancel()
		}
	}()
	var extra []string
	if *origins != "" {
		extra = strings.Split(*origins, ",")
	}
	st, err := stack.Start(ctx, stack.Options{
		DataDir: *data, APIBin: filepath.Join(*bin, "medicpx-api"), ProcessorBin: filepath.Join(*bin, "medicpx-processor"),
		APIAddr: *apiAddr, S3Addr: *s3Addr, ProcessorAddr: *procAddr, WebOrigins: extra,
		Output: os.Stderr, S3Latency: latency,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "medicpx-local:", err)
		os.Exit(1)
	}
	fmt.Printf(`
medicpx is running.
  Web pages and API  %[1]s      (OpenAPI document: %[1]s/openapi.yaml)
  S3 (versitygw)     %[2]s      bucket "medicpx", access key "medicpx-local"
  Processor          %[3]s      (receives versitygw's bucket events)

Get a token (in another terminal):  make token ROLE=professor     (or student, admin)
Try it:
  curl -H "Authorization: Bearer $(make -s token ROLE=student)" %[1]s/patient-images/scenarios/1/images

Data is kept in %[4]s (uploads survive a restart).%[5]s
A crashed process is restarted (a restarted processor or S3 sweeps at once); one that keeps
crashing stops everything. Ctrl-C, or SIGTERM to any of its processes, stops everything.
`, st.APIURL, st.S3URL, st.ProcessorURL, filepath.Join(*data, "s3"), latencyNote(latency))
	select {
	case <-ctx.Done():
		fmt.Fprintln(os.Stderr, "stopping…")
		st.Stop()
	case <-st.Failed():
		// A child was stopped by a signal, or kept crashing after its restarts; the stack has
		// stopped everything.
		st.Stop()
		fmt.Fprintf(os.Stderr, "medicpx-local: stopped: %v\n", st.Err())
		var stopped *stack.ChildStoppedError
		if errors.As(st.Err(), &stopped) {
			return
		}
		os.Exit(1)
	}
}

// latencyNote says that S3 is slowed down, when it is (S3_LATENCY).
func latencyNote(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return fmt.Sprintf("\nS3_LATENCY=%s: every S3 request (API, processor, browsers) waits %s before it is forwarded.", d, d)
}

// token prints a token for a role, signed with the local stack's secret (`make token ROLE=…`).
func token(args []string) int {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	role := fs.String("role", "professor", "role claim: admin, professor or student")
	data := fs.String("data", ".local", "the local stack's data folder")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	secret, err := stack.LoadSecret(*data)
	if err == nil {
		var tok string
		if tok, err = stack.Token(secret, *role); err == nil {
			fmt.Println(tok)
			return 0
		}
	}
	fmt.Fprintln(os.Stderr, "token:", err)
	return 1
}
