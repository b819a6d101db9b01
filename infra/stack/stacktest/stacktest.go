// Package stacktest starts the whole local stack (versitygw, processor, API) for a test, from
// binaries built for it, in temporary folders, and stops it when the test ends.
package stacktest

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"medicpx/infra/stack"
)

// Start builds the stack's binaries and starts it with o. DataDir defaults to a temporary folder
// and Output to io.Discard; the binaries are always the ones just built. When Output is a
// fmt.Stringer (a buffer), a failed start shows what the stack printed.
func Start(t testing.TB, o stack.Options) *stack.Stack {
	t.Helper()
	bin := t.TempDir()
	if err := stack.Build(bin); err != nil {
		t.Fatal(err)
	}
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	if o.Output == nil {
		o.Output = io.Discard
	}
	o.APIBin = filepath.Join(bin, "medicpx-api")
	o.ProcessorBin = filepath.Join(bin, "medicpx-processor")
	st, err := stack.Start(context.Background(), o)
	if err != nil {
		if s, ok := o.Output.(fmt.Stringer); ok {
			t.Fatalf("start the stack: %v\n%s", err, s)
		}
		t.Fatalf("start the stack: %v", err)
	}
	t.Cleanup(st.Stop)
	return st
}
