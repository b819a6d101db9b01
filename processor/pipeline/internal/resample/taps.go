package resample

import (
	"math"
	"sync"
)

// Taps are, for each output position along one axis, the first source position and the
// weights of the N source positions from there, with WeightBits fractional bits. Every output
// has N weights, the longest window's count: a shorter one is padded with zero weights (moved
// left at the far edge to stay inside the source), which add nothing to its sum, so the loops
// run over one flat slice.
type Taps struct {
	Start   []int
	N       int
	Weights []int32 // N per output
}

// Lanczos maps src positions to dst ones with a Lanczos-3 filter (disintegration/imaging's):
// output i covers the source interval [i*src/dst, (i+1)*src/dst), and the filter widens with
// the reduction, as imaging's does. The source is read through samples that each stand for sub
// positions: the weights of the positions a sample stands for are added up onto it. Equal sizes
// copy.
//
// The taps are shared with other calls for the same sizes (see tapsCache): read them only.
func Lanczos(dst, src, sub int) Taps { return cached(dst, src, sub, 1) }

// Halved is Lanczos for the subsampled chroma of a dst-wide picture: (dst+1)/2 outputs, output i
// the average of Lanczos's outputs 2i and 2i+1 (output 2i alone for the last one when dst is odd),
// as a JPEG encoder subsamples full-resolution chroma. The filter is linear, so averaging the
// taps makes the same outputs as averaging the pixels they make (but for rounding), with a window
// only a little wider than Lanczos's: a quarter of the work down, half of it across.
func Halved(dst, src, sub int) Taps { return cached(dst, src, sub, 2) }

// cached is lanczos through tapsCache.
func cached(dst, src, sub, span int) Taps {
	k := [4]int{dst, src, sub, span}
	tapsCache.mu.Lock()
	t, ok := tapsCache.m[k]
	tapsCache.mu.Unlock()
	if ok {
		return t
	}
	t = lanczos(dst, src, sub, span)
	tapsCache.mu.Lock()
	if len(tapsCache.m) >= tapsCacheMax {
		clear(tapsCache.m)
	}
	tapsCache.m[k] = t
	tapsCache.mu.Unlock()
	return t
}

// tapsCache keeps the taps of the sizes resized lately: a camera's photos all have the same
// sizes, so the same taps, and computing them (two math.Sin a weight) was 1.3% of the
// processor's CPU in a burst of 12-megapixel photos. Bounded: a full cache starts over.
var tapsCache = struct {
	mu sync.Mutex
	m  map[[4]int]Taps
}{m: map[[4]int]Taps{}}

// tapsCacheMax bounds tapsCache: an entry for a 1280-wide output is about 60 KB.
const tapsCacheMax = 32

// lanczos is Lanczos (span 1) or Halved (span 2), computed: (dst+span-1)/span outputs, each the
// average of span of dst's (fewer at the far edge).
func lanczos(dst, src, sub, span int) Taps {
	const support = 3.0
	scale := float64(src) / float64(dst)
	width := max(scale, 1)
	outs := (dst + span - 1) / span
	starts := make([]int, outs)
	ends := make([]int, outs)    // windows[i] is fixed[ends[i-1]:ends[i]]
	var fixed []int32            // every output's weights, one after the other
	var ws, vs, folded []float64 // scratch, reused from one output to the next
	n := 1
	for i := range outs {
		first, last := i*span, min(i*span+span, dst)-1 // dst's outputs averaged
		lo, hi := first, last
		if dst != src {
			lo = max(0, int(math.Ceil((float64(first)+0.5)*scale-0.5-support*width)))
			hi = min(src-1, int(math.Floor((float64(last)+0.5)*scale-0.5+support*width)))
		}
		ws = append(ws[:0], make([]float64, hi-lo+1)...)
		share := 1 / float64(last-first+1)
		for o := first; o <= last; o++ {
			if dst == src {
				ws[o-lo] += share
				continue
			}
			center := (float64(o)+0.5)*scale - 0.5
			olo := max(0, int(math.Ceil(center-support*width)))
			ohi := min(src-1, int(math.Floor(center+support*width)))
			vs = vs[:0]
			var sum float64
			for j := olo; j <= ohi; j++ {
				v := lanczos3((float64(j) - center) / width)
				vs = append(vs, v)
				sum += v
			}
			for j, v := range vs {
				ws[olo-lo+j] += share * v / sum
			}
		}
		folded = append(folded[:0], make([]float64, hi/sub-lo/sub+1)...)
		for j, v := range ws {
			folded[(lo+j)/sub-lo/sub] += v
		}
		for _, v := range folded {
			fixed = append(fixed, int32(math.Round(v*(1<<WeightBits))))
		}
		starts[i], ends[i] = lo/sub, len(fixed)
		n = max(n, len(folded))
	}
	samples := (src + sub - 1) / sub
	t := Taps{Start: starts, N: n, Weights: make([]int32, n*outs)}
	from := 0
	for i, end := range ends {
		pad := max(0, starts[i]+n-samples) // zero weights before the window, at the far edge
		t.Start[i] -= pad
		copy(t.Weights[i*n+pad:], fixed[from:end])
		from = end
	}
	return t
}

func lanczos3(x float64) float64 {
	x = math.Abs(x)
	if x >= 3 {
		return 0
	}
	if x < 1e-9 {
		return 1
	}
	px := math.Pi * x
	return 3 * math.Sin(px) * math.Sin(px/3) / (px * px)
}
