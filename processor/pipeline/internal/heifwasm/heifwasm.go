// Package heifwasm decodes HEIF (HEVC) and AVIF images with libheif and libavif compiled to
// WebAssembly, the modules that github.com/gen2brain/heic and github.com/gen2brain/avif embed,
// run here under wazero with the bounds those packages do not offer:
//
//   - memory: each decode runs in its own module instance whose linear memory is capped at
//     MemoryLimit; a decoder that asks for more gets a failed allocation or a trap, an error here;
//   - time: the instance is closed when ctx is done (wazero's CloseOnContextDone checks it at
//     every function call and loop back-edge), so a decode stops soon after its deadline;
//   - faults: a trap (out-of-bounds access, unreachable, abort) comes back as an error, and a
//     panic in this package's glue is recovered into one.
//
// Both libraries' own Decode functions run in one runtime without a memory limit, under
// context.Background, and, in a dynamically linked binary, prefer a system libheif over the WASM
// module; so only their embedded modules are used (see embed.go). Each module is compiled once
// per process and every decode instantiates the compiled module, which costs microseconds: a warm
// Lambda never recompiles.
package heifwasm

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// MemoryLimit caps one decode's WebAssembly linear memory. Measured: the 12-megapixel iPhone
// photo (8-bit, 48 tiles) ends its decode with 88 MiB, 7.3 bytes a pixel; the 3.8-megapixel
// 10-bit Canon HIF 49 MiB, 12.8 bytes a pixel. 448 MiB holds an 8-bit HEIC up to the
// 50-megapixel cap (an 8160x6120 one made with heif-enc converts with a process peak of 433 MiB)
// and a 10-bit one up to about 35 megapixels; a larger 10-bit file runs out of memory in the
// sandbox and is refused as corrupt.
const MemoryLimit = 448 << 20

const pageSize = 64 << 10

// ErrDecode is a decoder's refusal of the file (it returned failure without trapping).
var ErrDecode = errors.New("decoder refused the file")

// codec is one compiled module and the runtime that owns it.
type codec struct {
	name  string
	limit uint32        // pages; MemoryLimit when 0
	gz    func() []byte // the gzipped module
	once  sync.Once
	rt    wazero.Runtime
	cm    wazero.CompiledModule
	err   error
}

// lastPages is the linear memory, in pages, the last decode ended with (for the benchmark).
var lastPages atomic.Uint32

var (
	heifCodec = &codec{name: "libheif", gz: heifModule}
	avifCodec = &codec{name: "libavif", gz: avifModule}
)

func (c *codec) compile() (wazero.Runtime, wazero.CompiledModule, error) {
	c.once.Do(func() {
		ctx := context.Background()
		pages := c.limit
		if pages == 0 {
			pages = MemoryLimit / pageSize
		}
		cfg := wazero.NewRuntimeConfig().
			WithMemoryLimitPages(pages).
			WithCloseOnContextDone(false)
		rt := wazero.NewRuntimeWithConfig(ctx, cfg)
		zr, err := gzip.NewReader(bytes.NewReader(c.gz()))
		if err != nil {
			c.err = fmt.Errorf("%s module: %w", c.name, err)
			return
		}
		wasm, err := io.ReadAll(zr)
		if err != nil {
			c.err = fmt.Errorf("%s module: %w", c.name, err)
			return
		}
		if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
			c.err = fmt.Errorf("%s wasi: %w", c.name, err)
			return
		}
		cm, err := rt.CompileModule(ctx, wasm)
		if err != nil {
			c.err = fmt.Errorf("%s compile: %w", c.name, err)
			return
		}
		c.rt, c.cm = rt, cm
	})
	return c.rt, c.cm, c.err
}

// Warm compiles both modules now rather than at the first decode (1.5 to 2 s of CPU here). The
// processor does not call it: a cold Lambda that only sees JPEGs should not pay for it.
func Warm() error {
	_, _, err1 := heifCodec.compile()
	_, _, err2 := avifCodec.compile()
	return errors.Join(err1, err2)
}

// run instantiates c's module and calls fn with it, turning a trap, ctx's end or a panic into an
// error.
func (c *codec) run(ctx context.Context, fn func(m *module) (image.Image, error)) (img image.Image, err error) {
	rt, cm, err := c.compile()
	if err != nil {
		return nil, err
	}
	// Anonymous instances: wazero refuses two live modules with the same name, and decodes run
	// concurrently.
	mod, err := rt.InstantiateModule(experimental.WithMemoryAllocator(ctx, memoryAllocator), cm, wazero.NewModuleConfig().WithName("").
		WithStdout(io.Discard).WithStderr(io.Discard))
	if err != nil {
		return nil, fmt.Errorf("%s instantiate: %w", c.name, err)
	}
	defer mod.Close(context.Background())
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("%s: panic: %v", c.name, r)
		}
	}()
	m := &module{ctx: ctx, mod: mod}
	img, err = fn(m)
	lastPages.Store(uint32(mod.Memory().Size() / pageSize))
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("%s: %w (%v)", c.name, context.Cause(ctx), err)
	}
	return img, err
}

// module is one decode's instance, with the calls the C glue exports.
type module struct {
	ctx context.Context
	mod api.Module
}

func (m *module) call(name string, args ...uint64) (uint64, error) {
	f := m.mod.ExportedFunction(name)
	if f == nil {
		return 0, fmt.Errorf("no export %q", name)
	}
	res, err := f.Call(m.ctx, args...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	if len(res) == 0 {
		return 0, nil
	}
	return res[0], nil
}

// alloc returns a pointer to n bytes of the instance's memory; a failed malloc (the memory cap)
// is an error.
func (m *module) alloc(n int) (uint32, error) {
	if n <= 0 || uint64(n) > MemoryLimit {
		return 0, fmt.Errorf("alloc %d bytes", n)
	}
	p, err := m.call("malloc", uint64(n))
	if err != nil {
		return 0, err
	}
	if p == 0 {
		return 0, fmt.Errorf("malloc(%d): out of memory in the sandbox", n)
	}
	return uint32(p), nil
}

func (m *module) write(p uint32, b []byte) error {
	if !m.mod.Memory().Write(p, b) {
		return errors.New("write out of range")
	}
	return nil
}

func (m *module) u32(p uint32) (uint32, error) {
	v, ok := m.mod.Memory().ReadUint32Le(p)
	if !ok {
		return 0, errors.New("read out of range")
	}
	return v, nil
}

// read copies n bytes out: the instance's memory is dropped when it closes, and a copy the size
// of the image is cheaper to keep than the whole linear memory.
func (m *module) read(p uint32, n int) ([]byte, error) {
	b, ok := m.mod.Memory().Read(p, uint32(n))
	if !ok {
		return nil, errors.New("read out of range")
	}
	return bytes.Clone(b), nil
}

// input copies data into the instance and returns its pointer.
func (m *module) input(data []byte) (uint32, error) {
	p, err := m.alloc(len(data))
	if err != nil {
		return 0, err
	}
	return p, m.write(p, data)
}
