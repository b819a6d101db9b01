package jpegscale

import (
	"bytes"
	"image"
	"math/rand/v2"
	"slices"
	"testing"
)

// pixels is every sample of a decoded image, whatever its type.
func pixels(img image.Image) []byte {
	switch m := img.(type) {
	case *image.YCbCr:
		return slices.Concat(m.Y, m.Cb, m.Cr)
	case *image.Gray:
		return m.Pix
	case *image.RGBA:
		return m.Pix
	case *image.CMYK:
		return m.Pix
	}
	return nil
}

// TestSequentialBlocksMatchGeneric: with decodeSequential and the sparse transforms, every file
// and every damaged one decodes, at every scale, to the very bytes (or the very error) that
// decodeBlock and the transforms on whole blocks give.
func TestSequentialBlocksMatchGeneric(t *testing.T) {
	files := append(testFiles(t), corruptions(t)...)
	decode := func(data []byte, minLong int, generic bool) ([]byte, error) {
		genericBlocks = generic
		defer func() { genericBlocks = false }()
		img, err := DecodeScaledBytes(data, minLong)
		if err != nil {
			return nil, err
		}
		return pixels(img), nil
	}
	decoded := decodesAgree(t, files, func([]byte) []int { return []int{1 << 20, 0, 20, 40, 80} }, decode, "the generic path")
	if decoded < 100 {
		t.Errorf("only %d decodes succeeded: the comparison proves little", decoded)
	}
}

// TestSparseTransformsMatchWholeBlock: on random blocks, sparse and dense, with ordinary and
// hostile values, the 2 x 2 and 4 x 4 transforms given the non-zero positions write what
// scaledIDCT writes, and idctStoreGo given them what it writes given every position.
func TestSparseTransformsMatchWholeBlock(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 3000 {
		var d decoder
		for j := range d.quant[0] {
			d.quant[0][j] = int32(1 + rng.IntN(255))
			if i%10 == 9 {
				d.quant[0][j] = int32(1 + rng.IntN(65535)) // 16-bit tables
			}
		}
		var b block
		var nz uint64 = 1
		limit := int32(1) << (4 + i%8) // up to hostile, far past the 11 bits of valid data
		b[0] = rng.Int32N(2*limit) - limit
		for range rng.IntN(64) {
			j := rng.IntN(blockSize)
			b[j] = rng.Int32N(2*limit) - limit
			nz |= 1 << j
		}
		for _, c := range []struct {
			name   string
			n      int
			sparse func(b *block, dst []byte)
		}{
			{"2x2", 2, func(b *block, dst []byte) { scaledIDCT2x2(b, nz, d.premultiplied2x2(0), dst, 8) }},
			{"4x4", 4, func(b *block, dst []byte) { scaledIDCT4x4(b, nz, d.premultiplied4x4(0), dst, 8) }},
		} {
			want, got := make([]byte, 64), make([]byte, 64)
			bb := b
			scaledIDCT(&bb, &d.quant[0], boxAxisFor(c.n), boxAxisFor(c.n), want, 8)
			bb = b
			c.sparse(&bb, got)
			if !bytes.Equal(got, want) {
				t.Fatalf("block %d, %s: %v, scaledIDCT gives %v", i, c.name, got[:8*c.n], want[:8*c.n])
			}
		}
		want, got := make([]byte, 64), make([]byte, 64)
		bb := b
		idctStoreGo(&bb, ^uint64(0), &d.quant[0], want, 8)
		bb = b
		idctStoreGo(&bb, nz, &d.quant[0], got, 8)
		if !bytes.Equal(got, want) {
			t.Fatalf("block %d, idctStoreGo with non-zero positions %#x: %v, want %v", i, nz, got, want)
		}
	}
}
