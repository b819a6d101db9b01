package processor

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"medicpx/shared/keys"
)

// maxEventBody bounds a webhook body; versitygw sends one record per request, about 1 KB.
const maxEventBody = 1 << 20

// Receiver is the local stand-in for S3 → Lambda: it takes versitygw's event webhook, answers at
// once (versitygw waits 3 s and never retries), and processes from a bounded queue. Work is
// serialised per object so that two events for one key yield one set of outputs; a key that is
// already queued is not queued twice, and one that is being processed is processed once more
// afterwards (the event may be for a newer upload).
type Receiver struct {
	p     *Processor
	queue chan object
	sweep chan struct{}
	// s3Up asks Run for a sweep of every staged upload once S3 answers: versitygw (re)started.
	s3Up chan struct{}
	stop chan struct{} // closed by Drain: ends the sweeper

	mu     sync.Mutex
	closed bool
	states map[object]*keyState

	workers sync.WaitGroup
	ctx     context.Context // the work's context: cancelled only if draining takes too long
	cancel  context.CancelFunc
}

type keyState struct {
	running bool
	again   bool
	retry   bool // queued by a sweep after the grace period: counts as an attempt (Processor.Retry)
}

// NewReceiver starts workers that process from a queue of the given capacity.
func NewReceiver(p *Processor, workers, capacity int) *Receiver {
	ctx, cancel := context.WithCancel(context.Background())
	r := &Receiver{
		p: p, queue: make(chan object, capacity), sweep: make(chan struct{}, 1), s3Up: make(chan struct{}, 1),
		stop:   make(chan struct{}),
		states: map[object]*keyState{}, ctx: ctx, cancel: cancel,
	}
	for range workers {
		r.workers.Add(1)
		go r.work()
	}
	r.workers.Add(1)
	go r.sweeper()
	return r
}

// ServeHTTP answers versitygw's webhook (any POST path) and GET /healthz.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch {
	case req.Method == http.MethodGet && req.URL.Path == "/healthz":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
		return
	case req.Method != http.MethodPost:
		http.Error(w, "POST S3 event notifications here", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxEventBody))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	if isTestEvent(body) {
		// versitygw sends it as it starts, just before it listens: after a restart (the local
		// stack restarts a crashed versitygw) the events of every upload made while it was down
		// are lost, so sweep now rather than at the next interval.
		r.p.Log.Info("S3 started (test event): sweeping every staged upload once it answers", "bucket", r.p.Bucket)
		select {
		case r.s3Up <- struct{}{}:
		default:
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	ev, keyless, err := NormalizeVersity(body)
	if err != nil {
		r.p.Log.Warn("bad event", "err", err)
		http.Error(w, "not an S3 event notification", http.StatusBadRequest)
		return
	}
	for _, o := range r.p.createdObjects(req.Context(), ev) {
		// The local counterpart of the AWS notification's prefix filter: versitygw notifies
		// every write (it filters by event name only), and only staged uploads are work.
		if !strings.HasPrefix(o.key, keys.IncomingRoot) {
			r.p.Log.LogAttrs(req.Context(), slog.LevelDebug, "processed", slog.String("bucket", o.bucket),
				slog.String("key", o.key), slog.String("outcome", string(Ignored)), slog.String("reason", "not staged"))
			continue
		}
		r.Enqueue(o.bucket, o.key)
	}
	if keyless > 0 {
		// A POST upload: the object exists but we are not told which. Sweep for it.
		r.RequestSweep()
	}
	w.WriteHeader(http.StatusOK)
}

// isTestEvent tells versitygw's start-up test event ({"Event":"s3:TestEvent",…}) from a record.
func isTestEvent(body []byte) bool {
	var probe struct {
		Event string `json:"Event"`
	}
	return json.Unmarshal(body, &probe) == nil && probe.Event == "s3:TestEvent"
}

// Enqueue queues an object unless it is already waiting. A full queue drops the event with a
// warning: the periodic sweep picks the object up later.
func (r *Receiver) Enqueue(bucket, key string) bool { return r.enqueue(bucket, key, false) }

// enqueue queues an object; retry marks the sweep's retries of objects whose events did not
// finish them, which Processor.Retry counts and eventually gives up on.
func (r *Receiver) enqueue(bucket, key string, retry bool) bool {
	o := object{bucket: bucket, key: key}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		r.p.Log.Warn("shutting down, event dropped", "bucket", bucket, "key", key)
		return false
	}
	if st, ok := r.states[o]; ok {
		if st.running {
			st.again = true
		}
		return true
	}
	select {
	case r.queue <- o:
		r.states[o] = &keyState{retry: retry}
		return true
	default:
		r.p.Log.Warn("queue full, event dropped", "bucket", bucket, "key", key, "queue", cap(r.queue))
		return false
	}
}

func (r *Receiver) work() {
	defer r.workers.Done()
	for o := range r.queue {
		r.mu.Lock()
		st := r.states[o]
		st.running = true
		r.mu.Unlock()
		retry := st.retry
		for {
			// Errors are logged by Process; the sweep retries what is still unprocessed.
			if retry {
				r.p.Retry(r.ctx, o.bucket, o.key)
			} else {
				r.p.Process(r.ctx, o.bucket, o.key)
			}
			retry = false
			r.mu.Lock()
			if !st.again {
				delete(r.states, o)
				r.mu.Unlock()
				break
			}
			st.again = false
			r.mu.Unlock()
		}
	}
}

// RequestSweep asks for a sweep of the processor's bucket with no grace period; requests that
// arrive while one is pending are merged into it. Racing an object's own event is harmless:
// both go through the queue, which serialises and de-duplicates per key.
func (r *Receiver) RequestSweep() {
	select {
	case r.sweep <- struct{}{}:
	default:
	}
}

func (r *Receiver) sweeper() {
	defer r.workers.Done()
	for {
		select {
		case <-r.stop:
			return
		case <-r.sweep:
			if err := r.Sweep(r.ctx, 0); err != nil {
				r.p.Log.Error("sweep", "bucket", r.p.Bucket, "err", err)
			}
		}
	}
}

// Sweep queues the processor bucket's staged uploads that are older than grace, and removes
// orphaned thumbnails. A sweep with a grace period is a retry of uploads whose events did not
// finish them, and counts as an attempt; the immediate sweep for keyless POST events (grace 0)
// is not, since those uploads have not been tried yet.
func (r *Receiver) Sweep(ctx context.Context, grace time.Duration) error {
	sw, err := r.p.Pending(ctx, r.p.Bucket, keys.Root, grace)
	if err != nil {
		return err // the caller logs it: at start a refused listing is expected for a moment
	}
	for _, key := range sw.Pending {
		r.enqueue(r.p.Bucket, key, grace > 0)
	}
	if err := r.p.deleteOrphans(ctx, r.p.Bucket, sw.Orphans); err != nil {
		r.p.Log.Error("sweep", "bucket", r.p.Bucket, "err", err)
	}
	r.p.Log.Info("swept", "bucket", r.p.Bucket, "listed", sw.Listed, "pending", len(sw.Pending), "orphans", len(sw.Orphans))
	return nil
}

// sweepOnceS3Answers sweeps every staged upload, retrying the listing for up to 30 s while S3
// does not answer yet.
func (r *Receiver) sweepOnceS3Answers(ctx context.Context) {
	const attempts = 60
	for i := range attempts {
		err := r.Sweep(ctx, 0)
		if err == nil {
			return
		}
		if i == attempts-1 {
			r.p.Log.Error("sweep", "bucket", r.p.Bucket, "err", err)
			return
		}
		if i == 0 {
			r.p.Log.Info("sweep waits for S3", "bucket", r.p.Bucket, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Drain stops taking work, lets the workers finish what is queued (and the index refreshes they
// left to run), and returns when they are done or ctx ends (then the work in progress is
// cancelled).
func (r *Receiver) Drain(ctx context.Context) error {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.queue)
		close(r.stop)
	}
	r.mu.Unlock()
	done := make(chan struct{})
	go func() {
		r.workers.Wait()
		if r.p.Index != nil {
			// Refreshes that uploads returned without waiting for (Refresher.Batch).
			_ = r.p.Index.Wait(r.ctx)
		}
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		r.cancel()
		<-done
		return ctx.Err()
	}
}

// Run serves the receiver on ln until ctx ends, sweeping the bucket every interval (none when
// interval is 0) for objects whose events were lost; then it shuts the listener down and drains
// the queue, giving the work at most drainTimeout.
func (r *Receiver) Run(ctx context.Context, ln net.Listener, interval, drainTimeout time.Duration) error {
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	r.p.Log.Info("receiver listening", "addr", ln.Addr().String(), "bucket", r.p.Bucket)
	// Events sent while no receiver listened are lost (versitygw does not retry), so a receiver
	// that starts, or is restarted after a crash, sweeps at once instead of after an interval; so
	// does one that hears S3 (re)start, for the events lost while S3 was down. Both sweeps take
	// every staged upload, however young (grace 0: processing is idempotent). On the local stack's
	// first start S3 comes up after the receiver (versitygw needs the webhook first), and
	// versitygw's test event comes just before it listens, so the listing is retried for a while.
	select {
	case r.s3Up <- struct{}{}:
	default: // a test event came first: that sweep is this one
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-r.s3Up:
				r.sweepOnceS3Answers(ctx)
			}
		}
	}()
	for {
		select {
		case err := <-serveErr:
			r.Drain(context.Background())
			return err
		case <-tick:
			if err := r.Sweep(ctx, r.p.ReconcileGrace); err != nil {
				r.p.Log.Error("sweep", "bucket", r.p.Bucket, "err", err)
			}
			continue
		case <-ctx.Done():
		}
		break
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if derr := r.Drain(shutdownCtx); derr != nil {
		err = errors.Join(err, derr)
	}
	r.p.Log.Info("receiver stopped")
	return err
}
