//go:build !purego

package jpegscale

// purego: this test binary was built with the purego tag (no assembly).
const purego = false
