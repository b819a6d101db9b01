package api

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"medicpx/infra/testenv/versity/versitytest"
	"medicpx/shared/catalog"
	"medicpx/shared/keys"
)

// TestPurge: a permanent delete, from the list or from the trash, leaves no object whose key
// names the upload, takes its name, caption and place out of the catalog and drops its pin; the
// guide's plain delete still answers as before and goes to the trash. (The processor-side races
// are in processor/deletewins_test.go.)
func TestPurge(t *testing.T) {
	st := newStack(t)
	prof := st.token("professor")
	const name = "홍길동_800101-1234567_흉부.jpg"
	live := st.upload(prof, "1", name)
	trashed := st.upload(prof, "1", "둘째.jpg")
	kept := st.upload(prof, "1", "셋째.jpg")
	lk, _ := keys.Parse(live)
	// The SHA-256 the processor records of each upload's bytes (duplicate detection) is part of
	// what a permanent delete must take away.
	sums := map[string]string{live: catalog.Checksum([]byte("live bytes")), trashed: catalog.Checksum([]byte("trashed bytes")), kept: catalog.Checksum([]byte("kept bytes"))}
	for key, sum := range sums {
		st.withChecksum(key, sum)
	}
	if r := st.call("PATCH", "/patient-images/scenarios/1/images/"+keys.Filename(live), prof, map[string]any{"caption": "우상복부 압통"}); r.Status != 200 {
		t.Fatalf("caption: %d %s", r.Status, r.Raw)
	}
	if r := st.call("PUT", "/patient-images/scenarios/1/image", prof, map[string]any{"s3_key": live}); r.Status != 200 {
		t.Fatalf("pin: %d %s", r.Status, r.Raw)
	}
	if r := st.call("PUT", "/patient-images/scenarios/1/order", prof, map[string]any{"s3_keys": []string{live, kept, trashed}}); r.Status != 200 {
		t.Fatalf("order: %d %s", r.Status, r.Raw)
	}
	del := func(query string) response {
		return st.call("DELETE", "/patient-images/1?"+query, prof, nil)
	}
	if r := del("permanent=yes&s3_key=" + url.QueryEscape(live)); r.Status != 422 {
		t.Fatalf("permanent=yes: %d %s, want 422", r.Status, r.Raw)
	}
	if r := del("permanent=true&s3_key=" + url.QueryEscape(live)); r.Status != 200 || r.Body["permanent"] != true {
		t.Fatalf("permanent delete: %d %s", r.Status, r.Raw)
	}
	if r := del("s3_key=" + url.QueryEscape(trashed)); r.Status != 200 || r.str("message") != "환자 이미지가 성공적으로 삭제되었습니다." {
		t.Fatalf("the guide's delete: %d %s", r.Status, r.Raw)
	}
	trashRoute := "/patient-images/scenarios/1/trash?s3_key=" + url.QueryEscape(trashed)
	if r := st.call("DELETE", trashRoute, prof, nil); r.Status != 200 {
		t.Fatalf("delete from the trash: %d %s", r.Status, r.Raw)
	}
	if r := st.call("DELETE", trashRoute, prof, nil); r.Status != 404 {
		t.Fatalf("second delete from the trash: %d %s, want 404", r.Status, r.Raw)
	}
	if r := st.call("DELETE", "/patient-images/scenarios/1/trash?s3_key="+url.QueryEscape(kept), prof, nil); r.Status != 404 || !st.exists(kept) {
		t.Fatalf("the trash route on a listed image: %d %s, want 404 and the image kept", r.Status, r.Raw)
	}

	// Nothing left names either upload, but the tombstones (named by a hash) and the catalog,
	// which must hold neither any more.
	tk, _ := keys.Parse(trashed)
	out, err := st.env.Client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(versitytest.Bucket)})
	if err != nil {
		t.Fatal(err)
	}
	// Every key, metadata value and body.
	gone := []string{lk.ID, tk.ID, name, "우상복부 압통", "둘째.jpg", sums[live], sums[trashed]}
	for _, o := range out.Contents {
		key := aws.ToString(o.Key)
		h, err := st.env.Client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(versitytest.Bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		texts := map[string]string{"key": key, "body": string(st.get(key))}
		for m, v := range h.Metadata {
			texts["metadata "+m] = v
		}
		for where, text := range texts {
			for _, g := range gone {
				if strings.Contains(text, g) {
					t.Errorf("%q is left in the %s of %s after the permanent delete", g, where, key)
				}
			}
		}
	}
	cat := string(st.get(keys.CatalogKey("1")))
	if !strings.Contains(cat, "셋째.jpg") || !strings.Contains(cat, sums[kept]) {
		t.Errorf("the catalog lost the image that was kept, or its checksum: %s", cat)
	}
	if r := st.call("GET", "/patient-images/scenarios/1/image", prof, nil); r.Body["image"].(map[string]any)["s3_key"] != kept {
		t.Errorf("representative after the pinned image was purged: %s", r.Raw)
	}
	if got := field(st.listed(prof, "1"), "s3_key"); !slices.Equal(got, []string{kept}) {
		t.Errorf("listing after purges: %q", got)
	}
	if r := st.call("POST", "/patient-images/scenarios/1/trash/restore", prof, map[string]any{"s3_key": trashed}); r.Status != 404 {
		t.Errorf("restore after a permanent delete: %d %s, want 404", r.Status, r.Raw)
	}
}
