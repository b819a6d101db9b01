// Package pprofserver serves net/http/pprof for the local stack's processes, so that an operator
// can see where a burst's CPU goes (README, "Benchmarks"). It is off
// unless asked for (PROCESSOR_PPROF_ADDR=127.0.0.1:6060, API_PPROF_ADDR=…), never started by
// the Lambda handlers, and listens on loopback only: a profile shows the code's paths and a heap
// dump could hold patient bytes.
package pprofserver

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
)

// Start serves the profiles on the address in the environment variable env when it is set; an
// address that is not loopback is an error.
func Start(log *slog.Logger, env string) error {
	addr := os.Getenv(env)
	if addr == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%s: %q is not a loopback host:port", env, addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: %w", env, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	log.Info("profiles served", "addr", ln.Addr().String())
	go func() { _ = http.Serve(ln, mux) }()
	return nil
}
