package processor

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/uuid"
	_ "golang.org/x/image/webp"

	"medicpx/api"
	"medicpx/infra/testenv/apiclient"
	"medicpx/infra/testenv/versity/versitytest"
	"medicpx/processor/pipeline"
	"medicpx/shared/config"
	"medicpx/shared/imagepolicy"
	"medicpx/shared/keys"
)

type thumbWant struct{ w, h int }

// uploadCase is one upload and what must exist afterwards.
type uploadCase struct {
	file    string // under testdata/images
	data    []byte // instead of file
	direct  bool   // PutObject instead of a presigned PUT (bypasses the API's limits)
	reason  pipeline.Reason
	ext     string // thumbnail extension of a ready image
	thumbs  map[int]thumbWant
	strips  bool // the stored original must differ from the upload
	key     string
	payload []byte
}

var uploadCases = []uploadCase{
	{file: "valid/orient6.jpg", ext: "jpg", thumbs: map[int]thumbWant{320: {200, 320}, 1280: {500, 800}}},
	{file: "valid/alpha.png", ext: "png", thumbs: map[int]thumbWant{320: {120, 80}, 1280: {120, 80}}},
	{file: "valid/opaque.png", ext: "jpg", thumbs: map[int]thumbWant{320: {200, 100}, 1280: {200, 100}}},
	{file: "valid/still.gif", ext: "jpg", thumbs: map[int]thumbWant{320: {64, 48}, 1280: {64, 48}}},
	{file: "valid/animated.gif", ext: "jpg", thumbs: map[int]thumbWant{320: {64, 48}, 1280: {64, 48}}},
	{file: "valid/lossy.webp", ext: "jpg", thumbs: map[int]thumbWant{320: {150, 100}, 1280: {150, 100}}},
	{file: "valid/lossless.webp", ext: "png", thumbs: map[int]thumbWant{320: {75, 100}, 1280: {75, 100}}},
	{file: "valid/cmyk.jpg", ext: "jpg", thumbs: map[int]thumbWant{320: {150, 103}, 1280: {150, 103}}},
	{file: "valid/16bit.png", ext: "jpg", thumbs: map[int]thumbWant{320: {100, 60}, 1280: {100, 60}}},
	{file: "metadata/gps-serial-orientation6.jpg", strips: true, thumbs: map[int]thumbWant{320: {120, 160}, 1280: {120, 160}}},
	{file: "metadata/text-exif.png", strips: true, thumbs: map[int]thumbWant{320: {48, 64}, 1280: {48, 64}}},
	{file: "metadata/exif-xmp.webp", strips: true, thumbs: map[int]thumbWant{320: {32, 48}, 1280: {32, 48}}},
	{file: "metadata/comment-xmp.gif", strips: true, thumbs: map[int]thumbWant{320: {32, 24}, 1280: {32, 24}}},

	{file: "hostile/empty.jpg", direct: true, reason: pipeline.ReasonEmpty}, // the API refuses content_length 0
	{file: "hostile/html.jpg", reason: pipeline.ReasonUnsupported},
	{file: "hostile/svg.png", reason: pipeline.ReasonUnsupported},
	{file: "hostile/pdf.jpg", reason: pipeline.ReasonUnsupported},
	{file: "hostile/elf.jpg", reason: pipeline.ReasonUnsupported},
	{file: "hostile/png-as.jpg", reason: pipeline.ReasonMismatch},
	{file: "hostile/truncated.jpg", reason: pipeline.ReasonCorrupt},
	{file: "hostile/garbage.jpg", reason: pipeline.ReasonCorrupt},
	{file: "hostile/trailing-zip.jpg", reason: pipeline.ReasonTrailingData},
	{file: "hostile/bomb.png", reason: pipeline.ReasonTooManyPixels},
	{file: "hostile/frames.gif", reason: pipeline.ReasonTooComplex}, // 2,500 frames, more than 500
	{file: "hostile/broken-chunk.webp", reason: pipeline.ReasonCorrupt},
	{file: "hostile/animated.webp", reason: pipeline.ReasonAnimatedWebP},
	{file: "hostile/scans.jpg", reason: pipeline.ReasonTooComplex}, // 1,001 scans over 7000x7000
	{file: "hostile/apng.png", reason: pipeline.ReasonAnimatedPNG}, // 200 frames, 199 of garbage
	{file: "generated/too-large.jpg", direct: true, reason: pipeline.ReasonTooLarge,
		data: append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), make([]byte, imagepolicy.MaxBytes+1-11)...)},
	// Issue 16's animation bomb: 1,000 one-pixel frames on a 10000x5000 screen, 23 KB.
	{file: "generated/animation-bomb.gif", reason: pipeline.ReasonTooComplex, data: animationBombGIF(10000, 5000, 1000)},
}

// animationBombGIF: frames one-pixel frames, 1/10 s each, on a w x h logical screen.
func animationBombGIF(w, h, frames int) []byte {
	palette := color.Palette{color.Black, color.White}
	g := &gif.GIF{Config: image.Config{Width: w, Height: h, ColorModel: palette}}
	for i := range frames {
		p := image.NewPaletted(image.Rect(0, 0, 1, 1), palette)
		p.Pix[0] = uint8(i % 2)
		g.Image = append(g.Image, p)
		g.Delay = append(g.Delay, 10)
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// TestEndToEnd uploads every fixture the way the product does (upload URL from the real API, PUT
// straight to S3), lets versitygw's real events drive the receiver, then checks exactly which
// objects exist and what the API reports for each upload.
func TestEndToEnd(t *testing.T) {
	s := startStack(t, true)
	a := startAPI(t, s)
	cases := slices.Clone(uploadCases)
	for i := range cases {
		c := &cases[i]
		c.payload = c.data
		if c.payload == nil {
			c.payload = readImage(t, c.file)
		}
		ext := c.file[strings.LastIndexByte(c.file, '.')+1:]
		scenario := fmt.Sprintf("e2e-%02d", i)
		if c.direct {
			c.key = keys.OriginalKey(scenario, uuid.NewString(), ext)
			s.put(t, keys.StagedKey(c.key), "image/jpeg", c.payload)
		} else {
			c.key = a.upload(t, scenario, "upload."+ext, c.payload)
		}
	}
	want := func(c uploadCase) (originals, quarantined []string) {
		if c.reason != "" {
			return nil, []string{keys.QuarantineKey(c.key)}
		}
		k, _ := keys.Parse(c.key)
		// Sorted: "thumbnails/" sorts after the uuid, "_1280" before "_320".
		return []string{c.key, keys.ThumbnailKey(k.Scenario, k.ID, 1280, c.ext), keys.ThumbnailKey(k.Scenario, k.ID, 320, c.ext)}, nil
	}
	waitFor(t, "every upload to settle", func() bool {
		if !s.recv.idle() {
			return false
		}
		for _, c := range cases {
			k, _ := keys.Parse(c.key)
			orig, quar := want(c)
			got := s.outputs(t, k.Scenario)
			if staged := s.list(t, keys.StagedPrefix(k.Scenario)); len(staged) != 0 {
				return false // every staged upload leaves staging once promoted or quarantined
			}
			if c.ext == "" && c.reason == "" && len(got) == 3 { // thumbnail type decided by content
				continue
			}
			if !slices.Equal(got, orig) || !slices.Equal(s.list(t, keys.QuarantineKey(keys.ScenarioPrefix(k.Scenario))), quar) {
				return false
			}
		}
		return true
	})

	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			k, _ := keys.Parse(c.key)
			wantStatus, wantReason := "ready", ""
			if c.reason != "" {
				wantStatus, wantReason = "rejected", string(c.reason)
			}
			if status, reason := a.status(t, c.key); status != wantStatus || reason != wantReason {
				t.Errorf("the API reports %s %q, want %s %q", status, reason, wantStatus, wantReason)
			}
			got := s.outputs(t, k.Scenario)
			gotQ := s.list(t, keys.QuarantineKey(keys.ScenarioPrefix(k.Scenario)))
			if c.reason != "" {
				if len(got) != 0 || !slices.Equal(gotQ, []string{keys.QuarantineKey(c.key)}) {
					t.Fatalf("objects = %v, quarantine = %v; want only the quarantine copy", got, gotQ)
				}
				h := s.head(t, keys.QuarantineKey(c.key))
				if r := h.Metadata[keys.MetaReason]; r != string(c.reason) {
					t.Errorf("reason = %q, want %q (detail %q)", r, c.reason, h.Metadata[keys.MetaDetail])
				}
				if h.Metadata[keys.MetaDetail] == "" && c.reason != pipeline.ReasonEmpty {
					t.Errorf("no detail")
				}
				if *h.ContentLength != int64(len(c.payload)) {
					t.Errorf("quarantine copy has %d bytes, want %d", *h.ContentLength, len(c.payload))
				}
				return
			}
			if len(gotQ) != 0 {
				t.Fatalf("quarantine = %v, want none", gotQ)
			}
			ext := c.ext
			if ext == "" {
				last := got[len(got)-1] // a thumbnail: "thumbnails/" sorts after the uuid
				ext = last[strings.LastIndexByte(last, '.')+1:]
			}
			wantKeys := []string{c.key, keys.ThumbnailKey(k.Scenario, k.ID, 1280, ext), keys.ThumbnailKey(k.Scenario, k.ID, 320, ext)}
			if !slices.Equal(got, wantKeys) {
				t.Fatalf("objects = %v, want %v", got, wantKeys)
			}
			orig := s.head(t, c.key)
			stored := s.get(t, c.key)
			if c.strips && bytes.Equal(stored, c.payload) {
				t.Errorf("original still has its metadata: stored bytes equal the upload")
			}
			if typ, _ := imagepolicy.ByExt(k.Ext); *orig.ContentType != typ.MIME {
				t.Errorf("original Content-Type = %q, want %q", *orig.ContentType, typ.MIME)
			}
			for size, dims := range c.thumbs {
				tkey := keys.ThumbnailKey(k.Scenario, k.ID, size, ext)
				h := s.head(t, tkey)
				// A thumbnail names the staged upload it was made from, as its original does.
				if src := h.Metadata[keys.MetaSourceETag]; src == "" || src != orig.Metadata[keys.MetaSourceETag] {
					t.Errorf("%s: source-etag %q, original's %q", tkey, src, orig.Metadata[keys.MetaSourceETag])
				}
				if deref(h.CacheControl) != ThumbnailCacheControl {
					t.Errorf("%s: Cache-Control %q", tkey, deref(h.CacheControl))
				}
				wantType := map[string]string{"jpg": "image/jpeg", "png": "image/png"}[ext]
				if deref(h.ContentType) != wantType {
					t.Errorf("%s: Content-Type %q, want %q", tkey, deref(h.ContentType), wantType)
				}
				cfg, format, err := image.DecodeConfig(bytes.NewReader(s.get(t, tkey)))
				if err != nil {
					t.Fatalf("%s: %v", tkey, err)
				}
				if map[string]string{"jpeg": "jpg", "png": "png"}[format] != ext || cfg.Width != dims.w || cfg.Height != dims.h {
					t.Errorf("%s: %s %dx%d, want %s %dx%d", tkey, format, cfg.Width, cfg.Height, ext, dims.w, dims.h)
				}
			}
		})
	}

	// The processor's first look GETs the staged upload beside its other reads (one round trip),
	// and reads the body only as far as the headers and the magic bytes allow.
	t.Run("too large is never read", func(t *testing.T) {
		key := keys.StagedKey(cases[slices.IndexFunc(cases, func(c uploadCase) bool { return c.file == "generated/too-large.jpg" })].key)
		for _, c := range s.calls.since(0) {
			if c.Key == key && c.BodyRead > 0 {
				t.Errorf("the processor read %d bytes of the %d-byte object: %+v", c.BodyRead, imagepolicy.MaxBytes+1, c)
			}
		}
	})
	t.Run("invalid content is read only as far as its magic bytes", func(t *testing.T) {
		key := keys.StagedKey(cases[slices.IndexFunc(cases, func(c uploadCase) bool { return c.file == "hostile/html.jpg" })].key)
		var gets []call
		for _, c := range s.calls.since(0) {
			if c.Key == key && c.Method == "GET" {
				gets = append(gets, c)
			}
		}
		if len(gets) != 1 || gets[0].BodyRead > pipeline.SniffLen {
			t.Errorf("GETs of a file rejected by its magic bytes = %+v, want one that read at most %d bytes", gets, pipeline.SniffLen)
		}
	})
	t.Run("one log line per object with the stable keys", func(t *testing.T) {
		key := keys.StagedKey(cases[0].key)
		var lines []map[string]any
		for _, line := range strings.Split(s.logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "processed" && m["key"] == key {
				lines = append(lines, m)
			}
		}
		if len(lines) == 0 {
			t.Fatal("no processed line")
		}
		for _, name := range []string{"bucket", "key", "outcome", "reason", "bytes", "pixels", "ms"} {
			if _, ok := lines[0][name]; !ok {
				t.Errorf("log line lacks %q: %v", name, lines[0])
			}
		}
		if lines[0]["outcome"] != string(Ready) || lines[0]["pixels"] != float64(500*800) {
			t.Errorf("first line = %v, want outcome ready, pixels %d", lines[0], 500*800)
		}
	})
}

// TestRedeliveredEvents covers what S3 delivery does in practice: duplicates, late events after
// the outputs exist, events for deleted objects, several events for one key at once, and events
// for the processor's own outputs.
func TestRedeliveredEvents(t *testing.T) {
	s := startStack(t, true)
	ctx := context.Background()
	jpeg := readImage(t, "metadata/gps-serial-orientation6.jpg")
	id := uuid.NewString()
	key := keys.OriginalKey("redeliver", id, "jpg")
	staged := keys.StagedKey(key)
	s.presignedPut(t, staged, jpeg)
	thumbs := []string{keys.ThumbnailKey("redeliver", id, 1280, "jpg"), keys.ThumbnailKey("redeliver", id, 320, "jpg")}
	ready := append([]string{key}, thumbs...)
	slices.Sort(ready)
	waitFor(t, "ready", func() bool {
		return s.recv.idle() && slices.Equal(s.list(t, keys.ScenarioPrefix("redeliver")), ready) &&
			len(s.list(t, keys.StagedPrefix("redeliver"))) == 0
	})
	etag := *s.head(t, key).ETag

	t.Run("duplicated events change nothing", func(t *testing.T) {
		n := s.calls.len()
		for range 3 {
			s.postEvent(t, "s3:ObjectCreated:Put", staged)
		}
		waitFor(t, "idle", s.recv.idle)
		assertNoWrites(t, s.calls.since(n))
		if got := *s.head(t, key).ETag; got != etag {
			t.Errorf("original rewritten: ETag %s → %s", etag, got)
		}
	})
	t.Run("late event after promotion is gone", func(t *testing.T) {
		n := s.calls.len()
		out, err := s.p.Process(ctx, versitytest.Bucket, staged)
		if err != nil || out != Gone {
			t.Fatalf("Process = %s, %v; want gone", out, err)
		}
		assertNoWrites(t, s.calls.since(n))
	})
	t.Run("a crash before the staged copy was removed", func(t *testing.T) {
		// The same bytes staged again stand for a run that promoted them and died before its
		// delete: the retry only finishes that delete, without decoding or writing anything.
		n := s.calls.len()
		s.put(t, staged, "image/jpeg", jpeg) // its event goes to the receiver
		waitFor(t, "the staged copy removed", func() bool {
			return s.recv.idle() && len(s.list(t, keys.StagedPrefix("redeliver"))) == 0
		})
		for _, c := range s.calls.since(n) {
			if !onlyLooked(c) && !(c.Method == "DELETE" && c.Key == staged) {
				t.Errorf("unexpected %s %s (%d body bytes read): only reads, none of the staged body, and the staged delete expected", c.Method, c.Key, c.BodyRead)
			}
		}
		if !strings.Contains(s.logs.String(), `"key":"`+staged+`","outcome":"unchanged"`) {
			t.Errorf("no unchanged outcome logged for %s", staged)
		}
		if got := *s.head(t, key).ETag; got != etag {
			t.Errorf("original rewritten: ETag %s → %s", etag, got)
		}
	})
	t.Run("event for a deleted object", func(t *testing.T) {
		gone := keys.StagedKey(keys.OriginalKey("redeliver", uuid.NewString(), "png"))
		out, err := s.p.Process(ctx, versitytest.Bucket, gone)
		if err != nil || out != Gone {
			t.Fatalf("Process = %s, %v; want gone, nil", out, err)
		}
	})
	t.Run("late event after quarantine", func(t *testing.T) {
		bad := keys.OriginalKey("redeliver-q", uuid.NewString(), "jpg")
		s.presignedPut(t, keys.StagedKey(bad), readImage(t, "hostile/html.jpg"))
		waitFor(t, "quarantined", func() bool {
			return s.recv.idle() && len(s.list(t, keys.QuarantineRoot+keys.ScenarioPrefix("redeliver-q"))) == 1
		})
		out, err := s.p.Process(ctx, versitytest.Bucket, keys.StagedKey(bad))
		if err != nil || out != Gone {
			t.Fatalf("Process = %s, %v; want gone, nil", out, err)
		}
		if got := append(s.list(t, keys.ScenarioPrefix("redeliver-q")), s.list(t, keys.StagedPrefix("redeliver-q"))...); len(got) != 0 {
			t.Errorf("objects after quarantine: %v", got)
		}
	})
	t.Run("events for anything but a staged upload make no S3 call", func(t *testing.T) {
		others := []string{
			key, // the final original: written only by the processor, never work
			thumbs[0], thumbs[1],
			keys.RepresentativeKey("redeliver"),
			keys.QuarantineKey(key),
			keys.StagedPrefix("redeliver") + "a b c.jpg",
			keys.StagedPrefix("redeliver") + strings.ToUpper(id) + ".jpg",
			keys.IncomingRoot + thumbs[0],
			keys.TrashKey(key), keys.TrashKey(thumbs[0]), keys.CatalogKey("redeliver"),
			"patient_images/scenario_redeliver/a b c.jpg",
			"elsewhere/" + id + ".jpg",
		}
		n := s.calls.len()
		for _, other := range others {
			if out, err := s.p.Process(ctx, versitytest.Bucket, other); out != Ignored || err != nil {
				t.Errorf("Process(%q) = %s, %v; want ignored", other, out, err)
			}
			s.postEvent(t, "s3:ObjectCreated:Put", other)
		}
		waitFor(t, "idle", s.recv.idle)
		if got := s.calls.since(n); len(got) != 0 {
			t.Errorf("S3 calls for non-staged keys: %+v", got)
		}
	})
	t.Run("events for one key at once through the receiver", func(t *testing.T) {
		key := keys.OriginalKey("at-once", uuid.NewString(), "jpg")
		n := s.calls.len()
		var wg sync.WaitGroup
		wg.Go(func() { s.presignedPut(t, keys.StagedKey(key), jpeg) })
		for range 4 {
			wg.Go(func() { s.postEvent(t, "s3:ObjectCreated:Put", keys.StagedKey(key)) })
		}
		wg.Wait()
		k, _ := keys.Parse(key)
		want := []string{key, keys.ThumbnailKey(k.Scenario, k.ID, 1280, "jpg"), keys.ThumbnailKey(k.Scenario, k.ID, 320, "jpg")}
		slices.Sort(want)
		waitFor(t, "ready", func() bool { return s.recv.idle() && slices.Equal(s.list(t, keys.ScenarioPrefix("at-once")), want) })
		puts := 0
		for _, c := range s.calls.since(n) {
			if c.Method == "PUT" && strings.Contains(c.Key, "/thumbnails/") {
				puts++
			}
		}
		if puts != 2 {
			t.Errorf("%d thumbnail PUTs, want one set (2)", puts)
		}
	})
	t.Run("concurrent Process calls as in Lambda", func(t *testing.T) {
		key := keys.OriginalKey("lambda-race", uuid.NewString(), "jpg")
		staged := keys.StagedKey(key)
		s.put(t, staged, "image/jpeg", jpeg) // its own event is processed too: a fourth contender
		var wg sync.WaitGroup
		outs := make([]Outcome, 3)
		errs := make([]error, 3)
		for i := range outs {
			wg.Go(func() { outs[i], errs[i] = s.p.Process(ctx, versitytest.Bucket, staged) })
		}
		wg.Wait()
		for i := range outs {
			if errs[i] != nil || !slices.Contains([]Outcome{Ready, Unchanged, Gone}, outs[i]) {
				t.Errorf("Process #%d = %s, %v", i, outs[i], errs[i])
			}
		}
		k, _ := keys.Parse(key)
		want := []string{key, keys.ThumbnailKey(k.Scenario, k.ID, 1280, "jpg"), keys.ThumbnailKey(k.Scenario, k.ID, 320, "jpg")}
		slices.Sort(want)
		waitFor(t, "settled", func() bool {
			return s.recv.idle() && slices.Equal(s.list(t, keys.ScenarioPrefix("lambda-race")), want) &&
				len(s.list(t, keys.StagedPrefix("lambda-race"))) == 0
		})
		etag := s.head(t, key).Metadata[keys.MetaSourceETag]
		for _, tk := range want[1:] {
			if got := s.head(t, tk).Metadata[keys.MetaSourceETag]; got != etag {
				t.Errorf("%s: source-etag %q, original %q", tk, got, etag)
			}
		}
	})
}

// assertNoWrites: only reads, and none of the staged upload's body (the first look GETs it beside
// its other reads, and reads nothing of it once the final key turns out to hold it already).
func assertNoWrites(t *testing.T, calls []call) {
	t.Helper()
	for _, c := range calls {
		if !onlyLooked(c) {
			t.Errorf("unexpected %s %s (Range %v, %d body bytes read): only reads expected, none of the staged body", c.Method, c.Key, c.Ranged, c.BodyRead)
		}
	}
}

// onlyLooked: a HEAD or a GET, and not a read of a staged upload's bytes (an error's body, such as
// a 404's, is the SDK's to read).
func onlyLooked(c call) bool {
	staged := strings.HasPrefix(c.Key, keys.IncomingRoot) && c.Status < 300
	return c.Method == "HEAD" || (c.Method == "GET" && !(staged && c.BodyRead > 0))
}

// racingStore stages new bytes just before the processor promotes the bytes it checked: a second
// upload through a still-valid presigned URL, landing mid-processing.
type racingStore struct {
	objectStore
	final, staged string
	newBody       []byte
	raced         *bool
}

func (r racingStore) PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if *in.Key == r.final && !*r.raced {
		*r.raced = true
		if _, err := r.objectStore.PutObject(ctx, &s3.PutObjectInput{Bucket: in.Bucket, Key: aws.String(r.staged),
			Body: bytes.NewReader(r.newBody), ContentType: aws.String("image/jpeg")}); err != nil {
			return nil, err
		}
	}
	return r.objectStore.PutObject(ctx, in, opts...)
}

// TestStagedReplayDuringPromotion: removing the staged upload after promoting it never removes
// newer bytes staged at the same key meanwhile (the delete is conditional on the ETag that was
// read, and versitygw honours it); those bytes are then checked and promoted like any upload.
func TestStagedReplayDuringPromotion(t *testing.T) {
	s := startStack(t, false)
	ctx := context.Background()
	key := keys.OriginalKey("race", "6b1f2a3c-4d5e-4f60-8a7b-9c0d1e2f3a4b", "jpg")
	staged := keys.StagedKey(key)
	older := readImage(t, "metadata/gps-serial-orientation6.jpg")
	s.put(t, staged, "image/jpeg", older)
	newer := readImage(t, "valid/orient6.jpg")
	p := *s.p
	p.S3 = racingStore{objectStore: s.p.S3, final: key, staged: staged, newBody: newer, raced: new(bool)}
	if out, err := p.Process(ctx, versitytest.Bucket, staged); err != nil || out != Ready {
		t.Fatalf("first pass: %s, %v; want ready", out, err)
	}
	if got := s.get(t, staged); !bytes.Equal(got, newer) {
		t.Fatal("the newer staged upload was removed with the older one it replaced")
	}
	first := s.get(t, key)
	if bytes.Equal(first, older) || bytes.Equal(first, newer) {
		t.Fatal("the final original is not the stripped older upload")
	}
	// The newer bytes' own event: checked and promoted over the older image.
	if out, err := s.p.Process(ctx, versitytest.Bucket, staged); err != nil || out != Ready {
		t.Fatalf("second pass: %s, %v; want ready", out, err)
	}
	if got := s.list(t, keys.StagedPrefix("race")); len(got) != 0 {
		t.Fatalf("staged after promotion: %v", got)
	}
	h := s.head(t, key)
	if h.Metadata[keys.MetaSourceETag] != md5hex(newer) || bytes.Equal(s.get(t, key), first) {
		t.Fatalf("final original not promoted from the newer upload: source-etag %q", h.Metadata[keys.MetaSourceETag])
	}
	for _, size := range imagepolicy.ThumbnailSizes {
		if got := s.head(t, keys.ThumbnailKey("race", "6b1f2a3c-4d5e-4f60-8a7b-9c0d1e2f3a4b", size, "jpg")).Metadata[keys.MetaSourceETag]; got != md5hex(newer) {
			t.Errorf("thumbnail %d made from %q, want the newer upload %s", size, got, md5hex(newer))
		}
	}
}

func md5hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

// apiClient is the real API on the test's versitygw, as a professor sees it (or, through as,
// another role): the one client of the API, with the helpers below making its errors the test's.
type apiClient struct{ *apiclient.Client }

const e2eSecret = "e2e-secret-that-is-at-least-32-bytes"

func startAPI(t *testing.T, s *stack) apiClient {
	t.Helper()
	const secret = e2eSecret
	cfg := config.API{S3: s.env.S3, JWT: config.JWT{Secret: secret},
		UploadTTL: time.Hour, DownloadMaxTTL: time.Hour, ListURLWindow: time.Hour}
	v, err := api.NewVerifier(context.Background(), cfg.JWT)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(cfg, s.env.Client, v, slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(srv.Close)
	tok, err := api.SignHS256([]byte(secret), "prof", "professor", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return apiClient{apiclient.New(srv.URL, tok)}
}

// as is the same API seen with a token of another role.
func (a apiClient) as(t *testing.T, role string) apiClient {
	t.Helper()
	tok, err := api.SignHS256([]byte(e2eSecret), role+"-1", role, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return apiClient{a.As(tok)}
}

// code is the HTTP status of a call whose caller wants the status code: it never fails the test
// on a non-200 (nor, since it may run on a goroutine of its own, on a transport error, which is
// reported and answered as -1).
func code(t *testing.T, err error) int {
	t.Helper()
	c := apiclient.StatusOf(err)
	if c == 0 {
		t.Errorf("%v", err)
		return -1
	}
	return c
}

// upload asks the API for a presigned PUT and sends data to S3 with it; it returns the key.
func (a apiClient) upload(t *testing.T, scenario, filename string, data []byte) string {
	t.Helper()
	g, err := a.Upload(t.Context(), scenario, filename, data)
	if err != nil {
		t.Fatal(err)
	}
	return g.S3Key
}

func (a apiClient) presignPut(t *testing.T, scenario, filename string, length int) *apiclient.UploadGrant {
	t.Helper()
	g, err := a.PresignPut(t.Context(), scenario, filename, length)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// put sends data through the grant's URL, as often as the caller likes, with the headers it was
// told to send plus extra (which the URL does not sign); it returns S3's status.
func put(t *testing.T, g *apiclient.UploadGrant, data []byte, extra map[string]string) int {
	t.Helper()
	st, err := g.Put(t.Context(), data, extra)
	if st == 0 {
		t.Fatal(err)
	}
	return st
}

// status is what the API's per-upload status route says of key.
func (a apiClient) status(t *testing.T, key string) (status, reason string) {
	t.Helper()
	st, err := a.Status(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	return st.Status, st.Reason
}
