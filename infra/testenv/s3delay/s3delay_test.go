package s3delay_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
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
