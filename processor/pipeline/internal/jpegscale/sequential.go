package jpegscale

// decodeSequential is decodeBlock for a sequential scan (the whole band, no successive
// approximation) into a cleared block, with the bit buffer in local variables: decodeBlock keeps
// it in the decoder, so every code read and consumed goes through memory, which cost about a
// third of a baseline decode. It reads exactly the bits decodeBlock reads and fails where it
// fails: the common codes are looked up here (huffman.fast), and everything else (long codes,
// long magnitudes, end-of-band runs, the end of the data) goes through the decoder's own
// functions, with the buffer written back first.
//
// It returns the natural-order positions that may be non-zero (bit i for b[i]; bit 0, the DC
// term, always), which the inverse transforms use to skip the rest.
func (d *decoder) decodeSequential(b *block, dc *int32, dcHuff, acHuff *huffman) (uint64, error) {
	// refillBelow is the most one coefficient takes: a 16-bit code and 11 (DC) or 10 (AC)
	// magnitude bits.
	const refillBelow = 27
	if d.bits.n < refillBelow {
		d.refill()
	}
	a, n := d.bits.a, d.bits.n

	// The DC coefficient, as decodeBlock (section F.2.2.1).
	var e fastEntry
	if f := dcHuff.fast; f != nil && n >= fastBits {
		e = f[(a>>uint32(n-fastBits))&(1<<fastBits-1)]
	}
	var delta int32
	switch sym := e.symbol(); {
	case e&fastValue != 0 && sym < 16:
		delta = int32(e) >> 18
		n -= e.take()
	case e != 0 && sym == 0:
		n -= e.take()
	default:
		var value uint8
		if e != 0 {
			n -= e.codeLen() // a DC symbol over 15 may have a value beside it: not this one
			value = sym
		} else {
			var err error
			if value, a, n, err = d.huffmanFrom(dcHuff, a, n); err != nil {
				return 0, err
			}
		}
		if value > 16 {
			return 0, UnsupportedError("excessive DC component")
		}
		var err error
		if delta, a, n, err = d.receiveExtendFrom(value, a, n); err != nil {
			return 0, err
		}
	}
	*dc += delta
	b[0] = *dc
	mask := uint64(1)

	if d.eobRun > 0 {
		// Left by an end-of-band run code, which a sequential scan should not have: decodeBlock
		// skips the AC coefficients of the blocks it covers.
		d.eobRun--
		d.bits.a, d.bits.n = a, n
		return mask, nil
	}
	// A block of its DC term alone, whose first AC code is the end of block (0x00), as nearly
	// every block of a smooth photo is (pixel8pro_ultrahdr.jpg: all but 0.3%, which makes that
	// decode one of per-block costs, not of Huffman decoding): the loop below would consume the
	// code, set an end-of-band run of 1 and end it at once, so this consumes the code and returns.
	if f := acHuff.fast; f != nil && n >= fastBits {
		if e := f[(a>>uint32(n-fastBits))&(1<<fastBits-1)]; e != 0 && e.symbol() == 0 {
			d.bits.a, d.bits.n = a, n-e.take()
			return mask, nil
		}
	}
	// The AC coefficients, as decodeBlock (section F.2.2.2). Here the buffer's bits are kept
	// left-aligned, in top (the next bit is its highest): looking up the next code is then one
	// shift of top, not of a by a count that depends on n, and consuming k bits shifts top by k,
	// so the chain from one code to the next is shorter. d.bits (bits right-aligned in a) is
	// what the decoder's other functions take: toBits and fromBits convert.
	top := a << uint32(64-n)
	toBits := func() { d.bits.a, d.bits.n = top>>uint32(64-n), n }
	fromBits := func() { top, n = d.bits.a<<uint32(64-d.bits.n), d.bits.n }
	// The look-up goes ahead without a test of the table or of the bits buffered: a table that
	// cannot be used is noFast, whose entries send every code to decodeHuffman.
	f := acHuff.fast
	if f == nil {
		f = &noFast
	}
	for zig := int32(1); zig < blockSize; zig++ {
		if n < refillBelow {
			// refill's first step (wholeBytes) on the left-aligned bits, written out here: as a
			// call it made the loop keep its state on the stack.
			taken, k, ok := wholeBytes(d.bytes.buf, d.bytes.i, d.bytes.j, n)
			if ok && d.bits.end == nil {
				d.bytes.i += int(k)
				top |= taken << (64 - uint(n) - 8*k)
				n += int32(8 * k)
			} else {
				toBits()
				d.refill()
				fromBits()
				if n < fastBits {
					// The data has ended (refill stops short only then): a look-up would read
					// past its bits, so the rest of the block goes through decodeHuffman.
					f = &noFast
				}
			}
		}
		e = f[top>>(64-fastBits)]
		if e&fastValue != 0 {
			// The code, its run of zeroes and the coefficient's bits in one look-up.
			if zig += int32(e.symbol() >> 4); zig >= blockSize {
				k := e.codeLen()
				n -= k
				top <<= uint32(k)
				break
			}
			k := e.take()
			n -= k
			top <<= uint32(k)
			nat := unzig[zig&(blockSize-1)] & (blockSize - 1) // in range: no bounds or shift checks
			b[nat] = int32(e) >> 18
			mask |= 1 << nat
			continue
		}
		var value uint8
		if e != 0 {
			k := e.take() // the code alone: no value here
			n -= k
			top <<= uint32(k)
			value = e.symbol()
		} else {
			toBits()
			v, err := d.decodeHuffman(acHuff)
			if err != nil {
				return 0, err
			}
			fromBits()
			value = v
		}
		val0 := value >> 4
		val1 := value & 0x0f
		if val1 != 0 {
			zig += int32(val0)
			if zig >= blockSize {
				break
			}
			var ac int32
			if n >= int32(val1) {
				n -= int32(val1)
				ac = extend(uint32(top>>(64-val1)), val1)
				top <<= val1
			} else {
				toBits()
				v, err := d.receiveExtend(val1)
				if err != nil {
					return 0, err
				}
				fromBits()
				ac = v
			}
			nat := unzig[zig&(blockSize-1)] & (blockSize - 1)
			b[nat] = ac
			mask |= 1 << nat
			continue
		}
		if val0 == 0x0f {
			zig += 0x0f
			continue
		}
		d.eobRun = uint16(1 << val0)
		if val0 != 0 {
			toBits()
			bits, err := d.decodeBits(int32(val0))
			if err != nil {
				return 0, err
			}
			fromBits()
			d.eobRun |= uint16(bits)
		}
		d.eobRun--
		break
	}
	toBits()
	return mask, nil
}

// noFast is the lookahead table of no code: decodeSequential's stand-in for one it cannot use.
var noFast [1 << fastBits]fastEntry

// huffmanFrom is decodeHuffman with the bit buffer handed in and back (decodeSequential's locals).
func (d *decoder) huffmanFrom(h *huffman, a uint64, n int32) (uint8, uint64, int32, error) {
	d.bits.a, d.bits.n = a, n
	v, err := d.decodeHuffman(h)
	return v, d.bits.a, d.bits.n, err
}

// receiveExtendFrom is receiveExtend with the bit buffer handed in and back.
func (d *decoder) receiveExtendFrom(t uint8, a uint64, n int32) (int32, uint64, int32, error) {
	d.bits.a, d.bits.n = a, n
	v, err := d.receiveExtend(t)
	return v, d.bits.a, d.bits.n, err
}
