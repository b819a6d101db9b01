// Package soak runs steady mixed traffic against a running stack for a bounded time (`make
// soak`) and watches each stack process's resident memory: professor uploads (small generated
// JPEGs through the API's presigned PUT), student and staff listings, the representative, s3_url
// redirects, captions, deletes to the trash and restores, and permanent deletes that keep the
// stored images bounded. Every SampleEvery it reports each process's RSS (VmRSS, the process
// found by the port it listens on) and the request and error counts; at the end a table of RSS
// over time and whether the API's levelled off.
package soak

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"medicpx/infra/stack"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"medicpx/infra/testenv/apiclient"
	"medicpx/infra/testenv/testimage"
)

// MiB is a mebibyte.
const MiB = 1 << 20

// URLCacheBound is the most the API's signed-URL cache holds (api/urlcache.go).
const URLCacheBound = 16 * MiB

// Target is a stack process, found by the address it listens on.
type Target struct{ Name, Addr string }

// Config is what to call, how hard and for how long.
type Config struct {
	APIURL                    string
	Professor, Student, Admin string // tokens
	Targets                   []Target
	Duration                  time.Duration
	MaxRequests               int           // the run ends after this many requests, whatever the time
	Interval                  time.Duration // between two operations (an upload is two requests)
	SampleEvery               time.Duration
	Scenarios                 int // scenarios the traffic spreads over
	KeepPerScenario           int // ready images kept per scenario; beyond it deletes are permanent
	Slack                     int64
	Out                       io.Writer // the 30-second reports; nil: io.Discard
	ReadyTimeout              time.Duration
	rngSeed                   uint64
	scenarioPrefix            string
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Duration, 30*time.Minute)
	def(&c.Interval, 250*time.Millisecond)
	def(&c.SampleEvery, 30*time.Second)
	def(&c.ReadyTimeout, 2*time.Minute)
	if c.MaxRequests <= 0 {
		c.MaxRequests = 100_000
	}
	if c.Scenarios <= 0 {
		c.Scenarios = 3
	}
	if c.KeepPerScenario <= 0 {
		c.KeepPerScenario = 20
	}
	if c.Slack <= 0 {
		c.Slack = 16 * MiB
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.scenarioPrefix == "" {
		c.scenarioPrefix = fmt.Sprintf("soak-%d", time.Now().Unix())
	}
}

// Sample is every target's RSS at one moment (0 when it could not be read).
type Sample struct {
	At  time.Duration // since the start
	RSS map[string]int64
}

// OpStats counts one kind of operation.
type OpStats struct{ Requests, Errors int }

// Report is what a soak measured.
type Report struct {
	Targets  []string
	Samples  []Sample
	Ops      map[string]*OpStats
	Requests int
	Errors   int
	// FirstErrors are the first few errors, as they happened.
	FirstErrors []string
	Elapsed     time.Duration
	// The API's levelling: the mean RSS of the last third of the samples over the middle third's;
	// the bound is the first sample plus the URL cache's bound plus Slack, and Held says whether
	// every sample stayed within it.
	APIBaseline, APIMiddle, APILast, APIMax, APIBound int64
	APIRatio                                          float64
	APIHeld                                           bool
}

// Run runs the soak until c.Duration or c.MaxRequests or ctx ends, whichever is first.
func Run(ctx context.Context, c Config) (*Report, error) {
	c.defaults()
	r := &Report{Ops: map[string]*OpStats{}}
	for _, t := range c.Targets {
		r.Targets = append(r.Targets, t.Name)
	}
	start := time.Now()
	pids := map[string]int{}
	sample := func() Sample {
		s := Sample{At: time.Since(start).Round(time.Second), RSS: map[string]int64{}}
		for _, t := range c.Targets {
			// Looked up again every time: the supervisor may have restarted the process.
			h, ok := stack.PortHolder(t.Addr)
			if !ok {
				fmt.Fprintf(c.Out, "soak: %s: no process found listening on %s\n", t.Name, t.Addr)
				continue
			}
			pid := h.Pid
			pids[t.Name] = pid
			if n, err := rssBytes(pid); err == nil {
				s.RSS[t.Name] = n
			}
		}
		return s
	}
	first := sample()
	r.Samples = append(r.Samples, first)
	for _, t := range c.Targets {
		if first.RSS[t.Name] == 0 {
			return r, fmt.Errorf("no RSS for %s (listening on %s)", t.Name, t.Addr)
		}
	}
	fmt.Fprintf(c.Out, "soak: %v at most, %d requests at most, one operation every %v; PIDs %v\n", c.Duration, c.MaxRequests, c.Interval, pids)
	r.printSample(c.Out, first)

	ctx, cancel := context.WithTimeout(ctx, c.Duration)
	defer cancel()
	tr := newTraffic(c, r)
	ticker := time.NewTicker(c.Interval)
	defer ticker.Stop()
	nextSample := start.Add(c.SampleEvery)
	for op := 0; r.Requests < c.MaxRequests; op++ {
		select {
		case <-ctx.Done():
		case <-ticker.C:
			tr.step(ctx, op)
		}
		if ctx.Err() != nil {
			break
		}
		if time.Now().After(nextSample) {
			s := sample()
			r.Samples = append(r.Samples, s)
			r.printSample(c.Out, s)
			nextSample = nextSample.Add(c.SampleEvery)
		}
	}
	r.Elapsed = time.Since(start)
	last := sample()
	if last.At-r.Samples[len(r.Samples)-1].At >= time.Second {
		r.Samples = append(r.Samples, last)
		r.printSample(c.Out, last)
	}
	tr.cleanup()
	r.level(c)
	return r, nil
}

func (r *Report) printSample(w io.Writer, s Sample) {
	var parts []string
	for _, name := range r.Targets {
		parts = append(parts, fmt.Sprintf("%s %.1f MiB", name, float64(s.RSS[name])/MiB))
	}
	fmt.Fprintf(w, "soak: t=%-6v %s; %d requests, %d errors\n", s.At, strings.Join(parts, ", "), r.Requests, r.Errors)
}

// level compares the API's last third with its middle third (by sample), and checks the bound.
func (r *Report) level(c Config) {
	var api []int64
	for _, s := range r.Samples {
		api = append(api, s.RSS["api"])
	}
	if len(api) == 0 || api[0] == 0 {
		return
	}
	mean := func(xs []int64) int64 {
		if len(xs) == 0 {
			return 0
		}
		var sum int64
		for _, x := range xs {
			sum += x
		}
		return sum / int64(len(xs))
	}
	n := len(api)
	r.APIBaseline = api[0]
	r.APIMiddle = mean(api[n/3 : 2*n/3])
	r.APILast = mean(api[2*n/3:])
	r.APIMax = slices.Max(api)
	if r.APIMiddle > 0 {
		r.APIRatio = float64(r.APILast) / float64(r.APIMiddle)
	}
	r.APIBound = r.APIBaseline + URLCacheBound + c.Slack
	r.APIHeld = r.APIMax <= r.APIBound
}

// Write prints the table of RSS over time, the operations, and the API's levelling.
func (r *Report) Write(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "t\t")
	for _, name := range r.Targets {
		fmt.Fprintf(tw, "%s MiB\t", name)
	}
	fmt.Fprintln(tw)
	for _, s := range r.Samples {
		fmt.Fprintf(tw, "%v\t", s.At)
		for _, name := range r.Targets {
			fmt.Fprintf(tw, "%.1f\t", float64(s.RSS[name])/MiB)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	var names []string
	for name := range r.Ops {
		names = append(names, name)
	}
	slices.Sort(names)
	var parts []string
	for _, name := range names {
		parts = append(parts, fmt.Sprintf("%s %d/%d", name, r.Ops[name].Requests-r.Ops[name].Errors, r.Ops[name].Requests))
	}
	fmt.Fprintf(w, "%d requests in %v, %d errors (ok/all: %s)\n", r.Requests, r.Elapsed.Round(time.Second), r.Errors, strings.Join(parts, ", "))
	for _, e := range r.FirstErrors {
		fmt.Fprintln(w, "  error:", e)
	}
	if r.APIBaseline == 0 {
		return
	}
	verdict := "levelled off"
	if r.APIRatio > 1.05 {
		verdict = "still growing (ratio above 1.05)"
	}
	held := "held"
	if !r.APIHeld {
		held = "EXCEEDED"
	}
	fmt.Fprintf(w, "api RSS: baseline %.1f MiB, middle third mean %.1f MiB, last third mean %.1f MiB, ratio last/middle %.3f: %s\n",
		float64(r.APIBaseline)/MiB, float64(r.APIMiddle)/MiB, float64(r.APILast)/MiB, r.APIRatio, verdict)
	fmt.Fprintf(w, "api RSS bound: baseline + 16 MiB (signed-URL cache, api/urlcache.go) + %.0f MiB slack = %.1f MiB; max %.1f MiB: %s\n",
		float64(r.APIBound-r.APIBaseline-URLCacheBound)/MiB, float64(r.APIBound)/MiB, float64(r.APIMax)/MiB, held)
}

// traffic is the soak's one client: it keeps, per scenario, what it uploaded and what is ready
// or in the trash, so every call it makes should succeed.
type traffic struct {
	c       Config
	r       *Report
	prof    *apiclient.Client
	student *apiclient.Client
	admin   *apiclient.Client
	link    *apiclient.Client
	rng     *rand.Rand
	photos  [][]byte
	scen    []*scenario
}

type scenario struct {
	id      string
	pending map[string]time.Time // uploaded, not yet listed ready
	ready   []apiclient.Image    // oldest first
	trash   []string
	pinned  bool
}

func newTraffic(c Config, r *Report) *traffic {
	hc := &http.Client{Timeout: 30 * time.Second}
	prof := apiclient.New(c.APIURL, c.Professor)
	prof.HTTP = hc
	t := &traffic{c: c, r: r, prof: prof, student: prof.As(c.Student), admin: prof.As(c.Admin), link: prof.As(""),
		rng: rand.New(rand.NewPCG(c.rngSeed, 2))}
	for i := range 4 {
		t.photos = append(t.photos, testimage.JPEG(320+40*i, 240+30*i))
	}
	for i := range c.Scenarios {
		t.scen = append(t.scen, &scenario{id: fmt.Sprintf("%s-%d", c.scenarioPrefix, i), pending: map[string]time.Time{}})
	}
	return t
}

// plan is one cycle of operations: an upload, and per cycle as many deletes (permanent once a
// scenario holds KeepPerScenario), so what is stored stays bounded.
var plan = []string{"upload", "list-staff", "list-student", "representative", "redirect", "caption", "list-student", "delete-or-restore", "list-staff", "redirect"}

var captions = []string{"left forearm, before treatment", "erythema on the back of the hand", "lesion margin, close view", "after the second week"}

func (t *traffic) record(op string, err error) {
	s := t.r.Ops[op]
	if s == nil {
		s = &OpStats{}
		t.r.Ops[op] = s
	}
	s.Requests++
	t.r.Requests++
	if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		s.Errors++
		t.r.Errors++
		if len(t.r.FirstErrors) < 10 {
			t.r.FirstErrors = append(t.r.FirstErrors, fmt.Sprintf("%s: %v", op, err))
		}
	} else if err != nil {
		s.Requests-- // the run ended under it: not a request the stack answered
		t.r.Requests--
	}
}

// step runs operation number op: the plan's, on the scenario op's cycle falls on.
func (t *traffic) step(ctx context.Context, op int) {
	sc := t.scen[(op/len(plan))%len(t.scen)]
	switch kind := plan[op%len(plan)]; kind {
	case "upload":
		p := t.photos[op%len(t.photos)]
		g, err := t.prof.PresignPut(ctx, sc.id, fmt.Sprintf("soak-%d.jpg", op), len(p))
		t.record("upload-url", err)
		if err != nil {
			return
		}
		_, err = g.Put(ctx, p, nil)
		t.record("put", err)
		if err == nil {
			sc.pending[g.S3Key] = time.Now()
		}
	case "list-staff":
		l, err := t.admin.List(ctx, sc.id, apiclient.ListOptions{Limit: 500})
		t.record(kind, err)
		if err == nil {
			t.refresh(sc, l)
		}
	case "list-student":
		_, err := t.student.List(ctx, sc.id, apiclient.ListOptions{})
		t.record(kind, err)
	case "representative":
		_, err := t.student.Representative(ctx, sc.id)
		t.record(kind, err)
	case "redirect":
		if len(sc.ready) == 0 {
			return
		}
		im := sc.ready[t.rng.IntN(len(sc.ready))]
		code, err := t.link.LinkStatus(ctx, im.S3URL)
		if err == nil && code != http.StatusFound {
			err = fmt.Errorf("s3_url %s answered %d, want 302", im.S3URL, code)
		}
		t.record(kind, err)
	case "caption":
		if len(sc.ready) == 0 {
			return
		}
		im := sc.ready[t.rng.IntN(len(sc.ready))]
		_, err := t.prof.SetCaption(ctx, im.S3Key, captions[op%len(captions)])
		t.record(kind, err)
		if err == nil && !sc.pinned {
			_, err = t.prof.Pin(ctx, im.S3Key)
			t.record("pin", err)
			sc.pinned = err == nil
		}
	case "delete-or-restore":
		switch {
		case len(sc.ready) > t.c.KeepPerScenario:
			key := sc.ready[0].S3Key
			_, err := t.prof.Delete(ctx, key, true)
			t.record("delete-permanent", err)
			if err == nil {
				sc.ready = sc.ready[1:]
			}
		case len(sc.trash) > 0 && (len(sc.trash) >= 3 || op/len(plan)/len(t.scen)%2 == 1): // every other visit
			key := sc.trash[0]
			res, err := t.prof.Restore(ctx, key)
			t.record("restore", err)
			if err == nil {
				sc.trash = sc.trash[1:]
				sc.ready = append(sc.ready, res.Image)
			}
		case len(sc.ready) > 0:
			key := sc.ready[len(sc.ready)-1].S3Key
			_, err := t.prof.Delete(ctx, key, false)
			t.record("delete", err)
			if err == nil {
				sc.ready = sc.ready[:len(sc.ready)-1]
				sc.trash = append(sc.trash, key)
			}
		}
	}
}

// refresh moves the scenario's uploads that the staff listing shows ready from pending to ready;
// an upload pending for longer than ReadyTimeout is an error.
func (t *traffic) refresh(sc *scenario, l apiclient.Listing) {
	for _, im := range l.Images {
		if _, ok := sc.pending[im.S3Key]; ok && im.Status == "ready" {
			delete(sc.pending, im.S3Key)
			sc.ready = append(sc.ready, im)
		}
	}
	for key, at := range sc.pending {
		if time.Since(at) > t.c.ReadyTimeout {
			delete(sc.pending, key)
			t.record("ready", fmt.Errorf("%s not listed ready after %v", key, t.c.ReadyTimeout))
		}
	}
}

// cleanup deletes for good what the soak left, as the staff listing and the trash show it (best
// effort, bounded: it is not measured). Uploads still being processed stay.
func (t *traffic) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, sc := range t.scen {
		if l, err := t.admin.List(ctx, sc.id, apiclient.ListOptions{Limit: 500}); err == nil {
			for _, im := range l.Images {
				_, _ = t.prof.Delete(ctx, im.S3Key, true)
			}
		}
		if l, err := t.prof.Trash(ctx, sc.id); err == nil {
			for _, im := range l.Images {
				_, _ = t.prof.Purge(ctx, im.S3Key)
			}
		}
	}
}

// StackTargets are the stack's three processes, by the URLs they serve.
func StackTargets(apiURL, processorURL, s3URL string) []Target {
	host := func(u string) string { return strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://") }
	return []Target{{"api", host(apiURL)}, {"processor", host(processorURL)}, {"versitygw", host(s3URL)}}
}
