package jpegscale

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// withSlowProgressive decodes as the reduced store did before refineFast, decodeACScan and
// idct2x2 while reference is set.
func withSlowProgressive(reference bool, f func()) {
	slowProgressive = reference
	defer func() { slowProgressive = false }()
	f()
}

// TestProgressiveFastPathsMatchSlow: with refineFast, decodeACScan and idct2x2, every
// progressive file and every damaged one decodes, at 1/4 and 1/8 (the reduced stores) and at
// 1/2, to the very bytes (or the very error) the code before them gives. The wallpapers of
// infra/samples.sh are decoded too when present.
func TestProgressiveFastPathsMatchSlow(t *testing.T) {
	var files []testFile
	for _, f := range append(testFiles(t), corruptions(t)...) {
		if progressive(f.data) {
			files = append(files, f)
		}
	}
	files = append(files, testFile{"progressive444", progressive444(t, 256, 128)})
	for _, name := range []string{"Flow", "Volna"} {
		if data, err := os.ReadFile(filepath.Join(wallpapersDir, name, "contents/images/5120x2880.jpg")); err == nil && !testing.Short() {
			files = append(files, testFile{name, data})
		}
	}
	minLongs := func(data []byte) []int {
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return []int{20, 40}
		}
		long := max(cfg.Width, cfg.Height)
		return []int{long / 2, long / 4, long / 8}
	}
	decode := func(data []byte, minLong int, reference bool) (pix []byte, err error) {
		withSlowProgressive(reference, func() {
			img, e := DecodeScaledBytes(data, minLong)
			if err = e; e == nil {
				pix = pixels(img)
			}
		})
		return pix, err
	}
	decoded := decodesAgree(t, files, minLongs, decode, "the slow path")
	if decoded < 50 {
		t.Errorf("only %d decodes succeeded: the comparison proves little", decoded)
	}
}

// refineCase is a crafted AC refinement scan: a Huffman table, blocks' coefficients before it,
// its band and the entropy-coded bytes.
type refineCase struct {
	dht              []byte // the DHT segment's body (an AC table, Th 0)
	kept             *keptCoeffs
	nonZero          []uint64
	values           []int16
	zigStart, zigEnd int32
	al               uint32
	data             []byte
}

// randomRefineCase makes a refineCase: a prefix code (complete or not) over refinement symbols,
// valid (EOB runs, ZRL, run/1) and not (size 2 and more), with codes of every length, so that
// some are in the lookahead table and some not; blocks of every density with values up to
// saturation; and random data, with stuffed 0xff bytes, markers and short ends.
func randomRefineCase(rng *rand.Rand) refineCase {
	var syms []byte
	for r := range 15 {
		if rng.IntN(3) != 0 {
			syms = append(syms, byte(r<<4)) // EOBr
		}
	}
	syms = append(syms, 0xf0)
	for r := range 16 {
		if rng.IntN(4) != 0 {
			syms = append(syms, byte(r<<4|1))
		}
	}
	if rng.IntN(8) == 0 {
		syms = append(syms, 0x02, 0x13)
	}
	rng.Shuffle(len(syms), func(i, j int) { syms[i], syms[j] = syms[j], syms[i] })
	// The lengths are drawn per symbol; the DHT gives them to the symbols in its own order,
	// which is as good.
	var counts [maxCodeLength]int
	for {
		counts = [maxCodeLength]int{}
		kraft := 0
		short := 2 + rng.IntN(8) // the longest "short" code
		for range syms {
			l := 1 + rng.IntN(short)
			if rng.IntN(6) == 0 {
				l = 1 + rng.IntN(maxCodeLength)
			}
			counts[l-1]++
			kraft += 1 << (maxCodeLength - l)
		}
		if kraft <= 1<<maxCodeLength {
			break
		}
	}
	dht := []byte{acTable<<4 | 0}
	for _, c := range counts {
		dht = append(dht, byte(c))
	}
	dht = append(dht, syms...)

	c := refineCase{dht: dht, kept: keptByScale[2][2], al: uint32(rng.IntN(3))}
	if rng.IntN(3) == 0 {
		c.kept = newKeptCoeffs(func(kx, ky int) bool { return true })
	}
	c.zigStart = int32(1 + rng.IntN(63))
	c.zigEnd = c.zigStart + int32(rng.IntN(int(blockSize-c.zigStart)))
	if rng.IntN(2) == 0 {
		c.zigStart, c.zigEnd = 1, 63
	}
	blocks := 1 + rng.IntN(30)
	c.nonZero = make([]uint64, blocks)
	c.values = make([]int16, blocks*c.kept.n)
	for i := range blocks {
		density := rng.IntN(65)
		for zig := range blockSize {
			if rng.IntN(64) >= density {
				continue
			}
			c.nonZero[i] |= 1 << zig
			if k := c.kept.slot[zig]; k >= 0 {
				v := int16(1 + rng.IntN(40))
				if rng.IntN(20) == 0 {
					v = 32767 - int16(rng.IntN(3))
				}
				if rng.IntN(2) == 0 {
					v = -v
				}
				c.values[i*c.kept.n+int(k)] = v
			}
		}
	}
	n := rng.IntN(600)
	for range n {
		b := byte(rng.IntN(256))
		if rng.IntN(8) == 0 {
			b = 0xff
		}
		c.data = append(c.data, b)
		if b == 0xff {
			switch rng.IntN(100) {
			case 0:
				c.data = append(c.data, 0xd9) // a marker: the data ends here
			case 1:
				// 0xff last: short
			default:
				c.data = append(c.data, 0x00)
			}
		}
	}
	return c
}

// run decodes the case's blocks, one after another as a scan does, by refine; then reads 64 more
// bits one by one, so that the bit position where the decode stopped is compared too. It returns
// the blocks after, and a transcript of the errors, the end-of-band run and the bits read.
func (c refineCase) run(t *testing.T, reference bool) (nonZero []uint64, values []int16, transcript string, failed bool) {
	var d decoder
	d.bytes.buf, d.bytes.j = c.dht, len(c.dht)
	if err := d.processDHT(len(c.dht)); err != nil {
		t.Fatalf("DHT: %v", err)
	}
	d.bytes.buf, d.bytes.i, d.bytes.j = c.data, 0, len(c.data)
	nonZero = append([]uint64(nil), c.nonZero...)
	values = append([]int16(nil), c.values...)
	var out bytes.Buffer
	withSlowProgressive(reference, func() {
		for i := range nonZero {
			b := reducedBlock{&nonZero[i], values[i*c.kept.n : (i+1)*c.kept.n], &c.kept.slot}
			err := b.refine(&d, &d.huff[acTable][0], c.zigStart, c.zigEnd, 1<<c.al)
			fmt.Fprintf(&out, "block %d: eobRun %d, %v\n", i, d.eobRun, err)
			if err != nil {
				failed = true
				return
			}
		}
		for range 64 {
			bit, err := d.decodeBit()
			fmt.Fprintf(&out, "%v %v ", bit, err)
			if err != nil {
				break
			}
		}
	})
	return nonZero, values, out.String(), failed
}

// TestRefineFastMatchesRefine: on crafted refinement scans, refine with refineFast changes the
// blocks as refine without it does, consumes the same bits, sets the same end-of-band runs and
// fails in the same block with the same error.
func TestRefineFastMatchesRefine(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	failed := 0
	for i := range 20000 {
		c := randomRefineCase(rng)
		wantNZ, wantV, want, fails := c.run(t, true)
		gotNZ, gotV, got, _ := c.run(t, false)
		if got != want {
			t.Fatalf("case %d: refineFast gives\n%s\nrefine gives\n%s", i, got, want)
		}
		for j := range wantNZ {
			if gotNZ[j] != wantNZ[j] {
				t.Fatalf("case %d, block %d: non-zero bits %#x, refine gives %#x", i, j, gotNZ[j], wantNZ[j])
			}
		}
		for j := range wantV {
			if gotV[j] != wantV[j] {
				t.Fatalf("case %d, value %d: %d, refine gives %d", i, j, gotV[j], wantV[j])
			}
		}
		if fails {
			failed++
		}
	}
	// Both kinds must be common for the comparison to cover the failures and the decodes.
	t.Logf("%d of 20000 cases failed in a block", failed)
	if failed < 2000 || failed > 18000 {
		t.Errorf("%d of 20000 cases failed: the cases test too little of one kind", failed)
	}
}
