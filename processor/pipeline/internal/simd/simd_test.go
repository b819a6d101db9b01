package simd

import (
	"runtime"
	"testing"

	"golang.org/x/sys/cpu"
)

// TestImpl: the assembly is chosen wherever there is one for the machine (so the kernels'
// comparisons compare it, also under qemu-aarch64), and nothing else claims to be.
func TestImpl(t *testing.T) {
	want := ""
	switch {
	case purego:
	case runtime.GOARCH == "arm64":
		want = "neon"
	case runtime.GOARCH == "amd64" && cpu.X86.HasAVX2:
		want = "avx2"
	}
	if Impl != want {
		t.Fatalf("GOARCH %s, purego %v: Impl %q, want %q", runtime.GOARCH, purego, Impl, want)
	}
}
