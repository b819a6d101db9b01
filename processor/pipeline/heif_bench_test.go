package pipeline

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"medicpx/infra/testenv/heicsamples"
)

// BenchmarkHEICConversion converts each real HEIC/HEIF/AVIF sample (../shared/samples/heic) with
// the processor's `check` command (the real binary, static, no cgo: decode in the WebAssembly
// sandbox, thumbnails, JPEG original) and with libheif's own heif-convert (Debian
// libheif-examples: decode and a JPEG at quality 92, no thumbnails), as whole processes,
// interleaved, best of benchRuns, in the same run; and prints CPU seconds, peak RSS and the
// ratios. The processor's process also compiles the WebAssembly module, once per process (about
// 2 s of CPU here) as a cold Lambda does; "warm" is the same conversion inside this process with
// the module already compiled, what every later upload on a warm Lambda costs. Run:
//
//	go test ./processor/pipeline -run '^$' -bench HEICConversion -benchtime 1x
func BenchmarkHEICConversion(b *testing.B) {
	dir := heicsamples.Dir(b)
	bin := filepath.Join(b.TempDir(), "medicpx-processor")
	build := exec.Command("go", "build", "-tags", "nodynamic", "-o", bin, "medicpx/processor/cmd/medicpx-processor")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building the processor: %v\n%s", err, out)
	}
	hc, err := exec.LookPath("heif-convert")
	if err != nil {
		b.Fatalf("heif-convert (Debian libheif-examples) is the baseline: %v", err)
	}
	ps := []peer{
		{name: "processor", argvs: func(photo, out string) [][]string { return [][]string{{bin, "check", "-out", out, photo}} }},
		{name: "heif-convert", argvs: func(photo, out string) [][]string {
			return [][]string{{hc, "-q", "92", photo, filepath.Join(out, "out.jpg")}}
		}},
	}
	// The warm in-process conversion compiles the module first, outside the measurement.
	if _, err := Run(heicsamples.Read(b, dir, heicsamples.Files[2]), "heic"); err != nil {
		b.Fatal(err)
	}
	for range b.N {
		fmt.Printf("%-28s | %-22s | %-22s | %-10s | %s\n", "sample", "processor CPU s / MiB", "heif-convert CPU s / MiB", "warm CPU s", "ratio CPU (cold, warm), RSS")
		for _, f := range heicsamples.Files {
			photo := filepath.Join(dir, f.Name)
			best := make([]usage, len(ps))
			var warm time.Duration
			data := heicsamples.Read(b, dir, f)
			for run := range benchRuns {
				for j, p := range ps {
					u := p.measure(b, photo)
					if run == 0 || u.CPU < best[j].CPU {
						best[j].CPU = u.CPU
					}
					if run == 0 || u.PeakKB < best[j].PeakKB {
						best[j].PeakKB = u.PeakKB
					}
				}
				c0 := cpuTime()
				if _, err := Run(data, f.Ext); err != nil {
					b.Fatalf("%s: %v", f.Name, err)
				}
				if c := cpuTime() - c0; run == 0 || c < warm {
					warm = c
				}
			}
			p, h := best[0], best[1]
			fmt.Printf("%-28s | %6.2f s %6.0f MiB      | %6.2f s %6.0f MiB       | %6.2f s   | %.1fx, %.1fx, %.1fx\n", f.Name,
				p.CPU.Seconds(), float64(p.PeakKB)/1024, h.CPU.Seconds(), float64(h.PeakKB)/1024, warm.Seconds(),
				p.CPU.Seconds()/h.CPU.Seconds(), warm.Seconds()/h.CPU.Seconds(), float64(p.PeakKB)/float64(h.PeakKB))
		}
	}
}
