package pipeline

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/disintegration/imaging"

	"medicpx/infra/testenv/phonesamples"
	"medicpx/processor/pipeline/internal/jpegscale"
	"medicpx/shared/imagepolicy"
)

// The benchmarks run on the real 5120x2880 photos that infra/samples.sh puts in .cache/samples
// (Debian's plasma-workspace-wallpapers). Run:
//
//	infra/samples.sh && go test ./processor/pipeline -run '^$' -bench . -benchmem -benchtime 1x
//
// BenchmarkPipeline and BenchmarkNaive time the same photos in one process; BenchmarkPeakRSS runs
// the processor and its peers (Pillow, libvips) on each photo, and on the 12 MP phone photos of
// ../shared/samples/phone, as whole processes and compares their CPU time and peak RSS in the
// same run; BenchmarkDecodeVsLibjpeg puts the JPEG decoder alone beside libjpeg-turbo's tjbench.

const samplesDir = "../../.cache/samples"

// envLaunch makes this test binary the launcher of one measured command (see launch): a JSON
// array, the command and its arguments.
const envLaunch = "MEDICPX_BENCH_LAUNCH"

func TestMain(m *testing.M) {
	if argv := os.Getenv(envLaunch); argv != "" {
		os.Exit(launch(argv))
	}
	os.Exit(m.Run())
}

// usage is what one whole process cost: CPU time (user + system) and peak RSS.
type usage struct {
	CPU    time.Duration
	PeakKB int64
}

// launch runs argv and prints its usage as JSON. It exists because the benchmark cannot read a
// child's peak RSS itself: Linux carries the high-water mark of the address space that execve
// replaces into the new program's maxrss, and Go starts children with CLONE_VM, so a child of the
// big benchmark process would "peak" at the benchmark's size. This launcher is a fresh, small
// process: what it carries into its own child is its few MB, below any figure measured here.
func launch(argvJSON string) int {
	var argv []string
	if err := json.Unmarshal([]byte(argvJSON), &argv); err != nil || len(argv) == 0 {
		fmt.Fprintf(os.Stderr, "%s: %q is not a command\n", envLaunch, argvJSON)
		return 2
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "%v: %v\n", argv, err)
		return 1
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	out, _ := json.Marshal(usage{
		CPU:    time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		PeakKB: ru.Maxrss, // kilobytes on Linux
	})
	fmt.Println(string(out))
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

// A peer is one way of making the two thumbnails of a photo, run as whole processes.
type peer struct {
	name    string
	missing string                             // why it cannot run here; "" when it can
	argvs   func(photo, out string) [][]string // the processes, run one after the other
}

// peers are the processor (the real binary, built as for Lambda: static, no cgo) and what it is
// compared with: Pillow done as in the AWS thumbnail tutorial (infra/bench/pillow_thumbnails.py,
// Debian's python3-pil) and libvips' vipsthumbnail once per size, as an on-demand resizer does
// (Debian's libvips-tools). `make bench` installs both when it runs as root.
func peers(b *testing.B) []peer {
	bin := filepath.Join(b.TempDir(), "medicpx-processor")
	build := exec.Command("go", "build", "-o", bin, "medicpx/processor/cmd/medicpx-processor")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building the processor: %v\n%s", err, out)
	}
	ps := []peer{{
		name: "processor",
		argvs: func(photo, out string) [][]string {
			return [][]string{{bin, "check", "-out", out, photo}}
		},
	}}

	// Debian's python3-pil is for Debian's python3, which may not be the first on PATH;
	// MEDICPX_BENCH_PYTHON names another interpreter.
	python := os.Getenv("MEDICPX_BENCH_PYTHON")
	if python == "" {
		python = "/usr/bin/python3"
		if _, err := os.Stat(python); err != nil {
			python = "python3"
		}
	}
	script, _ := filepath.Abs("../../infra/bench/pillow_thumbnails.py")
	pil := peer{name: "Pillow", argvs: func(photo, out string) [][]string {
		return [][]string{{python, script, photo, filepath.Join(out, "pillow")}}
	}}
	if out, err := exec.Command(python, "-c", "import PIL; print(PIL.__version__)").CombinedOutput(); err != nil {
		pil.missing = fmt.Sprintf("%s cannot import PIL (install python3-pil): %v %s", python, err, bytes.TrimSpace(out))
	} else {
		pil.name = "Pillow " + string(bytes.TrimSpace(out))
	}
	ps = append(ps, pil)

	vips := peer{name: "libvips", argvs: func(photo, out string) [][]string {
		var argvs [][]string
		for _, size := range imagepolicy.ThumbnailSizes {
			argvs = append(argvs, []string{"vipsthumbnail", photo, "--size", strconv.Itoa(size),
				"-o", filepath.Join(out, fmt.Sprintf("vips_%d.jpg[Q=%d]", size, JPEGQuality))})
		}
		return argvs
	}}
	if out, err := exec.Command("vips", "--version").Output(); err != nil {
		vips.missing = "vipsthumbnail is not installed (install libvips-tools)"
	} else if _, err := exec.LookPath("vipsthumbnail"); err != nil {
		vips.missing = "vipsthumbnail is not installed (install libvips-tools)"
	} else {
		vips.name = strings.Replace(string(bytes.TrimSpace(out)), "vips-", "libvips ", 1)
	}
	return append(ps, vips)
}

// measure runs p on photo as whole processes, each through the launcher: CPU adds up over its
// processes, peak RSS is the largest of them.
func (p peer) measure(b *testing.B, photo string) usage {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	var total usage
	for _, argv := range p.argvs(photo, b.TempDir()) {
		js, _ := json.Marshal(argv)
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), envLaunch+"="+string(js))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("%s on %s: %v\n%s", p.name, photo, err, stderr.Bytes())
		}
		var u usage
		if err := json.Unmarshal(out, &u); err != nil {
			b.Fatalf("%s on %s: launcher printed %q: %v", p.name, photo, out, err)
		}
		total.CPU += u.CPU
		total.PeakKB = max(total.PeakKB, u.PeakKB)
	}
	return total
}

// benchRuns is how often each peer runs on each photo; the best run counts (the least CPU, and
// separately the least peak RSS), which filters out what other load on the machine adds.
const benchRuns = 3

// BenchmarkPeakRSS runs the processor, Pillow and libvips on each photo as whole processes,
// interleaved, benchRuns times each, and prints per photo and in total their CPU seconds and peak
// MiB and the processor's ratios to each peer. A peer that is not installed is reported as not
// measured. It measures once, whatever b.N: run it with -benchtime=1x.
func BenchmarkPeakRSS(b *testing.B) {
	photos := append(samplePhotos(b), phonePhotos()...)
	ps := peers(b)
	for _, p := range ps {
		if p.missing != "" {
			fmt.Printf("%s: NOT MEASURED: %s\n", p.name, p.missing)
		}
	}
	best := make([][]usage, len(photos)) // [photo][peer]
	for range b.N {
		for i, photo := range photos {
			best[i] = make([]usage, len(ps))
			for run := range benchRuns {
				for j, p := range ps {
					if p.missing != "" {
						continue
					}
					u := p.measure(b, photo)
					if run == 0 || u.CPU < best[i][j].CPU {
						best[i][j].CPU = u.CPU
					}
					if run == 0 || u.PeakKB < best[i][j].PeakKB {
						best[i][j].PeakKB = u.PeakKB
					}
				}
			}
		}
	}

	var tab strings.Builder
	fmt.Fprintf(&tab, "whole processes, best of %d, CPU s (user+sys) and peak RSS MiB; ratio = processor / peer\n", benchRuns)
	fmt.Fprintf(&tab, "%-28s", "photo")
	for _, p := range ps {
		fmt.Fprintf(&tab, " | %-20s", p.name)
	}
	for _, p := range ps[1:] {
		fmt.Fprintf(&tab, " | vs %-16s", strings.Fields(p.name)[0])
	}
	tab.WriteString("\n")
	row := func(label string, us []usage) {
		fmt.Fprintf(&tab, "%-28s", label)
		for j, p := range ps {
			if p.missing != "" {
				fmt.Fprintf(&tab, " | %-20s", "not measured")
				continue
			}
			fmt.Fprintf(&tab, " | %5.2f s %7.1f MiB", us[j].CPU.Seconds(), float64(us[j].PeakKB)/1024)
		}
		for j, p := range ps[1:] {
			if p.missing != "" {
				fmt.Fprintf(&tab, " | %-19s", "-")
				continue
			}
			fmt.Fprintf(&tab, " | CPU x%.2f RSS x%.2f", us[0].CPU.Seconds()/us[j+1].CPU.Seconds(), float64(us[0].PeakKB)/float64(us[j+1].PeakKB))
		}
		tab.WriteString("\n")
	}
	total := make([]usage, len(ps))
	for i, photo := range photos {
		rel, _ := filepath.Rel(filepath.Join(samplesDir, "usr/share/wallpapers"), photo)
		label := strings.Replace(strings.TrimSuffix(rel, "/5120x2880.jpg"), "/contents/images", "", 1)
		label = strings.Replace(label, "_dark", " dark", 1)
		if strings.HasPrefix(photo, phoneDir) {
			label = "phone " + strings.SplitN(filepath.Base(photo), "_", 2)[0]
		}
		if progressiveJPEG(photo) {
			label += " (progressive)"
		} else {
			label += " (baseline)"
		}
		row(label, best[i])
		for j := range ps {
			total[j].CPU += best[i][j].CPU
			total[j].PeakKB = max(total[j].PeakKB, best[i][j].PeakKB)
		}
	}
	row("total CPU, largest peak", total)
	if len(phonePhotos()) == 0 {
		fmt.Fprintf(&tab, "phone photos NOT MEASURED: %s is absent\n", phoneDir)
	}
	// Printed, not logged: the testing package keeps only the first lines of a benchmark's log.
	fmt.Print(tab.String())
	for j, p := range ps[1:] {
		if p.missing != "" {
			continue
		}
		name := strings.ToLower(strings.Fields(p.name)[0])
		b.ReportMetric(total[0].CPU.Seconds()/total[j+1].CPU.Seconds(), "cpu-ratio-"+name)
		b.ReportMetric(float64(total[0].PeakKB)/float64(total[j+1].PeakKB), "rss-ratio-"+name)
	}
	b.ReportMetric(total[0].CPU.Seconds(), "processor-cpu-s")
}

// progressiveJPEG reports whether the JPEG at path is progressive (its frame header is SOF2).
func progressiveJPEG(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	for i := 2; i+4 <= len(data) && data[i] == 0xff; i += 2 + (int(data[i+2])<<8 | int(data[i+3])) {
		if m := data[i+1]; 0xc0 <= m && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc {
			return m == 0xc2
		}
	}
	return false
}

// phoneDir holds the real phone photos (../shared/samples/phone beside the repository, see
// phonesamples); they are read in place.
const phoneDir = "../../../shared/samples/phone"

// phone12MP are its 12 MP photos, both baseline 4:2:0, as phones write them: the decoder
// reduces them by 2 for the 1280 px thumbnail, where a 5120x2880 wallpaper is reduced by 4.
var phone12MP = []string{"pixel3axl_motionphoto.jpg", "pixel8pro_ultrahdr.jpg"}

// phonePhotos returns the paths of phone12MP, or none when the folder is absent.
func phonePhotos() []string {
	var out []string
	for _, name := range phone12MP {
		if p := filepath.Join(phoneDir, name); fileExists(p) {
			out = append(out, p)
		}
	}
	return out
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// decodeRuns is how often each decoder runs per photo and scale in BenchmarkDecodeVsLibjpeg;
// the least CPU time of the runs counts for each.
const decodeRuns = 5

// threadCPU is the calling thread's CPU time (RUSAGE_THREAD; the caller locks its OS thread).
func threadCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// tjbenchCPU runs tjbench on path at 1/scale for about a second and returns its CPU time per
// decode: the process's user+system time over the decodes it made, which are its frame rate
// times the process's wall time (an overcount by its setup, so the figure errs in tjbench's
// favour). tjbench's own figure is wall time, which on a shared machine counts the others' load.
func tjbenchCPU(b *testing.B, tj, path string, scale int) time.Duration {
	start := time.Now()
	cmd := exec.Command(tj, path, "-scale", fmt.Sprintf("1/%d", scale), "-benchtime", "1", "-warmup", "0", "-nowrite")
	out, err := cmd.CombinedOutput()
	wall := time.Since(start)
	m := regexp.MustCompile(`Frame rate:\s+([0-9.]+) fps`).FindSubmatch(out)
	if err != nil || m == nil {
		b.Fatalf("tjbench on %s: %v\n%s", path, err, out)
	}
	fps, _ := strconv.ParseFloat(string(m[1]), 64)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return time.Duration(float64(cpu) / (fps * wall.Seconds()))
}

// tjbenchTarget is issue 21's aim for jpegscale's 1/2 decode: at most this many times
// tjbench's CPU time on the same photo.
const tjbenchTarget = 1.5

// BenchmarkDecodeVsLibjpeg times jpegscale's decode of each 12 MP phone photo at 1/2 and 1/8 (the
// decoding thread's CPU time), with its assembly transforms and with its pure-Go ones, beside
// libjpeg-turbo's `tjbench -scale` on the same file (Debian's libjpeg-turbo-progs; one thread,
// CPU time per decode, see tjbenchCPU), interleaved, best of decodeRuns each, and prints all
// three, their ratios and whether the 1/2 decode meets tjbenchTarget. CPU time, not wall time:
// on a shared machine wall time counts whoever else holds the core. tjbench decodes to
// interleaved BGR, jpegscale to YCbCr planes: the floor does slightly more work than the decoder
// it is compared with. Run it with -benchtime=1x.
func BenchmarkDecodeVsLibjpeg(b *testing.B) {
	dir := phonesamples.Dir(b)
	tj, err := exec.LookPath("tjbench")
	if err != nil {
		fmt.Println("tjbench: NOT MEASURED: tjbench is not installed (install libjpeg-turbo-progs)")
	}
	asm := jpegscale.Assembly()
	defer jpegscale.SetAssembly(jpegscale.SetAssembly(true))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var tab strings.Builder
	fmt.Fprintf(&tab, "decode, one thread, CPU ms, best of %d; ratio = jpegscale / tjbench; asm = %s\n", decodeRuns, cmp.Or(asm, "none (pure Go)"))
	fmt.Fprintf(&tab, "%-28s %-6s %10s %10s %10s %9s %9s\n", "photo", "scale", "asm", "pure Go", "tjbench", "ratio asm", "ratio Go")
	for range b.N {
		for _, name := range phone12MP {
			path := filepath.Join(dir, name)
			data, err := os.ReadFile(path)
			if err != nil {
				b.Fatal(err)
			}
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
			if err != nil {
				b.Fatal(err)
			}
			long := max(cfg.Width, cfg.Height)
			for _, scale := range []int{2, 8} {
				// best[0]: with the assembly, best[1]: pure Go.
				var best [2]time.Duration
				var tjBest time.Duration
				for run := range decodeRuns {
					for i, on := range []bool{true, false} {
						jpegscale.SetAssembly(on)
						start := threadCPU()
						img, err := jpegscale.DecodeScaledBytes(data, long/scale)
						d := threadCPU() - start
						if err != nil {
							b.Fatal(err)
						}
						if got, want := img.Bounds().Dx(), (cfg.Width+scale-1)/scale; got != want {
							b.Fatalf("%s at 1/%d: %d px wide, want %d", name, scale, got, want)
						}
						if run == 0 || d < best[i] {
							best[i] = d
						}
					}
					if tj == "" {
						continue
					}
					if d := tjbenchCPU(b, tj, path, scale); run == 0 || d < tjBest {
						tjBest = d
					}
				}
				ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
				label := fmt.Sprintf("%s (%dx%d)", strings.SplitN(name, "_", 2)[0], cfg.Width, cfg.Height)
				if tj == "" {
					fmt.Fprintf(&tab, "%-28s 1/%-4d %10.1f %10.1f %10s %9s %9s\n", label, scale, ms(best[0]), ms(best[1]), "-", "-", "-")
					continue
				}
				ratio, ratioGo := float64(best[0])/float64(tjBest), float64(best[1])/float64(tjBest)
				fmt.Fprintf(&tab, "%-28s 1/%-4d %10.1f %10.1f %10.1f %8.2fx %8.2fx\n", label, scale, ms(best[0]), ms(best[1]), ms(tjBest), ratio, ratioGo)
				if scale == 2 {
					verdict := "met"
					if ratio > tjbenchTarget {
						verdict = "NOT MET"
					}
					fmt.Fprintf(&tab, "%-28s 1/2    target <= %.2fx tjbench: %s\n", "", tjbenchTarget, verdict)
				}
				if name == phone12MP[0] {
					b.ReportMetric(ratio, fmt.Sprintf("ratio-tjbench-1/%d", scale))
					b.ReportMetric(ratioGo, fmt.Sprintf("ratio-tjbench-go-1/%d", scale))
				}
			}
		}
	}
	fmt.Print(tab.String())
}
