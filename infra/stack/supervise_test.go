package stack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"medicpx/infra/testenv/logbuf"
)

// shell starts a real child process running script.
func shell(t *testing.T, script string) *process {
	t.Helper()
	p, err := startProcess(exec.Command("/bin/sh", "-c", script))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func fastSupervisor(out *logbuf.Buffer) *supervisor {
	s := newSupervisor(out)
	s.backoff = func(n int) time.Duration { return time.Duration(n) * 10 * time.Millisecond }
	return s
}

// TestSupervisorRestartsACrashedChild: a child that crashes is started again, and keeps running.
func TestSupervisorRestartsACrashedChild(t *testing.T) {
	out := &logbuf.Buffer{}
	s := fastSupervisor(out)
	marker := filepath.Join(t.TempDir(), "started")
	starts := make(chan struct{}, 10)
	start := func(context.Context) (running, error) {
		starts <- struct{}{}
		// The second start leaves a marker and stays up.
		return shell(t, "touch "+marker+"; exec sleep 60"), nil
	}
	s.watch("worker", shell(t, "exit 3"), start)
	select {
	case <-starts:
	case <-time.After(30 * time.Second):
		t.Fatalf("crashed child was not restarted; supervisor said:\n%s", out)
	}
	for i := 0; ; i++ {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		if i > 3000 {
			t.Fatal("restarted child never ran")
		}
		time.Sleep(10 * time.Millisecond)
	}
	children := s.stop()
	select {
	case <-children["worker"].Done():
		t.Fatal("restarted child is not running")
	default:
	}
	_ = children["worker"].Stop()
	if len(starts) != 0 {
		t.Errorf("%d extra restarts of a child that stayed up", len(starts))
	}
	if msg := out.String(); !strings.Contains(msg, "worker exited unexpectedly (exit status 3); restarting it in") ||
		!strings.Contains(msg, "worker restarted") {
		t.Errorf("supervisor messages:\n%s", msg)
	}
	select {
	case <-s.failed:
		t.Error("supervisor gave up on a child that recovered")
	default:
	}
}

// TestSupervisorGivesUpOnACrashLoop: a child that crashes on every start stops the stack with a
// message naming it and its last exit, after at most limit restarts.
func TestSupervisorGivesUpOnACrashLoop(t *testing.T) {
	out := &logbuf.Buffer{}
	s := fastSupervisor(out)
	var mu sync.Mutex
	restarts := 0
	stopped := make(chan struct{})
	s.onFail = func() { close(stopped) }
	s.watch("processor", shell(t, "exit 2"), func(context.Context) (running, error) {
		mu.Lock()
		restarts++
		mu.Unlock()
		return shell(t, "echo boom >&2; exit 2"), nil
	})
	select {
	case <-s.failed:
	case <-time.After(60 * time.Second):
		t.Fatalf("supervisor never gave up; it said:\n%s", out)
	}
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("giving up did not stop the stack")
	}
	s.stop()
	mu.Lock()
	defer mu.Unlock()
	if restarts != s.limit {
		t.Errorf("%d restarts before giving up, want %d", restarts, s.limit)
	}
	want := fmt.Sprintf("processor keeps crashing: it exited %d times within %s (last: exit status 2); stopping the whole stack", s.limit+1, s.window)
	if s.err == nil || s.err.Error() != want || !strings.Contains(out.String(), want) {
		t.Errorf("err %v, output:\n%s\nwant %q", s.err, out, want)
	}
}

// TestSupervisorBackoff: restarts in a row wait longer each time, up to a cap.
func TestSupervisorBackoff(t *testing.T) {
	s := newSupervisor(&logbuf.Buffer{})
	prev := time.Duration(0)
	for n := 1; n <= 10; n++ {
		d := s.backoff(n)
		if d < prev || d > 8*time.Second || d <= 0 {
			t.Errorf("backoff(%d) = %s after %s", n, d, prev)
		}
		prev = d
	}
	if s.backoff(1) >= s.backoff(3) {
		t.Errorf("backoff does not grow: %s, %s", s.backoff(1), s.backoff(3))
	}
}
