package scenarioindex

import (
	"context"
	"log/slog"
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
	// Batch, when non-zero, lets a call made while a refresh of its scenario is under way return at
	// once instead of waiting: its change is counted by the next refresh, which starts Batch after
	// the running one ends and is shared by every call made meanwhile. Back to back, refreshes of a
	// scenario that takes uploads from many workers at once were a third of versitygw's listing
	// work in a burst (a scan per one or two uploads, each scan of the whole scenario). A call on
	// an idle scenario still waits for its own refresh, so a lone upload is counted when it
	// returns. Only for a process that outlives its calls (the local receiver, which Waits
	// before it exits): a Lambda invocation is frozen once it returns.
	Batch time.Duration
	// Log gets the failures of refreshes that no caller waited for; nil: slog.Default().
	Log *slog.Logger

	mu      sync.Mutex
	running map[flightKey]bool
	next    map[flightKey]*flight // the refresh that starts once the running one is done
	runs    sync.WaitGroup
}

type flightKey struct{ bucket, scenario string }

type flight struct {
	done    chan struct{}
	err     error
	callers int
	waiting int  // callers that wait for it (the others returned at once: Batch)
	batched bool // it waited Batch before starting
}

// refreshTimeout bounds a shared refresh, which outlives the context of the call that started it
// (the other callers still wait for it).
const refreshTimeout = 30 * time.Second

// DefaultBatch is the local receiver's Refresher.Batch: the scenario home lags a burst's uploads
// by at most about this and a scan.
const DefaultBatch = 500 * time.Millisecond

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
	// With Batch, the calls that find a refresh under way return at once: only the call that
	// starts one waits, and that flight then starts at once.
	wait := r.Batch == 0 || !r.running[k]
	if wait {
		f.waiting++
	}
	if !r.running[k] {
		r.running[k] = true
		r.runs.Add(1)
		go r.run(context.WithoutCancel(ctx), st, k)
	}
	r.mu.Unlock()
	if !wait {
		return nil
	}
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Wait returns once no refresh is running or due, those of calls that returned at once
// included, or when ctx ends. Call it once no more Refresh calls come.
func (r *Refresher) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { r.runs.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// run refreshes k for each flight that gathered callers, until none is waiting.
func (r *Refresher) run(ctx context.Context, st Store, k flightKey) {
	defer r.runs.Done()
	for {
		r.mu.Lock()
		f := r.next[k]
		if f == nil {
			delete(r.running, k)
			r.mu.Unlock()
			return
		}
		if f.waiting == 0 && !f.batched {
			// Only calls that returned at once: gather more of them for Batch.
			f.batched = true
			r.mu.Unlock()
			time.Sleep(r.Batch)
			continue
		}
		delete(r.next, k)
		r.mu.Unlock()
		fctx, cancel := context.WithTimeout(ctx, refreshTimeout)
		f.err = Refresh(fctx, st, k.bucket, k.scenario)
		cancel()
		close(f.done)
		if f.err != nil && f.waiting < f.callers {
			log := r.Log
			if log == nil {
				log = slog.Default()
			}
			log.Warn("scenarios index not refreshed; the next sweep rebuilds it", "scenario", k.scenario,
				"uploads", f.callers-f.waiting, "err", f.err)
		}
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
