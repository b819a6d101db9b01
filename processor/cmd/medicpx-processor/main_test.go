package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	images := filepath.Join("..", "..", "..", "testdata", "images")
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		code   int
		stdout string // substring
		stderr []string
	}{
		{name: "no arguments", code: 1, stderr: []string{"usage:"}},
		{name: "unknown command", args: []string{"frobnicate"}, code: 1, stderr: []string{"usage:"}},
		{name: "check without files", args: []string{"check"}, code: 1, stderr: []string{"usage:"}},
		{name: "check: a rejection is not a failure", args: []string{"check", filepath.Join(images, "hostile/html.jpg")},
			code: 0, stdout: "rejected unsupported_type"},
		{name: "check: a missing file is", args: []string{"check", filepath.Join(images, "nope.jpg")}, code: 1,
			stderr: []string{"nope.jpg"}},
		{name: "every config error at once", args: []string{"reconcile"},
			env:  map[string]string{"PROCESSOR_WORKERS": "0", "S3_ENDPOINT": "ftp://x", "RECONCILE_GRACE": "soon"},
			code: 2, stderr: []string{"PROCESSOR_WORKERS", "S3_ENDPOINT", "RECONCILE_GRACE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("AWS_LAMBDA_RUNTIME_API", "")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var stdout, stderr bytes.Buffer
			if code := run(tt.args, &stdout, &stderr); code != tt.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tt.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tt.stdout)
			}
			for _, s := range tt.stderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr %q lacks %q", stderr.String(), s)
				}
			}
		})
	}
}
