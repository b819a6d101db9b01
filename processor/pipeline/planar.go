package pipeline

import (
	"image"
	"image/color"
	"sync"

	"medicpx/processor/pipeline/internal/resample"
)

// A decoded JPEG is an *image.YCbCr: one byte a sample, chroma often at half resolution. Its
// thumbnails are made on those planes as they are, each resized on its own, and handed to the
// JPEG encoder as YCbCr again: converting every source pixel to 4-byte RGBA first (and back to
// YCbCr in the encoder) cost more than the resize itself. YCbCr is a linear map of RGB, so
// averaging and filtering commute with it except where a value clips.

// shrinkPlanes averages k x k boxes (partial at the right and bottom edges) of src into a 4:4:4
// image, each output chroma sample from the chroma of the same source pixels as its luma (see
// shrinkYCbCr, which converts the result to RGB).
func shrinkPlanes(src *image.YCbCr, k int) *image.YCbCr {
	r := src.Rect
	sw, sh := r.Dx(), r.Dy()
	dw, dh := (sw+k-1)/k, (sh+k-1)/k
	dst := image.NewYCbCr(image.Rect(0, 0, dw, dh), image.YCbCrSubsampleRatio444)
	if k == 2 && r.Min == (image.Point{}) {
		// The common case (the 320 px thumbnail from the 1280 px one, or from a 1280 px decode)
		// on each plane alone: what the loop below makes, without its per-sample offsets.
		switch src.SubsampleRatio {
		case image.YCbCrSubsampleRatio444:
			halvePlane(dst.Y, dst.YStride, src.Y, src.YStride, sw, sh)
			halvePlane(dst.Cb, dst.CStride, src.Cb, src.CStride, sw, sh)
			halvePlane(dst.Cr, dst.CStride, src.Cr, src.CStride, sw, sh)
			return dst
		case image.YCbCrSubsampleRatio420:
			// Every 2x2 box holds one chroma sample's pixels: the chroma is that sample.
			halvePlane(dst.Y, dst.YStride, src.Y, src.YStride, sw, sh)
			for oy := range dh {
				copy(dst.Cb[oy*dst.CStride:][:dw], src.Cb[oy*src.CStride:][:dw])
				copy(dst.Cr[oy*dst.CStride:][:dw], src.Cr[oy*src.CStride:][:dw])
			}
			return dst
		}
	}
	return shrinkBoxes(dst, src, k)
}

// shrinkBoxes is shrinkPlanes for any k and subsampling, into dst.
func shrinkBoxes(dst, src *image.YCbCr, k int) *image.YCbCr {
	r := src.Rect
	sw, sh := r.Dx(), r.Dy()
	dw, dh := dst.Rect.Dx(), dst.Rect.Dy()
	base := src.COffset(r.Min.X, r.Min.Y)
	cx := make([]int, sw)
	for x := range cx {
		cx[x] = src.COffset(r.Min.X+x, r.Min.Y) - base
	}
	sums := make([]uint32, 3*dw)
	for oy := range dh {
		clear(sums)
		y0, y1 := oy*k, min(oy*k+k, sh)
		for y := y0; y < y1; y++ {
			yrow := src.Y[src.YOffset(r.Min.X, r.Min.Y+y):][:sw]
			c0 := src.COffset(r.Min.X, r.Min.Y+y)
			cb, cr := src.Cb[c0:], src.Cr[c0:]
			for ox := range dw {
				x0, x1 := ox*k, min(ox*k+k, sw)
				var sy, sb, sr uint32
				for x := x0; x < x1; x++ {
					c := cx[x]
					sy += uint32(yrow[x])
					sb += uint32(cb[c])
					sr += uint32(cr[c])
				}
				s := sums[3*ox : 3*ox+3 : 3*ox+3]
				s[0] += sy
				s[1] += sb
				s[2] += sr
			}
		}
		row := oy * dst.YStride
		for ox := range dw {
			n := uint32((y1 - y0) * (min(ox*k+k, sw) - ox*k))
			s := sums[3*ox : 3*ox+3 : 3*ox+3]
			dst.Y[row+ox] = uint8((s[0] + n/2) / n)
			dst.Cb[row+ox] = uint8((s[1] + n/2) / n)
			dst.Cr[row+ox] = uint8((s[2] + n/2) / n)
		}
	}
	return dst
}

// halvePlane averages the 2x2 boxes of the sw x sh plane src (rows sstride apart) into dst, as
// shrinkPlanes does: rounded to nearest, a partial box at the right or bottom edge averaging the
// samples it has.
func halvePlane(dst []byte, dstride int, src []byte, sstride, sw, sh int) {
	full := sw / 2 // boxes two samples wide
	for oy := range (sh + 1) / 2 {
		out := dst[oy*dstride:][:(sw+1)/2]
		r0 := src[2*oy*sstride:][:sw]
		if 2*oy+1 == sh { // the bottom row of an odd height: boxes one sample high
			for ox := range full {
				out[ox] = uint8((uint32(r0[2*ox]) + uint32(r0[2*ox+1]) + 1) >> 1)
			}
			if full < len(out) {
				out[full] = r0[sw-1]
			}
			continue
		}
		r1 := src[(2*oy+1)*sstride:][:sw]
		for ox := range full {
			s := uint32(r0[2*ox]) + uint32(r0[2*ox+1]) + uint32(r1[2*ox]) + uint32(r1[2*ox+1])
			out[ox] = uint8((s + 2) >> 2)
		}
		if full < len(out) { // the right column of an odd width: boxes one sample wide
			out[full] = uint8((uint32(r0[sw-1]) + uint32(r1[sw-1]) + 1) >> 1)
		}
	}
}

// resizePlanes resamples src to a w x h 4:2:0 image with a Lanczos-3 filter (disintegration/
// imaging's, which the other formats use), each plane on its own, across and then down, in
// fixed point, as Pillow's resampler does (but not rounded to 8 bits between the passes). A
// subsampled chroma plane is filtered as the image/jpeg pixels it stands for: each sample
// repeated over the pixels it covers, then resampled (the taps are folded onto the samples, so
// nothing is repeated in memory). src must start at (0, 0), as decoded images do.
//
// The chroma comes out at half resolution, each sample filtered over the source of the 2x2
// pixels it covers (resample.Halved), because the thumbnail's JPEG has 4:2:0 chroma anyway:
// resized to full resolution, it was averaged in pairs by the encoder, which was a third of the
// resize's work and all of the encoder's chroma averaging thrown away.
func resizePlanes(src *image.YCbCr, w, h int) *image.YCbCr {
	dst := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	hs, vs := 1, 1 // luma pixels per chroma sample, across and down
	switch src.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		hs = 2
	case image.YCbCrSubsampleRatio420:
		hs, vs = 2, 2
	case image.YCbCrSubsampleRatio440:
		vs = 2
	case image.YCbCrSubsampleRatio411:
		hs = 4
	case image.YCbCrSubsampleRatio410:
		hs, vs = 4, 2
	}
	cw, ch := (sw+hs-1)/hs, (sh+vs-1)/vs
	// The chroma planes go beside the luma one: a single upload's thumbnail is made on two cores
	// (the processor's CPU slots bound how many checks run at once, not their goroutines).
	var wg sync.WaitGroup
	wg.Go(func() {
		tx, ty := resample.Halved(w, sw, hs), resample.Halved(h, sh, vs)
		dw, dh := (w+1)/2, (h+1)/2
		resizePlane(dst.Cb, dst.CStride, dw, dh, src.Cb, src.CStride, cw, ch, tx, ty)
		resizePlane(dst.Cr, dst.CStride, dw, dh, src.Cr, src.CStride, cw, ch, tx, ty)
	})
	resizePlane(dst.Y, dst.YStride, w, h, src.Y, src.YStride, sw, sh, resample.Lanczos(w, sw, 1), resample.Lanczos(h, sh, 1))
	wg.Wait()
	return dst
}

// resizePlane resamples the sw x sh plane src (rows sstride apart) into the w x h plane dst,
// with taps tx across and ty down. The rows filtered across are kept only while an output row
// needs them: ty.N+1 of them in a ring (a window of ty.N, and the second of the last pair that
// the pass across filtered), not the whole w x sh intermediate.
//
// Each kept row is packed two samples an int64, x = 2k in the low 32 bits and 2k+1 above, so
// the pass down takes one multiply for two outputs, as resample.RowsGo does for two rows: each
// output's sum fits an int32 (int16 samples of 14 bits times weights whose magnitudes add up to
// less than 2<<resample.WeightBits), so the halves are exactly the sums a filter of each would make.
func resizePlane(dst []byte, dstride, w, h int, src []byte, sstride, sw, sh int, tx, ty resample.Taps) {
	across, down := resample.NewAcross(tx), resample.NewDown(ty)
	if resample.Assembled(across, down) {
		resizePlaneSIMD(dst, dstride, w, h, src, sstride, sw, sh, ty, across, down)
		return
	}
	half := (w + 1) / 2
	slots := ty.N + 1
	ring := make([]int64, slots*half)
	row0, row1 := make([]int16, w), make([]int16, w)
	sums := make([]int64, half)
	keep := func(r int, v []int16) {
		out := ring[r%slots*half:][:half]
		for k := range out {
			lo, hi := int64(v[2*k]), int64(0)
			if 2*k+1 < len(v) {
				hi = int64(v[2*k+1])
			}
			out[k] = lo + hi<<32
		}
	}
	const shift = resample.WeightBits + resample.MidBits
	clip := func(s int32) uint8 { return uint8(min(max((s+1<<(shift-1))>>shift, 0), 255)) }
	done := 0 // source rows [0, done) are filtered across
	n := ty.N
	for y := range h {
		first := ty.Start[y]
		for done < first+n {
			next := min(done+1, sh-1)
			across.Rows(row0, row1, src[done*sstride:][:sw], src[next*sstride:][:sw])
			keep(done, row0)
			if done+1 < sh {
				keep(done+1, row1)
			}
			done += 2
		}
		// Down: the window's rows, two a step.
		ws := ty.Weights[y*n : y*n+n]
		w0 := int64(ws[0])
		for k, v := range ring[first%slots*half:][:half] {
			sums[k] = v * w0
		}
		j := 1
		for ; j+1 < n; j += 2 {
			wa, wb := int64(ws[j]), int64(ws[j+1])
			a := ring[(first+j)%slots*half:][:half]
			b := ring[(first+j+1)%slots*half:][:half]
			for k := range sums {
				sums[k] += a[k]*wa + b[k]*wb
			}
		}
		if j < n {
			wa := int64(ws[j])
			for k, v := range ring[(first+j)%slots*half:][:half] {
				sums[k] += v * wa
			}
		}
		out := dst[y*dstride : y*dstride+w]
		for k, s := range sums {
			lo := int32(s)
			out[2*k] = clip(lo)
			if 2*k+1 < w {
				out[2*k+1] = clip(int32((s - int64(lo)) >> 32))
			}
		}
	}
}

// resizePlaneSIMD is resizePlane by the assembly, which keeps its rows as they come out of the
// pass across (int16, one sample an element: the assembly needs no packing to take many at once)
// in a ring of ty.N+1, and makes the same bytes (resample's tests and
// TestResizePlanesSIMDMatchesGo hold the two to each other).
func resizePlaneSIMD(dst []byte, dstride, w, h int, src []byte, sstride, sw, sh int, ty resample.Taps, across *resample.Across, down *resample.Down) {
	n := ty.N
	ring := make([][]int16, n+1)
	for i := range ring {
		ring[i] = make([]int16, w)
	}
	spare := make([]int16, w) // the pair's second row past the last one
	window := make([][]int16, n)
	done := 0 // source rows [0, done) are filtered across
	for y := range h {
		first := ty.Start[y]
		for done < first+n {
			row1 := spare
			if done+1 < sh {
				row1 = ring[(done+1)%len(ring)]
			}
			next := min(done+1, sh-1)
			across.Rows(ring[done%len(ring)], row1, src[done*sstride:][:sw], src[next*sstride:][:sw])
			done += 2
		}
		for j := range window {
			window[j] = ring[(first+j)%len(ring)]
		}
		down.Row(dst[y*dstride:y*dstride+w], y, window)
	}
}

// toNRGBA converts a (small) YCbCr image to NRGBA, for orientation and the other formats' path.
func toNRGBA(src *image.YCbCr) *image.NRGBA {
	r := src.Rect
	dst := image.NewNRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := range r.Dy() {
		row := dst.Pix[y*dst.Stride:]
		for x := range r.Dx() {
			yi, ci := src.YOffset(r.Min.X+x, r.Min.Y+y), src.COffset(r.Min.X+x, r.Min.Y+y)
			rr, gg, bb := color.YCbCrToRGB(src.Y[yi], src.Cb[ci], src.Cr[ci])
			p := row[4*x : 4*x+4 : 4*x+4]
			p[0], p[1], p[2], p[3] = rr, gg, bb, 0xff
		}
	}
	return dst
}
