package stack

import (
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// PortTakenError says that an address the stack needs is already in use, and by whom when that
// could be found out.
type PortTakenError struct {
	Setting string // API_ADDR, S3_ADDR or PROCESSOR_ADDR
	Addr    string
	Holder  Holder // zero when not found
	Err     error  // the failed listen
}

func (e *PortTakenError) Error() string {
	who := "another process (its owner could not be found)"
	if e.Holder.Pid != 0 {
		who = e.Holder.String()
	}
	return fmt.Sprintf("%s %s is already in use by %s: is an earlier `make run` still running? Stop it, or choose another address (%s=127.0.0.1:PORT)",
		e.Setting, e.Addr, who, e.Setting)
}

func (e *PortTakenError) Unwrap() error { return e.Err }

// Holder is a process that listens on a port.
type Holder struct {
	Pid  int
	Comm string // its command name (/proc/PID/comm)
}

func (h Holder) String() string { return fmt.Sprintf("pid %d (%s)", h.Pid, h.Comm) }

// checkFree fails with a *PortTakenError if addr cannot be listened on now. The stack checks each
// address before it starts the child that should listen there: a child that cannot bind exits,
// but a leftover process on its port would answer the health check in its place.
func checkFree(setting, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln.Close()
	}
	h, _ := PortHolder(addr)
	return &PortTakenError{Setting: setting, Addr: addr, Holder: h, Err: err}
}

// PortHolder finds the process listening on addr's TCP port, on Linux from /proc/net/tcp{,6} and
// the processes' socket descriptors. Best effort: ok is false when it is not found (another OS,
// another user's process, or nobody listens).
func PortHolder(addr string) (h Holder, ok bool) {
	inodes := listeningInodes(addr)
	if len(inodes) == 0 {
		return Holder{}, false
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range dirs {
		pid, err := strconv.Atoi(filepath.Base(dir))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if holdsInode(pid, inodes) {
			comm, _ := os.ReadFile(filepath.Join(dir, "comm"))
			return Holder{Pid: pid, Comm: strings.TrimSpace(string(comm))}, true
		}
	}
	return Holder{}, false
}

// listensOn reports whether process pid holds a socket listening on addr's port. known is false
// when that cannot be told (no /proc, nothing found listening).
func listensOn(pid int, addr string) (holds, known bool) {
	inodes := listeningInodes(addr)
	if len(inodes) == 0 {
		return false, false
	}
	return holdsInode(pid, inodes), true
}

func holdsInode(pid int, inodes map[string]bool) bool {
	fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	for _, fd := range fds {
		link, err := os.Readlink(fd)
		if err == nil && strings.HasPrefix(link, "socket:[") && inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
			return true
		}
	}
	return false
}

// listeningInodes are the socket inodes of /proc/net/tcp and tcp6 entries in state LISTEN on addr's
// port, at addr's IP or a wildcard address.
func listeningInodes(addr string) map[string]bool {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil
	}
	want := net.ParseIP(host)
	inodes := map[string]bool{}
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			if len(f) < 10 || f[3] != "0A" {
				continue
			}
			ipHex, pHex, ok := strings.Cut(f[1], ":")
			if !ok {
				continue
			}
			if p, err := strconv.ParseUint(pHex, 16, 16); err != nil || p != port {
				continue
			}
			ip := procIP(ipHex)
			if ip == nil || !(ip.IsUnspecified() || want == nil || ip.Equal(want)) {
				continue
			}
			inodes[f[9]] = true
		}
	}
	return inodes
}

// procIP decodes /proc/net/tcp's address: 32-bit words in host (little-endian) byte order.
func procIP(s string) net.IP {
	b, err := hex.DecodeString(s)
	if err != nil || (len(b) != 4 && len(b) != 16) {
		return nil
	}
	for i := 0; i < len(b); i += 4 {
		b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
	return net.IP(b)
}
