package burst

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"medicpx/infra/testenv/apiclient"
	"medicpx/shared/catalog"
)

// Upload is one file of a mixed burst and what the processor must make of it.
type Upload struct {
	Data    []byte
	Invalid bool // must end rejected; every other upload must end ready
}

// MixedResult is what a mixed burst measured.
type MixedResult struct {
	Uploads, Invalid int
	Clients          int
	MinBytes, Bytes  int // the smallest upload, and all of them
	MaxBytes         int
	PutsDone         time.Duration // from the first PUT until every PUT had completed
	AllFinal         time.Duration // from the first PUT until every upload was ready or rejected
	// PUT-to-final latencies of the valid uploads: the median and the 95th percentile.
	P50, P95 time.Duration
}

// PerSecond is the throughput: uploads made final per second, from the first PUT.
func (r MixedResult) PerSecond() float64 { return float64(r.Uploads) / r.AllFinal.Seconds() }

func (r MixedResult) String() string {
	return fmt.Sprintf("%d uploads (%d invalid; %.2f–%.2f MB, %.0f MB in all) from %d clients: all PUTs done after %.1f s, all final after %.1f s: %.1f images/s; PUT-to-ready p50 %.1f s, p95 %.1f s",
		r.Uploads, r.Invalid, float64(r.MinBytes)/1e6, float64(r.MaxBytes)/1e6, float64(r.Bytes)/1e6, r.Clients,
		r.PutsDone.Seconds(), r.AllFinal.Seconds(), r.PerSecond(), r.P50.Seconds(), r.P95.Seconds())
}

// Mixed returns n uploads, the same every time, kept in dir (made once; dir may be ""): photos
// from about 0.2 to 8 MB (small phone pictures, 12-megapixel photos, and noisy ones near the
// limit), with invalid ones spread among them (a truncated JPEG, HTML and a PNG named .jpg).
func Mixed(n, invalid int, dir string) ([]Upload, error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	invalid = min(invalid, n)
	out := make([]Upload, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2) // two encodes at a time: the machine has other work
	for i := range n {
		bad := invalid > 0 && i%(n/invalid) == n/invalid-1 && i/(n/invalid) < invalid
		wg.Go(func() {
			path := filepath.Join(dir, fmt.Sprintf("mixed-%03d.jpg", i))
			if dir != "" {
				if b, err := os.ReadFile(path); err == nil {
					out[i] = Upload{Data: b, Invalid: bad}
					return
				}
			}
			sem <- struct{}{}
			defer func() { <-sem }()
			var data []byte
			switch {
			case bad:
				data = invalidFile(i)
			case i%6 >= 3 && i >= bigPhotos:
				// Encoding a 12-megapixel photo takes a second: the large ones repeat the first
				// few, each made distinct by a JPEG comment (which the processor strips).
				data = withComment(mixedPhoto(i%bigPhotos), fmt.Sprintf("burst upload %d", i))
			default:
				data = mixedPhoto(i)
			}
			out[i] = Upload{Data: data, Invalid: bad}
			if dir != "" {
				errs[i] = os.WriteFile(path, data, 0o644)
			}
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// bigPhotos: uploads from this index on reuse the large photos before it (Mixed).
const bigPhotos = 24

// withComment inserts a JPEG comment segment after SOI.
func withComment(jpg []byte, text string) []byte {
	seg := append([]byte{0xff, 0xfe, byte((len(text) + 2) >> 8), byte(len(text) + 2)}, text...)
	return slices.Concat(jpg[:2], seg, jpg[2:])
}

// mixedPhoto i: half small pictures (1200–2000 px, about 0.2–0.6 MB), a third 12-megapixel
// photos (4032x3024, 2–4 MB), the rest 12-megapixel with strong sensor noise (about 7–8 MB).
func mixedPhoto(i int) []byte {
	rng := rand.New(rand.NewPCG(uint64(i), 2))
	var w, h, noise, quality int
	switch i % 6 {
	case 0, 1, 2:
		long := 1200 + rng.IntN(801)
		w, h, noise, quality = long, long*3/4, 6, 85
	case 3, 4:
		w, h, noise, quality = 4032, 3024, 10+rng.IntN(8), 90
	default:
		w, h, noise, quality = 4032, 3024, 40+rng.IntN(10), 92
	}
	if i%2 == 1 {
		w, h = h, w
	}
	return waves(rng, w, h, noise, quality)
}

// invalidFile i: what the processor must refuse, of three kinds in turn.
func invalidFile(i int) []byte {
	switch i % 3 {
	case 0: // a JPEG cut off half-way: corrupt
		p := photo(i)
		return p[:len(p)/2]
	case 1: // HTML named .jpg: unsupported
		return bytes.Repeat([]byte("<html><body>not a photo</body></html>\n"), 2000)
	default: // a PNG's signature in a .jpg: type mismatch
		return append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 40000)...)
	}
}

// mixedPoll: each poll is a staff listing of the whole batch (3 S3 listings of up to 900 objects
// and 900 presigned URLs), which at 100 ms took a quarter of versitygw's CPU in the burst it
// measured; 500 ms costs a fifth of that and blurs latencies of tens of seconds by at most 0.5 s.
const mixedPoll = 500 * time.Millisecond

// RunMixed uploads every file at once from clients parallel clients (each asks for an upload URL,
// then PUTs, one file after another), then waits until every valid upload is listed ready and
// every invalid one is rejected, polling every mixedPoll; it fails after c.Timeout, and at once if
// an upload ends the wrong way (nothing may be lost). Times count from the first PUT.
func RunMixed(ctx context.Context, c Config, ups []Upload, clients int) (MixedResult, error) {
	res := MixedResult{Uploads: len(ups), Clients: clients, MinBytes: math.MaxInt}
	for _, u := range ups {
		res.Bytes += len(u.Data)
		res.MinBytes, res.MaxBytes = min(res.MinBytes, len(u.Data)), max(res.MaxBytes, len(u.Data))
		if u.Invalid {
			res.Invalid++
		}
	}
	prefix := fmt.Sprintf("mixed%d_", time.Now().UnixNano())
	sent := make([]uploaded, len(ups))
	errs := make([]error, len(ups))
	sums := make([]string, len(ups))
	for i, u := range ups {
		sums[i] = catalog.Checksum(u.Data)
	}
	next := make(chan int)
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for i := range next {
				g, err := c.presign(ctx, fmt.Sprintf("%s%03d.jpg", prefix, i), len(ups[i].Data), sums[i])
				if err == nil {
					sent[i], err = c.put(ctx, g, ups[i].Data)
				}
				errs[i] = err
			}
		})
	}
	for i := range ups {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return res, err
	}
	res.PutsDone = time.Since(start)

	invalid := map[string]bool{}
	for i, u := range ups {
		if u.Invalid {
			invalid[sent[i].key] = true
		}
	}
	final := map[string]time.Time{}
	deadline := start.Add(c.Timeout)
	for len(final) < len(ups) {
		list, err := c.client().List(ctx, c.Scenario, apiclient.ListOptions{})
		if err != nil {
			return res, err
		}
		rej, err := c.client().Rejections(ctx, c.Scenario)
		if err != nil {
			return res, err
		}
		now := time.Now()
		for _, im := range list.Images {
			if _, seen := final[im.S3Key]; !seen && im.Status == "ready" {
				if invalid[im.S3Key] {
					return res, fmt.Errorf("%s is ready, but it is not a valid image", im.S3Key)
				}
				final[im.S3Key] = now
			}
		}
		for _, r := range rej.Rejections {
			if _, seen := final[r.S3Key]; !seen {
				if !invalid[r.S3Key] {
					return res, fmt.Errorf("%s, a valid photo, was rejected: %s", r.S3Key, r.Reason)
				}
				final[r.S3Key] = now
			}
		}
		if now.After(deadline) {
			return res, fmt.Errorf("%d of %d uploads not final after %v", len(ups)-len(final), len(ups), c.Timeout)
		}
		time.Sleep(mixedPoll)
	}
	var lat []time.Duration
	for i, u := range sent {
		t := final[u.key]
		res.AllFinal = max(res.AllFinal, t.Sub(start))
		if !ups[i].Invalid {
			lat = append(lat, t.Sub(u.putDone))
		}
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		res.P50, res.P95 = quantile(lat, 0.50), quantile(lat, 0.95)
	}
	return res, nil
}
