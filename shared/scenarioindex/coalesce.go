package scenarioindex

import (
	"context"
	"sync"
	"time"
)

// Refresher coalesces the refreshes one process makes: a batch of uploads that become ready
// together in one scenario would otherwise rescan it once per upload (O(n) listings each, O(n²)
// for the batch) and lose most of their conditional writes to each other. A Refresh call waits for
// a refresh of its scenario that starts after the call; calls made while one is under way share
// the single refresh that follows it. A process that handles one event at a time (Lambda) gets
// exactly the refreshes it asks for. The zero value is ready to use.
type Refresher struct {
	mu      sync.Mutex
	running map[flightKey]bool
	next    map[flightKey]*flight // the refresh that starts once the running one is done
}

type flightKey struct{ bucket, scenario string }

type flight struct {
	done    chan struct{}
	err     error
	callers int
}

// refreshTimeout bounds a shared refresh, which outlives the context of the call that started it
// (the other callers still wait for it).
const refreshTimeout = 30 * time.Second

// Refresh is the package's Refresh, coalesced with the other calls for the same scenario.
func (r *Refresher) Refresh(ctx context.Context, st Store, bucket, scenario string) error {
	k := flightKey{bucket, scenario}
	r.mu.Lock()
	if r.next == nil {
		r.running, r.next = map[flightKey]bool{}, map[flightKey]*flight{}
	}
	f := r.next[k]
	if f == nil {
		f = &flight{done: make(chan struct{})}
		r.next[k] = f
	}
	f.callers++
	if !r.running[k] {
		r.running[k] = true
		go r.run(context.WithoutCancel(ctx), st, k)
	}
	r.mu.Unlock()
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// run refreshes k for each flight that gathered callers, until none is waiting.
func (r *Refresher) run(ctx context.Context, st Store, k flightKey) {
	for {
		r.mu.Lock()
		f := r.next[k]
		delete(r.next, k)
		if f == nil {
			delete(r.running, k)
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		fctx, cancel := context.WithTimeout(ctx, refreshTimeout)
		f.err = Refresh(fctx, st, k.bucket, k.scenario)
		cancel()
		close(f.done)
	}
}

// callers is how many calls wait for the refresh after the running one (for tests).
func (r *Refresher) callers(k flightKey) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f := r.next[k]; f != nil {
		return f.callers
	}
	return 0
}
