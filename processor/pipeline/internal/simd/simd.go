// Package simd says which vector instructions this build and machine give the pipeline's
// assembly kernels (jpegscale's transforms, resample's passes), so that they all choose alike:
// AVX2 on amd64 when the CPU has it (checked at run time: a GOAMD64=v1 machine may not), NEON on
// arm64 (every arm64 CPU has it), nothing with the purego tag or on another GOARCH.
package simd
