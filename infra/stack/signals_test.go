package stack

import (
	"bufio"
	"fmt"
	"io"
	"medicpx/infra/testenv/logbuf"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"medicpx/infra/testenv/versity"
)

// Issue 22 item 2: a signal to any process of `make run` stops every process of the stack and
// frees its ports, and a start on a taken port fails naming it instead of reporting a leftover
// stack as its own. These tests run the real launcher (and make), as a developer does.

// launcherRun is one run of `make run` or of the launcher binary, in its own process group so that
// the test can always clean up what it started.
type launcherRun struct {
	cmd   *exec.Cmd
	addrs map[string]string // API_ADDR, S3_ADDR, PROCESSOR_ADDR
	out   *logbuf.Buffer    // stdout and stderr
	up    chan struct{}     // closed when it printed "medicpx is running."
	exit  chan struct{}     // closed when it exited
	err   error
}

func freeAddrs(t *testing.T) map[string]string {
	t.Helper()
	addrs := map[string]string{}
	for _, k := range []string{"API_ADDR", "S3_ADDR", "PROCESSOR_ADDR"} {
		a, err := versity.FreeAddr()
		if err != nil {
			t.Fatal(err)
		}
		addrs[k] = a
	}
	return addrs
}

// buildLauncher builds the stack's binaries and the launcher into one folder.
func buildLauncher(t *testing.T) string {
	t.Helper()
	bin := buildBinaries(t)
	root, err := versity.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-o", bin+"/", "./infra/cmd/medicpx-local")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the launcher: %v\n%s", err, out)
	}
	return bin
}

// startRun starts cmd with the stack's addresses in its environment and reads its output.
func startRun(t *testing.T, cmd *exec.Cmd, addrs map[string]string) *launcherRun {
	t.Helper()
	r := &launcherRun{cmd: cmd, addrs: addrs, out: &logbuf.Buffer{}, up: make(chan struct{}), exit: make(chan struct{})}
	cmd.Env = append(os.Environ(), "LOCAL_DATA="+t.TempDir())
	for k, v := range addrs {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	// A test run in the background may have SIGINT ignored, which make and the launcher would
	// inherit; while the test catches it, a child starts with the default disposition.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	err := cmd.Start()
	signal.Stop(sigs)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		seen := false
		for sc.Scan() {
			fmt.Fprintln(r.out, sc.Text())
			if !seen && strings.Contains(sc.Text(), "medicpx is running.") {
				seen = true
				close(r.up)
			}
		}
	}()
	go func() { r.err = cmd.Wait(); pw.Close(); close(r.exit) }()
	t.Cleanup(func() {
		// Whatever the test's outcome, nothing it started survives it: the group, then every
		// process that was seen as a descendant.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if t.Failed() {
			t.Logf("output of %s:\n%s", strings.Join(cmd.Args, " "), r.out)
		}
	})
	return r
}

func (r *launcherRun) waitUp(t *testing.T) {
	t.Helper()
	select {
	case <-r.up:
	case <-r.exit:
		t.Fatalf("exited before the stack was up: %v\n%s", r.err, r.out)
	case <-time.After(3 * time.Minute):
		t.Fatalf("the stack never came up:\n%s", r.out)
	}
}

// descendants are the processes below pid, from /proc.
func descendants(pid int) map[int]string {
	parent := map[int]int{}
	comm := map[int]string{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		p, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		b, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		f := strings.Fields(s[i+1:])
		if len(f) < 2 || f[0] == "Z" {
			continue
		}
		pp, _ := strconv.Atoi(f[1])
		parent[p] = pp
		comm[p] = s[strings.IndexByte(s, '(')+1 : i]
	}
	out := map[int]string{}
	for grew := true; grew; {
		grew = false
		for p, pp := range parent {
			if _, in := out[p]; !in && (pp == pid || out[pp] != "") {
				out[p] = comm[p]
				grew = true
			}
		}
	}
	return out
}

// alive: the process exists and is not a zombie (an orphan's zombie waits for whoever adopted it).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z"
}

// portFree: nobody answers on addr, and it can be listened on.
func portFree(addr string) bool {
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		return false
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// stackProcesses are the processes of a running stack below top: it must include the three
// services.
func stackProcesses(t *testing.T, top int) map[int]string {
	t.Helper()
	procs := descendants(top)
	for _, want := range []string{"medicpx-api", "medicpx-process", "versitygw"} { // comm is 15 bytes at most
		found := false
		for _, c := range procs {
			found = found || c == want
		}
		if !found {
			t.Fatalf("no %s among the processes below %d: %v", want, top, procs)
		}
	}
	return procs
}

// assertAllStopped: within a few seconds every process of the stack (and top) is gone and every
// port is free.
func assertAllStopped(t *testing.T, r *launcherRun, procs map[int]string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var left []string
		if alive(r.cmd.Process.Pid) {
			select {
			case <-r.exit:
			default:
				left = append(left, fmt.Sprintf("%d (%s, the top process)", r.cmd.Process.Pid, filepath.Base(r.cmd.Path)))
			}
		}
		for p, c := range procs {
			if alive(p) {
				left = append(left, fmt.Sprintf("%d (%s)", p, c))
			}
		}
		for k, a := range r.addrs {
			if !portFree(a) {
				left = append(left, k+" "+a+" still taken")
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("15 s after the signal, still running: %s", strings.Join(left, ", "))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// makeRun starts `make -s run` with the stack's addresses, the tools Makefile installs being
// where VERSITYGW says (-o tools: the test installs nothing).
func makeRun(t *testing.T) *launcherRun {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("make is required")
	}
	vgw, err := versity.FindBinary()
	if err != nil {
		t.Fatal(err)
	}
	root, err := versity.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	addrs := freeAddrs(t)
	args := []string{"-s", "-o", "tools", "run", "VERSITYGW=" + vgw, "LOCAL_BIN=" + t.TempDir()}
	for k, v := range addrs {
		args = append(args, k+"="+v)
	}
	cmd := exec.Command("make", args...)
	cmd.Dir = root
	r := startRun(t, cmd, addrs)
	r.waitUp(t)
	return r
}

// TestSIGTERMToMakeStopsEverything: SIGTERM to the make process of `make run`, and to it alone,
// stops the launcher and the three services, and frees their ports.
func TestSIGTERMToMakeStopsEverything(t *testing.T) {
	r := makeRun(t)
	procs := stackProcesses(t, r.cmd.Process.Pid)
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	assertAllStopped(t, r, procs)
}

// TestSIGINTToMakeStopsEverything: make keeps a SIGINT to itself (it waits for its children,
// expecting the terminal to have signalled them too); the launcher notices and stops everything.
func TestSIGINTToMakeStopsEverything(t *testing.T) {
	r := makeRun(t)
	procs := stackProcesses(t, r.cmd.Process.Pid)
	if err := r.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	assertAllStopped(t, r, procs)
}

func launcherRunOf(t *testing.T, bin string, addrs map[string]string) *launcherRun {
	t.Helper()
	return startRun(t, exec.Command(filepath.Join(bin, "medicpx-local"), "-bin", bin), addrs)
}

// TestKilledLauncherTakesItsChildren: a launcher killed outright (SIGKILL: no chance to stop
// anything) still leaves no service behind.
func TestKilledLauncherTakesItsChildren(t *testing.T) {
	r := launcherRunOf(t, buildLauncher(t), freeAddrs(t))
	r.waitUp(t)
	procs := stackProcesses(t, r.cmd.Process.Pid)
	if err := r.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	assertAllStopped(t, r, procs)
}

// TestSIGTERMToAServiceStopsEverything: SIGTERM to one service (here versitygw) is a request to
// stop, not a crash: the launcher stops the rest and exits, rather than restarting it.
func TestSIGTERMToAServiceStopsEverything(t *testing.T) {
	r := launcherRunOf(t, buildLauncher(t), freeAddrs(t))
	r.waitUp(t)
	procs := stackProcesses(t, r.cmd.Process.Pid)
	for p, c := range procs {
		if c == "versitygw" {
			if err := syscall.Kill(p, syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
		}
	}
	assertAllStopped(t, r, procs)
	if !strings.Contains(r.out.String(), "versitygw was stopped") {
		t.Errorf("the launcher did not say why it stopped")
	}
}

// TestStartOnATakenPortFails: while one stack runs, a second start on its addresses fails at once,
// naming the address and the process holding it, and leaves the first stack serving.
func TestStartOnATakenPortFails(t *testing.T) {
	bin := buildLauncher(t)
	addrs := freeAddrs(t)
	first := launcherRunOf(t, bin, addrs)
	first.waitUp(t)
	apiPid := 0
	for p, c := range stackProcesses(t, first.cmd.Process.Pid) {
		if c == "medicpx-api" {
			apiPid = p
		}
	}

	second := launcherRunOf(t, bin, addrs)
	select {
	case <-second.exit:
	case <-second.up:
		t.Fatalf("the second start reported the first stack as its own:\n%s", second.out)
	case <-time.After(30 * time.Second):
		t.Fatalf("the second start neither failed nor came up in 30 s:\n%s", second.out)
	}
	msg := second.out.String()
	if second.err == nil {
		t.Errorf("the second start exited with status 0")
	}
	if strings.Contains(msg, "medicpx is running.") {
		t.Errorf("the second start reported the first stack as its own")
	}
	want := fmt.Sprintf("API_ADDR %s is already in use by pid %d (medicpx-api)", addrs["API_ADDR"], apiPid)
	if !strings.Contains(msg, want) {
		t.Errorf("the second start's message does not say %q:\n%s", want, msg)
	}
	select {
	case <-first.exit:
		t.Fatalf("the first stack stopped:\n%s", first.out)
	default:
	}
	for k, a := range addrs {
		if portFree(a) {
			t.Errorf("the first stack's %s %s no longer answers", k, a)
		}
	}
}
