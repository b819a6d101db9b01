//go:build !purego

package simd

// Impl names the assembly the kernels run.
const Impl = "neon"
