package metastrip

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzMIMEs are indexed by the fuzzer's kind byte: a mutated string would almost never be a
// valid type, and feeding one format's bytes to another's parser is worth fuzzing too.
var fuzzMIMEs = []string{MIMEJPEG, MIMEPNG, MIMEGIF, MIMEWebP}

func mimeKind(mime string) int {
	for i, m := range fuzzMIMEs {
		if m == mime {
			return i
		}
	}
	panic("unknown mime " + mime)
}

// FuzzStrip: no panic on any input; a failure wraps one of the package's errors; a success is a
// fixed point (stripping again changes nothing) with the same orientation.
// Seed corpus: testdata/fuzz/FuzzStrip, made from the fixtures by TestFixtures -update.
func FuzzStrip(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, kind byte) {
		mime := fuzzMIMEs[int(kind)%len(fuzzMIMEs)]
		out, err := Strip(data, mime)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTrailingData) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			if out != nil {
				t.Fatal("output alongside an error")
			}
			return
		}
		again, err := Strip(out, mime)
		if err != nil {
			t.Fatalf("stripping the output failed: %v", err)
		}
		if !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %d bytes, then %d", len(out), len(again))
		}
		if a, b := Orientation(data, mime), Orientation(out, mime); a != b {
			t.Fatalf("orientation %d became %d", a, b)
		}
	})
}

// FuzzOrientation: no panic, and always a valid orientation.
func FuzzOrientation(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, kind byte) {
		if o := Orientation(data, fuzzMIMEs[int(kind)%len(fuzzMIMEs)]); o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
	})
}
