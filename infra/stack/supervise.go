package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// running is a started child process: the processor, versitygw or the API.
type running interface {
	Done() <-chan struct{} // closed when it has exited
	Err() error            // its exit error, once Done is closed
	Stop() error           // ends it and waits
}

// process is a running child started from a binary; versity.Server is the other kind.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
}

func startProcess(cmd *exec.Cmd) (*process, error) {
	if err := startChildProcess(cmd); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	return p, nil
}

func (p *process) Done() <-chan struct{} { return p.exited }
func (p *process) Err() error            { return p.err }
func (p *process) Pid() int              { return p.cmd.Process.Pid }

// Stop asks the process to end (SIGINT: the receiver drains its queue) and kills it after 10 s.
func (p *process) Stop() error {
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	return nil
}

// supervisor restarts a child that exits on its own, so one crash (an OOM kill, a panic) does not
// leave the stack half-alive: with no processor, uploads would stay "processing" until a person
// noticed. A child that keeps crashing is a bug to report, not to hide: after more than limit
// exits within window the supervisor gives up, and the stack stops with a message naming the
// child and its last exit.
type supervisor struct {
	out     io.Writer
	limit   int
	window  time.Duration
	backoff func(restart int) time.Duration // delay before the n-th restart within the window

	ctx    context.Context // ends on stop: cancels restarts in progress
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	stopping bool
	children map[string]running // what is running now, by name

	failOnce sync.Once
	failed   chan struct{}
	err      error
	onFail   func()
}

func newSupervisor(out io.Writer) *supervisor {
	ctx, cancel := context.WithCancel(context.Background())
	return &supervisor{
		out: out, limit: 5, window: time.Minute,
		backoff: func(n int) time.Duration {
			return min(250*time.Millisecond<<(n-1), 8*time.Second)
		},
		ctx: ctx, cancel: cancel, children: map[string]running{}, failed: make(chan struct{}),
	}
}

// watch takes charge of r, the running child called name; start starts it again (and waits until
// it serves). Call it once per child, after its first start.
func (s *supervisor) watch(name string, r running, start func(context.Context) (running, error)) {
	s.mu.Lock()
	s.children[name] = r
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		var exits []time.Time
		for {
			select {
			case <-s.ctx.Done():
				return
			case <-r.Done():
			}
			last := r.Err()
			if s.ctx.Err() == nil && stoppedOnPurpose(last) {
				// Someone stopped this child (kill, Ctrl-C reaching it first): that is a request to
				// stop, not a crash to hide, and half a stack is no use. Stop all of it.
				s.finish(&ChildStoppedError{Name: name, Exit: last})
				return
			}
			for {
				if s.ctx.Err() != nil {
					return // stopping: the exit was asked for
				}
				now := time.Now()
				exits = append(recent(exits, now.Add(-s.window)), now)
				if len(exits) > s.limit {
					s.fail(fmt.Errorf("%s keeps crashing: it exited %d times within %s (last: %v); stopping the whole stack",
						name, len(exits), s.window, last))
					return
				}
				delay := s.backoff(len(exits))
				fmt.Fprintf(s.out, "medicpx-local: %s exited unexpectedly (%v); restarting it in %s (restart %d of at most %d within %s)\n",
					name, last, delay, len(exits), s.limit, s.window)
				select {
				case <-s.ctx.Done():
					return
				case <-time.After(delay):
				}
				next, err := start(s.ctx)
				if err != nil {
					last = err
					continue
				}
				if !s.replace(name, next) {
					_ = next.Stop()
					return
				}
				fmt.Fprintf(s.out, "medicpx-local: %s restarted\n", name)
				r = next
				break
			}
		}
	}()
}

// ChildStoppedError is why the stack stopped when one of its children was stopped by a signal
// (SIGTERM, SIGINT, SIGHUP) or exited cleanly, which a service does only when asked to.
type ChildStoppedError struct {
	Name string
	Exit error // nil: exit status 0
}

func (e *ChildStoppedError) Error() string {
	how := "exit status 0"
	if e.Exit != nil {
		how = e.Exit.Error()
	}
	return fmt.Sprintf("%s was stopped (%s); stopping the whole stack", e.Name, how)
}

// stoppedOnPurpose tells a child that was asked to stop from one that crashed: it exited with
// status 0 (our services do after SIGINT or SIGTERM) or was ended by SIGINT, SIGTERM or SIGHUP
// (versitygw does not catch them). SIGKILL, a panic or an error exit is a crash.
func stoppedOnPurpose(exit error) bool {
	if exit == nil {
		return true
	}
	var ee *exec.ExitError
	if !errors.As(exit, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return false
	}
	switch ws.Signal() {
	case syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP:
		return true
	}
	return false
}

// recent keeps the times after since.
func recent(ts []time.Time, since time.Time) []time.Time {
	out := ts[:0]
	for _, t := range ts {
		if t.After(since) {
			out = append(out, t)
		}
	}
	return out
}

// replace records the restarted child, unless the stack is stopping.
func (s *supervisor) replace(name string, r running) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return false
	}
	s.children[name] = r
	return true
}

func (s *supervisor) fail(err error) { s.finish(err) }

// finish stops the stack (onFail) with err as the reason; the first reason wins.
func (s *supervisor) finish(err error) {
	s.failOnce.Do(func() {
		s.err = err
		fmt.Fprintln(s.out, "medicpx-local:", err)
		close(s.failed)
		if s.onFail != nil {
			go s.onFail()
		}
	})
}

// stop ends supervision (no more restarts) and returns the running children by name.
func (s *supervisor) stop() map[string]running {
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return s.children
}

// current is the child called name as it runs now (after any restarts).
func (s *supervisor) current(name string) running {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.children[name]
}
