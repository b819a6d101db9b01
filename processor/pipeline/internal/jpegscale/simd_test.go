package jpegscale

import (
	"bytes"
	"cmp"
	"fmt"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"medicpx/infra/testenv/phonesamples"
	"medicpx/processor/pipeline/internal/simd"
)

// TestSIMDSelected: this package runs the assembly simd chose for the machine (its assembly is
// built wherever simd.Impl names one, so the comparisons below compare it, also under
// qemu-aarch64); simd's TestImpl holds that choice to the machine.
func TestSIMDSelected(t *testing.T) {
	if simdImpl != simd.Impl || useSIMD != (simd.Impl != "") {
		t.Fatalf("GOARCH %s: simdImpl %q, useSIMD %v; simd.Impl %q", runtime.GOARCH, simdImpl, useSIMD, simd.Impl)
	}
	t.Logf("GOARCH %s: transforms in %q", runtime.GOARCH, cmp.Or(simdImpl, "go"))
}

// coefficientBlock is one test block: its coefficients, the positions that may be non-zero
// (as decodeSequential reports them: bit 0 always) and its quantization table in natural order.
type coefficientBlock struct {
	name string
	b    block
	nz   uint64
	qn   block
}

// coefficientBlocks are the blocks the transforms are compared on: empty, DC only, every single
// position, every row and column alone, the extremes of int16 and int32 times 8- and 16-bit
// quantizers, and random ones from sparse to dense with values from valid data's 11 bits to
// hostile 32.
func coefficientBlocks() []coefficientBlock {
	rng := rand.New(rand.NewPCG(21, 8))
	quant := func(max int32) (q block) {
		for i := range q {
			q[i] = 1 + rng.Int32N(max)
		}
		return q
	}
	fill := func(v int32) (q block) {
		for i := range q {
			q[i] = v
		}
		return q
	}
	var out []coefficientBlock
	add := func(name string, b block, qn block) {
		nz := uint64(1)
		for i, c := range b {
			if c != 0 {
				nz |= 1 << i
			}
		}
		out = append(out, coefficientBlock{name, b, nz, qn})
	}
	add("zero", block{}, quant(255))
	add("DC 1023", block{0: 1023}, quant(255))
	add("DC -1024", block{0: -1024}, quant(255))
	for i := range blockSize {
		for _, v := range []int32{1, -1, 1023, -1024, math.MaxInt16, math.MinInt16} {
			var b block
			b[i] = v
			add(fmt.Sprintf("position %d = %d", i, v), b, quant(255))
		}
	}
	for r := range 8 {
		var row, col block
		for k := range 8 {
			row[8*r+k] = rng.Int32N(2048) - 1024
			col[8*k+r] = rng.Int32N(2048) - 1024
		}
		add(fmt.Sprintf("row %d", r), row, quant(255))
		add(fmt.Sprintf("column %d", r), col, quant(255))
	}
	for _, v := range []int32{math.MaxInt16, math.MinInt16, math.MaxInt32, math.MinInt32} {
		for _, q := range []int32{1, 255, 65535} {
			add(fmt.Sprintf("all %d times %d", v, q), fill(v), fill(q))
		}
	}
	for i := range 5000 {
		var b block
		limit := int32(1) << (4 + i%28) // from small to hostile int32 values
		if limit <= 0 {
			limit = math.MaxInt32
		}
		n := rng.IntN(65)
		if i%4 == 0 {
			n = rng.IntN(6) // most blocks of a photo: a few low frequencies
		}
		b[0] = rng.Int32N(limit) - rng.Int32N(limit)
		for range n {
			b[rng.IntN(blockSize)] = rng.Int32N(limit) - rng.Int32N(limit)
		}
		q := int32(255)
		if i%5 == 4 {
			q = 65535 // 16-bit tables
		}
		add(fmt.Sprintf("random %d", i), b, quant(q))
	}
	return out
}

// TestIDCTStoreSIMDMatchesGo: on every test block the assembly stores exactly idctStoreGo's 64
// bytes (given the block's non-zero positions, as the decoder calls it), writes nothing outside
// them, and leaves the block as it was.
func TestIDCTStoreSIMDMatchesGo(t *testing.T) {
	const stride = 13 // not 8: the rows are apart, with bytes between them to stay untouched
	for _, c := range coefficientBlocks() {
		want := bytes.Repeat([]byte{0xa5}, 8*stride)
		got := bytes.Clone(want)
		b := c.b
		idctStoreGo(&b, c.nz, &c.qn, want, stride)
		b = c.b
		idctStoreSIMD(&b, &c.qn, &got[0], stride)
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: assembly stores\n%v\nGo stores\n%v", c.name, got, want)
		}
		if b != c.b {
			t.Fatalf("%s: the assembly changed the block", c.name)
		}
	}
}

// weights4x4For is premultiplied4x4's table for quantization table qn (natural order).
func weights4x4For(qn *block) *weights4x4 {
	var d decoder
	for zig, nat := range unzig {
		d.quant[0][zig] = qn[nat]
	}
	return d.premultiplied4x4(0)
}

// TestScaledIDCT4x4SIMDMatchesGo: on every test block whose table fits the assembly (every 8-bit
// one), it stores exactly scaledIDCT4x4Go's 16 bytes, given the block's non-zero positions or
// all of them, and writes nothing else; where a 16-bit table does not fit, scaledIDCT4x4 takes
// Go's path and stores the same too.
func TestScaledIDCT4x4SIMDMatchesGo(t *testing.T) {
	const stride = 7
	var fits, notFits int
	for _, c := range coefficientBlocks() {
		w := weights4x4For(&c.qn)
		eightBit := true
		for _, q := range c.qn {
			eightBit = eightBit && q <= 255
		}
		if eightBit && !w.fits32 {
			t.Fatalf("%s: an 8-bit table does not fit the assembly", c.name)
		}
		for _, nz := range []uint64{c.nz, ^uint64(0)} {
			want := bytes.Repeat([]byte{0xa5}, 4*stride)
			got := bytes.Clone(want)
			b := c.b
			scaledIDCT4x4Go(&b, nz, &w.w, want, stride)
			if w.fits32 {
				fits++
				scaledIDCT4x4SIMD(&b, nz&keep4x4, &w.signed, &got[0], stride)
			} else {
				notFits++
				scaledIDCT4x4(&b, nz, w, got, stride)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s, non-zero positions %#x, int32 table %v: assembly stores\n%v\nGo stores\n%v", c.name, nz, w.fits32, got, want)
			}
			got = bytes.Repeat([]byte{0xa5}, 4*stride)
			scaledIDCT4x4(&b, nz, w, got, stride) // as the decoder calls it (a DC-only block stays in Go)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s, non-zero positions %#x: scaledIDCT4x4 stores\n%v\nscaledIDCT4x4Go stores\n%v", c.name, nz, got, want)
			}
			if b != c.b {
				t.Fatalf("%s: the block changed", c.name)
			}
		}
	}
	if fits < 1000 || notFits == 0 {
		t.Fatalf("%d blocks with tables that fit the assembly, %d that do not: both need testing", fits, notFits)
	}
}

// FuzzIDCTStoreSIMD: whatever the coefficients and quantizers, the assembly stores idctStoreGo's
// and scaledIDCT4x4Go's bytes.
func FuzzIDCTStoreSIMD(f *testing.F) {
	f.Add(bytes.Repeat([]byte{0x7f, 0xff, 0xff, 0xff}, 2*blockSize))
	f.Add(make([]byte, 8*blockSize))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c coefficientBlock
		c.nz = 1
		for i := 0; i+4 <= len(data) && i < 8*blockSize; i += 4 {
			v := int32(uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24)
			if j := i / 4; j < blockSize {
				c.b[j] = v
				if v != 0 {
					c.nz |= 1 << j
				}
			} else {
				c.qn[j-blockSize] = v & 0xffff
			}
		}
		w := weights4x4For(&c.qn)
		want4, got4 := make([]byte, 16), make([]byte, 16)
		b4 := c.b
		scaledIDCT4x4Go(&b4, c.nz, &w.w, want4, 4)
		scaledIDCT4x4(&b4, c.nz, w, got4, 4)
		if !bytes.Equal(got4, want4) {
			t.Fatalf("4 x 4: assembly stores %v, Go %v", got4, want4)
		}
		want, got := make([]byte, 64), make([]byte, 64)
		b := c.b
		idctStoreGo(&b, c.nz, &c.qn, want, 8)
		idctStoreSIMD(&c.b, &c.qn, &got[0], 8)
		if !bytes.Equal(got, want) {
			t.Fatalf("assembly stores %v, Go %v", got, want)
		}
	})
}

// TestDecodeSIMDMatchesGo: every test file, the damaged ones and the phone samples decode at
// every scale to the same bytes (or the same error) with the assembly as with the pure-Go
// transforms.
func TestDecodeSIMDMatchesGo(t *testing.T) {
	if !useSIMD {
		t.Logf("no assembly in use here (%s): Go is compared with itself", runtime.GOARCH)
	}
	files := append(testFiles(t), corruptions(t)...)
	t.Run("phone", func(t *testing.T) {
		dir := phonesamples.Dir(t)
		for _, f := range phonesamples.Files {
			files = append(files, testFile{f.Name, phonesamples.Read(t, dir, f)})
		}
	})
	decode := func(data []byte, minLong int, pureGo bool) ([]byte, error) {
		saved := useSIMD
		useSIMD = saved && !pureGo
		defer func() { useSIMD = saved }()
		img, err := DecodeScaledBytes(data, minLong)
		if err != nil {
			return nil, err
		}
		return pixels(img), nil
	}
	every := func(data []byte) []int {
		long := 150
		if cfg, err := jpeg.DecodeConfig(bytes.NewReader(data)); err == nil {
			long = max(cfg.Width, cfg.Height)
		}
		// 1/1, 1/2, 1/4 and 1/8, and 0: the smallest the decoder makes.
		return []int{long, (long + 1) / 2, (long + 3) / 4, (long + 7) / 8, 0}
	}
	decoded := decodesAgree(t, files, every, decode, "pure Go")
	if decoded < 150 {
		t.Errorf("only %d decodes succeeded: the comparison proves little", decoded)
	}
}

// decodesAgree decodes each file at each of its minLongs both ways (decode's reference true and
// false) and reports every file and size where the errors or the pixels differ, the reference
// being what. It returns how many decodes succeeded.
func decodesAgree(t *testing.T, files []testFile, minLongs func(data []byte) []int, decode func(data []byte, minLong int, reference bool) ([]byte, error), what string) int {
	t.Helper()
	decoded := 0
	for _, f := range files {
		for _, minLong := range minLongs(f.data) {
			want, wantErr := decode(f.data, minLong, true)
			got, err := decode(f.data, minLong, false)
			if fmt.Sprint(err) != fmt.Sprint(wantErr) {
				t.Errorf("%s, minLongEdge %d: error %v, %s gives %v", f.name, minLong, err, what, wantErr)
				continue
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s, minLongEdge %d: pixels differ from %s's", f.name, minLong, what)
			}
			if err == nil {
				decoded++
			}
		}
	}
	return decoded
}

// BenchmarkScaledIDCT4x4: one block reduced to 4 x 4 outputs (a 1/2 decode) with 16, 40 and 64
// non-zero coefficients (a noisy photo's blocks have most of them), the assembly and
// scaledIDCT4x4Go side by side.
func BenchmarkScaledIDCT4x4(b *testing.B) {
	var qn block
	for i := range qn {
		qn[i] = int32(2 + i%7)
	}
	w := weights4x4For(&qn)
	var blk block
	for i := range blk {
		blk[i] = int32(i%9) - 4
	}
	dst := make([]byte, 4*8)
	for _, n := range []int{16, 40, 64} {
		var nz uint64
		for i := range n {
			nz |= 1 << uint((i*37)%blockSize)
		}
		nz &= keep4x4
		b.Run(fmt.Sprintf("%d/simd", n), func(b *testing.B) {
			if simdImpl == "" || !w.fits32 {
				b.Skip("no assembly here")
			}
			for b.Loop() {
				scaledIDCT4x4SIMD(&blk, nz, &w.signed, &dst[0], 8)
			}
		})
		b.Run(fmt.Sprintf("%d/go", n), func(b *testing.B) {
			for b.Loop() {
				scaledIDCT4x4Go(&blk, nz, &w.w, dst, 8)
			}
		})
	}
}
