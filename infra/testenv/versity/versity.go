// Package versity runs a local versitygw S3 server: the real S3 implementation behind `make run`
// and every integration test. It is a process, started and stopped like one.
package versity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"medicpx/infra/testenv/s3delay"
)

// Options configures one server.
type Options struct {
	Bin        string // versitygw binary; FindBinary() when empty
	Dir        string // posix backend root; created if missing
	Addr       string // listen address, e.g. 127.0.0.1:7070; a free loopback port when empty
	AccessKey  string
	SecretKey  string
	Region     string
	WebhookURL string    // event notifications go here when set
	Output     io.Writer // the server's stdout/stderr; discarded when nil
	// StartProcess starts the prepared command (cmd.Start when nil): the local stack's launcher
	// uses it to tie versitygw's life to its own.
	StartProcess func(*exec.Cmd) error
	// Latency puts a delaying proxy (s3delay) on Addr, in front of versitygw on a port of its own:
	// every request waits this long before it is forwarded. Record puts the proxy there even
	// without a latency, and keeps every request (Server.Proxy.Requests).
	Latency time.Duration
	Record  bool
}

// LatencyEnv is the setting `make run` and the test helpers read for Options.Latency.
const LatencyEnv = "S3_LATENCY"

// LatencyFromEnv parses S3_LATENCY (a Go duration such as 25ms; 0 when unset).
func LatencyFromEnv(getenv func(string) string) (time.Duration, error) {
	v := getenv(LatencyEnv)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > 10*time.Second {
		return 0, fmt.Errorf("%s=%q: want a duration from 0 to 10s, such as 25ms", LatencyEnv, v)
	}
	return d, nil
}

// Server is a running versitygw.
type Server struct {
	Endpoint string // http://host:port: what clients use (the proxy's address when there is one)
	Options  Options
	// Proxy is the delaying proxy in front of versitygw (Options.Latency, Options.Record), or nil.
	Proxy *s3delay.Proxy
	// ListenAddr is where versitygw itself listens: Options.Addr, or the port behind the proxy.
	ListenAddr string
	cmd        *exec.Cmd
	exited     chan struct{} // closed when the process has exited; then err is its exit error
	err        error
}

// FindBinary locates versitygw.
func FindBinary() (string, error) { return FindTool("VERSITYGW", "versitygw") }

// FindTool locates a tool the Makefile installs: $envVar, then .tools/bin under the module root,
// then $PATH.
func FindTool(envVar, name string) (string, error) {
	if p := os.Getenv(envVar); p != "" {
		return p, nil
	}
	if root, err := ModuleRoot(); err == nil {
		p := filepath.Join(root, ".tools", "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found: run `make tools` (it installs it into .tools/bin) or set %s", name, envVar)
}

// ModuleRoot walks up from the working directory to the folder holding go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found")
		}
		dir = parent
	}
}

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Start launches versitygw and waits until it answers HTTP.
func Start(ctx context.Context, o Options) (*Server, error) {
	var err error
	if o.Bin == "" {
		if o.Bin, err = FindBinary(); err != nil {
			return nil, err
		}
	}
	if o.Addr == "" {
		if o.Addr, err = FreeAddr(); err != nil {
			return nil, err
		}
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	listen := o.Addr
	if o.Latency > 0 || o.Record {
		if listen, err = FreeAddr(); err != nil {
			return nil, err
		}
	}
	args := []string{"--access", o.AccessKey, "--secret", o.SecretKey, "--region", o.Region,
		"--port", listen, "--quiet", "--keep-alive"}
	if o.WebhookURL != "" {
		args = append(args, "--event-webhook-url", o.WebhookURL)
	}
	args = append(args, "posix", o.Dir)
	cmd := exec.Command(o.Bin, args...)
	out := o.Output
	if out == nil {
		out = io.Discard
	}
	cmd.Stdout, cmd.Stderr = out, out
	start := o.StartProcess
	if start == nil {
		start = (*exec.Cmd).Start
	}
	s := &Server{Endpoint: "http://" + o.Addr, Options: o, ListenAddr: listen, cmd: cmd, exited: make(chan struct{})}
	if listen != o.Addr {
		// The proxy lives and dies with the process: a supervisor that restarts a crashed
		// versitygw finds the address free again.
		if s.Proxy, err = s3delay.Start(o.Addr, "http://"+listen, o.Latency, o.Record); err != nil {
			return nil, fmt.Errorf("S3 latency proxy on %s: %w", o.Addr, err)
		}
	}
	if err := start(cmd); err != nil {
		if s.Proxy != nil {
			_ = s.Proxy.Close()
		}
		return nil, fmt.Errorf("start versitygw: %w", err)
	}
	go func() {
		s.err = cmd.Wait()
		if s.Proxy != nil {
			_ = s.Proxy.Close()
		}
		close(s.exited)
	}()
	if err := s.waitReady(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("versitygw exited at start (is the webhook receiver up, is the port free?): %v", s.err)
		default:
		}
		// Any HTTP answer (an S3 error for an unsigned request) means it is serving.
		// versitygw itself: a proxy in front answers even while nothing is behind it.
		if resp, err := client.Get("http://" + s.ListenAddr + "/"); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("versitygw on %s did not answer: %w", s.Options.Addr, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Done is closed when the process exits, whoever else waits for it (a supervisor and Stop may both).
func (s *Server) Done() <-chan struct{} { return s.exited }

// Pid is the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Err is the process's exit error, once Done is closed.
func (s *Server) Err() error { return s.err }

// Stop ends the process (and with it the proxy in front of it) and waits for it.
func (s *Server) Stop() error {
	if s.cmd.Process == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	return nil
}

// Env returns the environment variables that point this project's binaries at the server these
// options describe (Addr must be set; Start fills it in when it picks a free port).
func (o Options) Env(bucket string) []string {
	return []string{
		"S3_ENDPOINT=http://" + o.Addr,
		"S3_BUCKET=" + bucket,
		"S3_PATH_STYLE=true",
		"AWS_REGION=" + o.Region,
		"AWS_ACCESS_KEY_ID=" + o.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + o.SecretKey,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// Getenv looks name up in env (KEY=VALUE lines), for config loaders in tests.
func Getenv(env []string) func(string) string {
	return func(name string) string {
		for _, kv := range env {
			if k, v, ok := strings.Cut(kv, "="); ok && k == name {
				return v
			}
		}
		return ""
	}
}
