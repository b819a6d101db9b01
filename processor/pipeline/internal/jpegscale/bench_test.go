package jpegscale

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"medicpx/infra/testenv/phonesamples"
)

// threadCPU is the CPU time of the calling thread (RUSAGE_THREAD): on a shared machine a
// decode's wall time also counts the time others held the core.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDecodePhone decodes the 12 MP phone photo (../shared/samples/phone) at full size (as
// the processor decodes smaller photos), 1/2, 1/4 and 1/8, with the assembly transforms and with
// the pure-Go ones side by side, reporting the decoding thread's CPU time per decode beside the
// wall time; and the Pixel 8 Pro's photo (noisy, so Huffman-bound) at 1/2. The pipeline's
// BenchmarkDecodeVsLibjpeg puts these beside libjpeg-turbo.
func BenchmarkDecodePhone(b *testing.B) {
	dir := phonesamples.Dir(b)
	for _, c := range []struct {
		name   string
		scales []int
	}{
		{"pixel3axl_motionphoto.jpg", []int{1, 2, 4, 8}},
		{"pixel8pro_ultrahdr.jpg", []int{2}},
	} {
		var f phonesamples.File
		for _, g := range phonesamples.Files {
			if g.Name == c.name {
				f = g
			}
		}
		data := phonesamples.Read(b, filepath.Clean(dir), f)
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		long := max(cfg.Width, cfg.Height)
		for _, scale := range c.scales {
			// The assembly (where this build has it) and the pure-Go transforms, side by side.
			for _, impl := range []string{simdImpl, "go"} {
				if impl == "" {
					continue // no assembly in this build: "go" alone
				}
				b.Run(fmt.Sprintf("%s/1/%d/%s", strings.TrimSuffix(c.name, ".jpg"), scale, impl), func(b *testing.B) {
					saved := useSIMD
					useSIMD = impl != "go"
					defer func() { useSIMD = saved }()
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
					start := threadCPU()
					for b.Loop() {
						if _, err := DecodeScaledBytes(data, long/scale); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64((threadCPU()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
				})
			}
		}
	}
}

// wallpapersDir is where infra/samples.sh puts the 5120x2880 wallpapers (git-ignored).
const wallpapersDir = "../../../../.cache/samples/usr/share/wallpapers"

// BenchmarkDecodeProgressive decodes the progressive 5120x2880 wallpapers (Flow, Volna) at 1/4,
// the size the pipeline's thumbnails take (5120 -> 1280 long side), reporting the decoding
// thread's CPU time per decode: on those the time is in the refinement scans.
func BenchmarkDecodeProgressive(b *testing.B) {
	for _, name := range []string{"Flow", "Volna"} {
		b.Run(name, func(b *testing.B) {
			data, err := os.ReadFile(filepath.Join(wallpapersDir, name, "contents/images/5120x2880.jpg"))
			if err != nil {
				b.Skipf("no wallpaper %s (run infra/samples.sh first): %v", name, err)
			}
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			start := threadCPU()
			for b.Loop() {
				if _, err := DecodeScaledBytes(data, 1280); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((threadCPU()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}
