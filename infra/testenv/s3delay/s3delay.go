// Package s3delay is a proxy in front of an S3 server that makes every request wait a fixed time
// before it is forwarded, and can record each request's method, path and time span. Locally an
// S3 call costs about a millisecond, in AWS 10–50 ms: with a latency here, the number of S3 calls
// a path makes one after another shows in its wall time, and the recorded spans give that number
// itself (Chain).
//
// Requests and answers are forwarded byte for byte, Host header, path and signature included:
// SigV4 signs the host, the path and the headers, so the signature the client computed for the
// proxy's address is what the server checks. Presigned URLs signed for the proxy's address work
// the same way.
//
// It reads only what HTTP/1.1 framing needs (the request line, the status line and the headers
// that give a body's length) and splices bodies from socket to socket in the kernel. A burst
// through it moves a few GB, and a reverse proxy that parses and copies every byte in user space
// spent a sixth of the stack's CPU on 2 cores on the test harness rather than on the service.
package s3delay

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Request is one request the proxy forwarded.
type Request struct {
	Method, Path, Query string
	Start, End          time.Time // when its head reached the proxy, and when its answer was written
	Status              int
}

// Proxy is a running delaying proxy.
type Proxy struct {
	URL     string // http://host:port: point clients here instead of at the server
	Latency time.Duration
	backend string // host:port
	ln      net.Listener
	record  bool
	done    chan struct{} // closed by Close: waits end, connections close
	stop    sync.Once
	wg      sync.WaitGroup // the connections' goroutines

	mu       sync.Mutex
	conns    map[net.Conn]struct{}
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
	if target.Scheme != "http" || target.Host == "" || target.Path != "" {
		return nil, fmt.Errorf("s3delay: backend %q: want http://host:port", backend)
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &Proxy{URL: "http://" + ln.Addr().String(), Latency: latency, backend: target.Host, ln: ln,
		record: record, done: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	p.idle = sync.NewCond(&p.mu)
	p.wg.Go(p.accept)
	return p, nil
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(5 * time.Millisecond) // out of descriptors, say: try again
			continue
		}
		if !p.track(c) {
			return
		}
		p.wg.Go(func() { p.serve(c) })
	}
}

// track registers a connection for Close; false (and c closed) once the proxy is closed.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
		c.Close()
		return false
	default:
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// exchange is one request on its way: the client's side sends it to the server's side, which
// ends it when the answer has been forwarded.
type exchange struct {
	Request
	once  sync.Once
	ended chan struct{}
}

// begin counts a request in flight (Requests waits for it).
func (p *Proxy) begin(method, target string) *exchange {
	ex := &exchange{Request: Request{Method: method, Start: time.Now()}, ended: make(chan struct{})}
	if p.record {
		if u, err := url.ParseRequestURI(target); err == nil {
			ex.Path, ex.Query = u.Path, u.RawQuery
		}
		p.mu.Lock()
		p.inflight++
		p.mu.Unlock()
	}
	return ex
}

// end ends an exchange once: answered (status > 0) it is recorded, cut off it is not.
func (p *Proxy) end(ex *exchange, status int) {
	ex.once.Do(func() {
		defer close(ex.ended)
		if !p.record {
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if status > 0 {
			ex.Status, ex.End = status, time.Now()
			p.reqs = append(p.reqs, ex.Request)
		}
		if p.inflight--; p.inflight == 0 {
			p.idle.Broadcast()
		}
	})
}

// bufSize holds any head S3 sends or receives; bodies mostly bypass it (splice).
const bufSize = 32 << 10

// serve forwards one client connection's requests over one connection to the server, dialled at
// the first request; the answers come back in respond. HTTP/1.1 clients send a request only after
// the answer to the one before, so delaying each request's head is delaying each request.
func (p *Proxy) serve(client net.Conn) {
	defer p.untrack(client)
	cr := bufio.NewReaderSize(client, bufSize)
	var (
		server   net.Conn
		prev     *exchange
		pending  chan *exchange
		answered = make(chan struct{}) // respond has returned
	)
	// finish lets respond answer what is pending and return; with cut it first closes both ends,
	// which stops respond wherever it is and cuts off what it had not answered.
	finish := func(cut bool) {
		if server == nil {
			return
		}
		if cut {
			server.Close()
			client.Close()
		}
		close(pending)
		<-answered
		for ex := range pending {
			p.end(ex, 0)
		}
		p.untrack(server)
	}
	for {
		head, err := readHead(cr)
		if err != nil {
			finish(!errors.Is(err, io.EOF))
			return
		}
		method, target, body, closing, err := parseRequest(head)
		if err != nil {
			// Answered before finish closes the connection: after it the write would go nowhere.
			_, _ = client.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
			finish(true)
			return
		}
		if prev != nil {
			// The client has the whole answer, so respond is about to end the exchange: a
			// request's span starts after the one before it on its connection ends (Chain).
			<-prev.ended
		}
		ex := p.begin(method, target)
		prev = ex
		if p.Latency > 0 {
			t := time.NewTimer(p.Latency)
			select {
			case <-t.C:
			case <-p.done:
				t.Stop()
				p.end(ex, 0)
				finish(true)
				return
			}
		}
		if server == nil {
			if server, err = net.Dial("tcp", p.backend); err != nil || !p.track(server) {
				server = nil
				_, _ = client.Write([]byte("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
				p.end(ex, http.StatusBadGateway)
				return
			}
			pending = make(chan *exchange, 16)
			p.wg.Go(func() {
				defer close(answered)
				p.respond(server, client, pending)
			})
		}
		// Queued before the head goes out: respond needs the method to frame the answer.
		select {
		case pending <- ex:
		case <-answered:
			p.end(ex, 0)
			finish(true)
			return
		}
		if _, err := server.Write(head); err != nil {
			finish(true)
			return
		}
		// With Expect: 100-continue the client sends the body after respond has passed the
		// server's 100 on: the copy below simply waits for it.
		if err := forwardBody(server, cr, client, body); err != nil {
			finish(true)
			return
		}
		if closing {
			finish(false)
			return
		}
	}
}

// respond forwards the server's answers to the client, one for each exchange sent.
func (p *Proxy) respond(server, client net.Conn, pending <-chan *exchange) {
	defer client.Close()
	defer server.Close()
	sr := bufio.NewReaderSize(server, bufSize)
	for ex := range pending {
		status, last, err := answer(client, sr, server, ex.Method)
		if err != nil {
			p.end(ex, 0)
			return
		}
		p.end(ex, status)
		if last {
			return
		}
	}
}

// answer forwards the server's answer to one request, interim ones (100 Continue) included;
// last is set when the connection ends with it.
func answer(client net.Conn, sr *bufio.Reader, server net.Conn, method string) (status int, last bool, err error) {
	for {
		head, err := readHead(sr)
		if err != nil {
			return 0, false, err
		}
		status, body, closing, err := parseResponse(head, method)
		if err != nil {
			return 0, false, err
		}
		if _, err := client.Write(head); err != nil {
			return 0, false, err
		}
		if status < 200 {
			continue // the answer proper follows
		}
		if err := forwardBody(client, sr, server, body); err != nil {
			return 0, false, err
		}
		return status, closing || body.kind == untilEOF, nil
	}
}

type bodyKind int

const (
	noBody bodyKind = iota
	sized
	chunked
	untilEOF // an answer without a length: it ends when the server closes
)

type body struct {
	kind bodyKind
	n    int64
}

// maxHead bounds a request's or an answer's head.
const maxHead = 1 << 20

// readHead reads a head up to and including its empty line.
func readHead(r *bufio.Reader) ([]byte, error) {
	var head []byte
	lineStart := 0
	for {
		frag, err := r.ReadSlice('\n')
		head = append(head, frag...)
		if len(head) > maxHead {
			return nil, errors.New("s3delay: head too large")
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(head) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if line := string(head[lineStart:]); line == "\r\n" || line == "\n" {
			if lineStart > 0 {
				return head, nil
			}
			head = head[:0] // empty lines before a request line are ignored (RFC 9112, 2.2)
			continue
		}
		lineStart = len(head)
	}
}

// framing is a head's first line and the values of the headers that frame its body.
type framing struct {
	first                     []byte
	length                    int64 // -1 when absent
	chunked, close, keepAlive bool
}

func parseHead(head []byte) (framing, error) {
	f := framing{length: -1}
	lines := bytes.Split(bytes.TrimRight(head, "\r\n"), []byte("\n"))
	f.first = bytes.TrimRight(lines[0], "\r")
	for _, l := range lines[1:] {
		name, value, ok := bytes.Cut(bytes.TrimRight(l, "\r"), []byte(":"))
		if !ok {
			return f, errors.New("s3delay: malformed header line")
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 || f.length >= 0 && f.length != n {
				return f, errors.New("s3delay: bad Content-Length")
			}
			f.length = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			if !bytes.EqualFold(lastToken(value), []byte("chunked")) {
				return f, errors.New("s3delay: unsupported Transfer-Encoding")
			}
			f.chunked = true
		case bytes.EqualFold(name, []byte("Connection")):
			for _, t := range bytes.Split(value, []byte(",")) {
				t = bytes.TrimSpace(t)
				f.close = f.close || bytes.EqualFold(t, []byte("close"))
				f.keepAlive = f.keepAlive || bytes.EqualFold(t, []byte("keep-alive"))
			}
		}
	}
	return f, nil
}

func lastToken(v []byte) []byte {
	if i := bytes.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return bytes.TrimSpace(v)
}

func parseRequest(head []byte) (method, target string, b body, closing bool, err error) {
	f, err := parseHead(head)
	if err != nil {
		return "", "", b, false, err
	}
	parts := bytes.Fields(f.first)
	if len(parts) != 3 || !bytes.HasPrefix(parts[2], []byte("HTTP/1.")) {
		return "", "", b, false, errors.New("s3delay: malformed request line")
	}
	closing = f.close || string(parts[2]) == "HTTP/1.0" && !f.keepAlive
	switch {
	case f.chunked:
		b.kind = chunked
	case f.length > 0:
		b = body{kind: sized, n: f.length}
	}
	return string(parts[0]), string(parts[1]), b, closing, nil
}

func parseResponse(head []byte, method string) (status int, b body, closing bool, err error) {
	f, err := parseHead(head)
	if err != nil {
		return 0, b, false, err
	}
	parts := bytes.Fields(f.first)
	if len(parts) < 2 || !bytes.HasPrefix(parts[0], []byte("HTTP/1.")) {
		return 0, b, false, errors.New("s3delay: malformed status line")
	}
	if status, err = strconv.Atoi(string(parts[1])); err != nil || status < 100 || status > 999 {
		return 0, b, false, errors.New("s3delay: malformed status")
	}
	closing = f.close || string(parts[0]) == "HTTP/1.0" && !f.keepAlive
	switch {
	case method == "HEAD" || status < 200 || status == 204 || status == 304:
	case f.chunked:
		b.kind = chunked
	case f.length >= 0:
		b = body{kind: sized, n: f.length}
	default:
		b.kind = untilEOF
	}
	return status, b, closing, nil
}

// forwardBody copies a body from src (read through br, which may hold its first bytes) to dst.
func forwardBody(dst net.Conn, br *bufio.Reader, src net.Conn, b body) error {
	switch b.kind {
	case sized:
		return copyN(dst, br, src, b.n)
	case chunked:
		return copyChunks(dst, br, src)
	case untilEOF:
		if err := copyN(dst, br, src, int64(br.Buffered())); err != nil {
			return err
		}
		_, err := io.Copy(dst, src)
		return err
	}
	return nil
}

// copyN writes what br holds of the next n bytes, then has the kernel move the rest from src to
// dst (net.TCPConn.ReadFrom splices from an io.LimitedReader of a TCP connection).
func copyN(dst net.Conn, br *bufio.Reader, src net.Conn, n int64) error {
	if k := min(int64(br.Buffered()), n); k > 0 {
		buf, _ := br.Peek(int(k))
		if _, err := dst.Write(buf); err != nil {
			return err
		}
		_, _ = br.Discard(int(k))
		n -= k
	}
	if n == 0 {
		return nil
	}
	_, err := io.CopyN(dst, src, n)
	return err
}

// copyChunks forwards a chunked body as it came: each size line, its bytes, and the trailer.
func copyChunks(dst net.Conn, br *bufio.Reader, src net.Conn) error {
	line := func() ([]byte, error) {
		l, err := br.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		_, err = dst.Write(l)
		return l, err
	}
	for {
		l, err := line()
		if err != nil {
			return err
		}
		sizeField, _, _ := bytes.Cut(bytes.TrimRight(l, "\r\n"), []byte(";"))
		size, err := strconv.ParseInt(string(bytes.TrimSpace(sizeField)), 16, 64)
		if err != nil || size < 0 {
			return errors.New("s3delay: malformed chunk size")
		}
		if size == 0 {
			for { // the trailer, up to its empty line
				if l, err = line(); err != nil || len(bytes.TrimRight(l, "\r\n")) == 0 {
					return err
				}
			}
		}
		if err := copyN(dst, br, src, size); err != nil {
			return err
		}
		if _, err := line(); err != nil { // the CRLF after the chunk's bytes
			return err
		}
	}
}

// Addr is the address the proxy listens on.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Close stops the proxy: it stops listening, cuts off the requests waiting or in flight, and
// returns when every connection is closed.
func (p *Proxy) Close() error {
	var err error
	p.stop.Do(func() {
		p.mu.Lock()
		close(p.done)
		err = p.ln.Close()
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return err
}

// Requests returns what was recorded since the last Reset, in the order answers were written. It
// first waits for requests in flight: a client can have read a whole answer a moment before the
// proxy records it.
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
