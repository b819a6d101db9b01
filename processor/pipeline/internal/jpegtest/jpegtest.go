// Package jpegtest writes progressive grey JPEGs whose scans are chosen by the caller, for the
// tests of the decoder's work limits: a file of a few kilobytes can ask for an unbounded number of
// passes over a large image, because a progressive scan codes a run of up to 32,767 empty blocks
// (an end-of-band run, T.81 G.1.2.2) in about three bytes.
//
// Every coefficient is zero, so the file decodes to flat mid-grey; it is nevertheless a valid
// JPEG that image/jpeg accepts whatever the scan script, because it does not check that scans
// follow a sensible progression.
package jpegtest

import (
	"bytes"
	"encoding/binary"
)

// Scan is one progressive scan of the single component: spectral selection Ss..Se and successive
// approximation Ah, Al (T.81 B.2.3).
type Scan struct{ Ss, Se, Ah, Al byte }

// DC is the first DC scan; AC is a first AC scan of the whole band; Refine is a refinement scan
// of the whole band, the costliest kind for a decoder, which must look at every coefficient of
// every block for one to refine.
var (
	DC     = Scan{0, 0, 0, 0}
	AC     = Scan{1, 63, 0, 0}
	Refine = Scan{1, 63, 1, 0}
)

// Progressive returns a w x h grey progressive JPEG (SOF2) with the given scans, in order.
func Progressive(w, h int, scans []Scan) []byte {
	var out bytes.Buffer
	segment := func(marker byte, body ...byte) {
		out.Write([]byte{0xff, marker})
		out.Write(binary.BigEndian.AppendUint16(nil, uint16(len(body)+2)))
		out.Write(body)
	}
	out.Write([]byte{0xff, 0xd8})
	segment(0xdb, append([]byte{0}, bytes.Repeat([]byte{1}, 64)...)...) // DQT: table 0, all ones
	segment(0xc2, 8, byte(h>>8), byte(h), byte(w>>8), byte(w), 1, 1, 0x11, 0)
	// DC table: one symbol (size 0) coded as the single bit 0. AC table: the 15 end-of-band-run
	// symbols EOB0..EOB14 (r<<4), each coded on 4 bits as its r, so a code is just r.
	dht := []byte{0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	dht = append(dht, 0x10, 0, 0, 0, 15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	for r := range 15 {
		dht = append(dht, byte(r<<4))
	}
	segment(0xc4, dht...)

	blocks := ((w + 7) / 8) * ((h + 7) / 8)
	for _, s := range scans {
		segment(0xda, 1, 1, 0x00, s.Ss, s.Se, s.Ah<<4|s.Al)
		bw := BitWriter{Out: &out}
		switch {
		case s.Ss == 0 && s.Ah == 0:
			for range blocks {
				bw.Put(0, 1) // DC difference of size 0
			}
		case s.Ss == 0:
			for range blocks {
				bw.Put(0, 1) // DC refinement bit
			}
		default:
			// End-of-band runs cover every block: EOBr is followed by r bits, the run being
			// 2^r plus their value. Runs of 24,576 (r = 14, then 10000000000000) rather than
			// the longest, 32,767, keep 0xff bytes and their stuffing out of the data.
			for left := blocks; left > 0; {
				run := min(left, 3<<13)
				r := 0
				for 1<<(r+1) <= run {
					r++
				}
				bw.Put(uint32(r), 4)
				bw.Put(uint32(run-1<<r), r)
				left -= run
			}
		}
		bw.Flush()
	}
	out.Write([]byte{0xff, 0xd9})
	return out.Bytes()
}

// Bomb is the scan bomb of the security review: a w x h grey progressive JPEG with a DC scan, a
// first AC scan, and then n refinement scans of the whole band, each a full pass over every block.
// At 7000 x 7000 and n = 1000 it is about 172 KB.
func Bomb(w, h, n int) []byte {
	scans := []Scan{DC, AC}
	for range n {
		scans = append(scans, Refine)
	}
	return Progressive(w, h, scans)
}

// BitWriter writes entropy-coded data to Out, most significant bit first, stuffing a zero byte
// after every 0xff (T.81 F.1.2.3).
type BitWriter struct {
	Out  *bytes.Buffer
	acc  uint32
	nAcc int
}

// Put writes the n low bits of v.
func (w *BitWriter) Put(v uint32, n int) {
	for i := n - 1; i >= 0; i-- {
		w.acc = w.acc<<1 | v>>i&1
		if w.nAcc++; w.nAcc == 8 {
			w.Out.WriteByte(byte(w.acc))
			if byte(w.acc) == 0xff {
				w.Out.WriteByte(0)
			}
			w.acc, w.nAcc = 0, 0
		}
	}
}

// Flush pads the last byte with 1 bits (T.81 F.1.2.3).
func (w *BitWriter) Flush() {
	for w.nAcc != 0 {
		w.Put(1, 1)
	}
}
