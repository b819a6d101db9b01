package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"medicpx/processor/pipeline/internal/jpegscale"
	"medicpx/processor/pipeline/internal/jpegtest"
)

// hostileInputs are the committed hostile corpus and the generated files that come closest to
// the decoder's work limits, each with the CPU cost of a normal file to compare with.
func hostileInputs(b *testing.B) map[string][]byte {
	files, err := filepath.Glob(filepath.Join(fixtureDir, "hostile", "*"))
	if err != nil || len(files) == 0 {
		b.Fatalf("no hostile corpus: %v", err)
	}
	in := map[string][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		in["hostile/"+filepath.Base(f)] = data
	}
	narrow := jpegtest.Scan{Ss: 1, Se: 1, Ah: 1}
	with := func(first []jpegtest.Scan, n int, more jpegtest.Scan) []jpegtest.Scan {
		for range n {
			first = append(first, more)
		}
		return first
	}
	dc := []jpegtest.Scan{jpegtest.DC}
	in["generated/bomb-1000-refinements.jpg"] = jpegtest.Bomb(7000, 7000, 1000)
	// The most scans allowed, each a pass over 765,625 blocks, and one more.
	in["generated/max-scans.jpg"] = jpegtest.Progressive(7000, 7000, with(dc, jpegscale.MaxScans-1, narrow))
	in["generated/max-scans-plus-1.jpg"] = jpegtest.Progressive(7000, 7000, with(dc, jpegscale.MaxScans, narrow))
	// The most full-band passes allowed at the largest size decoded with every coefficient
	// kept (1/2 scale), and one more.
	full := (jpegscale.MaxCoefficientPasses*64 - 64) / 63
	in["generated/max-passes-5119.jpg"] = jpegtest.Bomb(5119, 5119, full)
	in["generated/max-passes-plus-1-5119.jpg"] = jpegtest.Bomb(5119, 5119, full+1)
	in["generated/apng-5000-frames.png"] = makeAPNG(5000)
	// Issue 16's animation bomb, the animation at both limits (refused only by the frames × screen
	// bound on the frame after), and the most frames the GIF walk can be made to count.
	in["generated/gif-1000-frames-50mp.gif"] = animatedGIF(10000, 5000, 1000, 1)
	in["generated/gif-4-frames-50mp.gif"] = animatedGIF(10000, 5000, 4, 1)
	in["generated/gif-500-frames-800x500.gif"] = animatedGIF(800, 500, 500, 1)
	in["generated/gif-most-frames-10mib.gif"] = mostFramesGIF()
	// Baselines: the same sizes with an ordinary progression (DC, AC, one refinement).
	in["baseline/7000.jpg"] = jpegtest.Bomb(7000, 7000, 1)
	in["baseline/5119.jpg"] = jpegtest.Bomb(5119, 5119, 1)
	return in
}

// BenchmarkHostileCPU runs the pipeline on every hostile input and reports its CPU time per run
// (all threads), so the worst file of the corpus can be read off and compared with the baselines,
// normal files of the same size in the same run. Every input must reach a final status: a result
// or a rejection. Run it once per file:
//
//	go test ./processor/pipeline -run '^$' -bench HostileCPU -benchtime 1x
func BenchmarkHostileCPU(b *testing.B) {
	for name, data := range hostileInputs(b) {
		ext := strings.TrimPrefix(filepath.Ext(name), ".")
		b.Run(name, func(b *testing.B) {
			start, n := cpuTime(), 0
			var reason Reason = "ready"
			for b.Loop() {
				_, err := Run(data, ext)
				if r, ok := AsRejected(err); ok {
					reason = r.Reason
				} else if err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64((cpuTime()-start).Milliseconds())/float64(n), "cpu-ms/op")
			b.Logf("%s: %s, %d bytes", name, reason, len(data))
		})
	}
}
