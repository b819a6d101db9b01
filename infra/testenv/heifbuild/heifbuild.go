// Package heifbuild writes small HEIF files box by box, for the tests of hostile structure (a grid
// pointing outside the file, reference loops, an ispe over the cap): the structure is real ISO
// BMFF, and the coded data is whatever the test puts there.
package heifbuild

import (
	"encoding/binary"
)

// Item is one entry of iinf/iloc/ipma/iref.
type Item struct {
	ID   uint16
	Type string // "hvc1", "av01", "grid", "Exif"
	// Data is the item's bytes, placed in mdat; Extent, when set, replaces where iloc says they are
	// (absolute file offset and length), to point outside the file.
	Data   []byte
	Extent *[2]uint32
	Props  []uint8 // 1-based indices into File.Props
	Dimg   []uint16
	Thmb   []uint16 // this item is a thumbnail of these
}

// File is a whole HEIF file.
type File struct {
	Brand   string // major brand; compatible brands are it and mif1
	Primary uint16
	Items   []Item
	Props   [][]byte // whole property boxes (see ISPE, Irot, Box)
	// Tail is appended after the boxes (bytes that are not a box).
	Tail []byte
}

// Box returns a box of type typ around body.
func Box(typ string, body ...[]byte) []byte {
	n := 8
	for _, b := range body {
		n += len(b)
	}
	out := binary.BigEndian.AppendUint32(nil, uint32(n))
	out = append(out, typ...)
	for _, b := range body {
		out = append(out, b...)
	}
	return out
}

func full(version byte, flags uint32, body ...[]byte) []byte {
	vf := binary.BigEndian.AppendUint32(nil, uint32(version)<<24|flags)
	return append(vf, concat(body...)...)
}

func concat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// ISPE is an image spatial extents property.
func ISPE(w, h uint32) []byte { return Box("ispe", full(0, 0, u32(w), u32(h))) }

// Irot is a rotation property, quarter turns anti-clockwise.
func Irot(turns byte) []byte { return Box("irot", []byte{turns}) }

// GridData is a grid item's descriptor.
func GridData(rows, cols uint8, w, h uint16) []byte {
	return concat([]byte{0, 0, rows - 1, cols - 1}, u16(w), u16(h))
}

// Bytes writes the file: ftyp, meta (hdlr, pitm, iinf, iref, iprp, iloc), mdat, Tail.
func (f File) Bytes() []byte {
	ftyp := Box("ftyp", []byte(f.Brand), u32(0), []byte(f.Brand), []byte("mif1"))
	hdlr := Box("hdlr", full(0, 0, u32(0), []byte("pict"), make([]byte, 13)))
	pitm := Box("pitm", full(0, 0, u16(f.Primary)))
	var infes, refs, ipma []byte
	for _, it := range f.Items {
		infes = append(infes, Box("infe", full(2, 0, u16(it.ID), u16(0), []byte(it.Type), []byte{0}))...)
		if len(it.Dimg) > 0 {
			refs = append(refs, Box("dimg", u16(it.ID), u16(uint16(len(it.Dimg))), ids(it.Dimg))...)
		}
		if len(it.Thmb) > 0 {
			refs = append(refs, Box("thmb", u16(it.ID), u16(uint16(len(it.Thmb))), ids(it.Thmb))...)
		}
		ipma = append(ipma, concat(u16(it.ID), []byte{byte(len(it.Props))}, it.Props)...)
	}
	iinf := Box("iinf", full(0, 0, u16(uint16(len(f.Items))), infes))
	var iref []byte
	if len(refs) > 0 {
		iref = Box("iref", full(0, 0, refs))
	}
	iprp := Box("iprp", Box("ipco", concat(f.Props...)), Box("ipma", full(0, 0, u32(uint32(len(f.Items))), ipma)))
	// iloc v0, 4-byte offsets and lengths; its size does not depend on the offsets, so build it
	// once with zeros to know where mdat starts.
	iloc := func(mdatStart uint32) []byte {
		body := concat(u16(0x4400), u16(uint16(len(f.Items))))
		off := mdatStart
		for _, it := range f.Items {
			e := [2]uint32{off, uint32(len(it.Data))}
			if it.Extent != nil {
				e = *it.Extent
			}
			off += uint32(len(it.Data))
			body = append(body, concat(u16(it.ID), u16(0), u16(1), u32(e[0]), u32(e[1]))...)
		}
		return Box("iloc", full(0, 0, body))
	}
	meta := func(mdatStart uint32) []byte {
		return Box("meta", full(0, 0, hdlr, pitm, iinf, iref, iprp, iloc(mdatStart)))
	}
	var mdat []byte
	for _, it := range f.Items {
		mdat = append(mdat, it.Data...)
	}
	start := uint32(len(ftyp) + len(meta(0)) + 8)
	return concat(ftyp, meta(start), Box("mdat", mdat), f.Tail)
}

func ids(v []uint16) []byte {
	var out []byte
	for _, id := range v {
		out = append(out, u16(id)...)
	}
	return out
}

// Valid is a structurally sound one-item HEIC of w×h whose coded data is junk: it passes the
// container checks and fails in the decoder.
func Valid(w, h uint32) File {
	return File{
		Brand: "heic", Primary: 1,
		Items: []Item{{ID: 1, Type: "hvc1", Data: make([]byte, 64), Props: []uint8{1}}},
		Props: [][]byte{ISPE(w, h)},
	}
}

// Hostile returns the files issue 18 names, each of which must be refused before or by the
// decoder without harm: name → bytes.
func Hostile() map[string][]byte {
	valid := Valid(64, 64).Bytes()
	grid := func(mutate func(*File)) []byte {
		f := File{
			Brand: "heic", Primary: 1,
			Items: []Item{
				{ID: 1, Type: "grid", Data: GridData(1, 2, 128, 64), Props: []uint8{1}, Dimg: []uint16{2, 3}},
				{ID: 2, Type: "hvc1", Data: make([]byte, 32), Props: []uint8{2}},
				{ID: 3, Type: "hvc1", Data: make([]byte, 32), Props: []uint8{2}},
			},
			Props: [][]byte{ISPE(128, 64), ISPE(64, 64)},
		}
		mutate(&f)
		return f.Bytes()
	}
	overCap := Valid(40000, 40000)
	zero := Valid(0, 0)
	ilocPast := Valid(64, 64)
	ilocPast.Items[0].Extent = &[2]uint32{100, 1 << 20}
	jpeg := []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0xFF, 0xD9}
	zip := append([]byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"), make([]byte, 40)...)
	ftyp := Box("ftyp", []byte("heic"), u32(0), []byte("heicmif1"))
	return map[string][]byte{
		"truncated":             valid[:len(valid)/2],
		"ispe_over_cap":         overCap.Bytes(),
		"zero_by_zero":          zero.Bytes(),
		"iloc_past_end":         ilocPast.Bytes(),
		"ftyp_heic_jpeg_inside": append(append([]byte(nil), ftyp...), jpeg...),
		"ftyp_heic_zip_inside":  append(append([]byte(nil), ftyp...), zip...),
		"ftyp_heic_zip_after":   append(valid, zip...),
		"grid_tile_outside_file": grid(func(f *File) {
			f.Items[2].Extent = &[2]uint32{1 << 30, 32}
		}),
		"grid_tile_missing": grid(func(f *File) { f.Items[0].Dimg = []uint16{2, 9} }),
		"grid_tile_too_large": grid(func(f *File) {
			f.Props = append(f.Props, ISPE(20000, 20000))
			f.Items[2].Props = []uint8{3}
		}),
		"dimg_self":  grid(func(f *File) { f.Items[0].Dimg = []uint16{2, 1} }),
		"dimg_cycle": grid(func(f *File) { f.Items[1].Dimg = []uint16{3}; f.Items[2].Dimg = []uint16{2} }),
	}
}
