package processor

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"
	"time"

	"medicpx/infra/testenv/apiclient"
	"medicpx/processor/pipeline"
	"medicpx/shared/keys"
)

// TestReplayedUploadURL is the same-second replay race of the security review: once an image is
// ready, new bytes carrying GPS and a serial number are PUT through the same, still valid upload
// URL. Whatever the timing, a student's listing and download URLs serve only bytes the processor
// checked and stripped, and the new bytes are then processed like any upload. Run 20 times: the
// race it guards against needs the replay to land in the same second as the thumbnails.
//
// The waits are bounded by time, not by a count of polls: on a loaded machine (CI runs every
// package at once on two cores) a count of polls is a guess at how fast the machine is.
func TestReplayedUploadURL(t *testing.T) {
	s := startStack(t, true)
	prof := startAPI(t, s)
	stud := prof.as(t, "student")
	first := readImage(t, "metadata/gps-serial-orientation6.jpg")
	// Same length (the URL signs Content-Length), other bytes, the same kinds of secrets.
	replay := bytes.Replace(first, []byte("SN-4242-SECRET"), []byte("SN-9999-SECRET"), 1)
	if bytes.Equal(replay, first) || len(replay) != len(first) {
		t.Fatal("fixture lacks its serial number")
	}
	stripped := map[string]bool{} // every checked version the service may serve
	for _, data := range [][]byte{first, replay} {
		res, err := pipeline.Run(data, "jpg")
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(res.Original, []byte("SECRET")) {
			t.Fatal("the pipeline leaves secrets in: this test could not tell checked from unchecked bytes")
		}
		stripped[string(res.Original)] = true
	}
	strippedReplay, _ := pipeline.Run(replay, "jpg")

	for i := range 20 {
		scenario := fmt.Sprintf("replay-%02d", i)
		g := prof.presignPut(t, scenario, "patient.jpg", len(first))
		if st := put(t, g, first, nil); st != http.StatusOK {
			t.Fatalf("upload: %d", st)
		}
		waitReady(t, stud, scenario, g.S3Key)

		// The replay, at once: in the same second as the thumbnails just written. It may meet the
		// processor's conditional delete of the staged copy at that very moment. S3 may then
		// answer 409 (ConditionalRequestConflict); versitygw answers 409 when the delete removes
		// the emptied folder under the PUT (ExistingObjectIsDirectory). A client retries both.
		sent, answered := putReplay(t, g, replay)
		staged := keys.StagedKey(g.S3Key)
		lost := 0
		deadline := time.Now().Add(30 * time.Second)
		for {
			for field, body := range servedToStudent(t, stud, scenario, g.S3Key) {
				if !stripped[string(body)] {
					t.Fatalf("iteration %d: a student's %s served %d bytes that were never checked (secret inside: %v)",
						i, field, len(body), bytes.Contains(body, []byte("SECRET")))
				}
			}
			// Staging first: the processor removes a staged upload only after promoting it, so an
			// empty staging area means the final original below is already the replay's.
			pending := s.list(t, keys.StagedPrefix(scenario))
			source := s.head(t, g.S3Key).Metadata[keys.MetaSourceETag]
			if source == md5hex(replay) && len(pending) == 0 {
				break
			}
			if len(pending) == 0 && source == md5hex(first) {
				// The replay's bytes are gone, never promoted. The processor's delete of the older
				// staged copy carries If-Match, so on a correct S3 it cannot remove them. versitygw
				// v1.8.0 evaluates that If-Match before, and outside the per-key lock under which a
				// PUT commits (posix DeleteObject): a PUT that commits in between is removed with a
				// 204. Only a replay whose PUT was in flight during that delete can meet this; any
				// other loss is the processor's. The uploader's remedy is to upload again.
				if lost == 3 || !s.calls.overlaps(http.MethodDelete, staged, sent, answered) {
					t.Fatalf("iteration %d: the replayed bytes were removed from staging without being promoted", i)
				}
				lost++
				t.Logf("iteration %d: versitygw removed the replay, PUT during the conditional delete of the older bytes; uploading again", i)
				sent, answered = putReplay(t, g, replay)
				continue
			}
			if time.Now().After(deadline) {
				t.Fatalf("iteration %d: the replayed bytes were never promoted", i)
			}
			time.Sleep(10 * time.Millisecond)
		}
		// Processed like any upload: stripped, with its own thumbnails.
		waitFor(t, "the replay's thumbnails", func() bool {
			etag := s.head(t, g.S3Key).Metadata[keys.MetaSourceETag]
			k, _ := keys.Parse(g.S3Key)
			for _, size := range []int{320, 1280} {
				if s.head(t, keys.ThumbnailKey(k.Scenario, k.ID, size, "jpg")).Metadata[keys.MetaSourceETag] != etag {
					return false
				}
			}
			return true
		})
		for field, body := range servedToStudent(t, stud, scenario, g.S3Key) {
			if !bytes.Equal(body, strippedReplay.Original) {
				t.Fatalf("iteration %d: %s serves %d bytes, want the stripped replay", i, field, len(body))
			}
		}
	}
}

// putReplay sends data through the grant's URL until S3 stores it, retrying 409 (see the caller);
// it returns when the successful PUT was sent and answered.
func putReplay(t *testing.T, g *apiclient.UploadGrant, data []byte) (sent, answered time.Time) {
	t.Helper()
	for try := 0; ; try++ {
		sent = time.Now()
		st := put(t, g, data, nil)
		answered = time.Now()
		if st == http.StatusOK {
			return sent, answered
		}
		if st != http.StatusConflict || try == 10 {
			t.Fatalf("replay through the same URL: %d", st)
		}
	}
}

// waitReady polls the student's listing until key is in it.
func waitReady(t *testing.T, stud apiClient, scenario, key string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if len(servedToStudent(t, stud, scenario, key)) > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s never became ready", key)
}

// servedToStudent fetches what a student is served of key: the listing's url and a fresh
// download URL, by field. It is empty while the student cannot see the image.
func servedToStudent(t *testing.T, stud apiClient, scenario, key string) map[string][]byte {
	t.Helper()
	list, err := stud.List(t.Context(), scenario, apiclient.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, im := range list.Images {
		if im.S3Key != key {
			continue
		}
		out["listing url"] = fetch(t, stud, im.URL)
		d, err := stud.DownloadURL(t.Context(), key, 0)
		if err != nil {
			t.Fatal(err)
		}
		out["download_url"] = fetch(t, stud, d.DownloadURL)
	}
	return out
}

func fetch(t *testing.T, a apiClient, u string) []byte {
	t.Helper()
	b, _, err := a.Fetch(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestUploaderHeadersStayBehind: headers an uploader adds, unsigned, to the presigned PUT are
// stored by S3 on the staged object, but the final original carries only what the processor sets.
func TestUploaderHeadersStayBehind(t *testing.T) {
	s := startStack(t, false)
	prof := startAPI(t, s)
	data := readImage(t, "valid/orient6.jpg")
	g := prof.presignPut(t, "headers", "patient.jpg", len(data))
	extra := map[string]string{
		"Content-Disposition": "attachment; filename=evil.html",
		"Cache-Control":       "public, max-age=999999999",
	}
	if st := put(t, g, data, extra); st != http.StatusOK {
		t.Fatalf("upload with unsigned headers: %d", st)
	}
	staged := keys.StagedKey(g.S3Key)
	h := s.head(t, staged)
	if deref(h.ContentDisposition) != extra["Content-Disposition"] || deref(h.CacheControl) != extra["Cache-Control"] {
		t.Fatalf("S3 did not keep the unsigned headers on the staged object (%q, %q): this test proves nothing",
			deref(h.ContentDisposition), deref(h.CacheControl))
	}
	if out, err := s.p.Process(t.Context(), s.p.Bucket, staged); err != nil || out != Ready {
		t.Fatalf("Process = %s, %v", out, err)
	}
	f := s.head(t, g.S3Key)
	if f.ContentDisposition != nil || f.CacheControl != nil || deref(f.ContentType) != "image/jpeg" {
		t.Errorf("final original: Content-Disposition %q, Cache-Control %q, Content-Type %q; want none, none, image/jpeg",
			deref(f.ContentDisposition), deref(f.CacheControl), deref(f.ContentType))
	}
	if len(f.Metadata) != 1 || f.Metadata[keys.MetaSourceETag] == "" {
		t.Errorf("final original metadata = %v, want only %s", f.Metadata, keys.MetaSourceETag)
	}
}
