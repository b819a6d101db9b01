package resample

import (
	"encoding/binary"
	"testing"
)

// FuzzSIMD: for any table and rows made from the input, Rows and Row give what RowsGo and
// DownGo give, whether the assembly takes the table (it fits) or leaves it to Go.
func FuzzSIMD(f *testing.F) {
	f.Add([]byte{9, 3, 0x40, 0x00, 0x10, 0x00, 0xff, 0xff, 255, 0, 255, 0, 7})
	f.Add([]byte{24, 1, 0x7f, 0xff, 0x80, 0x00, 0x00, 0x01, 0, 255})
	f.Add(make([]byte, 300))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		n, outs := 1+int(data[0]%48), 1+int(data[1]%40)
		data = data[2:]
		next := func() byte { // the input, over and over, then zeros
			if len(data) == 0 {
				return 0
			}
			b := data[0]
			data = append(data[1:], b)
			return b
		}
		const src = 100
		tp := Taps{Start: make([]int, outs), N: min(n, src), Weights: make([]int32, outs*min(n, src))}
		for x := range outs {
			tp.Start[x] = int(next()) % (src - tp.N + 1)
			for j := range tp.N {
				// int16 weights, scaled down by the input so that both fitting and hostile
				// tables come up.
				w := int32(int16(binary.LittleEndian.Uint16([]byte{next(), next()})))
				tp.Weights[x*tp.N+j] = w >> (next() % 16)
			}
		}
		rows := make([][]byte, 3)
		for i := range rows {
			rows[i] = make([]byte, src)
			for x := range rows[i] {
				rows[i][x] = next()
			}
		}
		rowsBothWays(t, NewAcross(tp), rows)
		plane := make([][]int16, src)
		for y := range plane {
			plane[y] = make([]int16, outs+17)
			for x := range plane[y] {
				plane[y][x] = int16(binary.LittleEndian.Uint16([]byte{next(), next()}))
			}
		}
		downBothWays(t, NewDown(tp), plane, outs+17)
	})
}
