// Copyright 2012 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

package jpegscale

import (
	"encoding/binary"
	"image"
	"math"
	mbits "math/bits"
)

// coeffs is one block's coefficients kept between progressive scans: quantized (dequantization
// happens in reconstructBlock), in natural order. With 8-bit samples a quantized coefficient has
// at most 11 bits plus sign (T.81 F.1.2.1: DC differences of up to 11 bits, AC values of up to 10),
// so int16 holds every valid value and halves the decoder's largest allocation. Hostile values
// saturate (see saturate16).
type coeffs [blockSize]int16

// saturate16 narrows a coefficient. Clamping, unlike wrapping, keeps its sign and whether it is
// zero, which is all that later refinement scans read: the bit stream is parsed, and accepted or
// rejected, exactly as image/jpeg does even for out-of-range input.
func saturate16(v int32) int16 { return int16(min(max(v, math.MinInt16), math.MaxInt16)) }

// makeImg allocates and initializes the destination image, reduced by d.scale: each 8x8 block
// becomes an (8/scale)x(8/scale) patch of it.
func (d *decoder) makeImg(mxx, myy int) {
	d.scale = Scale(d.width, d.height, d.minLongEdge)
	for 1<<d.boxShift < d.scale*d.scale {
		d.boxShift++
	}
	n := 8 / d.scale
	w, h := (d.width+d.scale-1)/d.scale, (d.height+d.scale-1)/d.scale
	if d.nComp == 1 {
		m := image.NewGray(image.Rect(0, 0, n*mxx, n*myy))
		d.img1 = m.SubImage(image.Rect(0, 0, w, h)).(*image.Gray)
		return
	}

	h0 := d.comp[0].h
	v0 := d.comp[0].v
	hRatio := h0 / d.comp[1].h
	vRatio := v0 / d.comp[1].v
	var subsampleRatio image.YCbCrSubsampleRatio
	switch hRatio<<4 | vRatio {
	case 0x11:
		subsampleRatio = image.YCbCrSubsampleRatio444
	case 0x12:
		subsampleRatio = image.YCbCrSubsampleRatio440
	case 0x21:
		subsampleRatio = image.YCbCrSubsampleRatio422
	case 0x22:
		subsampleRatio = image.YCbCrSubsampleRatio420
	case 0x41:
		subsampleRatio = image.YCbCrSubsampleRatio411
	case 0x42:
		subsampleRatio = image.YCbCrSubsampleRatio410
	default:
		panic("unreachable")
	}
	if d.scale > 1 {
		// A reduced image keeps chroma at its own (reduced) resolution: each output pixel
		// averages the chroma of the same s x s source pixels as its luma, as a box shrink of
		// image/jpeg's output does. Keeping the file's subsampling would halve the chroma
		// resolution a second time.
		subsampleRatio = image.YCbCrSubsampleRatio444
	}
	m := image.NewYCbCr(image.Rect(0, 0, n*h0*mxx, n*v0*myy), subsampleRatio)
	d.img3 = m.SubImage(image.Rect(0, 0, w, h)).(*image.YCbCr)

	if d.nComp == 4 {
		h3, v3 := d.comp[3].h, d.comp[3].v
		d.blackPix = make([]byte, n*h3*mxx*n*v3*myy)
		d.blackStride = n * h3 * mxx
	}
}

// Specified in section B.2.3.
func (d *decoder) processSOS(n int) error {
	if d.nComp == 0 {
		return FormatError("missing SOF marker")
	}
	if n < 6 || 4+2*d.nComp < n || n%2 != 0 {
		return FormatError("SOS has wrong length")
	}
	if err := d.readFull(d.tmp[:n]); err != nil {
		return err
	}
	nComp := int(d.tmp[0])
	if n != 4+2*nComp {
		return FormatError("SOS length inconsistent with number of components")
	}
	var scan [maxComponents]struct {
		compIndex uint8
		td        uint8 // DC table selector.
		ta        uint8 // AC table selector.
	}
	totalHV := 0
	for i := 0; i < nComp; i++ {
		cs := d.tmp[1+2*i] // Component selector.
		compIndex := -1
		for j, comp := range d.comp[:d.nComp] {
			if cs == comp.c {
				compIndex = j
			}
		}
		if compIndex < 0 {
			return FormatError("unknown component selector")
		}
		scan[i].compIndex = uint8(compIndex)
		// Section B.2.3 states that "the value of Cs_j shall be different from
		// the values of Cs_1 through Cs_(j-1)". Since we have previously
		// verified that a frame's component identifiers (C_i values in section
		// B.2.2) are unique, it suffices to check that the implicit indexes
		// into d.comp are unique.
		for j := 0; j < i; j++ {
			if scan[i].compIndex == scan[j].compIndex {
				return FormatError("repeated component selector")
			}
		}
		totalHV += d.comp[compIndex].h * d.comp[compIndex].v

		// The baseline t <= 1 restriction is specified in table B.3.
		scan[i].td = d.tmp[2+2*i] >> 4
		if t := scan[i].td; t > maxTh || (d.baseline && t > 1) {
			return FormatError("bad Td value")
		}
		scan[i].ta = d.tmp[2+2*i] & 0x0f
		if t := scan[i].ta; t > maxTh || (d.baseline && t > 1) {
			return FormatError("bad Ta value")
		}
	}
	// Section B.2.3 states that if there is more than one component then the
	// total H*V values in a scan must be <= 10.
	if d.nComp > 1 && totalHV > 10 {
		return FormatError("total sampling factors too large")
	}

	// zigStart and zigEnd are the spectral selection bounds.
	// ah and al are the successive approximation high and low values.
	// The spec calls these values Ss, Se, Ah and Al.
	//
	// For progressive JPEGs, these are the two more-or-less independent
	// aspects of progression. Spectral selection progression is when not
	// all of a block's 64 DCT coefficients are transmitted in one pass.
	// For example, three passes could transmit coefficient 0 (the DC
	// component), coefficients 1-5, and coefficients 6-63, in zig-zag
	// order. Successive approximation is when not all of the bits of a
	// band of coefficients are transmitted in one pass. For example,
	// three passes could transmit the 6 most significant bits, followed
	// by the second-least significant bit, followed by the least
	// significant bit.
	//
	// For sequential JPEGs, these parameters are hard-coded to 0/63/0/0, as
	// per table B.3.
	zigStart, zigEnd, ah, al := int32(0), int32(blockSize-1), uint32(0), uint32(0)
	if d.progressive {
		zigStart = int32(d.tmp[1+2*nComp])
		zigEnd = int32(d.tmp[2+2*nComp])
		ah = uint32(d.tmp[3+2*nComp] >> 4)
		al = uint32(d.tmp[3+2*nComp] & 0x0f)
		if (zigStart == 0 && zigEnd != 0) || zigStart > zigEnd || blockSize <= zigEnd {
			return FormatError("bad spectral selection bounds")
		}
		if zigStart != 0 && nComp != 1 {
			return FormatError("progressive AC coefficients for more than one component")
		}
		if ah != 0 && ah != al+1 {
			return FormatError("bad successive approximation values")
		}
	}

	// mxx and myy are the number of MCUs (Minimum Coded Units) in the image.
	h0, v0 := d.comp[0].h, d.comp[0].v // The h and v values from the Y components.
	mxx := (d.width + 8*h0 - 1) / (8 * h0)
	myy := (d.height + 8*v0 - 1) / (8 * v0)
	var comps [maxComponents]int
	for i := range nComp {
		comps[i] = int(scan[i].compIndex)
	}
	if err := d.countScan(comps[:nComp], zigStart, zigEnd, mxx, myy); err != nil {
		return err
	}
	if d.img1 == nil && d.img3 == nil {
		d.makeImg(mxx, myy)
	}
	var plans [maxComponents]blockPlan
	if !d.progressive {
		for i := range nComp {
			plans[i] = d.plan(int(scan[i].compIndex))
		}
	}
	if d.progressive {
		for i := 0; i < nComp; i++ {
			compIndex := scan[i].compIndex
			if d.progCoeffs[compIndex] != nil || d.progReduced[compIndex] != nil {
				continue
			}
			c := d.comp[compIndex]
			sx, sy := d.blockScale(int(compIndex))
			if kept := keptFor(sx, sy); kept != nil {
				hr, vr := d.subsampling(int(compIndex))
				d.progReduced[compIndex] = newReducedStore(kept, mxx*c.h, myy*c.v, 8*hr, 8*vr, d.width, d.height)
			} else {
				d.progCoeffs[compIndex] = make([]coeffs, mxx*myy*c.h*c.v)
			}
		}
	}

	d.bits = bits{}
	if r := d.progReduced[scan[0].compIndex]; r != nil && nComp == 1 && zigStart > 0 && d.ri == 0 && !slowProgressive {
		c := d.comp[scan[0].compIndex]
		return r.decodeACScan(d, &d.huff[acTable][scan[0].ta], zigStart, zigEnd, ah, al, myy, c.v)
	}
	mcu, expectedRST := 0, uint8(rst0Marker)
	var (
		// b is the decoded coefficients, in natural (not zig-zag) order.
		b  block
		dc [maxComponents]int32
		// bx and by are the location of the current block, in units of 8x8
		// blocks: the third block in the first row has (bx, by) = (2, 0).
		bx, by   int
		col, row int    // where a non-interleaved scan's next block is
		nz       uint64 // the positions of b that may be non-zero (see decodeSequential)
		// dirty are the positions of b that may be non-zero after the block before: a sequential
		// block is decoded into a cleared b, and clearing only these costs less than all 256
		// bytes (most blocks have a few coefficients, and the transforms leave b as it was).
		dirty uint64
	)
	for my := 0; my < myy; my++ {
		if err := d.interrupted(); err != nil {
			return err
		}
		for mx := 0; mx < mxx; mx++ {
			for i := 0; i < nComp; i++ {
				compIndex := scan[i].compIndex
				hi := d.comp[compIndex].h
				vi := d.comp[compIndex].v
				// The block's place in the MCU, jx across and jy down, is counted rather than
				// divided out of its index: a division per block was a tenth of a baseline
				// decode's loop.
				for j, jx, jy := 0, 0, 0; j < hi*vi; j, jx = j+1, jx+1 {
					if jx == hi {
						jx, jy = 0, jy+1
					}
					// The blocks are traversed one MCU at a time. For 4:2:0 chroma
					// subsampling, there are four Y 8x8 blocks in every 16x16 MCU.
					//
					// For a sequential 32x16 pixel image, the Y blocks visiting order is:
					//	0 1 4 5
					//	2 3 6 7
					//
					// For progressive images, the interleaved scans (those with nComp > 1)
					// are traversed as above, but non-interleaved scans are traversed left
					// to right, top to bottom:
					//	0 1 2 3
					//	4 5 6 7
					// Only DC scans (zigStart == 0) can be interleaved. AC scans must have
					// only one component.
					//
					// To further complicate matters, for non-interleaved scans, there is no
					// data for any blocks that are inside the image at the MCU level but
					// outside the image at the pixel level. For example, a 24x16 pixel 4:2:0
					// progressive image consists of two 16x16 MCUs. The interleaved scans
					// will process 8 Y blocks:
					//	0 1 4 5
					//	2 3 6 7
					// The non-interleaved scans will process only 6 Y blocks:
					//	0 1 2
					//	3 4 5
					if nComp != 1 {
						bx = hi*mx + jx
						by = vi*my + jy
					} else {
						// Block blockCount of rows of mxx*hi: (col, row), counted alike.
						bx, by = col, row
						if col++; col == mxx*hi {
							col, row = 0, row+1
						}
						if bx*8 >= d.width || by*8 >= d.height {
							continue
						}
					}

					// A progressive scan adds to the block's saved coefficients in place; a
					// sequential one decodes a fresh block.
					if zigStart > 0 && ah == 0 && d.eobRun > 0 {
						// A block inside an end-of-band run of a first AC scan: no data, as
						// decodeBlock finds. Most blocks of a sparse band are, so they skip
						// the calls.
						d.eobRun--
						continue
					}
					if r := d.progReduced[compIndex]; r != nil {
						if err := r.decode(d, bx, by, &dc[compIndex], &d.huff[dcTable][scan[i].td], &d.huff[acTable][scan[i].ta], zigStart, zigEnd, ah, al); err != nil {
							return err
						}
					} else if d.progressive {
						c := &d.progCoeffs[compIndex][by*mxx*hi+bx]
						if err := decodeBlock(d, (*[blockSize]int16)(c), &dc[compIndex], &d.huff[dcTable][scan[i].td], &d.huff[acTable][scan[i].ta], zigStart, zigEnd, ah, al); err != nil {
							return err
						}
					} else {
						clearBlock(&b, dirty)
						var err error
						if genericBlocks {
							nz = ^uint64(0)
							err = decodeBlock(d, (*[blockSize]int32)(&b), &dc[compIndex], &d.huff[dcTable][scan[i].td], &d.huff[acTable][scan[i].ta], zigStart, zigEnd, ah, al)
						} else {
							nz, err = d.decodeSequential(&b, &dc[compIndex], &d.huff[dcTable][scan[i].td], &d.huff[acTable][scan[i].ta])
						}
						dirty = nz
						if err != nil {
							dirty = ^uint64(0) // the block is abandoned part-way
							return err
						}
					}

					if d.progressive {
						// At this point, we could call reconstructBlock to dequantize and perform the
						// inverse DCT, to save early stages of a progressive image to the *image.YCbCr
						// buffers (the whole point of progressive encoding), but in Go, the jpeg.Decode
						// function does not return until the entire image is decoded, so we "continue"
						// here to avoid wasted computation. Instead, reconstructBlock is called on each
						// accumulated block by the reconstructProgressiveImage method after all of the
						// SOS markers are processed.
						continue
					}
					intact, err := d.reconstruct(&plans[i], &b, nz, bx, by)
					if !intact {
						dirty = ^uint64(0)
					}
					if err != nil {
						return err
					}
				} // for j
			} // for i
			mcu++
			if d.ri > 0 && mcu%d.ri == 0 && mcu < mxx*myy {
				// For well-formed input, the RST[0-7] restart marker follows
				// immediately. For corrupt input, call findRST to try to
				// resynchronize.
				if err := d.readFull(d.tmp[:2]); err != nil {
					return err
				} else if d.tmp[0] != 0xff || d.tmp[1] != expectedRST {
					if err := d.findRST(expectedRST); err != nil {
						return err
					}
				}
				expectedRST++
				if expectedRST == rst7Marker+1 {
					expectedRST = rst0Marker
				}
				// Reset the Huffman decoder.
				d.bits = bits{}
				// Reset the DC components, as per section F.2.1.3.1.
				dc = [maxComponents]int32{}
				// Reset the progressive decoder state, as per section G.1.2.2.
				d.eobRun = 0
			}
		} // for mx
	} // for my

	return nil
}

// genericBlocks makes a sequential scan decode with decodeBlock and reconstruct every block as
// if all its coefficients were non-zero: the tests set it to hold decodeSequential and the
// sparse transforms to the code they replace.
var genericBlocks = false

// coefficient is a block's element type: int32 for a sequential image's block, decoded and
// reconstructed at once, int16 for a progressive image's saved coefficients (see coeffs).
type coefficient interface{ int16 | int32 }

// put stores v, saturating where T is too narrow for it (see saturate16).
func put[T coefficient](p *T, v int32) {
	if *p = T(v); int32(*p) != v {
		*p = T(saturate16(v))
	}
}

// decodeBlock decodes one block's data in the current scan into b, in natural order: the DC
// coefficient (predicted from *dc) and the AC coefficients of the band [zigStart, zigEnd], or
// their refinement when ah != 0. Only that band of b is read or written.
func decodeBlock[T coefficient](d *decoder, b *[blockSize]T, dc *int32, dcHuff, acHuff *huffman, zigStart, zigEnd int32, ah, al uint32) error {
	if ah != 0 {
		if err := refine(d, b, acHuff, zigStart, zigEnd, 1<<al); err != nil {
			return err
		}
	} else {
		zig := zigStart
		if zig == 0 {
			zig++
			// Decode the DC coefficient, as specified in section F.2.2.1.
			value, err := d.decodeHuffman(dcHuff)
			if err != nil {
				return err
			}
			if value > 16 {
				return UnsupportedError("excessive DC component")
			}
			dcDelta, err := d.receiveExtend(value)
			if err != nil {
				return err
			}
			*dc += dcDelta
			put(&b[0], *dc<<al)
		}

		if zig <= zigEnd && d.eobRun > 0 {
			d.eobRun--
		} else {
			// Decode the AC coefficients, as specified in section F.2.2.2.
			for ; zig <= zigEnd; zig++ {
				if v, n, ok := d.fastAC(acHuff); ok {
					// The code, its run of zeroes and the coefficient's bits in one look-up.
					if zig += n.run; zig > zigEnd {
						d.bits.n -= n.codeLen
						break
					}
					d.bits.n -= n.totalLen
					put(&b[unzig[zig]], v<<al)
					continue
				}
				value, err := d.decodeHuffman(acHuff)
				if err != nil {
					return err
				}
				val0 := value >> 4
				val1 := value & 0x0f
				if val1 != 0 {
					zig += int32(val0)
					if zig > zigEnd {
						break
					}
					ac, err := d.receiveExtend(val1)
					if err != nil {
						return err
					}
					put(&b[unzig[zig]], ac<<al)
				} else {
					if val0 != 0x0f {
						d.eobRun = uint16(1 << val0)
						if val0 != 0 {
							bits, err := d.decodeBits(int32(val0))
							if err != nil {
								return err
							}
							d.eobRun |= uint16(bits)
						}
						d.eobRun--
						break
					}
					zig += 0x0f
				}
			}
		}
	}
	return nil
}

// refine decodes a successive approximation refinement block, as specified in
// section G.1.2.
func refine[T coefficient](d *decoder, b *[blockSize]T, h *huffman, zigStart, zigEnd, delta int32) error {
	// Refining a DC component is trivial.
	if zigStart == 0 {
		if zigEnd != 0 {
			panic("unreachable")
		}
		bit, err := d.decodeBit()
		if err != nil {
			return err
		}
		if bit {
			put(&b[0], int32(b[0])|delta)
		}
		return nil
	}

	// Refining AC components is more complicated; see sections G.1.2.2 and G.1.2.3.
	zig := zigStart
	if d.eobRun == 0 {
	loop:
		for ; zig <= zigEnd; zig++ {
			z := int32(0)
			value, err := d.decodeHuffman(h)
			if err != nil {
				return err
			}
			val0 := value >> 4
			val1 := value & 0x0f

			switch val1 {
			case 0:
				if val0 != 0x0f {
					d.eobRun = uint16(1 << val0)
					if val0 != 0 {
						bits, err := d.decodeBits(int32(val0))
						if err != nil {
							return err
						}
						d.eobRun |= uint16(bits)
					}
					break loop
				}
			case 1:
				z = delta
				bit, err := d.decodeBit()
				if err != nil {
					return err
				}
				if !bit {
					z = -z
				}
			default:
				return FormatError("unexpected Huffman code")
			}

			zig, err = refineNonZeroes(d, b, zig, zigEnd, int32(val0), delta)
			if err != nil {
				return err
			}
			if zig > zigEnd {
				return FormatError("too many coefficients")
			}
			if z != 0 {
				put(&b[unzig[zig]], z)
			}
		}
	}
	if d.eobRun > 0 {
		d.eobRun--
		if _, err := refineNonZeroes(d, b, zig, zigEnd, -1, delta); err != nil {
			return err
		}
	}
	return nil
}

// refineNonZeroes refines non-zero entries of b in zig-zag order. If nz >= 0,
// the first nz zero entries are skipped over.
func refineNonZeroes[T coefficient](d *decoder, b *[blockSize]T, zig, zigEnd, nz, delta int32) (int32, error) {
	for ; zig <= zigEnd; zig++ {
		u := unzig[zig]
		if b[u] == 0 {
			if nz == 0 {
				break
			}
			nz--
			continue
		}
		bit, err := d.decodeBit()
		if err != nil {
			return 0, err
		}
		if !bit {
			continue
		}
		if b[u] >= 0 {
			put(&b[u], int32(b[u])+delta)
		} else {
			put(&b[u], int32(b[u])-delta)
		}
	}
	return zig, nil
}

func (d *decoder) reconstructProgressiveImage() error {
	// The h0, mxx, by and bx variables have the same meaning as in the
	// processSOS method.
	h0 := d.comp[0].h
	mxx := (d.width + 8*h0 - 1) / (8 * h0)
	for i := 0; i < d.nComp; i++ {
		r := d.progReduced[i]
		if d.progCoeffs[i] == nil && r == nil {
			continue
		}
		v := 8 * d.comp[0].v / d.comp[i].v
		h := 8 * d.comp[0].h / d.comp[i].h
		stride := mxx * d.comp[i].h
		var b block
		plan := d.plan(i)
		// At 1/4 the transform reads the store itself (see idct2x2) where it can.
		direct := r != nil && plan.kind == plan2x2 && r.kept.natural == keep2x2 && !slowProgressive
		for by := 0; by*v < d.height; by++ {
			if err := d.interrupted(); err != nil {
				return err
			}
			for bx := 0; bx*h < d.width; bx++ {
				if direct && bx < plan.innerW && by < plan.innerH && bx != r.edgeCol && by != r.edgeRow {
					r.idct2x2(by*stride+bx, plan.w2, plan.dst[plan.ph*by*plan.stride+plan.pw*bx:], plan.stride)
					continue
				}
				var nz uint64
				if r != nil {
					nz = r.block(&b, bx, by)
				} else {
					for j, c := range &d.progCoeffs[i][by*stride+bx] {
						b[j] = int32(c)
						if c != 0 {
							nz |= 1 << j
						}
					}
				}
				if _, err := d.reconstruct(&plan, &b, nz|1, bx, by); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// subsampling is how many output pixels of a reduced image one sample of the component covers,
// across and down, before the reduction: 1 x 1 at scale 1, where each component keeps its own
// resolution (see makeImg).
func (d *decoder) subsampling(compIndex int) (hr, vr int) {
	if d.scale == 1 || d.nComp == 1 {
		return 1, 1
	}
	return d.comp[0].h / d.comp[compIndex].h, d.comp[0].v / d.comp[compIndex].v
}

// blockScale is how many of the component's samples, across and down, each output pixel
// averages (at least 1).
func (d *decoder) blockScale(compIndex int) (sx, sy int) {
	hr, vr := d.subsampling(compIndex)
	return max(d.scale/hr, 1), max(d.scale/vr, 1)
}

// reconstructBlock dequantizes, performs the inverse DCT and stores the block
// to the image, averaged down by d.scale. nz has bit i set where b[i] may be non-zero: the
// others are zero.
func (d *decoder) reconstructBlock(b *block, nz uint64, bx, by, compIndex int) error {
	qt, qn := &d.quant[d.comp[compIndex].tq], &d.quantNat[d.comp[compIndex].tq]
	if d.scale > 1 {
		if dst, stride, ax, ay := d.scaledTarget(bx, by, compIndex); dst != nil {
			switch {
			case ax.n == 2 && ay.n == 2:
				scaledIDCT2x2(b, nz, d.premultiplied2x2(d.comp[compIndex].tq), dst, stride)
			case ax.n == 4 && ay.n == 4:
				scaledIDCT4x4(b, nz, d.premultiplied4x4(d.comp[compIndex].tq), dst, stride)
			case ax.n == 1 && ay.n == 1:
				// The mean of the whole block is its DC term over 8.
				dst[0] = clampLevel(boxRound(int(b[0]) * int(qt[0]) * (1 << (2*idctFracBits - 3))))
			case ax.n == 8 && ay.n == 8:
				// Not reduced at all (a subsampled chroma block at 1/2): image/jpeg's own
				// transform.
				idctStore(b, nz, qn, dst, stride)
			default:
				scaledIDCT(b, qt, ax, ay, dst, stride)
			}
			return nil
		}
	}
	if d.scale == 1 {
		dst, stride := d.patch(bx, by, compIndex, 8, 8)
		if dst == nil {
			return UnsupportedError("too many components")
		}
		idctStore(b, nz, qn, dst, stride)
		return nil
	}
	for zig := 0; zig < blockSize; zig++ {
		b[unzig[zig]] *= qt[zig]
	}
	idct(b)
	s := d.scale
	// The block becomes a pw x ph patch of the output: 8x8 divided by the scale, and for a
	// subsampled component of a reduced image, multiplied by its subsampling ratio hr x vr
	// (see makeImg).
	hr, vr := d.subsampling(compIndex)
	pw, ph := 8*hr/s, 8*vr/s
	dst, stride := d.patch(bx, by, compIndex, pw, ph)
	if dst == nil {
		return UnsupportedError("too many components")
	}
	// Level shift by +128 and clip to [0, 255], as image/jpeg does before storing: the boxes
	// below then average exactly the pixels image/jpeg would output.
	for i, c := range b {
		b[i] = min(max(c+128, 0), 255) // branch-free: min and max compile to conditional moves
	}
	// Each output pixel is the rounded mean of an s x s box of source pixels. The block's source
	// pixels are (x0+x, y0+y) of the full-size image, x < 8*hr and y < 8*vr; inW x inH of them
	// are inside the image, the rest is padding that image/jpeg crops.
	x0, y0 := bx*8*hr, by*8*vr
	inW, inH := min(8*hr, d.width-x0), min(8*vr, d.height-y0)
	if hr == 1 && vr == 1 && inW == 8 && inH == 8 {
		// The common case, a full-resolution block inside the image: s*s is 1<<d.boxShift.
		shift := d.boxShift
		half := int32(s * s / 2)
		for oy := range ph {
			row := dst[oy*stride : oy*stride+pw]
			for ox := range row {
				sum := half
				for y := oy * s; y < oy*s+s; y++ {
					for _, c := range b[y*8+ox*s : y*8+ox*s+s] {
						sum += c
					}
				}
				row[ox] = uint8(sum >> shift)
			}
		}
		return nil
	}
	// A subsampled component, where source pixel (x, y) has the block's sample (x/hr, y/vr) as
	// in image/jpeg's output, or a block on the right or bottom edge, whose boxes average only
	// the pixels inside the image, as a box shrink of image/jpeg's output does.
	for oy := range ph {
		ys, ye := oy*s, min(oy*s+s, inH)
		if ys >= ye {
			break // below the image: outside the output's bounds too
		}
		row := dst[oy*stride : oy*stride+pw]
		for ox := range row {
			xs, xe := ox*s, min(ox*s+s, inW)
			if xs >= xe {
				break
			}
			var sum int32
			for y := ys; y < ye; y++ {
				line := b[y/vr*8 : y/vr*8+8]
				for x := xs; x < xe; x++ {
					sum += line[x/hr]
				}
			}
			n := int32((ye - ys) * (xe - xs))
			row[ox] = uint8((sum + n/2) / n)
		}
	}
	return nil
}

// clearBlock zeroes the positions of b in m, the others being zero already.
func clearBlock(b *block, m uint64) {
	if mbits.OnesCount64(m) > 16 {
		*b = block{}
		return
	}
	for ; m != 0; m &= m - 1 {
		b[mbits.TrailingZeros64(m)&(blockSize-1)] = 0
	}
}

// idctStoreGo is image/jpeg's reconstruction of a block: dequantize (qn is the quantization
// table in natural order), inverse-transform, level-shift and clip, and store the 8 x 8 pixels.
// nz has bit i set where b[i] may be non-zero: the zero rows are skipped (the transform maps them
// to zero), and where only the first row is left each column's transform is its first value,
// rounded, which is what idctCols computes for it. It is the reference for idctStoreSIMD (see
// idct_simd.go), which must store the same bytes. It leaves in as it was.
func idctStoreGo(in *block, nz uint64, qn *block, dst []byte, stride int) {
	if nz == 1 {
		idctStoreDC(in, qn, dst, stride)
		return
	}
	// On a copy: the transforms of a block inside the image leave it as it was (see dirty in
	// processSOS).
	c := *in
	b := &c
	for m := nz; m != 0; m &= m - 1 {
		i := mbits.TrailingZeros64(m)
		b[i] *= qn[i]
	}
	var rows uint8
	for r := range 8 {
		if nz>>(8*r)&0xff != 0 {
			rows |= 1 << r
		}
	}
	idctRows(b, rows)
	if rows == 1 {
		for x := range 8 {
			v := ((b[x] + 1<<19) >> 2) >> 18
			for y := 1; y < 8; y++ {
				b[y*8+x] = v
			}
			b[x] = v
		}
	} else {
		idctCols(b)
	}
	for y := 0; y < 8; y++ {
		row := dst[y*stride : y*stride+8]
		for x := range row {
			row[x] = uint8(min(max(b[y*8+x]+128, 0), 255))
		}
	}
}

// idctStoreDC is idctStoreGo for a block with only the DC term: idctRows makes every entry of
// row 0 b[0]<<17 and idctCols every pixel that, rounded (int32 arithmetic, as theirs, so a
// hostile value wraps alike).
func idctStoreDC(b *block, qn *block, dst []byte, stride int) {
	v := uint8(min(max(((b[0]*qn[0]<<17+1<<19)>>2)>>18+128, 0), 255))
	row := uint64(v) * 0x0101010101010101 // 8 bytes of v: one store a row
	for y := range 8 {
		binary.LittleEndian.PutUint64(dst[y*stride:y*stride+8], row)
	}
}

// patch is where block (bx, by) of the component goes in the output, as a pw x ph patch; nil for
// a component index past the fourth.
func (d *decoder) patch(bx, by, compIndex, pw, ph int) ([]byte, int) {
	if d.nComp == 1 {
		return d.img1.Pix[ph*by*d.img1.Stride+pw*bx:], d.img1.Stride
	}
	switch compIndex {
	case 0:
		return d.img3.Y[ph*by*d.img3.YStride+pw*bx:], d.img3.YStride
	case 1:
		return d.img3.Cb[ph*by*d.img3.CStride+pw*bx:], d.img3.CStride
	case 2:
		return d.img3.Cr[ph*by*d.img3.CStride+pw*bx:], d.img3.CStride
	case 3:
		return d.blackPix[ph*by*d.blackStride+pw*bx:], d.blackStride
	}
	return nil, 0
}

// scaledTarget is where block (bx, by) of a reduced image goes when scaledIDCT can compute it:
// the block lies wholly inside the image and becomes a patch of at most 8 x 8 output pixels.
// Otherwise (edge blocks, whose boxes average only the pixels inside the image, and chroma that
// a reduced image must replicate) dst is nil and reconstructBlock averages the pixels.
func (d *decoder) scaledTarget(bx, by, compIndex int) (dst []byte, stride int, ax, ay *boxAxis) {
	hr, vr := d.subsampling(compIndex)
	pw, ph := 8*hr/d.scale, 8*vr/d.scale
	ax, ay = boxAxisFor(pw), boxAxisFor(ph)
	if ax == nil || ay == nil {
		return nil, 0, nil, nil
	}
	if x0, y0 := (bx+1)*8*hr, (by+1)*8*vr; x0 > d.width || y0 > d.height {
		return nil, 0, nil, nil
	}
	dst, stride = d.patch(bx, by, compIndex, pw, ph)
	return dst, stride, ax, ay
}

// findRST advances past the next RST restart marker that matches expectedRST.
// Other than I/O errors, it is also an error if we encounter an {0xFF, M}
// two-byte marker sequence where M is not 0x00, 0xFF or the expectedRST.
//
// This is similar to libjpeg's jdmarker.c's next_marker function.
// https://github.com/libjpeg-turbo/libjpeg-turbo/blob/2dfe6c0fe9e18671105e94f7cbf044d4a1d157e6/jdmarker.c#L892-L935
//
// Precondition: d.tmp[:2] holds the next two bytes of JPEG-encoded input
// (input in the d.readFull sense).
func (d *decoder) findRST(expectedRST uint8) error {
	for {
		// i is the index such that, at the bottom of the loop, we read 2-i
		// bytes into d.tmp[i:2], maintaining the invariant that d.tmp[:2]
		// holds the next two bytes of JPEG-encoded input. It is either 0 or 1,
		// so that each iteration advances by 1 or 2 bytes (or returns).
		i := 0

		if d.tmp[0] == 0xff {
			if d.tmp[1] == expectedRST {
				return nil
			} else if d.tmp[1] == 0xff {
				i = 1
			} else if d.tmp[1] != 0x00 {
				// libjpeg's jdmarker.c's jpeg_resync_to_restart does something
				// fancy here, treating RST markers within two (modulo 8) of
				// expectedRST differently from RST markers that are 'more
				// distant'. Until we see evidence that recovering from such
				// cases is frequent enough to be worth the complexity, we take
				// a simpler approach for now. Any marker that's not 0x00, 0xff
				// or expectedRST is a fatal FormatError.
				return FormatError("bad RST marker")
			}

		} else if d.tmp[1] == 0xff {
			d.tmp[0] = 0xff
			i = 1
		}

		if err := d.readFull(d.tmp[i:2]); err != nil {
			return err
		}
	}
}
