// Package bmff reads the ISO base media file format (ISO/IEC 14496-12) structure of a HEIF or
// AVIF still image (ISO/IEC 23008-12) far enough to decide about it before any decoder sees it:
// the brands, the primary item and what it is made of (one coded image, or a grid of them), its
// size (ispe), orientation (irot, imir) and ICC profile (colr). Every box and every item's data
// must lie inside the file, every grid tile must be a coded image of the same kind, and no item
// may derive from itself; a file that breaks any of this is refused here, in time linear in its
// size, so the WebAssembly decoder only ever sees a structurally sound file.
package bmff

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Codec is what the primary image's pixels are coded with.
type Codec string

const (
	HEVC Codec = "hvc1" // HEIC
	AV1  Codec = "av01" // AVIF
)

// Info is what the container says about the primary image.
type Info struct {
	MajorBrand string
	Brands     []string // the compatible brands
	Codec      Codec
	// Width and Height are the primary item's ispe: the coded size, before irot.
	Width, Height int
	// Rotation is irot's anti-clockwise rotation in degrees (0, 90, 180, 270), applied after
	// the mirror.
	Rotation int
	// Mirror is imir's axis: -1 for none, 0 a vertical axis (left and right swap), 1 a
	// horizontal axis (top and bottom swap).
	Mirror int
	Tiles  int    // grid tiles; 0 for a single coded image
	ICC    []byte // colr 'prof' or 'rICC', nil when the colour is given by nclx or absent
	Items  int    // items in the file (a thumbnail item makes 2 images)
}

// DisplaySize is the size after irot.
func (in *Info) DisplaySize() (w, h int) {
	if in.Rotation == 90 || in.Rotation == 270 {
		return in.Height, in.Width
	}
	return in.Width, in.Height
}

// Brands each codec's files declare (major or compatible).
var (
	HEIFBrands = []string{"heic", "heix", "hevc", "heim", "heis", "mif1", "msf1"}
	AVIFBrands = []string{"avif", "avis"}
)

// Limits on the structure, far above what any camera writes (an iPhone: about 50 items, 48 tiles)
// and low enough that walking the tables stays cheap.
const (
	maxItems      = 4096
	maxProperties = 4096
	maxTiles      = 1024
	maxExtents    = 64
)

// Kind reports from the first bytes whether the file declares itself HEIF or AVIF: an ftyp box
// with one of the brands, as major brand or compatible. AVIF wins when both are there (an AVIF
// lists mif1 as compatible).
func Kind(head []byte) (Codec, bool) {
	if len(head) < 16 || string(head[4:8]) != "ftyp" {
		return "", false
	}
	n := int(binary.BigEndian.Uint32(head))
	if n < 16 || n > len(head) {
		n = len(head)
	}
	var brands []string
	brands = append(brands, string(head[8:12]))
	for i := 16; i+4 <= n; i += 4 {
		brands = append(brands, string(head[i:i+4]))
	}
	if slices.ContainsFunc(brands, func(b string) bool { return slices.Contains(AVIFBrands, b) }) {
		return AV1, true
	}
	if slices.ContainsFunc(brands, func(b string) bool { return slices.Contains(HEIFBrands, b) }) {
		return HEVC, true
	}
	return "", false
}

// ErrTooManyPixels is the error for a primary image over the caller's pixel limit.
var ErrTooManyPixels = errors.New("too many pixels")

type box struct {
	typ  string
	body []byte // the box's payload, after its header
	off  int    // offset of the payload in the file
}

// boxes splits b (at file offset base) into boxes, which must cover it exactly.
func boxes(b []byte, base int) ([]box, error) {
	var out []box
	for i := 0; i < len(b); {
		if len(b)-i < 8 {
			return nil, fmt.Errorf("%d stray bytes at offset %d", len(b)-i, base+i)
		}
		size := uint64(binary.BigEndian.Uint32(b[i:]))
		typ := string(b[i+4 : i+8])
		hdr := 8
		switch size {
		case 0: // to the end
			size = uint64(len(b) - i)
		case 1:
			if len(b)-i < 16 {
				return nil, fmt.Errorf("box %q: truncated size", typ)
			}
			size, hdr = binary.BigEndian.Uint64(b[i+8:]), 16
		}
		if size < uint64(hdr) || size > uint64(len(b)-i) {
			return nil, fmt.Errorf("box %q at offset %d: size %d past the end", typ, base+i, size)
		}
		out = append(out, box{typ: typ, body: b[i+hdr : i+int(size)], off: base + i + hdr})
		if len(out) > maxItems {
			return nil, errors.New("too many boxes")
		}
		i += int(size)
	}
	return out, nil
}

func find(bs []box, typ string) (box, bool) {
	for _, b := range bs {
		if b.typ == typ {
			return b, true
		}
	}
	return box{}, false
}

// reader reads big-endian fields, remembering the first overrun.
type reader struct {
	b   []byte
	err error
}

func (r *reader) n(size int) uint64 {
	if r.err != nil {
		return 0
	}
	if size == 0 {
		return 0
	}
	if len(r.b) < size {
		r.err = errors.New("truncated")
		r.b = nil
		return 0
	}
	var v uint64
	for _, c := range r.b[:size] {
		v = v<<8 | uint64(c)
	}
	r.b = r.b[size:]
	return v
}

func (r *reader) u8() int  { return int(r.n(1)) }
func (r *reader) u16() int { return int(r.n(2)) }
func (r *reader) u32() int { return int(r.n(4)) }
func (r *reader) str4() string {
	if r.err != nil || len(r.b) < 4 {
		r.n(4)
		return ""
	}
	s := string(r.b[:4])
	r.b = r.b[4:]
	return s
}

// full reads a full box's version and flags.
func (r *reader) full() (version, flags int) {
	v := r.u32()
	return v >> 24, v & 0xFFFFFF
}

type extent struct{ off, n uint64 }

type item struct {
	typ     string
	hidden  bool
	method  int // iloc construction method: 0 file offset, 1 idat
	extents []extent
	located bool
	props   []int // ipco indices, 1-based
	dimg    []int // derived-image inputs
}

// Parse reads the file's structure; limit is applied to the primary image's ispe before
// anything else looks at its pixels (wrap ErrTooManyPixels to have it reported as such).
func Parse(data []byte, limit func(w, h int) error) (*Info, error) {
	top, err := boxes(data, 0)
	if err != nil {
		return nil, err
	}
	if len(top) == 0 || top[0].typ != "ftyp" {
		return nil, errors.New("no ftyp box first")
	}
	info := &Info{Mirror: -1}
	ft := top[0].body
	if len(ft) < 8 || len(ft)%4 != 0 {
		return nil, errors.New("ftyp: bad size")
	}
	info.MajorBrand = string(ft[:4])
	for i := 8; i < len(ft); i += 4 {
		info.Brands = append(info.Brands, string(ft[i:i+4]))
	}
	codec, ok := Kind(data)
	if !ok {
		return nil, fmt.Errorf("brands %q %q are neither HEIF nor AVIF", info.MajorBrand, info.Brands)
	}
	metas := 0
	for _, b := range top {
		if b.typ == "meta" {
			metas++
		}
	}
	if metas != 1 {
		return nil, fmt.Errorf("%d meta boxes", metas)
	}
	meta, _ := find(top, "meta")
	if len(meta.body) < 4 {
		return nil, errors.New("meta: truncated")
	}
	mb, err := boxes(meta.body[4:], meta.off+4)
	if err != nil {
		return nil, fmt.Errorf("meta: %w", err)
	}
	if h, ok := find(mb, "hdlr"); !ok || len(h.body) < 12 || string(h.body[8:12]) != "pict" {
		return nil, errors.New("meta: no pict handler")
	}
	items, err := readItems(mb)
	if err != nil {
		return nil, err
	}
	info.Items = len(items)
	var idat []byte
	if b, ok := find(mb, "idat"); ok {
		idat = b.body
	}
	for id, it := range items {
		if !it.located {
			continue
		}
		for _, e := range it.extents {
			size := uint64(len(data))
			if it.method == 1 {
				size = uint64(len(idat))
			}
			if e.off > size || e.n > size-e.off {
				return nil, fmt.Errorf("item %d: data at %d+%d lies past the end (%d bytes)", id, e.off, e.n, size)
			}
		}
	}
	pb, ok := find(mb, "pitm")
	if !ok {
		return nil, errors.New("no primary item")
	}
	r := &reader{b: pb.body}
	v, _ := r.full()
	pid := r.u16()
	if v > 0 {
		r.b = pb.body[4:]
		pid = r.u32()
	}
	if r.err != nil {
		return nil, fmt.Errorf("pitm: %w", r.err)
	}
	primary, ok := items[pid]
	if !ok {
		return nil, fmt.Errorf("primary item %d does not exist", pid)
	}
	props, err := readProperties(mb, items)
	if err != nil {
		return nil, err
	}
	if err := checkDerivations(items); err != nil {
		return nil, err
	}

	// The primary item's own properties: ispe, irot, imir, colr.
	hasISPE := false
	for _, p := range primary.props {
		b := props[p-1]
		switch b.typ {
		case "ispe":
			r := &reader{b: b.body}
			r.full()
			info.Width, info.Height = r.u32(), r.u32()
			if r.err != nil {
				return nil, fmt.Errorf("ispe: %w", r.err)
			}
			hasISPE = true
		case "irot":
			if len(b.body) < 1 {
				return nil, errors.New("irot: truncated")
			}
			info.Rotation = int(b.body[0]&3) * 90
		case "imir":
			if len(b.body) < 1 {
				return nil, errors.New("imir: truncated")
			}
			info.Mirror = int(b.body[0] & 1)
		case "colr":
			if len(b.body) >= 4 && (string(b.body[:4]) == "prof" || string(b.body[:4]) == "rICC") {
				info.ICC = b.body[4:]
			}
		}
	}
	if !hasISPE {
		return nil, errors.New("primary item has no ispe")
	}
	if info.Width <= 0 || info.Height <= 0 {
		return nil, fmt.Errorf("ispe says %dx%d", info.Width, info.Height)
	}
	if err := limit(info.Width, info.Height); err != nil {
		return nil, err
	}

	want := string(codec)
	switch primary.typ {
	case want:
		if len(primary.dimg) != 0 {
			return nil, errors.New("a coded primary image derives from others")
		}
		if err := checkCoded(items, pid, want); err != nil {
			return nil, err
		}
	case "grid":
		if err := checkGrid(data, idat, items, props, pid, primary, want, info); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("primary item is %q, not %s or a grid of it", primary.typ, want)
	}
	info.Codec = codec
	return info, nil
}

func readItems(mb []box) (map[int]*item, error) {
	items := map[int]*item{}
	ib, ok := find(mb, "iinf")
	if !ok {
		return nil, errors.New("no iinf box")
	}
	r := &reader{b: ib.body}
	v, _ := r.full()
	count := r.u16()
	if v > 0 {
		r.b = ib.body[4:]
		count = r.u32()
	}
	if r.err != nil {
		return nil, fmt.Errorf("iinf: %w", r.err)
	}
	if count > maxItems {
		return nil, fmt.Errorf("iinf: %d items", count)
	}
	entries, err := boxes(r.b, 0)
	if err != nil {
		return nil, fmt.Errorf("iinf: %w", err)
	}
	for _, e := range entries {
		if e.typ != "infe" {
			continue
		}
		r := &reader{b: e.body}
		v, flags := r.full()
		if v < 2 {
			return nil, fmt.Errorf("infe version %d", v)
		}
		id := r.u16()
		if v > 2 {
			r.b = e.body[4:]
			id = r.u32()
		}
		r.u16() // protection index
		typ := r.str4()
		if r.err != nil {
			return nil, fmt.Errorf("infe: %w", r.err)
		}
		if _, dup := items[id]; dup {
			return nil, fmt.Errorf("item %d declared twice", id)
		}
		items[id] = &item{typ: typ, hidden: flags&1 != 0}
	}
	if len(items) == 0 {
		return nil, errors.New("no items")
	}

	lb, ok := find(mb, "iloc")
	if !ok {
		return nil, errors.New("no iloc box")
	}
	r = &reader{b: lb.body}
	v, _ = r.full()
	if v > 2 {
		return nil, fmt.Errorf("iloc version %d", v)
	}
	sizes := r.u16()
	offSize, lenSize, baseSize, idxSize := sizes>>12, (sizes>>8)&15, (sizes>>4)&15, sizes&15
	if v == 0 {
		idxSize = 0
	}
	for _, s := range []int{offSize, lenSize, baseSize, idxSize} {
		if s != 0 && s != 4 && s != 8 {
			return nil, fmt.Errorf("iloc: field size %d", s)
		}
	}
	var n int
	if v < 2 {
		n = r.u16()
	} else {
		n = r.u32()
	}
	if n > maxItems {
		return nil, fmt.Errorf("iloc: %d items", n)
	}
	for range n {
		var id int
		if v < 2 {
			id = r.u16()
		} else {
			id = r.u32()
		}
		method := 0
		if v > 0 {
			method = r.u16() & 15
		}
		r.u16() // data reference index
		base := r.n(baseSize)
		ne := r.u16()
		if r.err != nil {
			return nil, fmt.Errorf("iloc: %w", r.err)
		}
		if ne > maxExtents {
			return nil, fmt.Errorf("iloc: item %d has %d extents", id, ne)
		}
		it, ok := items[id]
		if !ok {
			return nil, fmt.Errorf("iloc: item %d is not declared", id)
		}
		if it.located {
			return nil, fmt.Errorf("iloc: item %d located twice", id)
		}
		if method > 1 {
			return nil, fmt.Errorf("iloc: item %d: construction method %d", id, method)
		}
		it.method, it.located = method, true
		for range ne {
			r.n(idxSize)
			off, l := r.n(offSize), r.n(lenSize)
			if r.err != nil {
				return nil, fmt.Errorf("iloc: %w", r.err)
			}
			if off+base < off {
				return nil, errors.New("iloc: offset overflows")
			}
			it.extents = append(it.extents, extent{off + base, l})
		}
	}

	if rb, ok := find(mb, "iref"); ok {
		r := &reader{b: rb.body}
		v, _ := r.full()
		if r.err != nil {
			return nil, fmt.Errorf("iref: %w", r.err)
		}
		refs, err := boxes(r.b, 0)
		if err != nil {
			return nil, fmt.Errorf("iref: %w", err)
		}
		idSize := 2
		if v > 0 {
			idSize = 4
		}
		for _, ref := range refs {
			r := &reader{b: ref.body}
			from := int(r.n(idSize))
			count := r.u16()
			if r.err != nil {
				return nil, fmt.Errorf("iref %s: %w", ref.typ, r.err)
			}
			if count > maxTiles {
				return nil, fmt.Errorf("iref %s: %d references", ref.typ, count)
			}
			to := make([]int, count)
			for i := range to {
				to[i] = int(r.n(idSize))
			}
			if r.err != nil {
				return nil, fmt.Errorf("iref %s: %w", ref.typ, r.err)
			}
			it, ok := items[from]
			if !ok {
				return nil, fmt.Errorf("iref %s: from item %d, not declared", ref.typ, from)
			}
			for _, id := range to {
				if _, ok := items[id]; !ok {
					return nil, fmt.Errorf("iref %s: to item %d, not declared", ref.typ, id)
				}
			}
			if ref.typ == "dimg" {
				if it.dimg != nil {
					return nil, fmt.Errorf("iref dimg: item %d twice", from)
				}
				it.dimg = to
			}
		}
	}
	return items, nil
}

func readProperties(mb []box, items map[int]*item) ([]box, error) {
	pb, ok := find(mb, "iprp")
	if !ok {
		return nil, errors.New("no iprp box")
	}
	pbs, err := boxes(pb.body, pb.off)
	if err != nil {
		return nil, fmt.Errorf("iprp: %w", err)
	}
	co, ok := find(pbs, "ipco")
	if !ok {
		return nil, errors.New("no ipco box")
	}
	props, err := boxes(co.body, co.off)
	if err != nil {
		return nil, fmt.Errorf("ipco: %w", err)
	}
	if len(props) > maxProperties {
		return nil, fmt.Errorf("ipco: %d properties", len(props))
	}
	for _, b := range pbs {
		if b.typ != "ipma" {
			continue
		}
		r := &reader{b: b.body}
		v, flags := r.full()
		n := r.u32()
		if n > maxItems {
			return nil, fmt.Errorf("ipma: %d entries", n)
		}
		for range n {
			var id int
			if v < 1 {
				id = r.u16()
			} else {
				id = r.u32()
			}
			na := r.u8()
			it := items[id]
			for range na {
				var idx int
				if flags&1 != 0 {
					idx = r.u16() & 0x7FFF
				} else {
					idx = r.u8() & 0x7F
				}
				if idx == 0 {
					continue
				}
				if idx > len(props) {
					return nil, fmt.Errorf("ipma: item %d: property %d of %d", id, idx, len(props))
				}
				if it != nil {
					it.props = append(it.props, idx)
				}
			}
			if r.err != nil {
				return nil, fmt.Errorf("ipma: %w", r.err)
			}
			if it == nil {
				return nil, fmt.Errorf("ipma: item %d is not declared", id)
			}
		}
	}
	return props, nil
}

// checkDerivations refuses a dimg reference cycle anywhere in the file, so no decoder can be
// sent round one.
func checkDerivations(items map[int]*item) error {
	const (
		unseen = iota
		active
		done
	)
	state := map[int]int{}
	var visit func(id, depth int) error
	visit = func(id, depth int) error {
		switch state[id] {
		case active:
			return fmt.Errorf("item %d derives from itself", id)
		case done:
			return nil
		}
		if depth > 8 {
			return errors.New("derivations nest too deep")
		}
		state[id] = active
		for _, c := range items[id].dimg {
			if err := visit(c, depth+1); err != nil {
				return err
			}
		}
		state[id] = done
		return nil
	}
	for id := range items {
		if err := visit(id, 0); err != nil {
			return err
		}
	}
	return nil
}

func checkCoded(items map[int]*item, id int, want string) error {
	it := items[id]
	if it.typ != want {
		return fmt.Errorf("item %d is %q, not %s", id, it.typ, want)
	}
	if !it.located || len(it.extents) == 0 {
		return fmt.Errorf("item %d has no data", id)
	}
	return nil
}

// itemData returns an item's bytes (the grid descriptor is small; coded tiles are never read here).
func itemData(data, idat []byte, it *item) ([]byte, error) {
	src := data
	if it.method == 1 {
		src = idat
	}
	var out []byte
	for _, e := range it.extents {
		n := e.n
		if n == 0 {
			n = uint64(len(src)) - e.off
		}
		if n > 1<<10 {
			return nil, errors.New("grid descriptor too long")
		}
		out = append(out, src[e.off:e.off+n]...)
	}
	return out, nil
}

func checkGrid(data, idat []byte, items map[int]*item, props []box, id int, grid *item, want string, info *Info) error {
	if !grid.located {
		return errors.New("grid has no descriptor")
	}
	desc, err := itemData(data, idat, grid)
	if err != nil {
		return err
	}
	r := &reader{b: desc}
	r.u8() // version
	flags := r.u8()
	rows, cols := r.u8()+1, r.u8()+1
	fieldSize := 2
	if flags&1 != 0 {
		fieldSize = 4
	}
	w, h := int(r.n(fieldSize)), int(r.n(fieldSize))
	if r.err != nil {
		return fmt.Errorf("grid descriptor: %w", r.err)
	}
	if w != info.Width || h != info.Height {
		return fmt.Errorf("grid is %dx%d but its ispe %dx%d", w, h, info.Width, info.Height)
	}
	if len(grid.dimg) != rows*cols {
		return fmt.Errorf("grid of %dx%d has %d tiles", rows, cols, len(grid.dimg))
	}
	if rows*cols > maxTiles {
		return fmt.Errorf("%d tiles", rows*cols)
	}
	for _, t := range grid.dimg {
		if t == id {
			return errors.New("grid contains itself")
		}
		if err := checkCoded(items, t, want); err != nil {
			return fmt.Errorf("grid tile: %w", err)
		}
		if len(items[t].dimg) != 0 {
			return fmt.Errorf("grid tile %d is derived", t)
		}
		// The tiles must be the size the grid implies: the ispe checked above bounds the grid, and
		// this bounds what decoding its tiles costs.
		tw, th, ok := ispe(props, items[t])
		if !ok {
			return fmt.Errorf("grid tile %d has no ispe", t)
		}
		if tw <= 0 || th <= 0 || tw*cols < w || tw*(cols-1) >= w || th*rows < h || th*(rows-1) >= h {
			return fmt.Errorf("%dx%d tiles of %dx%d do not make a %dx%d grid", cols, rows, tw, th, w, h)
		}
	}
	info.Tiles = rows * cols
	return nil
}

// ispe returns an item's image spatial extents.
func ispe(props []box, it *item) (w, h int, ok bool) {
	for _, p := range it.props {
		if b := props[p-1]; b.typ == "ispe" {
			r := &reader{b: b.body}
			r.full()
			w, h = r.u32(), r.u32()
			return w, h, r.err == nil
		}
	}
	return 0, 0, false
}
