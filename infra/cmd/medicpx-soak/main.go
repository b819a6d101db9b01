// Command medicpx-soak runs steady mixed traffic against the local stack of `make run` (`make
// soak`), reporting every 30 s each process's RSS, and at the end whether the API's levelled off.
// See infra/soak. Tokens are signed with the local stack's secret. SOAK_DURATION (default 30m)
// shortens the run.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"medicpx/infra/soak"
	"medicpx/infra/stack"
)

func main() {
	dur, err := time.ParseDuration(envOr("SOAK_DURATION", "30m"))
	if err != nil {
		fail(fmt.Errorf("SOAK_DURATION: %w", err))
	}
	duration := flag.Duration("duration", dur, "how long to run")
	apiAddr := flag.String("api", envOr("API_ADDR", "127.0.0.1:8080"), "the API's address")
	s3Addr := flag.String("s3", envOr("S3_ADDR", "127.0.0.1:7070"), "versitygw's address")
	procAddr := flag.String("processor", envOr("PROCESSOR_ADDR", "127.0.0.1:8090"), "the processor's address")
	data := flag.String("data", envOr("LOCAL_DATA", ".local"), "the local stack's data folder, for its tokens")
	maxReq := flag.Int("max-requests", 100_000, "stop after this many requests")
	interval := flag.Duration("interval", 250*time.Millisecond, "time between two operations")
	every := flag.Duration("sample", 30*time.Second, "time between two RSS samples")
	flag.Parse()
	for _, a := range []string{*apiAddr, *s3Addr, *procAddr} {
		if !loopback(a) {
			fail(fmt.Errorf("%s is not a loopback address: the soak only calls 127.0.0.1", a))
		}
	}

	secret, err := stack.LoadSecret(*data)
	if err != nil {
		fail(err)
	}
	tok := func(role string) string {
		t, err := stack.Token(secret, role)
		if err != nil {
			fail(err)
		}
		return t
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	api := "http://" + *apiAddr
	r, err := soak.Run(ctx, soak.Config{
		APIURL: api, Professor: tok("professor"), Student: tok("student"), Admin: tok("admin"),
		Targets:  soak.StackTargets(api, "http://"+*procAddr, "http://"+*s3Addr),
		Duration: *duration, MaxRequests: *maxReq, Interval: *interval, SampleEvery: *every, Out: os.Stdout,
	})
	if err != nil {
		fail(err)
	}
	fmt.Println()
	r.Write(os.Stdout)
	if r.Errors > 0 || !r.APIHeld {
		os.Exit(1)
	}
}

func loopback(addr string) bool {
	for _, p := range []string{"127.", "localhost:", "[::1]:"} {
		if len(addr) >= len(p) && addr[:len(p)] == p {
			return true
		}
	}
	return false
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "medicpx-soak:", err)
	os.Exit(1)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
