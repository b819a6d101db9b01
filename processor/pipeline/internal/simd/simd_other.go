//go:build purego || !(amd64 || arm64)

package simd

// Impl is empty: this build has no assembly (the purego tag, or a GOARCH without it).
const Impl = ""
