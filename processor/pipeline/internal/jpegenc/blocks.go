// Copyright 2011 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

package jpegenc

import (
	"image"
	"image/color"
)

// The fast paths below fill an MCU that lies wholly inside the image straight from its rows.
// Each gives the values image/jpeg's per-pixel functions (at the end of this file) and its
// 2x2 chroma average (scale) give; TestEncodeMatchesImageJPEG holds them to it.

// lumaBlocks fills the four 8x8 luma blocks of a 16x16 MCU from a plane whose row stride is
// stride, p starting at the MCU's top-left sample.
func lumaBlocks(p []byte, stride int, yb *[4]block) {
	for j := range 16 {
		row := p[j*stride:][:16]
		top := &yb[(j>>3)<<1]
		left, right := top[(j&7)*8:][:8], yb[(j>>3)<<1|1][(j&7)*8:][:8]
		for i := range 8 {
			left[i] = int32(row[i])
			right[i] = int32(row[8+i])
		}
	}
}

// halveChroma averages the 2x2 squares of a full-resolution 16x16 chroma area into one block,
// rounding as scale does.
func halveChroma(p []byte, stride int, dst *block) {
	for j := range 8 {
		r0, r1 := p[2*j*stride:][:16], p[(2*j+1)*stride:][:16]
		d := dst[8*j:][:8]
		for i := range 8 {
			d[i] = (int32(r0[2*i]) + int32(r0[2*i+1]) + int32(r1[2*i]) + int32(r1[2*i+1]) + 2) >> 2
		}
	}
}

// copyChroma copies a 4:2:0 image's 8x8 chroma samples of an MCU: scale of four copies of a
// sample is the sample.
func copyChroma(p []byte, stride int, dst *block) {
	for j := range 8 {
		row := p[j*stride:][:8]
		d := dst[8*j:][:8]
		for i := range 8 {
			d[i] = int32(row[i])
		}
	}
}

// rgbaMCU converts a 16x16 MCU of RGBA pixels (p at its top-left pixel) to its four luma
// blocks and its 2x2-averaged chroma blocks.
func rgbaMCU(p []byte, stride int, yb *[4]block, cb, cr *block) {
	for j := 0; j < 16; j += 2 {
		r0, r1 := p[j*stride:][:64], p[(j+1)*stride:][:64]
		y0 := yb[(j>>3)<<1][(j&7)*8:][:16] // rows j and j+1 of the left block
		y1 := yb[(j>>3)<<1|1][(j&7)*8:][:16]
		dcb, dcr := cb[(j/2)*8:][:8], cr[(j/2)*8:][:8]
		for i := range 8 {
			var sb, sr int32
			for k, r := range [2][]byte{r0, r1} {
				q := r[8*i:][:8]
				ya, cba, cra := color.RGBToYCbCr(q[0], q[1], q[2])
				yc, cbc, crc := color.RGBToYCbCr(q[4], q[5], q[6])
				sb += int32(cba) + int32(cbc)
				sr += int32(cra) + int32(crc)
				x := 2 * i
				dst := y0
				if x >= 8 {
					dst, x = y1, x-8
				}
				dst[8*k+x] = int32(ya)
				dst[8*k+x+1] = int32(yc)
			}
			dcb[i] = (sb + 2) >> 2
			dcr[i] = (sr + 2) >> 2
		}
	}
}

// grayBlock copies an 8x8 block of g whose top-left pixel is (x, y).
func grayBlock(g *image.Gray, x, y int, b *block) {
	p := g.Pix[g.PixOffset(x, y):]
	for j := range 8 {
		row := p[j*g.Stride:][:8]
		d := b[8*j:][:8]
		for i := range 8 {
			d[i] = int32(row[i])
		}
	}
}

// What follows is image/jpeg's, unchanged: the MCUs at the right and bottom edges, where
// pixels past the border repeat the last row and column.

func grayToY(m *image.Gray, p image.Point, yBlock *block) {
	b := m.Bounds()
	xmax := b.Max.X - 1
	ymax := b.Max.Y - 1
	pix := m.Pix
	for j := 0; j < 8; j++ {
		for i := 0; i < 8; i++ {
			idx := m.PixOffset(min(p.X+i, xmax), min(p.Y+j, ymax))
			yBlock[8*j+i] = int32(pix[idx])
		}
	}
}
func rgbaToYCbCr(m *image.RGBA, p image.Point, yBlock, cbBlock, crBlock *block) {
	b := m.Bounds()
	xmax := b.Max.X - 1
	ymax := b.Max.Y - 1
	for j := 0; j < 8; j++ {
		sj := p.Y + j
		if sj > ymax {
			sj = ymax
		}
		offset := (sj-b.Min.Y)*m.Stride - b.Min.X*4
		for i := 0; i < 8; i++ {
			sx := p.X + i
			if sx > xmax {
				sx = xmax
			}
			pix := m.Pix[offset+sx*4:]
			yy, cb, cr := color.RGBToYCbCr(pix[0], pix[1], pix[2])
			yBlock[8*j+i] = int32(yy)
			cbBlock[8*j+i] = int32(cb)
			crBlock[8*j+i] = int32(cr)
		}
	}
}
func yCbCrToYCbCr(m *image.YCbCr, p image.Point, yBlock, cbBlock, crBlock *block) {
	b := m.Bounds()
	xmax := b.Max.X - 1
	ymax := b.Max.Y - 1
	for j := 0; j < 8; j++ {
		sy := p.Y + j
		if sy > ymax {
			sy = ymax
		}
		for i := 0; i < 8; i++ {
			sx := p.X + i
			if sx > xmax {
				sx = xmax
			}
			yi := m.YOffset(sx, sy)
			ci := m.COffset(sx, sy)
			yBlock[8*j+i] = int32(m.Y[yi])
			cbBlock[8*j+i] = int32(m.Cb[ci])
			crBlock[8*j+i] = int32(m.Cr[ci])
		}
	}
}
func scale(dst *block, src *[4]block) {
	for i := 0; i < 4; i++ {
		dstOff := (i&2)<<4 | (i&1)<<2
		for y := 0; y < 4; y++ {
			for x := 0; x < 4; x++ {
				j := 16*y + 2*x
				sum := src[i][j] + src[i][j+1] + src[i][j+8] + src[i][j+9]
				dst[8*y+x+dstOff] = (sum + 2) >> 2
			}
		}
	}
}
