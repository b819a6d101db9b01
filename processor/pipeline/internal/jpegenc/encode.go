// Copyright 2011 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

// Package jpegenc writes baseline 4:2:0 JPEGs that are byte for byte what image/jpeg.Encode
// writes for the same image and options, with less work per block (see LICENSE for what
// changed; BenchmarkEncode for the figures). The thumbnails are image/jpeg's output, so the
// fidelity tests and every stored thumbnail stay valid: only the CPU spent on them changes.
package jpegenc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/jpeg"
	"io"
	"math/bits"
	"slices"
)

// Encode writes m to w as image/jpeg.Encode(w, m, o) does. *image.YCbCr, *image.RGBA and
// *image.Gray are encoded here; any other image is handed to image/jpeg, which reads it
// through At.
func Encode(w io.Writer, m image.Image, o *jpeg.Options) error {
	b, err := Append(nil, m, o)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Append is Encode into a byte slice: it appends the JPEG to dst and returns the result, with no
// copy of the encoded bytes.
func Append(dst []byte, m image.Image, o *jpeg.Options) ([]byte, error) {
	switch m.(type) {
	case *image.YCbCr, *image.RGBA, *image.Gray:
	default:
		buf := bytes.NewBuffer(dst)
		err := jpeg.Encode(buf, m, o)
		return buf.Bytes(), err
	}
	b := m.Bounds()
	if b.Dx() >= 1<<16 || b.Dy() >= 1<<16 {
		return dst, errors.New("jpeg: image is too large to encode")
	}
	quality := jpeg.DefaultQuality
	if o != nil {
		quality = min(max(o.Quality, 1), 100)
	}
	var e encoder
	e.init(quality)
	// Thumbnails at quality 82 take about a byte per 3 pixels; a short guess only costs a
	// regrowth of the slice.
	e.buf = slices.Grow(dst, 1024+b.Dx()*b.Dy()/2)
	nComponent := 3
	if _, ok := m.(*image.Gray); ok {
		nComponent = 1
	}
	e.buf = append(e.buf, 0xff, 0xd8)
	e.writeDQT()
	e.writeSOF0(b.Size(), nComponent)
	e.writeDHT(nComponent)
	e.writeSOS(m)
	return append(e.buf, 0xff, 0xd9), nil
}

const (
	sof0Marker = 0xc0
	dhtMarker  = 0xc4
	dqtMarker  = 0xdb
)

// unzig maps from the zig-zag ordering to the natural ordering.
var unzig = [blockSize]uint8{
	0, 1, 8, 16, 9, 2, 3, 10,
	17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34,
	27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36,
	29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46,
	53, 60, 61, 54, 47, 55, 62, 63,
}

// unscaledQuant are the unscaled quantization tables in zig-zag order (section K.1 of the
// spec), as image/jpeg has them.
var unscaledQuant = [2][blockSize]byte{
	// Luminance.
	{
		16, 11, 12, 14, 12, 10, 16, 14,
		13, 14, 18, 17, 16, 19, 24, 40,
		26, 24, 22, 22, 24, 49, 35, 37,
		29, 40, 58, 51, 61, 60, 57, 51,
		56, 55, 64, 72, 92, 78, 64, 68,
		87, 69, 55, 56, 80, 109, 81, 87,
		95, 98, 103, 104, 103, 62, 77, 113,
		121, 112, 100, 120, 92, 101, 103, 99,
	},
	// Chrominance.
	{
		17, 18, 18, 24, 21, 24, 47, 26,
		26, 47, 99, 66, 56, 66, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
	},
}

// huffmanSpec is a Huffman table: count[i] codes of length i+1, for the values in order.
type huffmanSpec struct {
	count [16]byte
	value []byte
}

// theHuffmanSpec are the tables of section K.3 of the spec, which image/jpeg always uses:
// luminance DC and AC, chrominance DC and AC.
var theHuffmanSpec = [4]huffmanSpec{
	{
		[16]byte{0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0},
		[]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
	},
	{
		[16]byte{0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 125},
		[]byte{
			0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12,
			0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
			0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08,
			0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
			0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16,
			0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
			0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39,
			0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
			0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59,
			0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
			0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79,
			0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
			0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98,
			0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
			0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6,
			0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
			0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4,
			0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
			0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea,
			0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
			0xf9, 0xfa,
		},
	},
	{
		[16]byte{0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0},
		[]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
	},
	{
		[16]byte{0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 119},
		[]byte{
			0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21,
			0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
			0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91,
			0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
			0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34,
			0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
			0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38,
			0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
			0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58,
			0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
			0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78,
			0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
			0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96,
			0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5,
			0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4,
			0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
			0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2,
			0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
			0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9,
			0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
			0xf9, 0xfa,
		},
	},
}

// huffmanLUT maps a value to its code: the length in bits in the top 8 bits, the code in the
// low 24.
type huffmanLUT [256]uint32

var theHuffmanLUT = func() (t [4]huffmanLUT) {
	for i, s := range theHuffmanSpec {
		code, k := uint32(0), 0
		for n := range s.count {
			for range s.count[n] {
				t[i][s.value[k]] = uint32(n+1)<<24 | code
				code++
				k++
			}
			code <<= 1
		}
	}
	return t
}()

// recipShift is the shift of the quantization reciprocals: with it, (n*m)>>recipShift is n/d
// rounded down for every n < 2^18 and divisor d < 2^11 (n*d < 2^40 bounds the error; fdct's
// outputs are below 2^14), which TestReciprocalDivision checks for every divisor and n.
const recipShift = 40

func reciprocal(d uint32) uint64 { return 1<<recipShift/uint64(d) + 1 }

// reciprocal32 is the reciprocal the assembly multiplies by (32 x 32 bits, keeping the high
// half): (n*m)>>32 is n/d rounded down for every n < 2^21 and divisor d < 2^11 (n*d < 2^32 bounds
// the error), so it divides exactly where reciprocal does (TestReciprocalDivision checks both).
func reciprocal32(d uint32) uint32 { return uint32(1<<32/uint64(d) + 1) }

// encoder encodes one image into buf.
type encoder struct {
	buf []byte
	// acc holds the nacc bits not yet written, in its low bits (the bits above are stale).
	acc  uint64
	nacc uint
	// quant is the scaled quantization tables, in zig-zag order; recip and half divide by
	// 8*quant (fdct's outputs are 8 times the DCT) rounding to nearest, as image/jpeg's div.
	quant [2][blockSize]byte
	recip [2][blockSize]uint64
	half  [2][blockSize]int32
	// recipNat and halfNat are the same divisions in natural order, with reciprocal32, for
	// quantizeSIMD.
	recipNat [2][blockSize]uint32
	halfNat  [2][blockSize]int32
}

func (e *encoder) init(quality int) {
	var scale int
	if quality < 50 {
		scale = 5000 / quality
	} else {
		scale = 200 - quality*2
	}
	for i := range e.quant {
		for j := range e.quant[i] {
			x := (int(unscaledQuant[i][j])*scale + 50) / 100
			x = min(max(x, 1), 255)
			e.quant[i][j] = uint8(x)
			d := 8 * uint32(x)
			e.recip[i][j] = reciprocal(d)
			e.half[i][j] = int32(d >> 1)
			e.recipNat[i][unzig[j]] = reciprocal32(d)
			e.halfNat[i][unzig[j]] = int32(d >> 1)
		}
	}
}

// emit appends the low n bits of code to the bit stream; n <= 32.
func (e *encoder) emit(code uint32, n uint) {
	e.acc = e.acc<<n | uint64(code)
	e.nacc += n
	if e.nacc >= 32 {
		e.flush32()
	}
}

// flush32 writes the oldest 32 bits of acc, each 0xff byte followed by a stuffed 0x00.
func (e *encoder) flush32() {
	e.nacc -= 32
	v := uint32(e.acc >> e.nacc)
	// A byte of v is 0xff where a byte of ^v is zero.
	if x := ^v; (x-0x01010101)&^x&0x80808080 == 0 {
		e.buf = binary.BigEndian.AppendUint32(e.buf, v)
		return
	}
	for s := 24; s >= 0; s -= 8 {
		b := byte(v >> s)
		e.buf = append(e.buf, b)
		if b == 0xff {
			e.buf = append(e.buf, 0)
		}
	}
}

// finish pads the bit stream as image/jpeg does: seven 1 bits, then the whole bytes written
// and the rest dropped.
func (e *encoder) finish() {
	e.acc = e.acc<<7 | 0x7f
	e.nacc += 7
	for e.nacc >= 8 {
		e.nacc -= 8
		b := byte(e.acc >> e.nacc)
		e.buf = append(e.buf, b)
		if b == 0xff {
			e.buf = append(e.buf, 0)
		}
	}
}

// emitValue emits the Huffman code of run<<4|size and then size bits of v, where size is the
// number of bits of |v| (section F.1.2.1: a negative v is sent as v-1, in size bits).
func (e *encoder) emitValue(lut *huffmanLUT, run uint32, v int32) {
	s := v >> 31
	a := uint32((v ^ s) - s)
	size := uint(bits.Len32(a))
	x := lut[run<<4|uint32(size)]
	extra := uint32(v+s) & (1<<size - 1)
	e.emit((x&(1<<24-1))<<size|extra, uint(x>>24)+size)
}

func (e *encoder) writeMarkerHeader(marker uint8, markerlen int) {
	e.buf = append(e.buf, 0xff, marker, uint8(markerlen>>8), uint8(markerlen))
}

func (e *encoder) writeDQT() {
	const markerlen = 2 + 2*(1+blockSize)
	e.writeMarkerHeader(dqtMarker, markerlen)
	for i := range e.quant {
		e.buf = append(e.buf, uint8(i))
		e.buf = append(e.buf, e.quant[i][:]...)
	}
}

func (e *encoder) writeSOF0(size image.Point, nComponent int) {
	e.writeMarkerHeader(sof0Marker, 8+3*nComponent)
	e.buf = append(e.buf, 8, uint8(size.Y>>8), uint8(size.Y), uint8(size.X>>8), uint8(size.X), uint8(nComponent))
	if nComponent == 1 {
		// No subsampling for grayscale image.
		e.buf = append(e.buf, 1, 0x11, 0x00)
		return
	}
	// 4:2:0 chroma subsampling.
	e.buf = append(e.buf, 1, 0x22, 0x00, 2, 0x11, 0x01, 3, 0x11, 0x01)
}

func (e *encoder) writeDHT(nComponent int) {
	specs := theHuffmanSpec[:]
	if nComponent == 1 {
		specs = specs[:2] // no chrominance tables
	}
	markerlen := 2
	for _, s := range specs {
		markerlen += 1 + 16 + len(s.value)
	}
	e.writeMarkerHeader(dhtMarker, markerlen)
	for i, s := range specs {
		e.buf = append(e.buf, "\x00\x10\x01\x11"[i])
		e.buf = append(e.buf, s.count[:]...)
		e.buf = append(e.buf, s.value...)
	}
}

// writeBlock writes b (natural order) with quantization table q and returns the quantized DC.
//
// The quantized coefficients replace b's, with a mask of the non-zero ones in zig-zag order, so
// the run lengths come from the mask (at thumbnail qualities most AC coefficients are zero)
// instead of a test per coefficient.
func (e *encoder) writeBlock(b *block, q int, prevDC int32) int32 {
	fdct(b)
	var mask uint64
	if useSIMD {
		mask = zigzagMask(quantizeSIMD(b, &e.recipNat[q], &e.halfNat[q]))
	} else {
		mask = quantizeGo(b, &e.recip[q], &e.half[q])
	}
	dc := b[0]
	e.emitValue(&theHuffmanLUT[2*q], 0, dc-prevDC)
	ac := &theHuffmanLUT[2*q+1]
	mask &^= 1
	last := 0
	for mask != 0 {
		zig := bits.TrailingZeros64(mask)
		mask &= mask - 1
		run := uint32(zig - last - 1)
		for run > 15 {
			x := ac[0xf0]
			e.emit(x&(1<<24-1), uint(x>>24))
			run -= 16
		}
		e.emitValue(ac, run, b[unzig[zig&(blockSize-1)]&(blockSize-1)])
		last = zig
	}
	if last != blockSize-1 {
		x := ac[0x00]
		e.emit(x&(1<<24-1), uint(x>>24))
	}
	return dc
}

// quantizeGo divides each of b's coefficients (natural order, in place) by its quantizer
// (recip and half, in zig-zag order), rounding to nearest as image/jpeg's div, and returns the
// mask of the non-zero ones, bit i for zig-zag index i.
func quantizeGo(b *block, recip *[blockSize]uint64, half *[blockSize]int32) uint64 {
	var mask uint64
	// Backwards, so that each coefficient's bit shifts in at the bottom of the mask and ends
	// at its zig-zag index (a shift by one, not by a variable count).
	for zig := blockSize - 1; zig >= 0; zig-- {
		nat := unzig[zig] & (blockSize - 1)
		v := b[nat]
		s := v >> 31
		a := int32((uint64((v^s)-s+half[zig]) * recip[zig]) >> recipShift)
		b[nat] = (a ^ s) - s
		// a|-a has its sign bit set exactly when a != 0.
		mask = mask<<1 | uint64(uint32(a|-a)>>31)
	}
	return mask
}

// quantizeNatGo is quantizeSIMD in Go, the same steps lane by lane: b's coefficients divided in
// place by reciprocal32's (recip and half in natural order), and the mask of the non-zero ones,
// bit i for natural index i.
func quantizeNatGo(b *block, recip *[blockSize]uint32, half *[blockSize]int32) uint64 {
	var mask uint64
	for i := range b {
		v := b[i]
		n := uint64(uint32(max(v, -v) + half[i]))
		a := int32(n * uint64(recip[i]) >> 32)
		if v < 0 {
			a = -a
		}
		b[i] = a
		if a != 0 {
			mask |= 1 << i
		}
	}
	return mask
}

// zigzagMask moves each bit of a natural-order mask (bit i for natural index i) to its zig-zag
// index, four bits a table look-up.
func zigzagMask(nat uint64) uint64 {
	var m uint64
	for i := range zigNibbles {
		m |= zigNibbles[i][nat>>(4*i)&15]
	}
	return m
}

// zigNibbles[i][v] is the zig-zag mask of the natural-order bits v<<(4*i).
var zigNibbles = func() (t [blockSize / 4][16]uint64) {
	var zig [blockSize]uint
	for z, nat := range unzig {
		zig[nat] = uint(z)
	}
	for i := range t {
		for v := range 16 {
			for k := range 4 {
				if v&(1<<k) != 0 {
					t[i][v] |= 1 << zig[4*i+k]
				}
			}
		}
	}
	return t
}()

// sosHeaderY and sosHeaderYCbCr are image/jpeg's Start Of Scan headers.
var (
	sosHeaderY     = []byte{0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00}
	sosHeaderYCbCr = []byte{0xff, 0xda, 0x00, 0x0c, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11, 0x00, 0x3f, 0x00}
)

func (e *encoder) writeSOS(m image.Image) {
	bounds := m.Bounds()
	if g, ok := m.(*image.Gray); ok {
		e.buf = append(e.buf, sosHeaderY...)
		var b block
		var prevDC int32
		for y := bounds.Min.Y; y < bounds.Max.Y; y += 8 {
			for x := bounds.Min.X; x < bounds.Max.X; x += 8 {
				if x+8 <= bounds.Max.X && y+8 <= bounds.Max.Y {
					grayBlock(g, x, y, &b)
				} else {
					grayToY(g, image.Pt(x, y), &b)
				}
				prevDC = e.writeBlock(&b, 0, prevDC)
			}
		}
		e.finish()
		return
	}
	e.buf = append(e.buf, sosHeaderYCbCr...)
	var (
		yb                          [4]block
		cb, cr                      block
		prevDCY, prevDCCb, prevDCCr int32
	)
	rgba, _ := m.(*image.RGBA)
	ycc, _ := m.(*image.YCbCr)
	// The 4:2:0 fast path copies chroma samples, which is what averaging four equal samples
	// gives only when each 2x2 pixel square shares one sample: the image starts at an even
	// point.
	ycc420 := ycc != nil && ycc.SubsampleRatio == image.YCbCrSubsampleRatio420 &&
		bounds.Min.X%2 == 0 && bounds.Min.Y%2 == 0
	for y := bounds.Min.Y; y < bounds.Max.Y; y += 16 {
		for x := bounds.Min.X; x < bounds.Max.X; x += 16 {
			inside := x+16 <= bounds.Max.X && y+16 <= bounds.Max.Y
			switch {
			case inside && ycc != nil && ycc.SubsampleRatio == image.YCbCrSubsampleRatio444:
				lumaBlocks(ycc.Y[ycc.YOffset(x, y):], ycc.YStride, &yb)
				halveChroma(ycc.Cb[ycc.COffset(x, y):], ycc.CStride, &cb)
				halveChroma(ycc.Cr[ycc.COffset(x, y):], ycc.CStride, &cr)
			case inside && ycc420:
				lumaBlocks(ycc.Y[ycc.YOffset(x, y):], ycc.YStride, &yb)
				copyChroma(ycc.Cb[ycc.COffset(x, y):], ycc.CStride, &cb)
				copyChroma(ycc.Cr[ycc.COffset(x, y):], ycc.CStride, &cr)
			case inside && rgba != nil:
				rgbaMCU(rgba.Pix[rgba.PixOffset(x, y):], rgba.Stride, &yb, &cb, &cr)
			default:
				// image/jpeg's way, with the edge pixels repeated past the border.
				var cbq, crq [4]block
				for i := range 4 {
					p := image.Pt(x+(i&1)*8, y+(i&2)*4)
					if rgba != nil {
						rgbaToYCbCr(rgba, p, &yb[i], &cbq[i], &crq[i])
					} else {
						yCbCrToYCbCr(ycc, p, &yb[i], &cbq[i], &crq[i])
					}
				}
				scale(&cb, &cbq)
				scale(&cr, &crq)
			}
			for i := range yb {
				prevDCY = e.writeBlock(&yb[i], 0, prevDCY)
			}
			prevDCCb = e.writeBlock(&cb, 1, prevDCCb)
			prevDCCr = e.writeBlock(&cr, 1, prevDCCr)
		}
	}
	e.finish()
}
