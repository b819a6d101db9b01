package pipeline

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"

	"github.com/disintegration/imaging"

	"medicpx/processor/metastrip"
	"medicpx/processor/pipeline/internal/bmff"
	"medicpx/processor/pipeline/internal/heifwasm"
	"medicpx/processor/pipeline/internal/jpegenc"
	"medicpx/shared/imagepolicy"
)

// ConvertedQuality is the JPEG quality of an original converted from HEIC or AVIF: it is encoded
// once, from the decoded pixels, and every later view is of this JPEG.
const ConvertedQuality = 92

// runConverted checks and converts a HEIC/HEIF or AVIF upload (type t, sniffed) to a JPEG:
// the container's structure and the primary image's ispe first (bmff.Parse), then the decode in
// the WebAssembly sandbox (memory capped, see heifwasm), then a JPEG of the pixels as displayed
// with the ICC profile and no other metadata, and the thumbnails from the same pixels.
//
// Orientation: HEIF's irot and imir are authoritative (ISO/IEC 23008-12 says a reader must apply
// them, and libheif does); an Exif Orientation inside the file is ignored, since the JPEG carries
// no Exif at all. libavif leaves the transform to the caller: it is applied here.
func runConverted(ctx context.Context, data []byte, t imagepolicy.Type) (*Result, error) {
	info, err := bmff.Parse(data, func(w, h int) error {
		if err := imagepolicy.CheckDimensions(w, h); err != nil {
			return fmt.Errorf("%w: %v", bmff.ErrTooManyPixels, err)
		}
		return nil
	})
	switch {
	case errors.Is(err, bmff.ErrTooManyPixels):
		return nil, Reject(ReasonTooManyPixels, "ispe: %v", err)
	case err != nil:
		return nil, Reject(ReasonCorrupt, "structure: %v", err)
	}
	dw, dh := info.DisplaySize()
	limit := func(w, h int) error {
		// The decoder's idea of the size must be the container's (after irot for libheif,
		// before it for libavif), so the checks above hold for what it allocates.
		if (w != dw || h != dh) && (w != info.Width || h != info.Height) {
			return fmt.Errorf("decoder says %dx%d, ispe %dx%d", w, h, info.Width, info.Height)
		}
		return imagepolicy.CheckDimensions(w, h)
	}
	img, err := decodeWASM(ctx, info, data, limit)
	if err != nil {
		return nil, err
	}
	if info.Codec == bmff.AV1 {
		img = transform(img, info.Rotation, info.Mirror)
	}
	b := img.Bounds()
	if b.Dx() != dw || b.Dy() != dh {
		return nil, Reject(ReasonCorrupt, "decoded %dx%d, the container says %dx%d", b.Dx(), b.Dy(), dw, dh)
	}
	converted, err := jpegenc.Append(nil, img, &jpeg.Options{Quality: ConvertedQuality})
	if err != nil {
		return nil, fmt.Errorf("encode the converted original: %w", err)
	}
	// Strip vets the profile as for any JPEG upload (rebuilt neutral, or dropped if it is not
	// one) and leaves the encoder's JFIF header.
	original, err := metastrip.Strip(metastrip.WithICC(converted, info.ICC), "image/jpeg")
	if err != nil {
		return nil, fmt.Errorf("strip the converted original: %w", err)
	}
	thumbs, err := thumbnails(img, dw, dh, 1)
	if err != nil {
		return nil, err
	}
	return &Result{
		Type:       t.Stored(),
		Width:      dw,
		Height:     dh,
		Frames:     1,
		Original:   original,
		Thumbnails: thumbs,
		Removed:    []string{imagepolicy.RemovedHEICConverted},
	}, nil
}

// decodeWASM runs the decoder and says why it failed: a *Rejected when the file is at fault,
// ctx's error when the caller's deadline ended it.
//
// What bounds it: pixels, by the ispe checked before and the decoder's reported size checked
// again before its output buffer is allocated; memory, by heifwasm.MemoryLimit (an out-of-memory
// in the sandbox is a failed call, so corrupt); faults, since a trap is an error and a panic is
// recovered. Time is bounded by those (the coded data is at most imagepolicy.MaxBytes, the
// pixels at most imagepolicy.MaxPixels), not interrupted: wazero stops a running module at a
// deadline only when it is compiled with CloseOnContextDone, which made libheif four times
// slower here (17.6 s of CPU instead of 4.4 s for the iPhone photo). For the same reason
// DecodeBudget is not applied as a verdict: the decode's wall time says how busy the machine
// was, not what the file asked for.
func decodeWASM(ctx context.Context, info *bmff.Info, data []byte, limit heifwasm.Limit) (img image.Image, err error) {
	dec := heifwasm.HEIF
	if info.Codec == bmff.AV1 {
		dec = heifwasm.AVIF
	}
	img, err = dec(ctx, data, limit)
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("decode stopped: %w", context.Cause(ctx))
	case err != nil:
		return nil, Reject(ReasonCorrupt, "decode: %v", err)
	}
	return img, nil
}

// transform applies irot (anti-clockwise) after imir, as HEIF orders them.
func transform(img image.Image, rotation, mirror int) image.Image {
	if mirror < 0 && rotation == 0 {
		return img
	}
	out := imaging.Clone(img)
	switch mirror {
	case 0:
		out = imaging.FlipH(out)
	case 1:
		out = imaging.FlipV(out)
	}
	switch rotation {
	case 90:
		out = imaging.Rotate90(out)
	case 180:
		out = imaging.Rotate180(out)
	case 270:
		out = imaging.Rotate270(out)
	}
	return out
}
