//go:build purego

package resample

// purego: this test binary was built with the purego tag (no assembly).
const purego = true
