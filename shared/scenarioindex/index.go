// Package scenarioindex keeps the scenarios index (keys.IndexKey): for every scenario that has
// ready images, how many, the thumbnail of its cover (the pinned image, else the first ready one
// in the scenario's order) and when its newest ready image became ready. The staff's scenario
// home reads this one object instead of listing every scenario, which would cost a call or more
// per scenario.
//
// It is derived data. A writer never edits an entry: it recomputes the scenario's entry from S3
// (Summarize: the scenario's listings, catalog and pin, a fixed number of calls) and writes the
// index conditionally (If-Match on the ETag it read before the scan, If-None-Match: * for the
// first), reading and recomputing again when another writer got there first. Since each write
// is based on a scan that began after the version it replaces was read, the last write always
// holds the latest scan, whatever the interleaving. The processor refreshes a scenario when an
// image becomes ready; the API when an image is deleted, permanently deleted, restored or pinned,
// or the order changes. A refresh that failed (S3 down, a crash) is healed by the whole sweep,
// which rebuilds the index from a scan of the bucket (Rebuild).
package scenarioindex

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"medicpx/shared/catalog"
	"medicpx/shared/imagepolicy"
	"medicpx/shared/keys"
	"medicpx/shared/s3client"
)

// Index is what keys.IndexKey holds.
type Index struct {
	Scenarios map[string]Summary `json:"scenarios"`
}

// Summary is one scenario's entry. A scenario without ready images has none.
type Summary struct {
	Count int `json:"count"`
	// Cover is the key of the cover's small thumbnail.
	Cover        string    `json:"cover"`
	LastModified time.Time `json:"last_modified"`
}

// Store is the part of S3 the index uses.
type Store interface {
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

var _ Store = (*s3.Client)(nil)

const (
	// MaxBytes bounds a read of the index: an entry takes about 200 bytes, so this is room for
	// tens of thousands of scenarios.
	MaxBytes = 16 << 20
	// attempts and backoffCap: as shared/catalog, since a batch of uploads finishing together
	// refreshes one scenario from several processors at once.
	attempts   = 40
	backoffCap = 200 * time.Millisecond
	// rebuildAttempts: a rebuild that lost its write to a refresh scans again, a few times; the
	// next sweep tries again after that.
	rebuildAttempts = 3
	// rebuildReads is how many scenarios' catalogs and pins a rebuild reads at once.
	rebuildReads = 8
)

// ErrBusy: other writers kept winning for every attempt.
var ErrBusy = errors.New("scenarios index changed while it was being updated, on every attempt")

// Read returns the index and its ETag ("" when there is none yet). An unreadable index reads as
// empty: it is derived, and the next write replaces it.
func Read(ctx context.Context, st Store, bucket string) (*Index, string, error) {
	out, err := st.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(keys.IndexKey)})
	if s3client.IsNotFound(err) {
		return &Index{Scenarios: map[string]Summary{}}, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read scenarios index: %w", err)
	}
	defer out.Body.Close()
	ix := &Index{}
	if err := json.NewDecoder(io.LimitReader(out.Body, MaxBytes)).Decode(ix); err != nil || ix.Scenarios == nil {
		ix = &Index{Scenarios: map[string]Summary{}}
	}
	return ix, aws.ToString(out.ETag), nil
}

// write stores ix conditionally on etag; it reports false when another writer won.
func write(ctx context.Context, st Store, bucket string, ix *Index, etag string) (bool, error) {
	body, err := json.Marshal(ix)
	if err != nil {
		return false, err
	}
	in := &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(keys.IndexKey),
		Body: bytes.NewReader(body), ContentType: aws.String("application/json"),
	}
	if etag == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(etag)
	}
	_, err = st.PutObject(ctx, in)
	switch s3client.HTTPStatus(err) {
	case 0:
		if err != nil {
			return false, fmt.Errorf("write scenarios index: %w", err)
		}
		return true, nil
	case http.StatusPreconditionFailed, http.StatusConflict:
		return false, nil
	}
	return false, fmt.Errorf("write scenarios index: %w", err)
}

func backoff(ctx context.Context, attempt int) error {
	return s3client.Backoff(ctx, attempt, 5*time.Millisecond, backoffCap)
}

// Refresh recomputes one scenario's entry and writes it if it changed.
func Refresh(ctx context.Context, st Store, bucket, scenario string) error {
	for attempt := 0; attempt < attempts; attempt++ {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return err
			}
		}
		// The index first, the scan after: see the package comment.
		ix, etag, err := Read(ctx, st, bucket)
		if err != nil {
			return err
		}
		sum, err := Summarize(ctx, st, bucket, scenario)
		if err != nil {
			return err
		}
		if !set(ix, scenario, sum) {
			return nil
		}
		if ok, err := write(ctx, st, bucket, ix, etag); ok || err != nil {
			return err
		}
	}
	return ErrBusy
}

// set puts sum in as the scenario's entry (none when it has no ready image) and reports whether
// that changed anything.
func set(ix *Index, scenario string, sum Summary) bool {
	cur, had := ix.Scenarios[scenario]
	if sum.Count == 0 {
		delete(ix.Scenarios, scenario)
		return had
	}
	ix.Scenarios[scenario] = sum
	return !had || cur.Count != sum.Count || cur.Cover != sum.Cover || !cur.LastModified.Equal(sum.LastModified)
}

// Names reports whether the index holds a key of the upload id of the scenario (its cover): a
// permanent delete is not finished while it does.
func Names(ctx context.Context, st Store, bucket, scenario, id string) (bool, error) {
	ix, _, err := Read(ctx, st, bucket)
	if err != nil {
		return false, err
	}
	return strings.Contains(ix.Scenarios[scenario].Cover, id), nil
}

// scan is what Summarize needs of one scenario, or of every scenario at once (Rebuild).
type scan struct {
	originals map[string][]types.Object               // by scenario
	thumbs    map[string]map[string]keys.ThumbnailSet // by scenario, then upload id
	dead      map[string]bool                         // ID hashes with a tombstone, by "scenario/hash"
}

func newScan() *scan {
	return &scan{originals: map[string][]types.Object{}, thumbs: map[string]map[string]keys.ThumbnailSet{}, dead: map[string]bool{}}
}

// add files one listed object under the images prefix: an original or a thumbnail.
func (sc *scan) add(o types.Object) {
	k, err := keys.Parse(aws.ToString(o.Key))
	if err != nil {
		return
	}
	switch k.Kind {
	case keys.Original:
		sc.originals[k.Scenario] = append(sc.originals[k.Scenario], o)
	case keys.Thumbnail:
		if sc.thumbs[k.Scenario] == nil {
			sc.thumbs[k.Scenario] = map[string]keys.ThumbnailSet{}
		}
		if sc.thumbs[k.Scenario][k.ID] == nil {
			sc.thumbs[k.Scenario][k.ID] = keys.ThumbnailSet{}
		}
		sc.thumbs[k.Scenario][k.ID].Add(k, aws.ToTime(o.LastModified))
	}
}

// addRetired files one listed object under retired/.
func (sc *scan) addRetired(o types.Object) {
	rest := strings.TrimPrefix(aws.ToString(o.Key), keys.RetiredRoot+keys.Root+"scenario_")
	scenario, _, ok := strings.Cut(rest, "/")
	if !ok || !keys.ValidScenario(scenario) {
		return
	}
	if h, ok := keys.RetiredHash(aws.ToString(o.Key), scenario); ok {
		sc.dead[scenario+"/"+h] = true
	}
}

// readyImage is one ready upload of a scenario, as the summary weighs it.
type readyImage struct {
	key   keys.Key
	obj   types.Object
	thumb keys.ListedThumbnail // the small one: the cover's image
	ready time.Time            // when its thumbnails were written
}

// summarize computes a scenario's entry from its scan, its catalog and its pin.
func (sc *scan) summarize(scenario string, c *catalog.Catalog, pin string) Summary {
	var ready []readyImage
	for _, o := range sc.originals[scenario] {
		k, err := keys.Parse(aws.ToString(o.Key))
		if err != nil {
			continue
		}
		set := sc.thumbs[scenario][k.ID]
		if !set.Ready() || sc.dead[scenario+"/"+keys.IDHash(k.ID)] {
			// Not ready, or deleted (a delete in progress, or a promotion that lost to one).
			continue
		}
		im := readyImage{key: k, obj: o, thumb: set[imagepolicy.ThumbnailSizes[0]]}
		for _, t := range set {
			im.ready = maxTime(im.ready, t.Modified)
		}
		ready = append(ready, im)
	}
	if len(ready) == 0 {
		return Summary{}
	}
	sum := Summary{Count: len(ready)}
	for _, im := range ready {
		sum.LastModified = maxTime(sum.LastModified, maxTime(im.ready, aws.ToTime(im.obj.LastModified)))
	}
	sum.LastModified = sum.LastModified.UTC()
	// The cover is what the representative route answers: the pin while its image is ready and
	// not deleted, else the first ready image in the scenario's order.
	for _, im := range ready {
		if im.key.String() == pin {
			sum.Cover = im.thumb.Key
			return sum
		}
	}
	compare := c.Compare()
	at := func(im readyImage) catalog.Place {
		p := catalog.Place{ID: im.key.ID, Modified: aws.ToTime(im.obj.LastModified), Key: im.key.String()}
		p.Class, p.N = catalog.UploadRank(c.Entry(im.key.ID))
		return p
	}
	first := slices.MinFunc(ready, func(a, b readyImage) int { return compare(at(a), at(b)) })
	sum.Cover = first.thumb.Key
	return sum
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// pinned returns the scenario's pinned key, "" when none (or unreadable: the cover then falls
// back to the order, as the representative route does).
func pinned(ctx context.Context, st Store, bucket, scenario string) (string, error) {
	out, err := st.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(keys.RepresentativeKey(scenario))})
	if s3client.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read pin: %w", err)
	}
	defer out.Body.Close()
	var rec struct {
		S3Key string `json:"s3_key"`
	}
	if json.NewDecoder(io.LimitReader(out.Body, 64<<10)).Decode(&rec) != nil {
		return "", nil
	}
	return rec.S3Key, nil
}

// catalogOf reads a scenario's catalog for its order; an unreadable one counts as empty.
func catalogOf(ctx context.Context, st Store, bucket, scenario string) (*catalog.Catalog, error) {
	c, _, err := catalog.Read(ctx, st, bucket, scenario)
	if errors.Is(err, catalog.ErrUnreadable) {
		return &catalog.Catalog{Images: map[string]*catalog.Entry{}}, nil
	}
	return c, err
}

// Summarize computes one scenario's entry: five calls side by side (its originals, thumbnails
// and tombstones, paginated; its catalog; its pin), whatever the number of scenarios.
func Summarize(ctx context.Context, st Store, bucket, scenario string) (Summary, error) {
	sc := newScan()
	var mu sync.Mutex
	var c *catalog.Catalog
	var pin string
	errs := make([]error, 5)
	var wg sync.WaitGroup
	locked := func(f func(types.Object)) func(types.Object) {
		return func(o types.Object) { mu.Lock(); defer mu.Unlock(); f(o) }
	}
	wg.Go(func() { errs[0] = s3client.List(ctx, st, bucket, keys.ScenarioPrefix(scenario), true, locked(sc.add)) })
	wg.Go(func() {
		errs[1] = s3client.List(ctx, st, bucket, keys.ThumbnailPrefix(scenario), false, locked(sc.add))
	})
	wg.Go(func() {
		errs[2] = s3client.List(ctx, st, bucket, keys.RetiredPrefix(scenario), false, locked(sc.addRetired))
	})
	wg.Go(func() { c, errs[3] = catalogOf(ctx, st, bucket, scenario) })
	wg.Go(func() { pin, errs[4] = pinned(ctx, st, bucket, scenario) })
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Summary{}, err
	}
	return sc.summarize(scenario, c, pin), nil
}

// Rebuild recomputes the whole index from a scan of the bucket: the images prefix and retired/
// (paginated, so O(pages)), then the catalog and pin of each scenario that has a ready image.
// It writes only when something differs, and returns how many entries it changed.
func Rebuild(ctx context.Context, st Store, bucket string) (int, error) {
	for attempt := 0; attempt < rebuildAttempts; attempt++ {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return 0, err
			}
		}
		ix, etag, err := Read(ctx, st, bucket)
		if err != nil {
			return 0, err
		}
		sc := newScan()
		if err := s3client.List(ctx, st, bucket, keys.Root, false, sc.add); err != nil {
			return 0, err
		}
		if err := s3client.List(ctx, st, bucket, keys.RetiredRoot+keys.Root, false, sc.addRetired); err != nil {
			return 0, err
		}
		sums, err := summarizeAll(ctx, st, bucket, sc)
		if err != nil {
			return 0, err
		}
		changed := 0
		for scenario := range ix.Scenarios {
			if _, ok := sums[scenario]; !ok {
				delete(ix.Scenarios, scenario)
				changed++
			}
		}
		for scenario, sum := range sums {
			if set(ix, scenario, sum) {
				changed++
			}
		}
		if changed == 0 {
			return 0, nil
		}
		if ok, err := write(ctx, st, bucket, ix, etag); err != nil || ok {
			return changed, err
		}
	}
	return 0, ErrBusy
}

// summarizeAll summarizes every scenario of the scan that has a ready image, reading their
// catalogs and pins a few at a time.
func summarizeAll(ctx context.Context, st Store, bucket string, sc *scan) (map[string]Summary, error) {
	var todo []string
	for scenario := range sc.originals {
		if empty := sc.summarize(scenario, &catalog.Catalog{}, ""); empty.Count > 0 {
			todo = append(todo, scenario)
		}
	}
	var mu sync.Mutex
	sums := map[string]Summary{}
	var errs []error
	sem := make(chan struct{}, rebuildReads)
	var wg sync.WaitGroup
	for _, scenario := range todo {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := catalogOf(ctx, st, bucket, scenario)
			var pin string
			if err == nil {
				pin, err = pinned(ctx, st, bucket, scenario)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			sums[scenario] = sc.summarize(scenario, c, pin)
		})
	}
	wg.Wait()
	return sums, errors.Join(errs...)
}
