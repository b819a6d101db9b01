package soak

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"medicpx/infra/stack"
	"medicpx/infra/stack/stacktest"
)

// TestSoak runs a short soak against a stack of its own: every process gets at least two RSS
// samples, no request fails, every kind of operation ran, and the report has its table and the
// API's levelling.
func TestSoak(t *testing.T) {
	st := stacktest.Start(t, stack.Options{})
	tok := func(role string) string {
		s, err := st.Token(role)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	var live bytes.Buffer
	c := Config{
		APIURL: st.APIURL, Professor: tok("professor"), Student: tok("student"), Admin: tok("admin"),
		Targets:  StackTargets(st.APIURL, st.ProcessorURL, st.S3URL),
		Duration: 30 * time.Second, SampleEvery: 5 * time.Second, Interval: 100 * time.Millisecond,
		KeepPerScenario: 3, MaxRequests: 2000, Out: &live,
	}
	r, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	r.Write(&out)
	t.Logf("live:\n%s\nreport:\n%s", &live, &out)
	if len(r.Samples) < 2 {
		t.Errorf("%d samples, want at least 2", len(r.Samples))
	}
	for _, name := range r.Targets {
		n := 0
		for _, s := range r.Samples {
			if s.RSS[name] > 0 {
				n++
			}
		}
		if n < 2 {
			t.Errorf("%s: %d RSS samples, want at least 2", name, n)
		}
	}
	if r.Errors != 0 {
		t.Errorf("%d request errors: %v", r.Errors, r.FirstErrors)
	}
	for _, op := range []string{"upload-url", "put", "list-staff", "list-student", "representative", "redirect", "caption", "pin", "delete", "restore", "delete-permanent"} {
		if r.Ops[op] == nil || r.Ops[op].Requests == 0 {
			t.Errorf("no %s requests", op)
		}
	}
	for _, want := range []string{"api MiB", "processor MiB", "versitygw MiB", "ratio last/middle", "api RSS bound: baseline + 16 MiB"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if r.APIBaseline == 0 || r.APIRatio == 0 {
		t.Errorf("no API levelling: %+v", r)
	}
}
