// Copyright 2009 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

package jpegscale

import (
	"encoding/binary"
	"io"
)

// maxCodeLength is the maximum (inclusive) number of bits in a Huffman code.
const maxCodeLength = 16

// maxNCodes is the maximum (inclusive) number of codes in a Huffman tree.
const maxNCodes = 256

// lutSize is the log-2 size of the Huffman decoder's look-up table.
const lutSize = 8

// huffman is a Huffman decoder, specified in section C.
type huffman struct {
	// length is the number of codes in the tree.
	nCodes int32
	// lut is the look-up table for the next lutSize bits in the bit-stream.
	// The high 8 bits of the uint16 are the encoded value. The low 8 bits
	// are 1 plus the code length, or 0 if the value is too large to fit in
	// lutSize bits.
	lut [1 << lutSize]uint16
	// vals are the decoded values, sorted by their encoding.
	vals [maxNCodes]uint8
	// minCodes[i] is the minimum code of length i, or -1 if there are no
	// codes of that length.
	minCodes [maxCodeLength]int32
	// maxCodes[i] is the maximum code of length i, or -1 if there are no
	// codes of that length.
	maxCodes [maxCodeLength]int32
	// valsIndices[i] is the index into vals of minCodes[i].
	valsIndices [maxCodeLength]int32
	// fast is the lookahead table (see buildFast), nil when the codes are not a prefix code.
	fast      *[1 << fastBits]fastEntry
	fastTable *[1 << fastBits]fastEntry // fast's storage, kept across DHT segments
}

// errShortHuffmanData means that an unexpected EOF occurred while decoding
// Huffman data.
var errShortHuffmanData = FormatError("short Huffman data")

// refill adds de-stuffed bytes of entropy-coded data to d.bits until it holds more than 56 bits
// or the data ends: at a marker (0xff not followed by 0x00), whose bytes stay unread, or at the
// end of the input. image/jpeg reads a byte at a time, only when it needs more bits; reading
// ahead changes nothing it can see: a read that needs bits past the end fails with the error
// image/jpeg gives there (d.bits.end), and the bytes read ahead but never used are entropy-coded
// data, which the marker reader (after a scan) and findRST (at a restart) skip as image/jpeg's
// would have.
func (d *decoder) refill() {
	for d.bits.n <= 56 && d.bits.end == nil {
		buf, i, j := d.bytes.buf, d.bytes.i, d.bytes.j
		if taken, k, ok := wholeBytes(buf, i, j, d.bits.n); ok {
			d.bits.a = d.bits.a<<(8*k) | taken
			d.bits.n += int32(8 * k)
			d.bytes.i = i + int(k)
			continue
		}
		if i >= j || buf[i] == 0xff && i+1 >= j {
			// A byte, or the one after an 0xff, is not buffered: read more.
			if err := d.fill(); err != nil {
				if err == io.ErrUnexpectedEOF {
					err = errShortHuffmanData
				}
				d.bits.end = err
			}
			continue
		}
		c := buf[i]
		if c == 0xff {
			if buf[i+1] != 0x00 {
				d.bits.end = errMissingFF00
				break
			}
			i++
		}
		d.bytes.i = i + 1
		d.bits.a = d.bits.a<<8 | uint64(c)
		d.bits.n += 8
	}
}

// wholeBytes takes, at once, the whole bytes that fit beside n buffered bits ((64-n)/8 of
// them, as the low bits of taken), when eight bytes are buffered at buf[i:j] and none of those
// taken is 0xff (stuffing or a marker, which refill handles a byte at a time).
func wholeBytes(buf []byte, i, j int, n int32) (taken uint64, k uint, ok bool) {
	if i+8 > j {
		return 0, 0, false
	}
	w := binary.BigEndian.Uint64(buf[i:])
	k = uint(64-n) >> 3
	taken = w >> (64 - 8*k) // the k leading bytes
	x := ^taken             // a 0xff byte of taken is a zero byte of x
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	return taken, k, (x-lo)&^x&hi&(hi>>(64-8*k)) == 0
}

// ensureNBits makes d.bits hold at least n bits (n <= 57), or fails as image/jpeg does when the
// entropy-coded data ends first. The caller checks d.bits.n < n first.
func (d *decoder) ensureNBits(n int32) error {
	d.refill()
	if d.bits.n < n {
		return d.bits.end
	}
	return nil
}

// receiveExtend is the composition of RECEIVE and EXTEND, specified in section
// F.2.2.1.
func (d *decoder) receiveExtend(t uint8) (int32, error) {
	if d.bits.n < int32(t) {
		if err := d.ensureNBits(int32(t)); err != nil {
			return 0, err
		}
	}
	d.bits.n -= int32(t)
	return extend(uint32(d.bits.a>>uint32(d.bits.n)), t), nil
}

// extend is EXTEND (section F.2.2.1) of the t low bits of v.
func extend(v uint32, t uint8) int32 {
	s := int32(1) << t
	x := int32(v) & (s - 1)
	if x < s>>1 {
		x += ((-1) << t) + 1
	}
	return x
}

// processDHT processes a Define Huffman Table marker, and initializes a huffman
// struct from its contents. Specified in section B.2.4.2.
func (d *decoder) processDHT(n int) error {
	for n > 0 {
		if n < 17 {
			return FormatError("DHT has wrong length")
		}
		if err := d.readFull(d.tmp[:17]); err != nil {
			return err
		}
		tc := d.tmp[0] >> 4
		if tc > maxTc {
			return FormatError("bad Tc value")
		}
		th := d.tmp[0] & 0x0f
		// The baseline th <= 1 restriction is specified in table B.5.
		if th > maxTh || (d.baseline && th > 1) {
			return FormatError("bad Th value")
		}
		h := &d.huff[tc][th]

		// Read nCodes and h.vals (and derive h.nCodes).
		// nCodes[i] is the number of codes with code length i.
		// h.nCodes is the total number of codes.
		h.nCodes = 0
		var nCodes [maxCodeLength]int32
		for i := range nCodes {
			nCodes[i] = int32(d.tmp[i+1])
			h.nCodes += nCodes[i]
		}
		if h.nCodes == 0 {
			return FormatError("Huffman table has zero length")
		}
		if h.nCodes > maxNCodes {
			return FormatError("Huffman table has excessive length")
		}
		n -= int(h.nCodes) + 17
		if n < 0 {
			return FormatError("DHT has wrong length")
		}
		if err := d.readFull(h.vals[:h.nCodes]); err != nil {
			return err
		}

		// Derive the look-up table.
		clear(h.lut[:])
		var x, code uint32
		for i := uint32(0); i < lutSize; i++ {
			code <<= 1
			for j := int32(0); j < nCodes[i]; j++ {
				// The codeLength is 1+i, so shift code by 8-(1+i) to
				// calculate the high bits for every 8-bit sequence
				// whose codeLength's high bits matches code.
				// The high 8 bits of lutValue are the encoded value.
				// The low 8 bits are 1 plus the codeLength.
				base := uint8(code << (7 - i))
				lutValue := uint16(h.vals[x])<<8 | uint16(2+i)
				for k := uint8(0); k < 1<<(7-i); k++ {
					h.lut[base|k] = lutValue
				}
				code++
				x++
			}
		}

		// Derive minCodes, maxCodes, and valsIndices.
		var c, index int32
		for i, n := range nCodes {
			if n == 0 {
				h.minCodes[i] = -1
				h.maxCodes[i] = -1
				h.valsIndices[i] = -1
			} else {
				h.minCodes[i] = c
				h.maxCodes[i] = c + n - 1
				h.valsIndices[i] = index
				c += n
				index += n
			}
			c <<= 1
		}
		h.buildFast(&nCodes)
	}
	return nil
}

// decodeHuffman returns the next Huffman-coded value from the bit-stream,
// decoded according to h.
func (d *decoder) decodeHuffman(h *huffman) (uint8, error) {
	if h.nCodes == 0 {
		return 0, FormatError("uninitialized Huffman table")
	}
	if d.bits.n < fastBits {
		d.refill()
	}
	if h.fast != nil && d.bits.n >= fastBits {
		if e := h.fast[(d.bits.a>>uint32(d.bits.n-fastBits))&(1<<fastBits-1)]; e != 0 {
			d.bits.n -= e.codeLen()
			return e.symbol(), nil
		}
	}
	// image/jpeg looks a code up when 8 bits are left, else goes bit by bit.
	if d.bits.n >= 8 {
		if v := h.lut[(d.bits.a>>uint32(d.bits.n-lutSize))&0xff]; v != 0 {
			n := (v & 0xff) - 1
			d.bits.n -= int32(n)
			return uint8(v >> 8), nil
		}
	}
	for i, code := 0, int32(0); i < maxCodeLength; i++ {
		if d.bits.n == 0 {
			if err := d.ensureNBits(1); err != nil {
				return 0, err
			}
		}
		d.bits.n--
		code |= int32(d.bits.a>>uint32(d.bits.n)) & 1
		if code <= h.maxCodes[i] {
			return h.vals[h.valsIndices[i]+code-h.minCodes[i]], nil
		}
		code <<= 1
	}
	return 0, FormatError("bad Huffman code")
}

func (d *decoder) decodeBit() (bool, error) {
	if d.bits.n == 0 {
		if err := d.ensureNBits(1); err != nil {
			return false, err
		}
	}
	d.bits.n--
	return d.bits.a>>uint32(d.bits.n)&1 != 0, nil
}

func (d *decoder) decodeBits(n int32) (uint32, error) {
	if d.bits.n < n {
		if err := d.ensureNBits(n); err != nil {
			return 0, err
		}
	}
	d.bits.n -= n
	return uint32(d.bits.a>>uint32(d.bits.n)) & (1<<uint32(n) - 1), nil
}

// fastBits is the width of the lookahead table (huffman.fast).
const fastBits = 10

// fastEntry is one entry of a lookahead table: for the fastBits next bits of the stream, the code
// they start with and its symbol, and, when the symbol's magnitude bits (its low nibble, for an
// AC table) fit in the same bits, the coefficient they extend to. 0: the code is longer.
//
// Bits 0-4 are what a decoder consumes when it takes the entry whole (take): the code and the
// magnitude bits when the value is there, else the code. decodeSequential's chain from one code
// to the next is then a look-up, that mask and a shift.
type fastEntry int32

const (
	fastValue    = 1 << 17 // the value (bits 18-31) is there
	codeLenShift = 13      // bits 13-16: the code's length
)

func (e fastEntry) take() int32    { return int32(e & 0x1f) }
func (e fastEntry) codeLen() int32 { return int32(e>>codeLenShift) & 0xf }
func (e fastEntry) symbol() uint8  { return uint8(e >> 5) }

// value is the extended coefficient and the bits it takes with its code; ok when it fits.
func (e fastEntry) value() (v int32, totalLen int32, ok bool) {
	return int32(e) >> 18, e.take(), e&fastValue != 0
}

// buildFast makes h.fast for a table whose codes form a prefix code (the Kraft sum is at most
// 1): then looking fastBits bits up finds the same code as image/jpeg's 8-bit table and its
// bit-by-bit decoding. A malformed table, whose codes image/jpeg's look-ups may decode
// inconsistently, gets no lookahead table, and decodes exactly as image/jpeg does.
func (h *huffman) buildFast(nCodes *[maxCodeLength]int32) {
	h.fast = nil
	kraft := 0
	for i, n := range nCodes {
		kraft += int(n) << (maxCodeLength - 1 - i)
	}
	if kraft > 1<<maxCodeLength {
		return
	}
	if h.fastTable == nil {
		h.fastTable = new([1 << fastBits]fastEntry)
	}
	t := h.fastTable
	clear(t[:])
	var code, x int32
	for i := range int32(fastBits) {
		length := i + 1
		for range nCodes[i] {
			sym := h.vals[x]
			e := fastEntry(sym)<<5 | fastEntry(length)<<codeLenShift | fastEntry(length)
			shift := fastBits - length
			for k := range int32(1) << shift {
				entry := e
				if mag := int32(sym & 0x0f); mag != 0 && length+mag <= fastBits {
					bitsAfter := k >> (shift - mag) // the mag bits after the code
					v := extend(uint32(bitsAfter), uint8(mag))
					entry = entry&^0x1f | fastEntry(length+mag) | fastValue | fastEntry(v)<<18
				}
				t[code<<shift|k] = entry
			}
			code++
			x++
		}
		code <<= 1
	}
	h.fast = t
}

// fastRun is what fastAC decoded besides the coefficient.
type fastRun struct{ run, codeLen, totalLen int32 }

// fastAC looks the next AC code up with its magnitude bits, without consuming them: ok when the
// lookahead table holds both (a short code for a small coefficient, the common case). The caller
// consumes codeLen bits if the run ends past the band, as decodeBlock does after decodeHuffman,
// else totalLen.
func (d *decoder) fastAC(h *huffman) (v int32, r fastRun, ok bool) {
	if d.bits.n < fastBits {
		d.refill()
		if d.bits.n < fastBits {
			return 0, r, false
		}
	}
	if h.fast == nil {
		return 0, r, false
	}
	e := h.fast[(d.bits.a>>uint32(d.bits.n-fastBits))&(1<<fastBits-1)]
	v, total, ok := e.value()
	return v, fastRun{int32(e.symbol() >> 4), e.codeLen(), total}, ok
}
