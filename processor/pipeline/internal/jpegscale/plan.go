package jpegscale

import "math"

// A blockPlan is how one component's blocks are reconstructed, worked out once per scan instead
// of once per block: reconstructBlock's look-ups (subsampling, target, transform) cost a fifth of
// a baseline decode once the transforms were sparse. Blocks in the first innerW columns and
// innerH rows are written by the plan's transform; the others (those the image's right or bottom
// edge cuts) go through reconstructBlock, as do all blocks of a component it has no plan for.
type blockPlan struct {
	compIndex      int
	kind           planKind
	pw, ph         int // the output patch of one block
	innerW, innerH int
	dst            []byte // the component's output plane, from block (0, 0)
	stride         int
	qt             *block // zig-zag order
	qn             *block // the same table in natural order (idctStore)
	w2             *[blockSize]int
	w4             *weights4x4
	ax, ay         *boxAxis
}

type planKind uint8

const (
	planGeneric planKind = iota // reconstructBlock for every block
	planStore                   // idctStore: not reduced
	planDC                      // 1 x 1: the DC term
	plan2x2                     // scaledIDCT2x2
	plan4x4                     // scaledIDCT4x4
	planScaled                  // scaledIDCT
)

// plan is reconstructBlock's choice for the component's blocks inside the image.
func (d *decoder) plan(compIndex int) blockPlan {
	tq := d.comp[compIndex].tq
	p := blockPlan{compIndex: compIndex, qt: &d.quant[tq], qn: &d.quantNat[tq]}
	p.dst, p.stride = d.patch(0, 0, compIndex, 0, 0)
	if p.dst == nil {
		return p // reconstructBlock reports the error
	}
	if d.scale == 1 {
		p.kind, p.pw, p.ph, p.innerW, p.innerH = planStore, 8, 8, math.MaxInt, math.MaxInt
		return p
	}
	hr, vr := d.subsampling(compIndex)
	p.pw, p.ph = 8*hr/d.scale, 8*vr/d.scale
	p.ax, p.ay = boxAxisFor(p.pw), boxAxisFor(p.ph)
	if p.ax == nil || p.ay == nil {
		return p
	}
	// scaledTarget's test, (bx+1)*8*hr <= width, solved for bx.
	p.innerW, p.innerH = d.width/(8*hr), d.height/(8*vr)
	switch {
	case p.pw == 2 && p.ph == 2:
		p.kind, p.w2 = plan2x2, d.premultiplied2x2(d.comp[compIndex].tq)
	case p.pw == 4 && p.ph == 4:
		p.kind, p.w4 = plan4x4, d.premultiplied4x4(d.comp[compIndex].tq)
	case p.pw == 1 && p.ph == 1:
		p.kind = planDC
	case p.pw == 8 && p.ph == 8:
		p.kind = planStore
	default:
		p.kind = planScaled
	}
	return p
}

// reconstruct is reconstructBlock, by plan p. intact says whether b is as it was: the planned
// transforms only read it; reconstructBlock may work in it.
func (d *decoder) reconstruct(p *blockPlan, b *block, nz uint64, bx, by int) (intact bool, err error) {
	if p.kind == planGeneric || bx >= p.innerW || by >= p.innerH {
		return false, d.reconstructBlock(b, nz, bx, by, p.compIndex)
	}
	dst := p.dst[p.ph*by*p.stride+p.pw*bx:]
	switch p.kind {
	case plan2x2:
		scaledIDCT2x2(b, nz, p.w2, dst, p.stride)
	case plan4x4:
		scaledIDCT4x4(b, nz, p.w4, dst, p.stride)
	case planDC:
		dst[0] = clampLevel(boxRound(int(b[0]) * int(p.qt[0]) * (1 << (2*idctFracBits - 3))))
	case planStore:
		idctStore(b, nz, p.qn, dst, p.stride)
	default:
		scaledIDCT(b, p.qt, p.ax, p.ay, dst, p.stride)
	}
	return true, nil
}
