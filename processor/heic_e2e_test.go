package processor

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"maps"
	"slices"
	"testing"
	"time"

	"medicpx/infra/testenv/heicsamples"
	"medicpx/infra/testenv/heifbuild"
	"medicpx/shared/imagepolicy"
	"medicpx/shared/keys"
)

// TestHEICSamplesEndToEnd uploads the real HEIC/HEIF/AVIF files and the hostile structures of
// issue 18 the way the product does (upload URL from the API, PUT to versitygw, its events drive
// the processor). Each sample becomes ready under the {uuid}.jpg key the API handed out, as an
// upright JPEG of heif-convert's shape without GPS, serial, make or model, with its thumbnails and
// `heic_converted` said; each hostile file is rejected as corrupt (or too_many_pixels), and the
// processor goes on to convert the sample uploaded after them.
func TestHEICSamplesEndToEnd(t *testing.T) {
	dir := heicsamples.Dir(t)
	s := startStack(t, true)
	a := startAPI(t, s)
	type upload struct {
		name, want string // want: "" for ready, else the rejection reason
		f          heicsamples.File
		data       []byte
		key        string
	}
	var ups []upload
	hostile := heifbuild.Hostile()
	for i, name := range slices.Sorted(maps.Keys(hostile)) {
		want := string(imagepolicy.ReasonCorrupt)
		if name == "ispe_over_cap" {
			want = string(imagepolicy.ReasonTooManyPixels)
		}
		ups = append(ups, upload{name: name, want: want, data: hostile[name],
			key: a.upload(t, fmt.Sprintf("heic-bad-%02d", i), name+".heic", hostile[name])})
	}
	for i, f := range heicsamples.Files {
		data := heicsamples.Read(t, dir, f)
		ups = append(ups, upload{name: f.Name, f: f, data: data, key: a.upload(t, fmt.Sprintf("heic-%02d", i), f.Name, data)})
	}
	waitForWithin(t, 3*time.Minute, "every HEIC upload to settle", func() bool {
		if !s.recv.idle() {
			return false
		}
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
		t.Run(u.name, func(t *testing.T) {
			k, err := keys.Parse(u.key)
			if err != nil || k.Ext != "jpg" {
				t.Fatalf("the API handed out %q; want a .jpg original", u.key)
			}
			st, err := a.Status(t.Context(), u.key)
			if err != nil {
				t.Fatal(err)
			}
			if u.want != "" {
				if st.Status != "rejected" || st.Reason != u.want {
					t.Fatalf("status %s %q; want rejected %q", st.Status, st.Reason, u.want)
				}
				return
			}
			removed := []string{imagepolicy.RemovedHEICConverted}
			if st.Status != "ready" || !slices.Equal(st.Removed, removed) || st.RemovedMessage != imagepolicy.RemovedSentence(removed) {
				t.Fatalf("status %s, removed %q %q; want ready, %q", st.Status, st.Removed, st.RemovedMessage, removed)
			}
			if ct := s.head(t, u.key).ContentType; ct == nil || *ct != "image/jpeg" {
				t.Errorf("Content-Type %v", ct)
			}
			stored := s.get(t, u.key)
			img, err := jpeg.Decode(bytes.NewReader(stored))
			if err != nil {
				t.Fatalf("stored original is not a JPEG: %v", err)
			}
			ref := heicsamples.Reference(t, dir, u.f)
			if img.Bounds().Size() != ref.Bounds().Size() {
				t.Fatalf("stored %v; heif-convert gives %v", img.Bounds().Size(), ref.Bounds().Size())
			}
			heicsamples.CheckStripped(t, stored, u.f.Name == "iphonexr_rot90_gps.heic")
			t.Logf("%d bytes uploaded, %d stored (%v)", len(u.data), len(stored), img.Bounds().Size())
		})
	}
}
