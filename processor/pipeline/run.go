package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"slices"
	"strconv"
	"time"

	"golang.org/x/image/webp"

	"medicpx/processor/metastrip"
	"medicpx/processor/pipeline/internal/jpegscale"
	"medicpx/shared/imagepolicy"
	"medicpx/shared/keys"
)

// Run decides whether data, stored under a key with extension ext, is an acceptable image, and
// makes what is stored for it. The rules run cheapest first so that a hostile file costs as
// little as possible: size, magic bytes, header dimensions (before any pixel is decoded), frame
// limits, full decode, trailing data; then metadata stripping and thumbnails.
//
// An invalid image returns a *Rejected; any other error is a bug.
func Run(data []byte, ext string) (*Result, error) {
	return RunContext(context.Background(), data, ext)
}

// ThumbnailExts are the extensions the thumbnails of an upload stored under a key with extension
// ext can have (of keys.ThumbnailExts). A JPEG has no transparency: Run accepts only a JPEG under
// its extension, and every JPEG decodes to opaque pixels, so its thumbnails are JPEGs, and a
// first look need not head PNG ones that cannot exist (two of an upload's S3 requests). The
// slice is shared: read it only.
func ThumbnailExts(ext string) []string {
	if t, ok := imagepolicy.ByExt(ext); ok && t.MIME == "image/jpeg" {
		return jpegThumbnailExts
	}
	return keys.ThumbnailExts
}

var jpegThumbnailExts = []string{"jpg"}

// DecodeBudget bounds the wall-clock time of one upload's decode, whatever ctx allows: a decode
// still running then is stopped and the upload rejected as too complex. It is a backstop. The
// JPEG decoder's scan and coefficient limits already keep every file under about 1.2 s of CPU,
// and a PNG, GIF or WebP costs what its pixels cost, which the header checks bound: a
// 49-megapixel progressive photo is checked and thumbnailed in 0.8 s of CPU here, so 10 s leaves
// room for a slow, busy machine. It stays well under the processor's per-object deadline (20 s),
// so a decode this slow ends once as a rejection, not as a timeout retried until the sweep gives
// up.
const DecodeBudget = 10 * time.Second

// decodeBudget is DecodeBudget; tests set it to nothing to see every decoder stop.
var decodeBudget = DecodeBudget

// errDecodeBudget is the cause of a decode stopped by DecodeBudget, telling it apart from a
// cancellation by the caller, which is not the upload's fault.
var errDecodeBudget = errors.New("decode budget spent")

// RunContext is Run, stopped when ctx is done: a decode interrupted that way returns ctx's
// error, not a rejection, since the upload itself may be fine.
func RunContext(ctx context.Context, data []byte, ext string) (*Result, error) {
	switch n := int64(len(data)); {
	case n == 0:
		return nil, Reject(ReasonEmpty, "0 bytes")
	case n > imagepolicy.MaxBytes:
		return nil, Reject(ReasonTooLarge, "%d bytes > %d", n, imagepolicy.MaxBytes)
	}
	t, err := Sniff(data, ext)
	if err != nil {
		return nil, err
	}
	if t.StoredAs != "" {
		return runConverted(ctx, data, t)
	}
	f := formats[t.MIME]

	cfg, err := f.config(bytes.NewReader(data))
	if err != nil {
		return nil, Reject(ReasonCorrupt, "header: %v", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, Reject(ReasonCorrupt, "header says %dx%d", cfg.Width, cfg.Height)
	}
	if err := imagepolicy.CheckDimensions(cfg.Width, cfg.Height); err != nil {
		return nil, Reject(ReasonTooManyPixels, "%v", err)
	}

	// Frame limits, in this order: what an animation costs a viewer (too complex), what its frames
	// cost us to decode (too many frames), then the animations refused outright (APNG, animated
	// WebP). Only a GIF counts more than one frame: a still passes the first two (one frame of at
	// most imagepolicy.MaxPixels), and so does an animated WebP or PNG, whose frames are never
	// counted because the animation check refuses it whatever its size; only its canvas, checked
	// above against the pixel cap, can refuse it first.
	l, layoutErr := f.layout(data)
	screen := int64(cfg.Width) * int64(cfg.Height)
	if px := int64(l.frames) * screen; px > MaxAnimationPixels {
		return nil, Reject(ReasonTooComplex, "%d frames × %dx%d (%s MP) = %s MP, more than %s MP",
			l.frames, cfg.Width, cfg.Height, megapixels(screen), megapixels(px), megapixels(MaxAnimationPixels))
	}
	if l.frames > MaxAnimationFrames {
		return nil, Reject(ReasonTooComplex, "%d frames, more than %d", l.frames, MaxAnimationFrames)
	}
	if l.framePixels > MaxFramePixels {
		return nil, Reject(ReasonTooManyFrames, "frames hold more than %d pixels in all", MaxFramePixels)
	}
	if l.animated {
		return nil, f.animated()
	}

	// What follows a JPEG's primary image is never decoded: a phone's gain map, stereo frame or
	// video is cut off here if the primary declares it (see classifyJPEGTrailer).
	primary := data
	if layoutErr == nil && l.end < len(data) {
		primary = data[:l.end]
	}
	img, err := decode(ctx, f, primary)
	if err != nil {
		return nil, err
	}
	if layoutErr != nil {
		return nil, Reject(ReasonCorrupt, "structure: %v", layoutErr)
	}
	var removed []string
	if extra := len(data) - l.end; extra > 0 {
		if t.MIME != "image/jpeg" {
			return nil, Reject(ReasonTrailingData, "%d bytes after the end of the image", extra)
		}
		if removed, err = classifyJPEGTrailer(data, l.end); err != nil {
			return nil, Reject(ReasonTrailingData, "%v", err)
		}
	}
	data = primary

	stripped, err := metastrip.Strip(data, t.MIME)
	if err != nil {
		if errors.Is(err, metastrip.ErrTrailingData) {
			return nil, Reject(ReasonTrailingData, "%v", err)
		}
		// The pixels decoded but the metadata could not be parsed: storing the file as it is
		// could publish what we promised to remove.
		return nil, Reject(ReasonCorrupt, "metadata: %v", err)
	}
	orientation := metastrip.Orientation(data, t.MIME)

	thumbs, err := thumbnails(img, cfg.Width, cfg.Height, orientation)
	if err != nil {
		return nil, err
	}
	w, h := cfg.Width, cfg.Height
	if swapsAxes(orientation) {
		w, h = h, w
	}
	return &Result{
		Type:       t,
		Width:      w,
		Height:     h,
		Frames:     max(l.frames, 1),
		Original:   stripped,
		Thumbnails: thumbs,
		Removed:    removed,
	}, nil
}

// megapixels formats n pixels in megapixels, exactly: 50, 200.4, 0.4008.
func megapixels(n int64) string { return strconv.FormatFloat(float64(n)/1e6, 'f', -1, 64) }

// decode decodes data within DecodeBudget, and says why it failed: a *Rejected when the file is
// at fault, ctx's error when the caller stopped it.
func decode(ctx context.Context, f format, data []byte) (image.Image, error) {
	dctx, cancel := context.WithTimeoutCause(ctx, decodeBudget, errDecodeBudget)
	defer cancel()
	img, err := f.decode(dctx, data)
	switch {
	case err == nil:
		return img, nil
	case errors.Is(err, jpegscale.ErrTooComplex):
		return nil, Reject(ReasonTooComplex, "decode: %v", err)
	case ctx.Err() != nil:
		return nil, fmt.Errorf("decode stopped: %w", context.Cause(ctx))
	case context.Cause(dctx) == errDecodeBudget:
		return nil, Reject(ReasonTooComplex, "decode took longer than %v", decodeBudget)
	}
	return nil, Reject(ReasonCorrupt, "decode: %v", err)
}

// format is how each allowed type is checked and decoded.
type format struct {
	config func(r *bytes.Reader) (image.Config, error)
	layout func(data []byte) (layout, error)
	// decode must return soon after ctx is done (see ctxReader).
	decode func(ctx context.Context, data []byte) (image.Image, error)
	// animated is the rejection of a file whose layout says it is animated.
	animated func() *Rejected
}

// ctxReader fails every read once ctx is done. The standard decoders read their input as they
// decode it (PNG's zlib stream and GIF's LZW data through 4 KB buffers, VP8L bit by bit), so
// wrapping their input bounds their time by ctx, give or take what one buffer decodes to. A lossy
// WebP (VP8) reads its partitions before decoding them: its decode, bounded by its pixels, runs
// to the end.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if c.ctx.Err() != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(p)
}

var formats = map[string]format{
	"image/jpeg": {
		config: func(r *bytes.Reader) (image.Config, error) { return jpeg.DecodeConfig(r) },
		layout: jpegLayout,
		// Decoded at 1/2, 1/4 or 1/8 scale when the largest thumbnail still fits: every block is
		// decoded and checked as image/jpeg does, but a 5120x2880 photo never exists at full
		// size in memory (see jpegscale).
		// The decoder also refuses files over its scan and coefficient limits
		// (jpegscale.ErrTooComplex) and checks ctx on every row of blocks.
		decode: func(ctx context.Context, data []byte) (image.Image, error) {
			return jpegscale.DecodeScaledBytesContext(ctx, data, slices.Max(imagepolicy.ThumbnailSizes))
		},
	},
	"image/png": {
		config: func(r *bytes.Reader) (image.Config, error) { return png.DecodeConfig(r) },
		layout: pngLayout,
		decode: func(ctx context.Context, data []byte) (image.Image, error) {
			return png.Decode(ctxReader{ctx, bytes.NewReader(data)})
		},
		animated: func() *Rejected { return Reject(ReasonAnimatedPNG, "animated PNG (acTL, fcTL or fdAT chunks)") },
	},
	"image/gif": {
		config: func(r *bytes.Reader) (image.Config, error) { return gif.DecodeConfig(r) },
		layout: gifLayout,
		decode: decodeGIF,
	},
	"image/webp": {
		config: func(r *bytes.Reader) (image.Config, error) { return webp.DecodeConfig(r) },
		layout: webpLayout,
		decode: func(ctx context.Context, data []byte) (image.Image, error) {
			return webp.Decode(ctxReader{ctx, bytes.NewReader(data)})
		},
		animated: func() *Rejected { return Reject(ReasonAnimatedWebP, "animated WebP") },
	},
}

// decodeGIF decodes every frame (the file must decode fully) and returns the first one as it is
// displayed: drawn on the logical screen, transparent where the frame does not cover it.
func decodeGIF(ctx context.Context, data []byte) (image.Image, error) {
	g, err := gif.DecodeAll(ctxReader{ctx, bytes.NewReader(data)})
	if err != nil {
		return nil, err
	}
	if len(g.Image) == 0 {
		return nil, errors.New("no frames")
	}
	first := g.Image[0]
	screen := image.Rect(0, 0, g.Config.Width, g.Config.Height)
	if first.Rect == screen {
		return first, nil
	}
	// A small first frame on a large screen: the canvas is paletted (one byte a pixel, with a
	// transparent entry for the uncovered area), so a tiny file declaring a 50-megapixel screen
	// costs 50 MB, not the 200 MB of an RGBA canvas.
	palette := first.Palette
	clearIndex := -1
	for i, c := range palette {
		if _, _, _, a := c.RGBA(); a == 0 {
			clearIndex = i
			break
		}
	}
	if clearIndex < 0 {
		if len(palette) >= 256 {
			canvas := image.NewNRGBA(screen)
			draw.Draw(canvas, first.Rect, first, first.Rect.Min, draw.Src)
			return canvas, nil
		}
		palette = append(slices.Clip(palette), color.NRGBA{})
		clearIndex = len(palette) - 1
	}
	canvas := image.NewPaletted(screen, palette)
	if clearIndex != 0 {
		for i := range canvas.Pix {
			canvas.Pix[i] = uint8(clearIndex)
		}
	}
	r := first.Rect.Intersect(screen)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		copy(canvas.Pix[canvas.PixOffset(r.Min.X, y):canvas.PixOffset(r.Max.X, y)], first.Pix[first.PixOffset(r.Min.X, y):])
	}
	return canvas, nil
}
