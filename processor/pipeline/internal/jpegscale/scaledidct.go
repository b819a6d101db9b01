package jpegscale

import (
	"encoding/binary"
	"math"
	mbits "math/bits"
)

// Scaled inverse DCTs, as libjpeg's jidctred.c: when each output pixel is the mean of a box of
// a block's pixels, that mean is a linear function of the block's coefficients, so the reduced
// patch is computed from them directly instead of inverse-transforming all 64 pixels and adding
// them up. A 2-D basis function is the product of two 1-D ones, so the map is separable: across,
// then down, each by an n x 8 matrix (n = 8, 4, 2 or 1 outputs a block). At n = 2 the columns of
// the even frequencies 2, 4 and 6 are zero and at n = 1 only the DC column is left (see
// keptByScale); at n = 4 frequency 4 drops out. Each matrix is symmetric about the block's
// centre (output n-1-m is output m with the odd frequencies negated), which halves the work.
//
// The result is the box mean of the unclipped inverse transform, clipped once: where image/jpeg
// clips pixels of a block to [0, 255] before the mean is taken, the two differ (see
// TestDecodeScaledMatchesImageJPEG for the bounds).

// idctFracBits is the fixed-point precision of the matrices. Sums are int (64-bit): with 12
// bits a hostile block (int32 coefficients times 16-bit quantizers) cannot overflow them.
const idctFracBits = 12

// boxAxis is the 1-D map from 8 coefficients to n box means.
type boxAxis struct {
	n    int
	even []int           // even frequencies with a non-zero column
	odd  []int           // odd frequencies with a non-zero column
	a    [4][8]int       // a[m][k], m < max(1, n/2): the first half; the rest by symmetry
	need [blockSize]bool // need[k]: frequency k has a non-zero column (all of even and odd)
}

// boxAxes is indexed by log2(n): 1, 2, 4 and 8 outputs.
var boxAxes = func() (t [4]*boxAxis) {
	for i := range t {
		n := 1 << i
		ax := &boxAxis{n: n}
		w := 8 / n
		for m := range max(1, n/2) {
			for k := range 8 {
				// The mean over samples x in [m*w, m*w+w) of image/jpeg's 1-D basis function
				// g_k(x) = c(k)/2 * cos((2x+1)kπ/16), c(0) = 1/√2, c(k) = 1.
				c := 0.5
				if k == 0 {
					c = 0.5 / math.Sqrt2
				}
				var sum float64
				for x := m * w; x < m*w+w; x++ {
					sum += c * math.Cos(float64(2*x+1)*float64(k)*math.Pi/16)
				}
				ax.a[m][k] = int(math.Round(sum / float64(w) * (1 << idctFracBits)))
			}
		}
		for k := range 8 {
			nonZero := false
			for m := range max(1, n/2) {
				nonZero = nonZero || ax.a[m][k] != 0
			}
			if !nonZero {
				continue
			}
			ax.need[k] = true
			if k%2 == 0 {
				ax.even = append(ax.even, k)
			} else {
				ax.odd = append(ax.odd, k)
			}
		}
		t[i] = ax
	}
	return t
}()

// boxAxisFor returns the axis for n outputs, or nil when n is not 1, 2, 4 or 8.
func boxAxisFor(n int) *boxAxis {
	switch n {
	case 1:
		return boxAxes[0]
	case 2:
		return boxAxes[1]
	case 4:
		return boxAxes[2]
	case 8:
		return boxAxes[3]
	}
	return nil
}

// apply maps the 8 coefficients in to n box means, out[m*ostep], m < n.
func (ax *boxAxis) apply(in *[8]int, out []int, ostep int) {
	a := &ax.a
	switch ax.n {
	case 1:
		out[0] = a[0][0] * in[0]
	case 2:
		e := a[0][0] * in[0]
		o := a[0][1]*in[1] + a[0][3]*in[3] + a[0][5]*in[5] + a[0][7]*in[7]
		out[0], out[ostep] = e+o, e-o
	case 4:
		e0 := a[0][0]*in[0] + a[0][2]*in[2] + a[0][6]*in[6]
		o0 := a[0][1]*in[1] + a[0][3]*in[3] + a[0][5]*in[5] + a[0][7]*in[7]
		e1 := a[1][0]*in[0] + a[1][2]*in[2] + a[1][6]*in[6]
		o1 := a[1][1]*in[1] + a[1][3]*in[3] + a[1][5]*in[5] + a[1][7]*in[7]
		out[0], out[ostep], out[2*ostep], out[3*ostep] = e0+o0, e1+o1, e1-o1, e0-o0
	default:
		for m := range ax.n / 2 {
			var e, o int
			for _, k := range ax.even {
				e += a[m][k] * in[k]
			}
			for _, k := range ax.odd {
				o += a[m][k] * in[k]
			}
			out[m*ostep] = e + o
			out[(ax.n-1-m)*ostep] = e - o
		}
	}
}

// zigOf is unzig's inverse: the zig-zag index of each natural-order position.
var zigOf = func() (z [blockSize]int) {
	for zig, nat := range unzig {
		z[nat] = zig
	}
	return z
}()

// scaledIDCT dequantizes b (natural order) with qt (zig-zag order) and writes its pw x ph patch
// of box means, level-shifted and clipped, to dst.
func scaledIDCT(b *block, qt *block, ax, ay *boxAxis, dst []byte, stride int) {
	pw, ph := ax.n, ay.n
	// Across: each row v the vertical map needs becomes pw values, scaled by 1<<idctFracBits;
	// rows without a coefficient the horizontal map needs stay zero and are skipped.
	var rows [8][8]int // rows[m][v]: output column m of row v, laid out for the pass down
	var coef [8]int
	for v := range 8 {
		if !ay.need[v] {
			continue
		}
		any := false
		for k := range 8 {
			coef[k] = 0
			if c := b[v*8+k]; c != 0 && ax.need[k] {
				coef[k] = int(c) * int(qt[zigOf[v*8+k]])
				any = true
			}
		}
		if !any {
			continue
		}
		var out [8]int
		ax.apply(&coef, out[:], 1)
		for m := range pw {
			rows[m][v] = out[m]
		}
	}
	// Down: each output column from its rows.
	var col [8]int
	for m := range pw {
		ay.apply(&rows[m], col[:], 1)
		for y := range ph {
			dst[y*stride+m] = clampLevel(boxRound(col[y]))
		}
	}
}

// boxRound rounds a sum scaled by 2*idctFracBits bits to an integer.
func boxRound(v int) int { return (v + 1<<(2*idctFracBits-1)) >> (2 * idctFracBits) }

// clampLevel level-shifts a sample by +128 and clips it to a byte.
func clampLevel(v int) uint8 { return uint8(min(max(v+128, 0), 255)) }

// premultiplied2x2 is quantization table tq in natural order, each entry multiplied by the 2 x 2
// matrices' first-half entries for its two frequencies: scaledIDCT2x2 then needs one multiply
// per coefficient.
func (d *decoder) premultiplied2x2(tq uint8) *[blockSize]int {
	p := &d.quant2x2[tq]
	if !p.valid {
		a := &boxAxes[1].a[0]
		for nat := range blockSize {
			p.w[nat] = int(d.quant[tq][zigOf[nat]]) * a[nat%8] * a[nat/8]
		}
		p.valid = true
	}
	return &p.w
}

// The 2 x 2 and 4 x 4 transforms below go through a block's non-zero coefficients only (most are
// zero), each multiplied once into the first-half outputs of each axis, in four sums by the
// parity of its two frequencies; the other outputs are those sums with the odd ones negated (the
// symmetry above). In integers this is scaledIDCT's arithmetic regrouped: each output is the same
// sum of the same products, so it is the same number (int arithmetic wraps, so even a hostile
// block's overflow wraps to the same value).

// keep2x2 and keep4x4 are the natural-order positions whose frequencies have non-zero columns
// in the 2 x 2 and 4 x 4 maps (for 2 x 2, 0, 1, 3, 5 and 7 on each axis: see keptByScale).
var keep2x2, keep4x4 = func() (k2, k4 uint64) {
	for nat := range blockSize {
		if boxAxes[1].need[nat%8] && boxAxes[1].need[nat/8] {
			k2 |= 1 << nat
		}
		if boxAxes[2].need[nat%8] && boxAxes[2].need[nat/8] {
			k4 |= 1 << nat
		}
	}
	return k2, k4
}()

// parity is the index of a coefficient's sum: 1 for an odd horizontal frequency, 2 for an odd
// vertical one.
func parity(nat int) int { return nat&1 | (nat>>3&1)<<1 }

// scaledIDCT2x2 is scaledIDCT for 2 x 2 outputs (a block reduced by 4 across and down). w is
// premultiplied2x2's table, nz the positions of b that may be non-zero.
func scaledIDCT2x2(b *block, nz uint64, w *[blockSize]int, dst []byte, stride int) {
	var s [4]int // by parity
	for m := nz & keep2x2; m != 0; m &= m - 1 {
		nat := mbits.TrailingZeros64(m)
		s[parity(nat)] += int(b[nat]) * w[nat]
	}
	ee, oe, eo, oo := s[0], s[1], s[2], s[3]
	dst[0] = clampLevel(boxRound(ee + oe + eo + oo))
	dst[1] = clampLevel(boxRound(ee - oe + eo - oo))
	dst[stride] = clampLevel(boxRound(ee + oe - eo - oo))
	dst[stride+1] = clampLevel(boxRound(ee - oe - eo + oo))
}

// weights4x4 is premultiplied4x4's table: per natural-order position, its dequantization times
// the 4 x 4 matrices' entries for the first-half outputs m, n < 2 of each axis, at m + 2n.
//
// signed is the same table for the assembly, in int32, times the sign each position's parity
// gives it in each of scaledIDCT4x4Go's four output sums, ee+oe+eo+oo, ee-oe+eo-oo, ee+oe-eo-oo
// and ee-oe-eo+oo (sum k at [4k:4k+4]; sum 0's signs are all +, so [0:4] is w itself). The NEON
// version adds every coefficient into the 16 outputs at once instead of into four sums by
// parity, which the integers make the same numbers (products exact in int64, sums wrapping
// alike); the AVX2 one sums by parity with [0:4]. fits32 says whether every entry, negated or
// not, fits an int32 (any 8-bit table does; a 16-bit one may not).
type weights4x4 struct {
	w      [blockSize][4]int
	signed [blockSize][16]int32
	fits32 bool
}

// premultiplied4x4 is premultiplied2x2 for the 4 x 4 map.
func (d *decoder) premultiplied4x4(tq uint8) *weights4x4 {
	p := &d.quant4x4[tq]
	if !p.valid {
		a := &boxAxes[2].a
		p.w.fits32 = true
		for nat := range blockSize {
			q := int(d.quant[tq][zigOf[nat]])
			par := parity(nat)
			for j := range 4 {
				v := q * a[j&1][nat%8] * a[j>>1][nat/8]
				p.w.w[nat][j] = v
				p.w.fits32 = p.w.fits32 && v > math.MinInt32 && v <= math.MaxInt32
				for k, neg := range [4]bool{false, par&1 != 0, par>>1 != 0, par&1 != par>>1} {
					p.w.signed[nat][4*k+j] = int32(v)
					if neg {
						p.w.signed[nat][4*k+j] = int32(-v)
					}
				}
			}
		}
		p.valid = true
	}
	return &p.w
}

// scaledIDCT4x4 is scaledIDCT for 4 x 4 outputs (a block reduced by 2 across and down), by the
// assembly where there is one and the table fits it. w is premultiplied4x4's table, nz the
// positions of b that may be non-zero.
func scaledIDCT4x4(b *block, nz uint64, w *weights4x4, dst []byte, stride int) {
	if nz&keep4x4 == 1 {
		// Only the DC term (common in smooth or heavily compressed photos): its weight is the
		// same for all 16 outputs (the DC column of every box is 1/(2√2)), so is every sum of
		// scaledIDCT4x4Go, and so every output.
		v := uint32(clampLevel(boxRound(int(b[0])*w.w[0][0]))) * 0x01010101
		for y := range 4 {
			binary.LittleEndian.PutUint32(dst[y*stride:y*stride+4], v)
		}
		return
	}
	// The assembly does not check bounds: a patch too short goes to Go, which panics where it
	// would have.
	if useSIMD && w.fits32 && stride >= 4 && len(dst) >= 3*stride+4 {
		scaledIDCT4x4SIMD(b, nz&keep4x4, &w.signed, &dst[0], stride)
		return
	}
	scaledIDCT4x4Go(b, nz, &w.w, dst, stride)
}

// scaledIDCT4x4Go is the reference for scaledIDCT4x4SIMD, which must store the same bytes.
func scaledIDCT4x4Go(b *block, nz uint64, w *[blockSize][4]int, dst []byte, stride int) {
	var s [4][4]int // by parity, then first-half output m + 2n
	for m := nz & keep4x4; m != 0; m &= m - 1 {
		nat := mbits.TrailingZeros64(m)
		c, q, p := int(b[nat]), &w[nat], &s[parity(nat)]
		p[0] += c * q[0]
		p[1] += c * q[1]
		p[2] += c * q[2]
		p[3] += c * q[3]
	}
	for j := range 4 {
		x, y := j&1, j>>1
		ee, oe, eo, oo := s[0][j], s[1][j], s[2][j], s[3][j]
		top, bottom := dst[y*stride:], dst[(3-y)*stride:]
		top[x] = clampLevel(boxRound(ee + oe + eo + oo))
		top[3-x] = clampLevel(boxRound(ee - oe + eo - oo))
		bottom[x] = clampLevel(boxRound(ee + oe - eo - oo))
		bottom[3-x] = clampLevel(boxRound(ee - oe - eo + oo))
	}
}
