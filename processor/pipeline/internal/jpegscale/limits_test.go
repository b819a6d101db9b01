package jpegscale

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"testing"

	"medicpx/processor/pipeline/internal/jpegtest"
)

// script is a DC scan, a first AC scan, then n more scans of the given kind.
func script(n int, more jpegtest.Scan) []jpegtest.Scan {
	s := []jpegtest.Scan{jpegtest.DC, jpegtest.AC}
	for range n {
		s = append(s, more)
	}
	return s
}

// TestWorkLimits: a file at a limit decodes as image/jpeg decodes it; one scan more is refused
// as too complex, although image/jpeg accepts it too, so the limit and nothing else refuses it.
func TestWorkLimits(t *testing.T) {
	narrow := jpegtest.Scan{Ss: 1, Se: 1, Ah: 1, Al: 0} // refines one coefficient: 1/64 of a pass
	// Passes of a script of n full-band refinements: the DC scan, the AC scan and n times 63/64.
	maxRefinements := (MaxCoefficientPasses*blockSize - blockSize) / 63
	tests := []struct {
		name    string
		scans   []jpegtest.Scan
		complex bool
	}{
		{"MaxScans one-coefficient scans", script(MaxScans-2, narrow), false},
		{"MaxScans+1 one-coefficient scans", script(MaxScans-1, narrow), true},
		{"full-band refinements up to MaxCoefficientPasses", script(maxRefinements, jpegtest.Refine), false},
		{"one full-band refinement more", script(maxRefinements+1, jpegtest.Refine), true},
		{"repeated first AC scans", script(MaxCoefficientPasses, jpegtest.AC), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.scans) > MaxScans && !tt.complex {
				t.Fatalf("the script has %d scans", len(tt.scans))
			}
			data := jpegtest.Progressive(200, 120, tt.scans)
			want, refErr := jpeg.Decode(bytes.NewReader(data))
			if refErr != nil {
				t.Fatalf("image/jpeg refuses the file: %v", refErr)
			}
			for _, minLong := range []int{1 << 20, 30} { // full size, and 1/4 (the reduced store)
				got, err := DecodeScaled(bytes.NewReader(data), minLong)
				if tt.complex {
					if !errors.Is(err, ErrTooComplex) {
						t.Fatalf("minLongEdge %d: error %v, want ErrTooComplex", minLong, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("minLongEdge %d: %v", minLong, err)
				}
				if minLong == 1<<20 && !bytes.Equal(got.(*image.Gray).Pix, want.(*image.Gray).Pix) {
					t.Errorf("pixels differ from image/jpeg's")
				}
			}
		})
	}
}

// TestScanBomb: the review's bomb, a 7000x7000 grey progressive JPEG with 1,000 full-band
// refinement scans (each a pass over 765,625 blocks), is refused as too complex. The old decoder
// took over 10 s of CPU on it and then returned a flat grey image.
func TestScanBomb(t *testing.T) {
	data := jpegtest.Bomb(7000, 7000, 1000)
	if len(data) > 200_000 {
		t.Fatalf("the bomb is %d bytes: the test should build a small file", len(data))
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width != 7000 || cfg.Height != 7000 {
		t.Fatalf("header: %+v, %v", cfg, err)
	}
	_, err = DecodeScaled(bytes.NewReader(data), 1280)
	if !errors.Is(err, ErrTooComplex) {
		t.Fatalf("error %v, want ErrTooComplex", err)
	}
}

// cancelAfter is a reader that cancels its context once n bytes have been read from it.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelCauseFunc
	cause  error
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n -= n; c.n <= 0 {
		c.cancel(c.cause)
	}
	return n, err
}

// TestDecodeStopsWhenContextDone: the decoder checks its context inside a scan, not only between
// scans: a baseline file (one scan) whose context is cancelled once the first 8 KB of its 400 KB
// of scan data are read stops with the cancellation's cause, instead of decoding to the end.
func TestDecodeStopsWhenContextDone(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	img := image.NewGray(image.Rect(0, 0, 800, 600))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.IntN(256))
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	if buf.Len() < 200_000 {
		t.Fatalf("the file is %d bytes: too little scan data to stop in", buf.Len())
	}
	cause := errors.New("budget spent")
	for _, minLong := range []int{1 << 20, 300} {
		ctx, cancel := context.WithCancelCause(context.Background())
		r := &cancelAfter{r: bytes.NewReader(buf.Bytes()), n: 8 << 10, cancel: cancel, cause: cause}
		_, err := DecodeScaledContext(ctx, r, minLong)
		if !errors.Is(err, cause) {
			t.Errorf("minLongEdge %d: error %v, want the cancellation's cause", minLong, err)
		}
		if left := buf.Len() + r.n - 8<<10; left < 100_000 {
			t.Errorf("minLongEdge %d: stopped with only %d bytes left unread", minLong, left)
		}
		cancel(nil)
	}

	// A context done before the start stops a progressive decode too, before its first scan.
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	if _, err := DecodeScaledContext(ctx, bytes.NewReader(jpegtest.Bomb(64, 64, 1)), 0); !errors.Is(err, cause) {
		t.Errorf("cancelled before the start: error %v, want the cause", err)
	}
}
