// Package burst measures upload-to-ready latency on a running stack (`make burst`): phone-sized
// JPEGs uploaded all at once through the API's presigned URLs, then, for each, the time from the
// end of its PUT until the API lists it as ready; and single uploads, one at a time, polled
// through their status URLs.
package burst

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
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

// Config is where to upload and how long to wait.
type Config struct {
	APIURL   string // the API's base URL
	Token    string // a professor's or admin's token
	Scenario string // the scenario uploads go to
	Timeout  time.Duration
}

// Result is what a burst measured.
type Result struct {
	Uploads  int
	Bytes    int
	PutsDone time.Duration // from the first PUT until every PUT had completed
	AllReady time.Duration // from the first PUT until every upload was listed ready
	// PUT-to-ready latencies over the uploads: the median, the 95th percentile and the worst.
	P50, P95, Max time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("%d uploads (%.1f MB): all PUTs done after %.1f s, all ready after %.1f s; PUT-to-ready p50 %.1f s, p95 %.1f s, max %.1f s",
		r.Uploads, float64(r.Bytes)/1e6, r.PutsDone.Seconds(), r.AllReady.Seconds(), r.P50.Seconds(), r.P95.Seconds(), r.Max.Seconds())
}

// Photos returns n phone-sized JPEGs (long edge 1200 to 2560 px, 4:3, portrait and landscape,
// quality 90, 4:2:0), the same ones every time: kept in dir (made once; dir may be "").
func Photos(n int, dir string) ([][]byte, error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	out := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2) // two encodes at a time: the machine has other work
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := filepath.Join(dir, fmt.Sprintf("%03d.jpg", i))
			if dir != "" {
				if b, err := os.ReadFile(path); err == nil {
					out[i] = b
					return
				}
			}
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = photo(i)
			if dir != "" {
				errs[i] = os.WriteFile(path, out[i], 0o644)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// photo i: waves across and down plus sensor-like noise, so it compresses like a photo (about
// 1.5 bits a pixel).
func photo(i int) []byte {
	rng := rand.New(rand.NewPCG(uint64(i), 1))
	long := 1200 + rng.IntN(2560-1200+1)
	w, h := long, long*3/4
	if i%2 == 1 {
		w, h = h, w
	}
	return waves(rng, w, h, 6, 90)
}

// waves is a w x h JPEG of waves across and down plus sensor-like noise of the given amplitude, at
// the given quality (4:2:0).
func waves(rng *rand.Rand, w, h, noise, quality int) []byte {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	fx, fy := 10+rng.Float64()*30, 10+rng.Float64()*30
	across := make([]float64, w)
	for x := range across {
		across[x] = 60*math.Sin(float64(x)/fx) + 20*math.Sin(float64(x)/3.1)
	}
	for y := range h {
		down := 40 * math.Sin(float64(y)/fy)
		row := img.Y[y*img.YStride:]
		for x := range w {
			row[x] = uint8(min(max(128+across[x]+down+float64(rng.IntN(2*noise+1)-noise), 0), 255))
		}
	}
	for y := range (h + 1) / 2 {
		for x := range (w + 1) / 2 {
			img.Cb[y*img.CStride+x] = uint8(128 + 40*math.Sin(float64(x)/50))
			img.Cr[y*img.CStride+x] = uint8(128 + 40*math.Cos(float64(y)/60))
		}
	}
	var buf bytes.Buffer
	_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}) // cannot fail on a bytes.Buffer
	return buf.Bytes()
}

// uploaded is one upload: its key and where to ask about it.
type uploaded struct {
	key, statusURL string
	putDone        time.Time
}

// presign asks the API for a presigned PUT, once: any refusal is a failure of the burst. (The API
// records each upload in its own object, so concurrent upload URLs for one scenario never race;
// a 409 here would be a regression to report, not a reason to try again.) Like the page, it
// declares the bytes' SHA-256 (sum, computed before the clock starts): S3 checks the bytes
// against it and the processor takes it from S3 rather than hashing them again.
func (c Config) presign(ctx context.Context, name string, size int, sum string) (*apiclient.UploadGrant, error) {
	r := apiclient.PutRequest(name, size)
	r.ChecksumSHA256 = sum
	return c.client().UploadURL(ctx, c.Scenario, r)
}

// put sends photo through a presigned PUT.
func (c Config) put(ctx context.Context, u *apiclient.UploadGrant, photo []byte) (uploaded, error) {
	if _, err := u.Put(ctx, photo, nil); err != nil {
		return uploaded{}, err
	}
	return uploaded{key: u.S3Key, statusURL: u.StatusURL, putDone: time.Now()}, nil
}

func (c Config) client() *apiclient.Client { return apiclient.New(c.APIURL, c.Token) }

// Run has the API presign an upload for every photo, then sends all the PUTs at once and waits,
// polling the scenario's listing every 100 ms, until all are listed ready, or fails after
// c.Timeout saying how many were not. Times count from the first PUT.
func Run(ctx context.Context, c Config, photos [][]byte) (Result, error) {
	prefix := fmt.Sprintf("burst%d_", time.Now().UnixNano())
	urls := make([]*apiclient.UploadGrant, len(photos))
	ups := make([]uploaded, len(photos))
	errs := make([]error, len(photos))
	res := Result{Uploads: len(photos)}
	var wg sync.WaitGroup
	for i, p := range photos {
		res.Bytes += len(p)
		wg.Add(1)
		go func() {
			defer wg.Done()
			urls[i], errs[i] = c.presign(ctx, fmt.Sprintf("%s%03d.jpg", prefix, i), len(p), catalog.Checksum(p))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return res, err
	}
	start := time.Now()
	for i, p := range photos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ups[i], errs[i] = c.put(ctx, urls[i], p)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return res, err
	}
	res.PutsDone = time.Since(start)

	ready := map[string]time.Time{}
	deadline := start.Add(c.Timeout)
	for len(ready) < len(ups) {
		list, err := c.client().List(ctx, c.Scenario, apiclient.ListOptions{})
		if err != nil {
			return res, err
		}
		now := time.Now()
		for _, im := range list.Images {
			if _, seen := ready[im.S3Key]; !seen && im.Status == "ready" {
				ready[im.S3Key] = now
			}
		}
		if now.After(deadline) {
			return res, fmt.Errorf("%d of %d uploads not ready after %v", len(ups)-len(ready), len(ups), c.Timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var lat []time.Duration
	for _, u := range ups {
		t, ok := ready[u.key]
		if !ok {
			return res, fmt.Errorf("%s was not listed", u.key)
		}
		lat = append(lat, t.Sub(u.putDone))
		res.AllReady = max(res.AllReady, t.Sub(start))
	}
	slices.Sort(lat)
	res.P50, res.P95, res.Max = quantile(lat, 0.50), quantile(lat, 0.95), lat[len(lat)-1]
	return res, nil
}

// quantile is the q-quantile of sorted, non-empty latencies (the nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	return sorted[max(int(math.Ceil(q*float64(len(sorted))))-1, 0)]
}

// Single uploads one photo alone and returns the time from the end of its PUT until its status
// URL, polled every 20 ms, says ready.
func Single(ctx context.Context, c Config, photo []byte) (time.Duration, error) {
	p, err := c.presign(ctx, fmt.Sprintf("single%d.jpg", time.Now().UnixNano()), len(photo), catalog.Checksum(photo))
	if err != nil {
		return 0, err
	}
	u, err := c.put(ctx, p, photo)
	if err != nil {
		return 0, err
	}
	for {
		st, err := c.client().StatusAt(ctx, u.statusURL)
		if err != nil {
			return 0, err
		}
		switch st.Status {
		case "ready":
			return time.Since(u.putDone), nil
		case "rejected":
			return 0, fmt.Errorf("%s was rejected: %s", u.key, st.Reason)
		}
		if time.Since(u.putDone) > c.Timeout {
			return 0, fmt.Errorf("%s not ready after %v", u.key, c.Timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
