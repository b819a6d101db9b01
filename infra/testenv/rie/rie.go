// Package rie runs a Lambda `bootstrap` under aws-lambda-rie, the Runtime Interface Emulator, so
// tests exercise a function through the real Lambda Runtime API, as it runs when deployed.
package rie

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"medicpx/infra/testenv/versity"
)

// FindBinary locates aws-lambda-rie.
func FindBinary() (string, error) { return versity.FindTool("AWS_LAMBDA_RIE", "aws-lambda-rie") }

// BuildBootstrap builds pkg (e.g. ./api/cmd/medicpx-api) for this host as a Lambda bootstrap,
// with the same tags as the deployed one.
func BuildBootstrap(dir, pkg string) (string, error) {
	root, err := versity.ModuleRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc,nodynamic", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %v\n%s", pkg, err, b)
	}
	return out, nil
}

// Function is a bootstrap running under the emulator.
type Function struct {
	URL  string // the invocation endpoint
	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs bootstrap under the emulator with env (KEY=VALUE) on a free loopback port.
func Start(bootstrap string, env []string, output io.Writer) (*Function, error) {
	bin, err := FindBinary()
	if err != nil {
		return nil, err
	}
	addr, err := versity.FreeAddr()
	if err != nil {
		return nil, err
	}
	// The Runtime API port too: its default (9001) would collide between test packages run in parallel.
	runtimeAddr, err := versity.FreeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--runtime-interface-emulator-address", addr, "--runtime-api-address", runtimeAddr, bootstrap)
	cmd.Env = append(os.Environ(), env...)
	if output == nil {
		output = io.Discard
	}
	cmd.Stdout, cmd.Stderr = output, output
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	f := &Function{URL: "http://" + addr + "/2015-03-31/functions/function/invocations", cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(f.done) }()
	return f, nil
}

// Invoke sends one event and returns the function's response payload. The emulator starts the
// bootstrap on the first invocation, so the first call waits for the port to open.
func (f *Function) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, f.URL, bytes.NewReader(event))
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				return body, fmt.Errorf("invoke: %s: %s", resp.Status, body)
			}
			return body, err
		}
		select {
		case <-f.done:
			return nil, errors.New("aws-lambda-rie exited")
		default:
		}
		if time.Now().After(deadline) {
			return nil, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop ends the emulator and its bootstrap.
func (f *Function) Stop() {
	_ = f.cmd.Process.Signal(os.Interrupt)
	select {
	case <-f.done:
	case <-time.After(5 * time.Second):
		_ = f.cmd.Process.Kill()
		<-f.done
	}
}
