package resample

import "unsafe"

// downWidth is how many outputs of a row the pass down's assembly makes a step.
const downWidth = 16

// Down is the pass down's filter table (one weight per source row of each output row), prepared
// for the assembly: the rows it filters are int16 with MidBits fractional bits, as Rows makes
// them, and the output is rounded and clipped to bytes. Not safe for concurrent use.
type Down struct {
	t    Taps
	w16  []int16   // t.Weights as int16, each output row's padded to an even count; nil: Go only
	rows []*int16  // the assembly's row pointers
	tail [][]int16 // the rows from where the assembly stopped
}

// NewDown prepares the table t for the pass down.
func NewDown(t Taps) *Down {
	d := &Down{t: t}
	if !downFits(t) {
		return d
	}
	even := t.N + t.N%2
	d.w16 = make([]int16, len(t.Start)*even)
	for y := range t.Start {
		for j, w := range t.Weights[y*t.N : y*t.N+t.N] {
			d.w16[y*even+j] = int16(w)
		}
	}
	d.rows = make([]*int16, even)
	return d
}

// downFits says whether the assembly computes every output of t exactly: the weights are
// int16, and a sum of int16 samples times them, rounded, stays inside int32.
func downFits(t Taps) bool {
	for y := range t.Start {
		var abs int64
		for _, w := range t.Weights[y*t.N : y*t.N+t.N] {
			if w < -1<<15 || w >= 1<<15 {
				return false
			}
			abs += int64(max(w, -w))
		}
		if abs<<15+1<<(WeightBits+MidBits-1) >= 1<<31 {
			return false
		}
	}
	return true
}

// Assembled says whether Rows and Row of these tables run the assembly; a caller that keeps its
// rows another way in Go (pipeline's resizePlane packs them) takes this path only then.
func Assembled(a *Across, d *Down) bool {
	return useSIMD && a.w16 != nil && d.w16 != nil
}

// Row filters output row y down from rows (rows[j] is source row t.Start[y]+j, at least
// len(dst) long) into dst: DownGo's bytes, by the assembly where it runs.
func (d *Down) Row(dst []byte, y int, rows [][]int16) {
	n := d.t.N
	ws := d.t.Weights[y*n : y*n+n]
	from := 0
	if useSIMD && d.w16 != nil && len(dst) >= downWidth {
		for j := range d.rows {
			r := rows[0] // an odd count's last pair repeats row 0, with weight 0
			if j < n {
				r = rows[j]
			}
			d.rows[j] = &r[:len(dst)][0] // the assembly reads len(dst) rounded down
		}
		even := len(d.rows)
		from = len(dst) / downWidth * downWidth
		downSIMD(&dst[0], unsafe.SliceData(d.rows), &d.w16[y*even], even/2, from/downWidth)
		if from == len(dst) {
			return
		}
	}
	if from > 0 {
		d.tail = d.tail[:0]
		for _, r := range rows[:n] {
			d.tail = append(d.tail, r[from:])
		}
		rows = d.tail
	}
	DownGo(dst[from:], rows, ws)
}

// DownGo sets each dst[x] to the sum of rows[j][x] * ws[j], rounded to an integer from its
// WeightBits+MidBits fractional bits and clipped to [0, 255]. Each sum fits int32 (see
// downFits).
func DownGo(dst []byte, rows [][]int16, ws []int32) {
	const shift = WeightBits + MidBits
	for x := range dst {
		var s int32
		for j, w := range ws {
			s += int32(rows[j][x]) * w
		}
		dst[x] = uint8(min(max((s+1<<(shift-1))>>shift, 0), 255))
	}
}
