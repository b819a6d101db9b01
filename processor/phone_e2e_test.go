package processor

import (
	"fmt"
	"slices"
	"testing"

	"medicpx/infra/testenv/phonesamples"
	"medicpx/shared/imagepolicy"
	"medicpx/shared/keys"
)

// TestPhoneSamplesEndToEnd uploads the real phone camera files of ../shared/samples/phone the way
// the product does (upload URL from the real API, PUT to versitygw, its events drive the
// processor): each complete file becomes ready and the API says what was removed; the truncated
// one is rejected; each stored original is the primary image alone, without MPF, GPS or serial.
func TestPhoneSamplesEndToEnd(t *testing.T) {
	dir := phonesamples.Dir(t)
	s := startStack(t, true)
	a := startAPI(t, s)
	type upload struct {
		f    phonesamples.File
		data []byte
		key  string
	}
	var ups []upload
	for i, f := range phonesamples.Files {
		data := phonesamples.Read(t, dir, f)
		ups = append(ups, upload{f, data, a.upload(t, fmt.Sprintf("phone-%02d", i), f.Name, data)})
	}
	waitFor(t, "every phone photo to settle", func() bool {
		if !s.recv.idle() {
			return false
		}
		// Settled either way (ready: the original and two thumbnails; rejected: the quarantine
		// copy), so that each subtest below says which outcome a file got.
		for _, u := range ups {
			k, _ := keys.Parse(u.key)
			ready := len(s.outputs(t, k.Scenario)) == 3
			rejected := len(s.list(t, keys.QuarantineKey(keys.ScenarioPrefix(k.Scenario)))) == 1
			if !(ready || rejected) || len(s.list(t, keys.StagedPrefix(k.Scenario))) != 0 {
				return false
			}
		}
		return true
	})
	for _, u := range ups {
		t.Run(u.f.Name, func(t *testing.T) {
			k, _ := keys.Parse(u.key)
			st, err := a.Status(t.Context(), u.key)
			if err != nil {
				t.Fatal(err)
			}
			if u.f.Rejected != "" {
				if st.Status != "rejected" || st.Reason != u.f.Rejected {
					t.Fatalf("status %s %q; want rejected %q", st.Status, st.Reason, u.f.Rejected)
				}
				if got := s.outputs(t, k.Scenario); len(got) != 0 {
					t.Fatalf("a rejected upload left %v", got)
				}
				return
			}
			if st.Status != "ready" || !slices.Equal(st.Removed, u.f.Removed) || st.RemovedMessage != imagepolicy.RemovedSentence(u.f.Removed) || st.RemovedMessage == "" {
				t.Fatalf("status %s, removed %q %q; want ready, removed %q", st.Status, st.Removed, st.RemovedMessage, u.f.Removed)
			}
			if got := s.head(t, u.key).Metadata[keys.MetaRemoved]; got != imagepolicy.JoinRemoved(u.f.Removed) {
				t.Errorf("metadata %s = %q; want %q", keys.MetaRemoved, got, imagepolicy.JoinRemoved(u.f.Removed))
			}
			stored := s.get(t, u.key)
			t.Logf("%s: %d bytes uploaded, %d stored, removed %q: %s", u.f.Name, len(u.data), len(stored), st.Removed, st.RemovedMessage)
			phonesamples.CheckPrimaryOnly(t, stored, u.data[:u.f.EOI])
		})
	}
}
