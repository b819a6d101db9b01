package heifwasm

import (
	"context"
	"fmt"
	"image"
)

// libheif's colourspaces and chroma formats, as heif.h numbers them.
const (
	heifColorspaceYCbCr      = 0
	heifColorspaceRGB        = 1
	heifColorspaceMonochrome = 2

	heifChroma420 = 1
	heifChroma422 = 2
	heifChroma444 = 3
)

// Limit bounds the image a decoder reports before any pixel buffer is allocated for it: the
// caller has checked the container's own dimensions, and this holds even if the decoder disagrees.
type Limit func(w, h int) error

// HEIF decodes the primary image of a HEIF file (HEVC-coded; grids included) to 8 bits a sample.
// libheif applies the container's irot, imir and clap, so the image is as displayed.
func HEIF(ctx context.Context, data []byte, limit Limit) (image.Image, error) {
	return heifCodec.run(ctx, func(m *module) (image.Image, error) {
		in, err := m.input(data)
		if err != nil {
			return nil, err
		}
		// width, height, colorspace, chroma, premultiplied
		hdr, err := m.alloc(5 * 4)
		if err != nil {
			return nil, err
		}
		call := func(configOnly uint64, out uint32) error {
			return m.decode(uint64(in), uint64(len(data)), configOnly,
				uint64(hdr), uint64(hdr+4), uint64(hdr+8), uint64(hdr+12), uint64(hdr+16), uint64(out))
		}
		if err := call(1, 0); err != nil {
			return nil, err
		}
		v, err := m.u32s(hdr, 5)
		if err != nil {
			return nil, err
		}
		width, height, colorspace, chroma, premultiplied := int(v[0]), int(v[1]), v[2], v[3], v[4]
		if err := limit(width, height); err != nil {
			return nil, err
		}
		r := image.Rect(0, 0, width, height)
		var size, i0, i1 int
		var ratio image.YCbCrSubsampleRatio
		var stride, cstride int
		switch colorspace {
		case heifColorspaceYCbCr:
			cw, ch := width, height
			switch chroma {
			case heifChroma420:
				ratio, cw, ch = image.YCbCrSubsampleRatio420, (width+1)/2, (height+1)/2
			case heifChroma422:
				ratio, cw = image.YCbCrSubsampleRatio422, (width+1)/2
			case heifChroma444:
				ratio = image.YCbCrSubsampleRatio444
			default:
				return nil, fmt.Errorf("chroma format %d", chroma)
			}
			// heif.c copies libheif's planes with libheif's strides, which align rows to 16 bytes.
			stride, cstride = align16(width), align16(cw)
			i0 = stride * height
			i1 = i0 + cstride*ch
			size = i1 + cstride*ch
		case heifColorspaceMonochrome:
			stride = align16(width)
			size = stride * height
		case heifColorspaceRGB:
			stride = align16(width * 4)
			size = stride * height
		default:
			return nil, fmt.Errorf("colourspace %d", colorspace)
		}
		out, err := m.alloc(size)
		if err != nil {
			return nil, err
		}
		if err := call(0, out); err != nil {
			return nil, err
		}
		pix, err := m.read(out, size)
		if err != nil {
			return nil, err
		}
		switch colorspace {
		case heifColorspaceYCbCr:
			return &image.YCbCr{Y: pix[:i0:i0], Cb: pix[i0:i1:i1], Cr: pix[i1:size:size],
				SubsampleRatio: ratio, YStride: stride, CStride: cstride, Rect: r}, nil
		case heifColorspaceMonochrome:
			return &image.Gray{Pix: pix, Stride: stride, Rect: r}, nil
		}
		if premultiplied == 1 {
			return &image.RGBA{Pix: pix, Stride: stride, Rect: r}, nil
		}
		return &image.NRGBA{Pix: pix, Stride: stride, Rect: r}, nil
	})
}

// AVIF decodes the first image of an AVIF file to 8 bits a sample, premultiplied RGBA. libavif
// does not apply irot or imir: the caller does, from the container.
func AVIF(ctx context.Context, data []byte, limit Limit) (image.Image, error) {
	return avifCodec.run(ctx, func(m *module) (image.Image, error) {
		in, err := m.input(data)
		if err != nil {
			return nil, err
		}
		// width, height, depth, count
		hdr, err := m.alloc(4 * 4)
		if err != nil {
			return nil, err
		}
		delay, err := m.alloc(8)
		if err != nil {
			return nil, err
		}
		call := func(configOnly uint64, out uint32) error {
			return m.decode(uint64(in), uint64(len(data)), configOnly, 0,
				uint64(hdr), uint64(hdr+4), uint64(hdr+8), uint64(hdr+12), uint64(delay), uint64(out))
		}
		if err := call(1, 0); err != nil {
			return nil, err
		}
		v, err := m.u32s(hdr, 3)
		if err != nil {
			return nil, err
		}
		width, height, depth := int(v[0]), int(v[1]), v[2]
		if err := limit(width, height); err != nil {
			return nil, err
		}
		bpp := 4
		if depth > 8 {
			bpp = 8
		}
		size := width * height * bpp
		out, err := m.alloc(size)
		if err != nil {
			return nil, err
		}
		if err := call(0, out); err != nil {
			return nil, err
		}
		pix, err := m.read(out, size)
		if err != nil {
			return nil, err
		}
		img := &image.RGBA{Pix: pix, Stride: width * 4, Rect: image.Rect(0, 0, width, height)}
		if bpp == 8 {
			// 16-bit little-endian samples: keep the high byte, in place.
			n := width * height * 4
			for i := range n {
				pix[i] = pix[2*i+1]
			}
			img.Pix = pix[:n:n]
		}
		return img, nil
	})
}

func align16(n int) int { return (n + 15) &^ 15 }

// decode calls the module's decode export, whose arguments differ between libheif's and
// libavif's glue; it answers 0 for an image it could not decode.
func (m *module) decode(args ...uint64) error {
	ok, err := m.call("decode", args...)
	if err != nil {
		return err
	}
	if ok == 0 {
		return ErrDecode
	}
	return nil
}

// u32s reads n consecutive 32-bit values at p (the header a decode fills in).
func (m *module) u32s(p uint32, n int) ([]uint32, error) {
	v := make([]uint32, n)
	for i := range v {
		var err error
		if v[i], err = m.u32(p + uint32(4*i)); err != nil {
			return nil, err
		}
	}
	return v, nil
}
