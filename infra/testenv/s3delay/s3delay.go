// Package s3delay is a reverse proxy in front of an S3 server that makes every request wait a
// fixed time before it is forwarded, and can record each request's method, path and time span.
// Locally an S3 call costs about a millisecond, in AWS 10–50 ms: with a latency here, the number
// of S3 calls a path makes one after another shows in its wall time, and the recorded spans give
// that number itself (Chain).
//
// The request is forwarded as it came, Host header included, and never re-signed: SigV4 signs the
// host, the path and the headers, so the signature the client computed for the proxy's address
// is what the server checks. Presigned URLs signed for the proxy's address work the same way.
package s3delay

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
	"time"
)

// Request is one request the proxy forwarded.
type Request struct {
	Method, Path, Query string
	Start, End          time.Time // when it reached the proxy, and when its answer was written
	Status              int
}

// Proxy is a running delaying proxy.
type Proxy struct {
	URL     string // http://host:port: point clients here instead of at the server
	Latency time.Duration
	srv     *http.Server
	ln      net.Listener
	record  bool

	mu       sync.Mutex
	reqs     []Request
	inflight int
	idle     *sync.Cond // signalled when inflight drops to 0
}

// Start listens on addr (a free loopback port when empty) and forwards to backend (http://host:port)
// after latency. With record set, every request is kept for Requests.
func Start(addr, backend string, latency time.Duration, record bool) (*Proxy, error) {
	target, err := url.Parse(backend)
	if err != nil {
		return nil, err
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &Proxy{URL: "http://" + ln.Addr().String(), Latency: latency, ln: ln, record: record}
	p.idle = sync.NewCond(&p.mu)
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			// SetURL clears Host; the signature covers the one the client sent.
			pr.Out.Host = pr.In.Host
			// The path exactly as signed: SetURL joins paths and may re-escape them.
			pr.Out.URL.Path, pr.Out.URL.RawPath = pr.In.URL.Path, pr.In.URL.RawPath
		},
		Transport: &http.Transport{
			Proxy: nil, MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second,
			DisableCompression: true,
		},
		// Streams (GET bodies) go to the client as they arrive.
		FlushInterval: -1,
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		if p.record {
			p.mu.Lock()
			p.inflight++
			p.mu.Unlock()
			defer func() {
				p.mu.Lock()
				if p.inflight--; p.inflight == 0 {
					p.idle.Broadcast()
				}
				p.mu.Unlock()
			}()
		}
		if p.Latency > 0 {
			select {
			case <-time.After(p.Latency):
			case <-r.Context().Done():
				return
			}
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		rp.ServeHTTP(sw, r)
		if p.record {
			p.mu.Lock()
			p.reqs = append(p.reqs, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
				Start: start, End: time.Now(), Status: sw.status})
			p.mu.Unlock()
		}
	}), ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// statusWriter keeps the status the server answered; it passes Flush on (ReverseProxy streams).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int)        { w.status = code; w.ResponseWriter.WriteHeader(code) }
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Addr is the address the proxy listens on.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Close stops the proxy and closes its connections.
func (p *Proxy) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := p.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = p.srv.Close()
	}
	return err
}

// Requests returns what was recorded since the last Reset, in the order answers were written. It
// first waits for requests in flight: a client can have read a whole answer a moment before the
// proxy's handler records it.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.inflight > 0 {
		p.idle.Wait()
	}
	return slices.Clone(p.reqs)
}

// Reset forgets what was recorded, once the requests in flight are answered (they belong to what
// came before).
func (p *Proxy) Reset() {
	p.mu.Lock()
	for p.inflight > 0 {
		p.idle.Wait()
	}
	p.reqs = nil
	p.mu.Unlock()
}

// Chain is the longest chain of requests that ran one after another: the largest set of requests
// no two of which overlapped in time (earliest end first, which is optimal for intervals). With a
// latency much larger than the local server's own time, requests sent at once overlap, and Chain
// counts the round trips a caller waited for one by one.
func Chain(reqs []Request) int {
	sorted := slices.Clone(reqs)
	slices.SortFunc(sorted, func(a, b Request) int { return a.End.Compare(b.End) })
	n := 0
	var last time.Time
	for _, r := range sorted {
		if n == 0 || !r.Start.Before(last) {
			n++
			last = r.End
		}
	}
	return n
}
