package api

import (
	"net/url"
	"strings"
	"testing"

	"medicpx/shared/keys"
)

// TestPresignHEIC: HEIC/HEIF and AVIF are accepted at presign, with the types browsers give them
// (Safari's image/heic, none or application/octet-stream from desktop Chrome and Firefox). The
// client is told the final {uuid}.jpg; the URL writes a staged key with the upload's own
// extension, and the status route finds that upload as processing.
func TestPresignHEIC(t *testing.T) {
	st := newStack(t)
	prof := st.token("professor")
	body := []byte("0123456789")
	tests := []struct {
		filename, ctype, signed, stagedExt string
	}{
		{"IMG_0001.HEIC", "image/heic", "image/heic", "heic"},
		{"IMG_0002.heic", "", "image/heic", "heic"},
		{"IMG_0003.heic", "application/octet-stream", "image/heic", "heic"},
		{"camera.HIF", "image/heif", "image/heic", "hif"},
		{"photo.heif", "", "image/heic", "heif"},
		{"chrome.avif", "image/avif", "image/avif", "avif"},
		{"firefox.avif", "application/octet-stream", "image/avif", "avif"},
	}
	for _, tt := range tests {
		t.Run(tt.filename, func(t *testing.T) {
			resp := st.call("POST", "/patient-images/upload-url/7", prof, uploadBody(tt.filename, tt.ctype, len(body), "PUT"))
			if resp.Status != 200 {
				t.Fatalf("%d %s", resp.Status, resp.Raw)
			}
			key := resp.str("s3_key")
			k, err := keys.ParseOriginal(key, "7")
			if err != nil || k.Ext != "jpg" || resp.str("stored_filename") != k.ID+".jpg" || !strings.HasSuffix(resp.str("s3_url"), "/"+key) {
				t.Fatalf("key %q (%v), response %s", key, err, resp.Raw)
			}
			staged := keys.StagedKey(keys.OriginalKey("7", k.ID, tt.stagedExt))
			u, err := url.Parse(resp.str("upload_url"))
			if err != nil || !strings.HasSuffix(u.Path, "/"+staged) {
				t.Fatalf("upload URL %q; want it to write %s", resp.str("upload_url"), staged)
			}
			if got := httpPut(t, resp.str("upload_url"), tt.signed, body); got != 200 {
				t.Fatalf("PUT as told: %d", got)
			}
			if !st.exists(staged) || st.exists(key) {
				t.Fatalf("staged %v, final %v; want staged only", st.exists(staged), st.exists(key))
			}
			// The status of the .jpg the client was told finds the staged .heic.
			s := st.call("GET", "/patient-images/scenarios/7/images/"+k.ID+".jpg", prof, nil)
			if s.Status != 200 || s.str("status") != "processing" {
				t.Fatalf("status: %d %s", s.Status, s.Raw)
			}
		})
	}
}
