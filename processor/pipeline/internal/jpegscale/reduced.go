package jpegscale

// The package has its own bits type.
import mbits "math/bits"

// A progressive image's coefficients must be kept until its last scan. At 1/4 and 1/8 scale most
// of them cannot change the output, so only those that can are kept (see keptByScale), as int16,
// beside one bit per coefficient saying whether it is non-zero: refinement scans (refine,
// refineNonZeroes) read a coefficient's zero-ness, never its value, to parse the bit stream, so
// with the bits every scan of every block is parsed, and accepted or rejected, exactly as before.
// For a 5120x2880 4:4:4 photo at 1/4 this is 58 bytes per block instead of 128: 40 MB, not 88.

// keptCoeffs says which coefficients a reduced progressive store keeps.
type keptCoeffs struct {
	n       int              // kept per block
	slot    [blockSize]int8  // by zig-zag index: the coefficient's place among a block's kept ones, or -1
	zigs    [blockSize]int32 // zigs[:n]: the kept zig-zag indexes, in order
	natural uint64           // bit i set when natural-order position i is kept
	zig     uint64           // bit zig set when zig-zag index zig is kept
}

// Output pixel (x, y) at scale s is the mean of an s x s box of the block's inverse transform, and
// a 2-D DCT basis function is the product of two 1-D ones, cos((2n+1)kπ/16) across and down. At
// s = 8 the box is the whole block: every 1-D function but k = 0 sums to zero over it, so only the
// DC term matters. At s = 4 the boxes are the block's halves: even k are symmetric about the
// block's centre, so for k = 2, 4, 6 each half also sums to zero, and only k in {0, 1, 3, 5, 7},
// across and down, matters (25 coefficients). In exact arithmetic the dropped ones change nothing;
// what remains is the decoder's clamping of each pixel to [0, 255] and its integer rounding, which
// TestDecodeScaledMatchesImageJPEG bounds. At s = 1 and 2 every coefficient matters. Each axis
// counts on its own, in the block's samples (see keptFor): the table is indexed by log2 of the
// box's width and height, nil where nothing can be dropped.
var keptByScale = func() (t [4][4]*keptCoeffs) {
	keep := func(k, s int) bool {
		switch s {
		case 8:
			return k == 0
		case 4:
			return k == 0 || k%2 == 1
		}
		return true
	}
	for i, sx := range []int{1, 2, 4, 8} {
		for j, sy := range []int{1, 2, 4, 8} {
			if sx >= 4 || sy >= 4 {
				t[i][j] = newKeptCoeffs(func(kx, ky int) bool { return keep(kx, sx) && keep(ky, sy) })
			}
		}
	}
	return t
}()

// keptFor is what a block needs when each output pixel averages sx x sy of its samples: nil when
// every coefficient matters. A chroma block of a subsampled image covers 16 or 32 pixels across or
// down, so it is reduced by less than the image (see reconstructBlock).
func keptFor(sx, sy int) *keptCoeffs {
	index := func(s int) int {
		switch s {
		case 8:
			return 3
		case 4:
			return 2
		case 2:
			return 1
		}
		return 0
	}
	return keptByScale[index(sx)][index(sy)]
}

// newKeptCoeffs keeps the coefficients whose horizontal and vertical frequencies pass keep.
func newKeptCoeffs(keep func(kx, ky int) bool) *keptCoeffs {
	k := &keptCoeffs{}
	for zig, u := range unzig {
		k.slot[zig] = -1
		if keep(u%8, u/8) {
			k.slot[zig] = int8(k.n)
			k.zigs[k.n] = int32(zig)
			k.n++
			k.natural |= 1 << u
			k.zig |= 1 << zig
		}
	}
	return k
}

// reducedStore is one component's progressive coefficients at 1/4 or 1/8 scale.
type reducedStore struct {
	kept    *keptCoeffs
	nonZero []uint64 // per block: bit zig is set when the coefficient at zig-zag index zig is non-zero
	values  []int16  // per block, kept.n of them: the kept coefficients, quantized, in zig-zag order

	// A block cut by the image's right or bottom edge has boxes that average only part of it, so
	// the argument of keptByScale fails there: those few blocks keep every coefficient.
	stride           int // blocks per row
	edgeCol, edgeRow int // the column and row of blocks the edges cut, or -1
	edge             map[int]*coeffs
}

// newReducedStore makes a store for rows x stride blocks, each covering bw x bh pixels of the
// width x height image.
func newReducedStore(kept *keptCoeffs, stride, rows, bw, bh, width, height int) *reducedStore {
	cut := func(size, block int) int {
		if size%block == 0 {
			return -1
		}
		return size / block
	}
	return &reducedStore{
		kept:    kept,
		nonZero: make([]uint64, stride*rows),
		values:  make([]int16, stride*rows*kept.n),
		stride:  stride,
		edgeCol: cut(width, bw),
		edgeRow: cut(height, bh),
		edge:    map[int]*coeffs{},
	}
}

// full is block (bx, by)'s complete coefficients if it is cut by an edge, else nil.
func (s *reducedStore) full(bx, by int) *coeffs {
	if bx != s.edgeCol && by != s.edgeRow {
		return nil
	}
	i := by*s.stride + bx
	c := s.edge[i]
	if c == nil {
		c = new(coeffs)
		s.edge[i] = c
	}
	return c
}

// decode decodes block (bx, by)'s data in the current scan: decodeBlock, on the kept
// coefficients and the non-zero bits.
func (s *reducedStore) decode(d *decoder, bx, by int, dc *int32, dcHuff, acHuff *huffman, zigStart, zigEnd int32, ah, al uint32) error {
	if c := s.full(bx, by); c != nil {
		return decodeBlock(d, (*[blockSize]int16)(c), dc, dcHuff, acHuff, zigStart, zigEnd, ah, al)
	}
	i := by*s.stride + bx
	b := reducedBlock{&s.nonZero[i], s.values[i*s.kept.n : (i+1)*s.kept.n], &s.kept.slot}
	return b.decode(d, dc, dcHuff, acHuff, zigStart, zigEnd, ah, al)
}

// decodeACScan is processSOS's loop for an AC scan of a component kept in s, without restart
// intervals: the same blocks in the same order (left to right, top to bottom, those past the
// image's edges skipped), decoded by the same functions, without the per-block work the general
// loop does for any scan. A block inside an end-of-band run whose band is all zero, as most are,
// costs one test here: refine would read no bits for it either. mcuRows x rowsPerMCU are the
// component's rows of blocks, as processSOS counts them, s.stride its blocks per row.
func (s *reducedStore) decodeACScan(d *decoder, h *huffman, zigStart, zigEnd int32, ah, al uint32, mcuRows, rowsPerMCU int) error {
	cols := min(s.stride, (d.width+7)/8)
	band := ^uint64(0) >> (63 - zigEnd&63) &^ (1<<uint32(zigStart) - 1)
	kept := s.kept.n
	for my := range mcuRows {
		if err := d.interrupted(); err != nil {
			return err
		}
		for by := my * rowsPerMCU; by < (my+1)*rowsPerMCU && by*8 < d.height; by++ {
			row := s.nonZero[by*s.stride : by*s.stride+cols]
			for bx := range row {
				if d.eobRun > 0 && (ah == 0 || row[bx]&band == 0) && bx != s.edgeCol && by != s.edgeRow {
					d.eobRun--
					continue
				}
				if c := s.full(bx, by); c != nil {
					if err := decodeBlock(d, (*[blockSize]int16)(c), nil, nil, h, zigStart, zigEnd, ah, al); err != nil {
						return err
					}
					continue
				}
				i := by*s.stride + bx
				b := reducedBlock{&row[bx], s.values[i*kept : (i+1)*kept], &s.kept.slot}
				var err error
				if ah != 0 {
					err = b.refine(d, h, zigStart, zigEnd, 1<<al)
				} else {
					err = b.decode(d, nil, nil, h, zigStart, zigEnd, ah, al)
				}
				if err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// reducedBlock is one block of a reducedStore. Its decode, refine and refineNonZeroes are
// decodeBlock, refine and refineNonZeroes line for line, reading the non-zero bits where those
// read a coefficient's zero-ness and storing only what is kept: they consume the same bits and
// fail in the same places. (Making those generic over the two kinds of block would put an
// indirect call on every coefficient of every image.)
type reducedBlock struct {
	nonZero *uint64
	values  []int16
	slot    *[blockSize]int8
}

func (b reducedBlock) zero(zig int32) bool { return *b.nonZero>>zig&1 == 0 }

// set stores v as the coefficient at zig, as put does.
func (b reducedBlock) set(zig, v int32) {
	if v != 0 {
		*b.nonZero |= 1 << zig
	} else {
		*b.nonZero &^= 1 << zig
	}
	if k := b.slot[zig]; k >= 0 {
		put(&b.values[k], v)
	}
}

// grow adds delta to the magnitude of the non-zero coefficient at zig: it stays non-zero.
func (b reducedBlock) grow(zig, delta int32) {
	if k := b.slot[zig]; k >= 0 {
		if v := &b.values[k]; *v >= 0 {
			put(v, int32(*v)+delta)
		} else {
			put(v, int32(*v)-delta)
		}
	}
}

// decode is decodeBlock.
func (b reducedBlock) decode(d *decoder, dc *int32, dcHuff, acHuff *huffman, zigStart, zigEnd int32, ah, al uint32) error {
	if ah != 0 {
		return b.refine(d, acHuff, zigStart, zigEnd, 1<<al)
	}
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
		b.set(0, *dc<<al)
	}

	if zig <= zigEnd && d.eobRun > 0 {
		d.eobRun--
		return nil
	}
	// Decode the AC coefficients, as specified in section F.2.2.2.
	for ; zig <= zigEnd; zig++ {
		if v, n, ok := d.fastAC(acHuff); ok {
			// The code, its run of zeroes and the coefficient's bits in one look-up.
			if zig += n.run; zig > zigEnd {
				d.bits.n -= n.codeLen
				break
			}
			d.bits.n -= n.totalLen
			b.set(zig, v<<al)
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
			b.set(zig, ac<<al)
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
	return nil
}

// refine is refine. The DC coefficient is always kept (see keptByScale).
func (b reducedBlock) refine(d *decoder, h *huffman, zigStart, zigEnd, delta int32) error {
	if zigStart == 0 {
		if zigEnd != 0 {
			panic("unreachable")
		}
		bit, err := d.decodeBit()
		if err != nil {
			return err
		}
		if bit {
			b.set(0, int32(b.values[0])|delta)
		}
		return nil
	}

	zig := zigStart
	if d.eobRun == 0 {
		if h.fast != nil && !slowProgressive {
			zig = b.refineFast(d, h, zig, zigEnd, delta)
		}
	loop:
		for ; zig <= zigEnd && d.eobRun == 0; zig++ {
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
				if d.bits.n > 0 { // decodeBit, inlined
					d.bits.n--
					if d.bits.a>>uint32(d.bits.n)&1 == 0 {
						z = -z
					}
					break
				}
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

			zig, err = b.refineNonZeroes(d, zig, zigEnd, int32(val0), delta)
			if err != nil {
				return err
			}
			if zig > zigEnd {
				return FormatError("too many coefficients")
			}
			if z != 0 {
				b.set(zig, z)
			}
		}
	}
	if d.eobRun > 0 {
		d.eobRun--
		if _, err := b.refineNonZeroes(d, zig, zigEnd, -1, delta); err != nil {
			return err
		}
	}
	return nil
}

// slowProgressive makes a reduced progressive image decode as it did before refineFast,
// decodeACScan and idct2x2: refine decodes every code with decodeHuffman, every scan goes
// through processSOS's general loop and every block is made whole for its transform. The tests
// set it to hold those to the code they stand in for.
var slowProgressive = false

// refineFast decodes the codes of an AC refinement block from zig on, as refine's loop does, as
// long as each code, with its sign bit, the bits of an end-of-band run or the correction bits of
// the coefficients it passes, is in the bit buffer and in the lookahead table (a short code, as
// nearly all are). It stops before the first code that is not, consuming nothing of it, so that
// refine's loop decodes that one and the rest, and fails where it fails: it returns the zig-zag
// index to go on from, with d.eobRun set if it decoded an end-of-band run (then the block's
// codes are done). Against refine's loop it keeps the bit count and the non-zero bits in locals,
// writing them back once, and does one look-up a code instead of decodeHuffman and decodeBit:
// the refinement scans were half of a progressive decode.
func (b reducedBlock) refineFast(d *decoder, h *huffman, zig, zigEnd, delta int32) int32 {
	f := h.fast
	nonZero := *b.nonZero
	end := ^uint64(0) >> (63 - zigEnd&63) // the band's coefficients up to zigEnd
	a, n := d.bits.a, d.bits.n
	refilled := false
	for zig <= zigEnd {
		if n < 32 && !refilled {
			d.bits.n = n
			d.refill()
			a, n = d.bits.a, d.bits.n
			refilled = true
		}
		if n < fastBits {
			break
		}
		e := f[(a>>uint32(n-fastBits))&(1<<fastBits-1)]
		if e == 0 {
			break // a longer code
		}
		used := e.codeLen()
		sym := e.symbol()
		run := int32(sym >> 4)
		z := int32(0)
		switch sym & 0x0f {
		case 0:
			if run != 0x0f {
				// An end-of-band run of 1<<run blocks plus run more bits, this one the first.
				if used+run > n {
					goto short
				}
				eobRun := uint16(1) << run
				if run != 0 {
					eobRun |= uint16(a>>uint32(n-used-run)) & (1<<run - 1)
				}
				n -= used + run
				d.eobRun = eobRun
				*b.nonZero = nonZero
				d.bits.n = n
				return zig
			}
		case 1:
			if used+1 > n {
				goto short
			}
			z = delta
			if a>>uint32(n-used-1)&1 == 0 {
				z = -z
			}
			used++
		default:
			// refine's loop fails on it.
			*b.nonZero = nonZero
			d.bits.n = n
			return zig
		}
		{
			// The coefficient goes to the zero after run others, from zig on; the non-zero
			// ones passed on the way take a correction bit each, in order.
			band := ^uint64(0) << uint32(zig&63) & end
			zeros := ^nonZero & band
			for r := run; r > 0 && zeros != 0; r-- {
				zeros &= zeros - 1
			}
			if zeros == 0 {
				break // too many coefficients: refine's loop fails on it
			}
			stop := int32(mbits.TrailingZeros64(zeros))
			passed := nonZero & band & (1<<uint32(stop) - 1)
			c := int32(mbits.OnesCount64(passed))
			if used+c > n {
				goto short
			}
			n -= used
			if c > 0 {
				n -= c
				corrections := a >> uint32(n) << uint32(64-c) // the first one in the top bit
				for ; passed != 0; passed &= passed - 1 {
					if corrections&(1<<63) != 0 {
						b.grow(int32(mbits.TrailingZeros64(passed)), delta)
					}
					corrections <<= 1
				}
			}
			if z != 0 {
				nonZero |= 1 << uint32(stop)
				if k := b.slot[stop&63]; k >= 0 {
					put(&b.values[k], z)
				}
			}
			zig = stop + 1
			refilled = false
			continue
		}
	short:
		// The buffer holds too few bits for this code: refill once, or leave it to refine's loop.
		if refilled {
			break
		}
		d.bits.n = n
		d.refill()
		a, n = d.bits.a, d.bits.n
		refilled = true
	}
	*b.nonZero = nonZero
	d.bits.n = n
	return zig
}

// refineNonZeroes is refineNonZeroes, on the non-zero bits: it finds where it stops (the zero
// coefficient after nz others, or the end of the band) first, then reads a correction bit for
// every non-zero coefficient before that, in order, visiting only those.
func (b reducedBlock) refineNonZeroes(d *decoder, zig, zigEnd, nz, delta int32) (int32, error) {
	if zig > zigEnd {
		return zig, nil
	}
	band := ^uint64(0) >> zig << zig
	if zigEnd < blockSize-1 {
		band &= 1<<(zigEnd+1) - 1
	}
	stop := zigEnd + 1
	if nz >= 0 {
		zeros := ^*b.nonZero & band
		for ; nz > 0 && zeros != 0; nz-- {
			zeros &= zeros - 1
		}
		if zeros != 0 {
			stop = int32(mbits.TrailingZeros64(zeros))
			band &= 1<<stop - 1
		}
	}
	nonZero := *b.nonZero & band
	// One correction bit per non-zero coefficient, in order: all taken at once. Short of bits,
	// image/jpeg fails at the first one missing, with the error reading it gives; the
	// coefficients refined before that are lost with the decode.
	n := int32(mbits.OnesCount64(nonZero))
	if n == 0 {
		return stop, nil
	}
	if d.bits.n < n {
		if n > 56 {
			return b.refineOneByOne(d, nonZero, delta, stop)
		}
		if err := d.ensureNBits(n); err != nil {
			return 0, err
		}
	}
	d.bits.n -= n
	corrections := d.bits.a >> uint32(d.bits.n) << (64 - n) // the first one in the top bit
	for ; nonZero != 0; nonZero &= nonZero - 1 {
		if corrections&(1<<63) != 0 {
			b.grow(int32(mbits.TrailingZeros64(nonZero)), delta)
		}
		corrections <<= 1
	}
	return stop, nil
}

// refineOneByOne reads the correction bits of the non-zero coefficients one at a time.
func (b reducedBlock) refineOneByOne(d *decoder, nonZero uint64, delta, stop int32) (int32, error) {
	for ; nonZero != 0; nonZero &= nonZero - 1 {
		bit, err := d.decodeBit()
		if err != nil {
			return 0, err
		}
		if bit {
			b.grow(int32(mbits.TrailingZeros64(nonZero)), delta)
		}
	}
	return stop, nil
}

// block writes block (bx, by)'s kept coefficients into b, in natural order, and zero for the
// rest. It returns the positions it wrote (bit i for b[i]): the rest are zero.
func (s *reducedStore) block(b *block, bx, by int) uint64 {
	if c := s.full(bx, by); c != nil {
		for j, v := range c {
			b[j] = int32(v)
		}
		return ^uint64(0)
	}
	*b = block{}
	i := by*s.stride + bx
	values := s.values[i*s.kept.n : (i+1)*s.kept.n]
	for k, zig := range s.kept.zigs[:s.kept.n] {
		b[unzig[zig]] = int32(values[k])
	}
	return s.kept.natural
}

// idct2x2 is scaledIDCT2x2 of block i, read from the store: the products of its non-zero kept
// coefficients, which the non-zero bits give, without making the block (zeroing 64 entries and
// writing the kept ones) and going through the zero ones. Addition in int wraps, so the same
// products in another order are the same sums. The store must keep exactly keep2x2 (at 1/4).
func (s *reducedStore) idct2x2(i int, w *[blockSize]int, dst []byte, stride int) {
	values := s.values[i*s.kept.n : (i+1)*s.kept.n]
	var sum [4]int // by parity
	for m := s.nonZero[i] & s.kept.zig; m != 0; m &= m - 1 {
		zig := mbits.TrailingZeros64(m)
		nat := int(unzig[zig])
		sum[parity(nat)] += int(values[s.kept.slot[zig]]) * w[nat]
	}
	ee, oe, eo, oo := sum[0], sum[1], sum[2], sum[3]
	dst[0] = clampLevel(boxRound(ee + oe + eo + oo))
	dst[1] = clampLevel(boxRound(ee - oe + eo - oo))
	dst[stride] = clampLevel(boxRound(ee + oe - eo - oo))
	dst[stride+1] = clampLevel(boxRound(ee - oe - eo + oo))
}
