// Command medicpx-burst measures upload-to-ready latency on the local stack of `make run`
// (`make burst`): N phone-sized JPEGs uploaded at once, then single uploads one at a time. See
// infra/burst. Tokens are signed with the local stack's secret.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"medicpx/infra/burst"
	"medicpx/infra/stack"
)

func main() {
	api := flag.String("api", "http://"+envOr("API_ADDR", "127.0.0.1:8080"), "the API's base URL")
	data := flag.String("data", envOr("LOCAL_DATA", ".local"), "the local stack's data folder, for its token")
	n := flag.Int("n", 200, "uploads in the burst (300 with -mixed)")
	singles := flag.Int("singles", 5, "single uploads after the burst, one at a time")
	singlesFrom := flag.String("singles-from", "", "take the single uploads from these JPEG files in turn (comma-separated, each may be a glob), read in place, e.g. the phone samples")
	cache := flag.String("photos", ".cache/burst", "where the generated photos are kept")
	mixed := flag.Bool("mixed", false, "the mixed burst instead: 0.2–8 MB photos with invalid files among them, from parallel clients, until all are final")
	invalid := flag.Int("invalid", 10, "invalid files in the mixed burst")
	clients := flag.Int("clients", 32, "parallel clients of the mixed burst")
	flag.Parse()
	nSet := false
	flag.Visit(func(f *flag.Flag) { nSet = nSet || f.Name == "n" })
	if *mixed && !nSet {
		*n = 300
	}
	// Where the CPU goes: the stack's processes, found by the ports they listen on.
	apiAddr, procAddr, s3Addr := envOr("API_ADDR", "127.0.0.1:8080"), envOr("PROCESSOR_ADDR", "127.0.0.1:8090"), envOr("S3_ADDR", "127.0.0.1:7070")
	cpuBefore, cpuErr := burst.StackCPU(apiAddr, procAddr, s3Addr)
	split := func() string {
		after, err := burst.StackCPU(apiAddr, procAddr, s3Addr)
		if err = errors.Join(cpuErr, err); err != nil {
			return "stack CPU not measured: " + err.Error()
		}
		return burst.CPUSplit(cpuBefore, after)
	}

	secret, err := stack.LoadSecret(*data)
	if err != nil {
		fail(err)
	}
	tok, err := stack.Token(secret, "professor")
	if err != nil {
		fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := burst.Config{APIURL: *api, Token: tok, Scenario: fmt.Sprintf("burst-%d", time.Now().Unix()), Timeout: 10 * time.Minute}
	if *mixed {
		ups, err := burst.Mixed(*n, *invalid, *cache)
		if err != nil {
			fail(err)
		}
		cpuBefore, cpuErr = burst.StackCPU(apiAddr, procAddr, s3Addr)
		res, err := burst.RunMixed(ctx, c, ups, *clients)
		if err != nil {
			fail(err)
		}
		fmt.Println("mixed burst:", res)
		// One reading after the burst serves both lines.
		after, err := burst.StackCPU(apiAddr, procAddr, s3Addr)
		if err = errors.Join(cpuErr, err); err != nil {
			fmt.Println("  stack CPU not measured: " + err.Error())
			return
		}
		fmt.Println("  " + burst.CPUSplit(cpuBefore, after))
		fmt.Println("  " + burst.PerUpload(cpuBefore, after, len(ups), runtime.NumCPU()))
		return
	}
	photos, err := burst.Photos(max(*n, *singles), *cache)
	if err != nil {
		fail(err)
	}
	if *n > 0 { // -n 0: the single uploads alone
		cpuBefore, cpuErr = burst.StackCPU(apiAddr, procAddr, s3Addr)
		res, err := burst.Run(ctx, c, photos[:*n])
		if err != nil {
			fail(err)
		}
		fmt.Println("burst:", res)
		fmt.Println("  " + split())
		time.Sleep(2 * time.Second) // let the stack settle
	}
	if *singles == 0 {
		return
	}
	pick := func(i int) []byte { return photos[i*37%len(photos)] }
	if *singlesFrom != "" {
		var real []string
		for _, pattern := range strings.Split(*singlesFrom, ",") {
			m, err := filepath.Glob(pattern)
			if err != nil || len(m) == 0 {
				fail(fmt.Errorf("-singles-from: %q names no file (%v)", pattern, err))
			}
			real = append(real, m...)
		}
		pick = func(i int) []byte {
			b, err := os.ReadFile(real[i%len(real)])
			if err != nil {
				fail(err)
			}
			return b
		}
	}
	var lat []time.Duration
	for i := range *singles {
		d, err := burst.Single(ctx, c, pick(i))
		if err != nil {
			fail(err)
		}
		lat = append(lat, d)
		time.Sleep(500 * time.Millisecond)
	}
	slices.Sort(lat)
	fmt.Printf("single uploads (%d, one at a time): PUT-to-ready median %.2f s, worst %.2f s\n",
		len(lat), lat[len(lat)/2].Seconds(), lat[len(lat)-1].Seconds())
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "medicpx-burst:", err)
	os.Exit(1)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
