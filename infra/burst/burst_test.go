package burst

import (
	"bytes"
	"context"
	"image/jpeg"
	"slices"
	"strings"
	"testing"
	"time"

	"medicpx/infra/stack"
	"medicpx/infra/stack/stacktest"
)

// TestBurstOnLocalStack runs a small burst and a single upload against a real local stack
// (versitygw, processor, API): every upload is reported ready with ordered, positive latencies.
// A photo the processor rejects is never ready: Single says so instead of waiting.
func TestBurstOnLocalStack(t *testing.T) {
	st := stacktest.Start(t, stack.Options{})
	tok, err := st.Token("professor")
	if err != nil {
		t.Fatal(err)
	}
	photos, err := Photos(4, "")
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range photos {
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(p))
		if err != nil {
			t.Fatalf("photo %d: %v", i, err)
		}
		if long := max(cfg.Width, cfg.Height); long < 1200 || long > 2560 {
			t.Errorf("photo %d is %dx%d: not phone-sized", i, cfg.Width, cfg.Height)
		}
	}
	c := Config{APIURL: st.APIURL, Token: tok, Scenario: "burst-test", Timeout: 2 * time.Minute}
	res, err := Run(context.Background(), c, photos)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	if res.Uploads != 4 || !(0 < res.P50 && res.P50 <= res.P95 && res.P95 <= res.Max && res.Max <= res.AllReady) {
		t.Errorf("implausible result: %+v", res)
	}
	if d, err := Single(context.Background(), c, photos[0]); err != nil || d <= 0 {
		t.Errorf("Single = %v, %v", d, err)
	}

	bad := append([]byte{0xff, 0xd8, 0xff}, bytes.Repeat([]byte{0x42}, 1000)...) // a JPEG in name only
	c.Timeout = 30 * time.Second
	if _, err := Single(context.Background(), c, bad); err == nil || !strings.Contains(err.Error(), "rejected") {
		t.Errorf("Single on a broken JPEG: %v; want a rejection", err)
	}
}

// TestMixedBurstOnLatentStack runs a small mixed burst on a local stack whose S3 answers through
// the latency proxy (S3_LATENCY): the valid photo ends ready and the invalid file rejected, and the
// stack's CPU is found for every process, versitygw behind the launcher's proxy included.
func TestMixedBurstOnLatentStack(t *testing.T) {
	st := stacktest.Start(t, stack.Options{S3Latency: 5 * time.Millisecond})
	tok, err := st.Token("professor")
	if err != nil {
		t.Fatal(err)
	}
	ups, err := Mixed(4, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	if bad := slices.IndexFunc(ups, func(u Upload) bool { return u.Invalid }); bad != 3 {
		t.Fatalf("invalid upload at %d, want the last", bad)
	}
	addr := func(u string) string { return strings.TrimPrefix(u, "http://") }
	before, err := StackCPU(addr(st.APIURL), addr(st.ProcessorURL), addr(st.S3URL))
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{"api", "processor", "versitygw", "s3 proxy"} {
		if _, ok := before[role]; !ok {
			t.Errorf("no CPU time for %s: %v", role, before)
		}
	}
	c := Config{APIURL: st.APIURL, Token: tok, Scenario: "mixed-test", Timeout: 2 * time.Minute}
	res, err := RunMixed(context.Background(), c, ups, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	if res.Uploads != 4 || res.Invalid != 1 || !(0 < res.P50 && res.P50 <= res.P95 && res.P95 <= res.AllFinal) || res.PerSecond() <= 0 {
		t.Errorf("implausible result: %+v", res)
	}
	after, err := StackCPU(addr(st.APIURL), addr(st.ProcessorURL), addr(st.S3URL))
	if err != nil {
		t.Fatal(err)
	}
	if after["processor"] <= before["processor"] {
		t.Errorf("the processor used no CPU checking the burst: %v → %v", before["processor"], after["processor"])
	}
	t.Log(CPUSplit(before, after))
}

// TestPerUpload: CPU per upload by role, and the processor-alone rate from its CPU.
func TestPerUpload(t *testing.T) {
	before := map[string]time.Duration{"processor": time.Second, "versitygw": 0, "api": 0}
	after := map[string]time.Duration{"processor": 31 * time.Second, "versitygw": 15 * time.Second, "api": 3 * time.Second}
	for _, tc := range []struct {
		uploads, cores int
		want           string
	}{
		{300, 2, "CPU per upload: processor 100 ms, versitygw 50 ms, api 10 ms; the processor's work alone on 2 cores: 20.0 images/s"},
		{150, 4, "CPU per upload: processor 200 ms, versitygw 100 ms, api 20 ms; the processor's work alone on 4 cores: 20.0 images/s"},
		{0, 2, "no uploads"},
	} {
		if got := PerUpload(before, after, tc.uploads, tc.cores); got != tc.want {
			t.Errorf("PerUpload(%d uploads, %d cores) = %q; want %q", tc.uploads, tc.cores, got, tc.want)
		}
	}
}
