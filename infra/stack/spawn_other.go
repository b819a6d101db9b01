//go:build !linux

package stack

import "os/exec"

// startChildProcess starts a child in the launcher's process group. Without Linux's parent-death
// signal a child outlives a launcher that is killed outright (SIGKILL); any other way the
// launcher ends, it stops its children first.
func startChildProcess(cmd *exec.Cmd) error { return cmd.Start() }
