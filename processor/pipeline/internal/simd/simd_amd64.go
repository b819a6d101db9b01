//go:build !purego

package simd

import "golang.org/x/sys/cpu"

// Impl names the assembly the kernels run: "avx2", or "" when the CPU lacks it.
var Impl = func() string {
	if cpu.X86.HasAVX2 {
		return "avx2"
	}
	return ""
}()
