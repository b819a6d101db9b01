package processor

import (
	"context"
	"sync"
	"time"

	"medicpx/shared/catalog"
)

// nameWrites coalesces the catalog writes of the uploads this process records names for at
// once. Every upload of a scenario writes the one catalog, conditionally on the version it read:
// uploads processed side by side (a professor's batch) each read, lose the race to another and
// read again, so the writes go one after another at two round trips each, which capped a burst
// into one scenario at 25 ms of S3 latency near 15 uploads/s. Here the changes that arrive while
// a write is under way go together in the next write, which starts from the catalog the last one
// wrote (its ETag makes the write conditional on nobody having written since): one round trip
// for all of them.
type nameWrites struct {
	mu sync.Mutex
	// groups holds a scenario's writes while its run goroutine is going: a group is in the map
	// exactly while run is writing its batches.
	groups map[nameKey]*nameGroup
}

// nameKey is whose writes go together: one Processor's (its store), into one catalog.
type nameKey struct {
	p                *Processor
	bucket, scenario string
}

// catalogWrites is the process's nameWrites, like cpuSlots one for all its Processors.
var catalogWrites = nameWrites{groups: map[nameKey]*nameGroup{}}

// nameGroup is one scenario's writes: those waiting for the next write, and the catalog as this
// process last wrote it (nil: read it, or start from what a caller read).
type nameGroup struct {
	pending *nameBatch
	cat     *catalog.Catalog
	etag    string
}

type nameBatch struct {
	changes []func(*catalog.Catalog) bool // each reports whether it changed the catalog
	cat     *catalog.Catalog              // a catalog one of the callers read, and its ETag
	etag    string
	done    chan struct{}
	err     error
}

// nameWriteTimeout bounds one coalesced write. It runs on behalf of several uploads, so no
// single upload's deadline cuts it off.
const nameWriteTimeout = 20 * time.Second

// update applies change to the scenario's catalog and returns once a write that holds it has
// succeeded (or nothing needed writing). read and readETag are a catalog the caller read beside
// other work (nil: none). change may run more than once, on different catalogs, and beside
// other uploads' changes.
func (w *nameWrites) update(ctx context.Context, p *Processor, bucket, scenario string, read *catalog.Catalog, readETag string, change func(*catalog.Catalog) bool) error {
	key := nameKey{p, bucket, scenario}
	w.mu.Lock()
	g := w.groups[key]
	if g == nil {
		g = &nameGroup{}
		w.groups[key] = g
		go w.run(context.WithoutCancel(ctx), p.S3, key, g)
	}
	b := g.pending
	if b == nil {
		b = &nameBatch{done: make(chan struct{})}
		g.pending = b
	}
	b.changes = append(b.changes, change)
	if b.cat == nil && read != nil {
		b.cat, b.etag = read, readETag
	}
	w.mu.Unlock()
	select {
	case <-b.done:
		return b.err
	case <-ctx.Done():
		// The write may still land; recordName is idempotent, so a retry finds it done.
		return context.Cause(ctx)
	}
}

// writing reports whether p is writing the scenario's catalog (its next write needs no catalog
// read by the caller).
func (w *nameWrites) writing(p *Processor, bucket, scenario string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.groups[nameKey{p, bucket, scenario}] != nil
}

// run writes the group's batches one after another until none is pending.
func (w *nameWrites) run(ctx context.Context, st catalog.Store, key nameKey, g *nameGroup) {
	for {
		w.mu.Lock()
		b := g.pending
		if b == nil {
			// Idle: forget the catalog, which another writer may change before the next upload.
			delete(w.groups, key)
			w.mu.Unlock()
			return
		}
		g.pending = nil
		cat, etag := g.cat, g.etag
		if cat == nil {
			cat, etag = b.cat, b.etag
		}
		g.cat, g.etag = nil, "" // the changes below go into it: kept again only once written
		w.mu.Unlock()

		wctx, cancel := context.WithTimeout(ctx, nameWriteTimeout)
		written, wetag, err := catalog.UpdateReadETag(wctx, st, key.bucket, key.scenario, cat, etag, func(c *catalog.Catalog) error {
			changed := false
			for _, change := range b.changes {
				if change(c) {
					changed = true
				}
			}
			if !changed {
				return catalog.ErrNoChange
			}
			return nil
		})
		cancel()
		w.mu.Lock()
		if err == nil {
			g.cat, g.etag = written, wetag
		}
		w.mu.Unlock()
		b.err = err
		close(b.done)
	}
}
