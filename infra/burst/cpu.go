package burst

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"medicpx/infra/stack"
)

// userHZ is the unit of /proc/<pid>/stat's CPU times: USER_HZ, 100 on every Linux ABI.
const userHZ = 100

// StackCPU is the CPU time (user and system) each process of a local stack has used so far, by
// role: "api", "processor" and "versitygw" found by the ports they listen on (apiAddr, procAddr,
// s3Addr), and "s3 proxy" when S3_LATENCY put the launcher's delaying proxy on s3Addr (versitygw
// is then the launcher's child of that name). Linux only: elsewhere it is an error.
func StackCPU(apiAddr, procAddr, s3Addr string) (map[string]time.Duration, error) {
	pids := map[string]int{}
	for role, addr := range map[string]string{"api": apiAddr, "processor": procAddr, "versitygw": s3Addr} {
		h, ok := stack.PortHolder(addr)
		switch {
		case ok:
			pids[role] = h.Pid
		case role == "versitygw":
			// PortHolder never names this process: the proxy may be ours (a stack started
			// in-process, as the tests do).
			pids[role] = os.Getpid()
		default:
			return nil, fmt.Errorf("no process found listening on %s (%s)", addr, role)
		}
	}
	if comm(pids["versitygw"]) != "versitygw" {
		launcher := pids["versitygw"]
		pids["s3 proxy"] = launcher
		delete(pids, "versitygw")
		dirs, _ := filepath.Glob("/proc/[0-9]*")
		for _, dir := range dirs {
			pid, err := strconv.Atoi(filepath.Base(dir))
			if err == nil && comm(pid) == "versitygw" && parent(pid) == launcher {
				pids["versitygw"] = pid
			}
		}
	}
	out := map[string]time.Duration{}
	for role, pid := range pids {
		d, err := cpuTime(pid)
		if err != nil {
			return nil, fmt.Errorf("%s (pid %d): %w", role, pid, err)
		}
		out[role] = d
	}
	return out, nil
}

func comm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

// stat is /proc/<pid>/stat's fields after the command name (which may hold spaces).
func stat(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	return strings.Fields(s[i+1:]), nil
}

func parent(pid int) int {
	f, err := stat(pid)
	if err != nil || len(f) < 2 {
		return 0
	}
	p, _ := strconv.Atoi(f[1])
	return p
}

// cpuTime is utime + stime (fields 14 and 15 of stat; 12 and 13 after the name).
func cpuTime(pid int) (time.Duration, error) {
	f, err := stat(pid)
	if err != nil {
		return 0, err
	}
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unreadable CPU times in /proc/%d/stat", pid)
	}
	return time.Duration(u+s) * time.Second / userHZ, nil
}

// roles are StackCPU's roles, in the order CPUSplit and PerUpload print them.
var roles = []string{"processor", "versitygw", "api", "s3 proxy"}

// CPUSplit formats the CPU used between two StackCPU readings, by role, with each role's share.
func CPUSplit(before, after map[string]time.Duration) string {
	var total time.Duration
	for role, d := range after {
		total += d - before[role]
	}
	parts := []string{fmt.Sprintf("stack CPU %.1f s", total.Seconds())}
	for _, role := range roles {
		if d, ok := after[role]; ok {
			used := d - before[role]
			parts = append(parts, fmt.Sprintf("%s %.1f s (%.0f%%)", role, used.Seconds(), 100*used.Seconds()/max(total.Seconds(), 1e-9)))
		}
	}
	return strings.Join(parts, ", ")
}

// PerUpload formats the CPU each role used per upload between two StackCPU readings, and the
// rate at which cores could run the processor's work alone: in AWS, S3 runs on none of the
// Lambda's cores, so that rate is what bounds the processor there, while the local burst's own
// rate also pays for versitygw's hashing and writes on the same cores.
func PerUpload(before, after map[string]time.Duration, uploads, cores int) string {
	if uploads == 0 {
		return "no uploads"
	}
	var parts []string
	for _, role := range roles {
		if d, ok := after[role]; ok {
			parts = append(parts, fmt.Sprintf("%s %.0f ms", role, (d-before[role]).Seconds()*1000/float64(uploads)))
		}
	}
	out := "CPU per upload: " + strings.Join(parts, ", ")
	if d := after["processor"] - before["processor"]; d > 0 {
		out += fmt.Sprintf("; the processor's work alone on %d cores: %.1f images/s", cores, float64(uploads)*float64(cores)/d.Seconds())
	}
	return out
}
