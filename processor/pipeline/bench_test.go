package pipeline

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/disintegration/imaging"
)

// The benchmarks run on the real 5120x2880 photos that infra/samples.sh puts in .cache/samples
// (Debian's plasma-workspace-wallpapers). Run:
//
//	infra/samples.sh && go test ./processor/pipeline -run '^$' -bench . -benchmem
//
// BenchmarkPipeline and BenchmarkNaive time the same photos in one process; BenchmarkPeakRSS runs
// each pipeline once per photo in a fresh child process and compares their peak RSS and CPU time.

const samplesDir = "../../.cache/samples"

// Child-process protocol of BenchmarkPeakRSS: TestMain runs one pipeline on one photo and exits.
const (
	envChild = "MEDICPX_BENCH_CHILD" // "pipeline" or "naive"
	envPhoto = "MEDICPX_BENCH_PHOTO"
)

func TestMain(m *testing.M) {
	if which := os.Getenv(envChild); which != "" {
		os.Exit(runChild(which, os.Getenv(envPhoto)))
	}
	os.Exit(m.Run())
}

func runChild(which, photo string) int {
	data, err := os.ReadFile(photo)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := pipelines[which](data); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The parent cannot use the child's Rusage.Maxrss: Linux carries the high-water mark of the
	// address space replaced by execve into it, and Go starts children with CLONE_VM, so a child
	// of a big benchmark process "peaks" at its parent's size. VmHWM is this address space's own.
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	for line := range strings.Lines(string(status)) {
		if strings.HasPrefix(line, "VmHWM:") {
			fmt.Print(line)
		}
	}
	return 0
}

var pipelines = map[string]func(data []byte) error{
	"pipeline": func(data []byte) error {
		_, err := Run(data, "jpg")
		return err
	},
	"naive": naive,
}

// naive is what most Go thumbnail code does: decode to a full-size image with EXIF orientation
// applied, then resize the full-size image once per thumbnail, and encode each.
func naive(data []byte) error {
	img, err := imaging.Decode(bytes.NewReader(data), imaging.AutoOrientation(true))
	if err != nil {
		return err
	}
	b := img.Bounds()
	for _, size := range []int{1280, 320} {
		w, h := fit(b.Dx(), b.Dy(), size)
		t := imaging.Thumbnail(img, w, h, imaging.Lanczos)
		if err := jpeg.Encode(new(bytes.Buffer), t, &jpeg.Options{Quality: JPEGQuality}); err != nil {
			return err
		}
	}
	return nil
}

// samplePhotos returns the 5120x2880 JPEGs under .cache/samples, by header, not by name.
func samplePhotos(b *testing.B) []string {
	b.Helper()
	all, _ := filepath.Glob(filepath.Join(samplesDir, "usr/share/wallpapers/*/contents/*/*.jpg"))
	var photos []string
	for _, p := range all {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		cfg, err := jpeg.DecodeConfig(f)
		f.Close()
		if err == nil && cfg.Width == 5120 && cfg.Height == 2880 {
			photos = append(photos, p)
		}
	}
	if len(photos) == 0 {
		b.Fatalf("no 5120x2880 sample photos in %s: run infra/samples.sh first", samplesDir)
	}
	return photos
}

func readPhotos(b *testing.B) [][]byte {
	var out [][]byte
	for _, p := range samplePhotos(b) {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}

// cpuTime is this process's user+system CPU time: imaging resizes on every core, so wall time
// per op would flatter it.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchPipeline(b *testing.B, which string) {
	photos := readPhotos(b)
	run := pipelines[which]
	b.ReportAllocs()
	start, i := cpuTime(), 0
	for b.Loop() {
		if err := run(photos[i%len(photos)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(i), "cpu-ns/op")
}

func BenchmarkPipeline(b *testing.B) { benchPipeline(b, "pipeline") }
func BenchmarkNaive(b *testing.B)    { benchPipeline(b, "naive") }

// BenchmarkPeakRSS runs each pipeline on each photo in a fresh process (this test binary,
// re-executed): peak RSS is the child's VmHWM (see runChild), CPU time its rusage. It measures once,
// whatever b.N: run it with -benchtime=1x.
func BenchmarkPeakRSS(b *testing.B) {
	photos := samplePhotos(b)
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	measure := func(which, photo string) (rssKB int64, cpu time.Duration) {
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), envChild+"="+which, envPhoto+"="+photo)
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("%s child on %s: %v\n%s", which, photo, err, out)
		}
		if _, err := fmt.Sscanf(string(out), "VmHWM: %d kB", &rssKB); err != nil {
			b.Fatalf("%s child on %s printed %q: %v", which, photo, out, err)
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		return rssKB, time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	var worstRSS, worstCPU, sumRSS, sumCPU float64
	for range b.N {
		worstRSS, worstCPU, sumRSS, sumCPU = 0, 0, 0, 0
		for _, photo := range photos {
			prss, pcpu := measure("pipeline", photo)
			nrss, ncpu := measure("naive", photo)
			rr, cr := float64(prss)/float64(nrss), pcpu.Seconds()/ncpu.Seconds()
			b.Logf("%-60s pipeline %4d MB %6.0f ms | naive %4d MB %6.0f ms | RSS x%.2f CPU x%.2f",
				photo[len(samplesDir)+1:], prss>>10, pcpu.Seconds()*1000, nrss>>10, ncpu.Seconds()*1000, rr, cr)
			worstRSS, worstCPU = max(worstRSS, rr), max(worstCPU, cr)
			sumRSS += rr
			sumCPU += cr
		}
	}
	n := float64(len(photos))
	b.ReportMetric(worstRSS, "worst-rss-ratio")
	b.ReportMetric(sumRSS/n, "mean-rss-ratio")
	b.ReportMetric(worstCPU, "worst-cpu-ratio")
	b.ReportMetric(sumCPU/n, "mean-cpu-ratio")
}
