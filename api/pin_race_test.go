package api

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"medicpx/infra/testenv/versity/versitytest"
	"medicpx/shared/keys"
	"medicpx/shared/s3client"
)

// TestPinNeverDangles (issue 22, item 2): delete, restore and pin of one image, fired together,
// in 100 rounds. After each round the representative is nothing or a ready image that staff list
// (never a trashed one), and while the image is in the trash the pin does not name it.
func TestPinNeverDangles(t *testing.T) {
	st := newStack(t)
	// A pin record's write takes up to 50 ms, as a slow S3 request may: what the pin checked
	// before it can be out of date by the time the write lands.
	st.api.store = slowPinWrites{objectStore: st.api.store}
	prof := st.token("professor")
	other := st.upload(prof, "1", "other.jpg") // what the representative falls back to
	key := st.upload(prof, "1", "pinned.jpg")
	pinBody := map[string]any{"s3_key": key}
	dangling, trashedRep := 0, 0
	const rounds = 100
	outcomes := map[string]int{}
	for round := 0; round < rounds; round++ {
		if st.exists(keys.TrashKey(key)) {
			if r := st.call("POST", "/patient-images/scenarios/1/trash/restore", prof, pinBody); r.Status != 200 {
				t.Fatalf("round %d: restore before the round: %d %s", round, r.Status, r.Raw)
			}
		}
		var wg sync.WaitGroup
		statuses := make([]int, 3)
		// A different interleaving every round: each request starts up to 10 ms late (about the
		// time a delete takes to reach the pin).
		delays := make([]time.Duration, 3)
		for i := range delays {
			delays[i] = time.Duration(rand.IntN(10_000)) * time.Microsecond
		}
		for i, req := range []func() response{
			func() response { return st.call("DELETE", "/patient-images/1?s3_key="+url.QueryEscape(key), prof, nil) },
			func() response { return st.call("POST", "/patient-images/scenarios/1/trash/restore", prof, pinBody) },
			func() response { return st.call("PUT", "/patient-images/scenarios/1/image", prof, pinBody) },
		} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(delays[i])
				statuses[i] = req().Status
			}()
		}
		wg.Wait()
		for _, s := range statuses {
			if s >= 500 {
				t.Fatalf("round %d: statuses (delete, restore, pin) %v", round, statuses)
			}
		}
		trashed := st.exists(keys.TrashKey(key))
		outcomes[fmt.Sprint(statuses, trashed, pinnedKey(t, st) == key)]++
		if trashed && pinnedKey(t, st) == key {
			dangling++
			t.Errorf("round %d: %v: the image is in the trash and the pin still names it", round, statuses)
		}
		rep := st.call("GET", "/patient-images/scenarios/1/image", prof, nil)
		if rep.Status != 200 {
			t.Fatalf("round %d: representative: %d %s", round, rep.Status, rep.Raw)
		}
		im, _ := rep.Body["image"].(map[string]any)
		if im == nil {
			continue
		}
		got, _ := im["s3_key"].(string)
		ready := false
		for _, it := range st.listed(prof, "1") {
			if it["s3_key"] == got && it["status"] == "ready" {
				ready = true
			}
		}
		if !ready || got != other && trashed {
			trashedRep++
			t.Errorf("round %d: %v: the representative is %s, which is not a ready listed image (in the trash: %v)",
				round, statuses, got, got == key && trashed)
		}
	}
	t.Logf("(delete, restore, pin) statuses, trashed, pinned: %v", outcomes)
	t.Logf("%d rounds: %d left the pin on the trashed image, %d answered a representative that was not listed", rounds, dangling, trashedRep)
}

type slowPinWrites struct{ objectStore }

func (s slowPinWrites) PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if strings.HasSuffix(aws.ToString(in.Key), "/representative.json") {
		time.Sleep(time.Duration(rand.IntN(50_000)) * time.Microsecond)
	}
	return s.objectStore.PutObject(ctx, in, opts...)
}

// pinnedKey is the key the scenario's pin record names, "" without one.
func pinnedKey(t *testing.T, st *stack) string {
	t.Helper()
	out, err := st.env.Client.GetObject(context.Background(), &s3.GetObjectInput{
		Bucket: aws.String(versitytest.Bucket), Key: aws.String(keys.RepresentativeKey("1")),
	})
	if s3client.IsNotFound(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	var rec pinRecord
	if err := json.NewDecoder(out.Body).Decode(&rec); err != nil {
		t.Fatal(err)
	}
	return rec.S3Key
}
