package jpegscale

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
)

// Work limits. A progressive scan codes a run of up to 32,767 empty blocks in about three bytes
// (an end-of-band run, T.81 G.1.2.2), yet the decoder visits every block of every scan: a 172 KB
// file with 1,000 redundant scans over a 7000x7000 image took 11-20 s of CPU, and 10 MiB has room
// for about 137,000 scans. image/jpeg, libjpeg-turbo and browsers all accept such files; here they
// are refused as too complex (ErrTooComplex) once they ask for more work than any real encoder's
// output needs.
const (
	// MaxScans bounds the scans of a file. libjpeg's standard progressive script has 10 scans
	// for colour and 6 for grey, Photoshop writes 3 to 5, mozjpeg's optimised scripts at most
	// about 16 (one DC scan per component, luma refined from Al=3, chroma from Al=2), and a
	// baseline file has one scan per component at most. libjpeg-turbo's own fuzzers stop at 500
	// scans and ImageMagick at 1,024, but neither has a CPU target: one scan over the largest
	// allowed image (50 megapixels, 781,250 blocks a component) costs 15-25 ms even when it
	// refines a single coefficient, so 32 scans stay under 1 s.
	MaxScans = 32

	// MaxCoefficientPasses bounds the coefficients all scans decode together, in passes over
	// every coefficient of the frame (a baseline file makes exactly one). A scan's work is its
	// blocks times the width of its spectral band, so a refinement of the whole band costs 63
	// times a one-coefficient one. libjpeg's standard script makes about 3 passes for luma and 2
	// for chroma, and a script refining every band bit by bit to Al=4 about 6; full-band
	// refinements cost up to 70 ns a block, so 8 passes of the largest frame are under 1 s.
	MaxCoefficientPasses = 8
)

// ErrTooComplex is returned, wrapped, for a file over MaxScans or MaxCoefficientPasses. Such a
// file may be valid JPEG: image/jpeg would decode it, slowly.
var ErrTooComplex = errors.New("jpeg: too complex")

// DecodeScaledContext is DecodeScaled, stopped when ctx is done: the decoder checks it before
// every scan and every row of blocks, so it returns within a few milliseconds of the deadline,
// with an error wrapping context.Cause(ctx).
func DecodeScaledContext(ctx context.Context, r io.Reader, minLongEdge int) (image.Image, error) {
	d := decoder{minLongEdge: minLongEdge, ctx: ctx, done: ctx.Done()}
	return d.decode(r, nil)
}

// DecodeScaledBytesContext is DecodeScaledContext on a JPEG already in memory, which it reads in
// place (without a copy, and faster: see refill).
func DecodeScaledBytesContext(ctx context.Context, data []byte, minLongEdge int) (image.Image, error) {
	d := decoder{minLongEdge: minLongEdge, ctx: ctx, done: ctx.Done()}
	return d.decode(nil, data)
}

// interrupted returns an error once the decode's context is done.
func (d *decoder) interrupted() error {
	if d.done == nil {
		return nil
	}
	select {
	case <-d.done:
		return fmt.Errorf("jpeg: decoding stopped: %w", context.Cause(d.ctx))
	default:
		return nil
	}
}

// countScan charges a scan over the given components (indexes into d.comp) and spectral band to
// the file's budget, before any of its data is decoded. mxx x myy is the frame's size in MCUs.
func (d *decoder) countScan(comps []int, zigStart, zigEnd int32, mxx, myy int) error {
	if err := d.interrupted(); err != nil {
		return err
	}
	d.scans++
	if d.scans > MaxScans {
		return fmt.Errorf("%w: more than %d scans", ErrTooComplex, MaxScans)
	}
	// Blocks are counted per MCU, as the scan loop visits them; a non-interleaved scan skips
	// the few padding blocks outside the image at almost no cost.
	mcus := int64(mxx) * int64(myy)
	var frame, scan int64
	for i := range d.comp[:d.nComp] {
		frame += mcus * int64(d.comp[i].h*d.comp[i].v)
	}
	for _, i := range comps {
		scan += mcus * int64(d.comp[i].h*d.comp[i].v)
	}
	d.coefficients += scan * int64(zigEnd-zigStart+1)
	if d.coefficients > MaxCoefficientPasses*blockSize*frame {
		return fmt.Errorf("%w: scans decode more than %d passes over every coefficient", ErrTooComplex, MaxCoefficientPasses)
	}
	return nil
}
