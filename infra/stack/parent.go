package stack

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// WatchParent reports (once, then closes the channel) when the launcher should stop because of
// its parent: the parent exited (SIGKILL, or a `go run` killed without forwarding its signal), or
// the parent is GNU make and it is handling SIGINT, SIGTERM, SIGHUP or SIGQUIT. make forwards only
// SIGTERM to its children; on the others it waits for them to exit, expecting that the terminal
// signalled the whole process group. A signal sent to make alone would leave make waiting on a
// stack that never heard of it, so the launcher watches for it (Linux: make blocks the signal in
// /proc/PID/status while its handler runs). Polled every interval; ends with ctx.
func WatchParent(ctx context.Context, interval time.Duration) <-chan string {
	ppid := os.Getppid()
	comm := procComm(ppid)
	isMake := comm == "make" || comm == "gmake"
	base, baseOK := sigBlocked(ppid)
	out := make(chan string, 1)
	go func() {
		defer close(out)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if os.Getppid() != ppid {
				out <- fmt.Sprintf("its parent (pid %d, %s) is gone", ppid, comm)
				return
			}
			if isMake && baseOK {
				if blk, ok := sigBlocked(ppid); ok && blk&^base&stopSignals != 0 {
					out <- fmt.Sprintf("make (pid %d) got a signal to stop", ppid)
					return
				}
			}
		}
	}()
	return out
}

// stopSignals are SIGHUP, SIGINT, SIGQUIT and SIGTERM as bits of /proc/PID/status's masks.
const stopSignals = 1<<(1-1) | 1<<(2-1) | 1<<(3-1) | 1<<(15-1)

func procComm(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// sigBlocked is the signal mask of process pid (its main thread), from /proc/PID/status.
func sigBlocked(pid int) (uint64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "SigBlk:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return n, err == nil
		}
	}
	return 0, false
}
