//go:build linux

package stack

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// startChildProcess starts a child of the launcher that never outlives it: the kernel sends it
// SIGTERM when the launcher dies, however it dies (SIGKILL included), so no service is left
// holding its port. Linux sends the parent-death signal when the thread that forked the child
// exits, not the process, so every child is forked from one OS thread that is locked to a
// goroutine that never returns.
func startChildProcess(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
	spawnOnce.Do(func() {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives as long as the process
			for f := range spawnReq {
				f()
			}
		}()
	})
	errc := make(chan error, 1)
	spawnReq <- func() { errc <- cmd.Start() }
	return <-errc
}

var (
	spawnOnce sync.Once
	spawnReq  = make(chan func())
)
