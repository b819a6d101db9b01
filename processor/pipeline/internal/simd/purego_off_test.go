//go:build !purego

package simd

// purego: whether this test binary was built with the purego tag (no assembly).
const purego = false
