package s3delay_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"medicpx/infra/testenv/s3delay"
	"medicpx/infra/testenv/versity/versitytest"
)

// The proxy forwards signed requests and presigned URLs unchanged (versitygw checks their
// signatures against the proxy's host), and Chain tells calls made one after another from calls
// made at once.
func TestProxyKeepsSignaturesAndCountsChains(t *testing.T) {
	env := versitytest.StartWith(t, versitytest.Options{Latency: 50 * time.Millisecond, Record: true})
	ctx := context.Background()
	px := env.Server.Proxy
	if px == nil {
		t.Fatal("no proxy in front of versitygw")
	}
	put := func(key string) {
		t.Helper()
		if _, err := env.Client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(versitytest.Bucket),
			Key: aws.String(key), Body: bytes.NewReader([]byte("x"))}); err != nil {
			t.Fatalf("put %s through the proxy: %v", key, err)
		}
	}
	px.Reset()
	put("a")
	put("b")
	if got := s3delay.Chain(px.Requests()); got != 2 {
		t.Errorf("two calls one after another: chain %d, want 2", got)
	}

	px.Reset()
	var wg sync.WaitGroup
	for _, k := range []string{"c", "d", "e"} {
		wg.Go(func() { put(k) })
	}
	wg.Wait()
	reqs := px.Requests()
	if len(reqs) != 3 || s3delay.Chain(reqs) != 1 {
		t.Errorf("three calls at once: %d requests, chain %d; want 3 and 1: %+v", len(reqs), s3delay.Chain(reqs), reqs)
	}

	// A presigned URL is signed for the proxy's host and still verifies behind it.
	pre, err := s3.NewPresignClient(env.Client).PresignGetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(versitytest.Bucket), Key: aws.String("a")})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(pre.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "x" {
		t.Errorf("presigned GET through the proxy: %d %q", resp.StatusCode, body)
	}
	last := px.Requests()[len(px.Requests())-1]
	if last.Method != http.MethodGet || last.Path != "/"+versitytest.Bucket+"/a" || last.Status != http.StatusOK {
		t.Errorf("recorded %+v, want the GET of /%s/a answered 200", last, versitytest.Bucket)
	}
}

func TestChain(t *testing.T) {
	at := func(start, end int) s3delay.Request {
		base := time.Unix(0, 0)
		return s3delay.Request{Start: base.Add(time.Duration(start) * time.Millisecond), End: base.Add(time.Duration(end) * time.Millisecond)}
	}
	for _, tc := range []struct {
		name string
		reqs []s3delay.Request
		want int
	}{
		{"none", nil, 0},
		{"one", []s3delay.Request{at(0, 25)}, 1},
		{"overlapping", []s3delay.Request{at(0, 25), at(1, 26), at(2, 30)}, 1},
		{"sequential", []s3delay.Request{at(0, 25), at(26, 51), at(52, 77)}, 3},
		{"a long one beside a chain", []s3delay.Request{at(0, 100), at(0, 25), at(26, 51), at(52, 77)}, 3},
		{"touching ends count as one after another", []s3delay.Request{at(0, 25), at(25, 50)}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := s3delay.Chain(tc.reqs); got != tc.want {
				t.Errorf("Chain = %d, want %d", got, tc.want)
			}
		})
	}
}

// The proxy frames what it forwards by HTTP/1.1's rules alone: bodies sized, chunked or ended by
// the server's close, answers without bodies (HEAD, 204), an interim 100 Continue, and several
// requests one after another on one connection. A narrow test against a Go server, which sends
// the framings versitygw does not.
func TestProxyFraming(t *testing.T) {
	var conns atomic.Int32
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("backend reading %s %s: %v", r.Method, r.URL, err)
		}
		switch r.URL.Path {
		case "/sized":
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			_, _ = w.Write(body)
		case "/chunked": // flushed in two parts: Transfer-Encoding: chunked
			_, _ = w.Write(body[:len(body)/2])
			w.(http.Flusher).Flush()
			_, _ = w.Write(body[len(body)/2:])
		case "/eof": // no length: the body ends when the server closes
			c, buf, _ := w.(http.Hijacker).Hijack()
			fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nX-Len: %d\r\n\r\n", len(body))
			_, _ = buf.Write(body)
			_ = buf.Flush()
			c.Close()
		case "/head":
			w.Header().Set("Content-Length", "1000")
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	backend.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	backend.Start()
	defer backend.Close()
	px, err := s3delay.Start("", backend.URL, 5*time.Millisecond, true)
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: 1, ExpectContinueTimeout: 5 * time.Second}}

	big := bytes.Repeat([]byte("0123456789abcdef"), 3<<16) // 3 MiB: past every buffer, spliced
	type step struct {
		method, path string
		body         []byte
		unsized      bool // sent chunked
		expect       bool // Expect: 100-continue
		want         []byte
		status       int
	}
	steps := []step{
		{method: "PUT", path: "/sized", body: big, want: big, status: 200},
		{method: "PUT", path: "/sized", body: big, expect: true, want: big, status: 200},
		{method: "POST", path: "/chunked", body: big, unsized: true, want: big, status: 200},
		{method: "POST", path: "/sized", body: []byte("small"), unsized: true, want: []byte("small"), status: 200},
		{method: "HEAD", path: "/head", status: 200},
		{method: "DELETE", path: "/empty", status: 204},
		{method: "GET", path: "/sized", want: []byte{}, status: 200},
		{method: "PUT", path: "/eof", body: big, want: big, status: 200}, // last: it closes the connection
	}
	px.Reset()
	for i, s := range steps {
		var body io.Reader
		if s.body != nil {
			body = bytes.NewReader(s.body)
			if s.unsized {
				body = io.MultiReader(body) // hides the length: Transfer-Encoding: chunked
			}
		}
		req, err := http.NewRequest(s.method, px.URL+s.path+"?step="+strconv.Itoa(i), body)
		if err != nil {
			t.Fatal(err)
		}
		if s.expect {
			req.Header.Set("Expect", "100-continue")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("step %d %s %s: %v", i, s.method, s.path, err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != s.status || !bytes.Equal(got, s.want) {
			t.Fatalf("step %d %s %s: %d, %d bytes (%v); want %d, %d bytes", i, s.method, s.path,
				resp.StatusCode, len(got), err, s.status, len(s.want))
		}
		if s.method == "HEAD" && resp.ContentLength != 1000 {
			t.Errorf("HEAD: Content-Length %d, want the server's 1000", resp.ContentLength)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("the server saw %d connections, want 1: the framing kept the connection in step", n)
	}
	reqs := px.Requests()
	if len(reqs) != len(steps) {
		t.Fatalf("recorded %d requests, want %d: %+v", len(reqs), len(steps), reqs)
	}
	for i, r := range reqs {
		s := steps[i]
		if r.Method != s.method || r.Path != s.path || r.Query != "step="+strconv.Itoa(i) || r.Status != s.status ||
			r.End.Sub(r.Start) < px.Latency {
			t.Errorf("request %d recorded as %+v, want %s %s step=%d answered %d after at least %v",
				i, r, s.method, s.path, i, s.status, px.Latency)
		}
	}
	if got := s3delay.Chain(reqs); got != len(steps) {
		t.Errorf("chain %d, want %d (one request after another)", got, len(steps))
	}
}

// A server that cannot be reached is a 502, as a reverse proxy would answer.
func TestProxyBadGateway(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	px, err := s3delay.Start("", "http://"+dead, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	resp, err := http.Get(px.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d, want 502", resp.StatusCode)
	}
	if reqs := px.Requests(); len(reqs) != 1 || reqs[0].Status != http.StatusBadGateway {
		t.Errorf("recorded %+v, want the GET answered 502", reqs)
	}
}

// A request the proxy cannot frame is answered 400, also on a connection that already carried
// one (whose server side the proxy then closes).
func TestProxyMalformedRequest(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer backend.Close()
	px, err := s3delay.Start("", backend.URL, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	c, err := net.Dial("tcp", px.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	fmt.Fprintf(c, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("first request: %v %v", resp, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	fmt.Fprintf(c, "GET /bad HTTP/1.1\r\nContent-Length: -1\r\n\r\n")
	resp, err = http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("malformed request: %v %v, want 400", resp, err)
	}
}
