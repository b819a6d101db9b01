package keys

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

const id = "0f8fad5b-d9cb-469f-a165-70867728950e"

func TestParse(t *testing.T) {
	tests := []struct {
		key  string
		want Key // zero Kind = must be rejected
	}{
		{"patient_images/scenario_1/" + id + ".jpg", Key{Kind: Original, Scenario: "1", ID: id, Ext: "jpg"}},
		{"patient_images/scenario_A-b_9/" + id + ".webp", Key{Kind: Original, Scenario: "A-b_9", ID: id, Ext: "webp"}},
		{"patient_images/scenario_1/" + id + ".jpeg", Key{Kind: Original, Scenario: "1", ID: id, Ext: "jpeg"}},
		{"patient_images/scenario_1/thumbnails/" + id + "_320.jpg", Key{Kind: Thumbnail, Scenario: "1", ID: id, Ext: "jpg", Size: 320}},
		{"patient_images/scenario_1/thumbnails/" + id + "_1280.png", Key{Kind: Thumbnail, Scenario: "1", ID: id, Ext: "png", Size: 1280}},
		{"patient_images/scenario_1/_meta/representative.json", Key{Kind: Meta, Scenario: "1", Name: "representative.json"}},
		{"quarantine/patient_images/scenario_1/" + id + ".png", Key{Kind: Quarantine, Scenario: "1", ID: id, Ext: "png"}},
		{"incoming/patient_images/scenario_1/" + id + ".gif", Key{Kind: Staged, Scenario: "1", ID: id, Ext: "gif"}},
		// Everything else is refused.
		{"", Key{}},
		{"patient_images/scenario_1/", Key{}},
		{"patient_images/scenario_1/" + id, Key{}},
		{"patient_images/scenario_1/" + id + ".JPG", Key{}},
		{"patient_images/scenario_1/" + id + ".bmp", Key{}},
		{"patient_images/scenario_1/uuid1.jpg", Key{}},
		{"patient_images/scenario_1/" + id + ".jpg/x", Key{}},
		{"patient_images/scenario_1/../scenario_2/" + id + ".jpg", Key{}},
		{"patient_images/scenario_a b/" + id + ".jpg", Key{}},
		{"patient_images/scenario_/" + id + ".jpg", Key{}},
		{"patient_images%2Fscenario_1%2F" + id + ".jpg", Key{}},
		{"/patient_images/scenario_1/" + id + ".jpg", Key{}},
		{"patient_images/scenario_1/thumbnails/" + id + "_640.jpg", Key{}},
		{"patient_images/scenario_1/thumbnails/" + id + "_0320.jpg", Key{}},
		{"patient_images/scenario_1/thumbnails/" + id + "_320.gif", Key{}},
		{"patient_images/scenario_1/thumbnails/" + id + ".jpg", Key{}},
		{"patient_images/scenario_1/_meta/../x.json", Key{}},
		{"quarantine/patient_images/scenario_1/thumbnails/" + id + "_320.jpg", Key{}},
		{"quarantine/quarantine/patient_images/scenario_1/" + id + ".jpg", Key{}},
		{"other/" + id + ".jpg", Key{}},
		{"incoming/patient_images/scenario_1/thumbnails/" + id + "_320.jpg", Key{}},
		{"incoming/patient_images/scenario_1/_meta/representative.json", Key{}},
		{"incoming/incoming/patient_images/scenario_1/" + id + ".jpg", Key{}},
		{"incoming/quarantine/patient_images/scenario_1/" + id + ".jpg", Key{}},
		{"quarantine/incoming/patient_images/scenario_1/" + id + ".jpg", Key{}},
		{"incoming/patient_images/scenario_1/" + id + ".JPG", Key{}},
		{"incoming/patient_images/scenario_1/" + id + ".jpg/", Key{}},
		{"incoming//patient_images/scenario_1/" + id + ".jpg", Key{}},
		{"Incoming/patient_images/scenario_1/" + id + ".jpg", Key{}},
		{"incoming/" + id + ".jpg", Key{}},
		// Trash is outside the layout Parse accepts: the processor and the sweep never touch it.
		{TrashKey("patient_images/scenario_1/" + id + ".jpg"), Key{}},
		{TrashKey("patient_images/scenario_1/thumbnails/" + id + "_320.jpg"), Key{}},
		// The scenarios index is no scenario's: no upload, no s3_url, nothing the processor takes.
		{IndexKey, Key{}},
		{StagedKey(IndexKey), Key{}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, err := Parse(tt.key)
			if tt.want.Kind == 0 {
				if err == nil || !errors.Is(err, ErrInvalid) {
					t.Fatalf("Parse accepted %q as %+v", tt.key, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse = %+v, %v; want %+v", got, err, tt.want)
			}
			if got.String() != tt.key {
				t.Fatalf("String() = %q, want %q", got.String(), tt.key)
			}
		})
	}
}

func TestParseOriginal(t *testing.T) {
	orig := OriginalKey("1", id, "jpg")
	if _, err := ParseOriginal(orig, "1"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ key, scenario string }{
		{orig, "2"},
		{ThumbnailKey("1", id, 320, "jpg"), "1"},
		{QuarantineKey(orig), "1"},
		{StagedKey(orig), "1"},
		{RepresentativeKey("1"), "1"},
	} {
		if _, err := ParseOriginal(c.key, c.scenario); err == nil {
			t.Errorf("ParseOriginal(%q, %q) accepted", c.key, c.scenario)
		}
	}
}

func TestListingPrefixes(t *testing.T) {
	if ScenarioPrefix("1") != "patient_images/scenario_1/" || ThumbnailPrefix("1") != "patient_images/scenario_1/thumbnails/" {
		t.Fatal(ScenarioPrefix("1"), ThumbnailPrefix("1"))
	}
	if StagedPrefix("1") != "incoming/patient_images/scenario_1/" || StagedKey(OriginalKey("1", id, "png")) != StagedPrefix("1")+id+".png" {
		t.Fatal(StagedPrefix("1"))
	}
	if Filename(OriginalKey("1", id, "png")) != id+".png" {
		t.Fatal(Filename(OriginalKey("1", id, "png")))
	}
}

func TestThumbnailSetReady(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	thumb := func(size int, ext string) Key {
		return Key{Kind: Thumbnail, Scenario: "1", ID: id, Size: size, Ext: ext}
	}
	tests := []struct {
		name string
		add  func(ThumbnailSet)
		want bool
	}{
		{"none", func(ThumbnailSet) {}, false},
		{"one size", func(s ThumbnailSet) { s.Add(thumb(320, "jpg"), t0) }, false},
		{"both", func(s ThumbnailSet) {
			s.Add(thumb(320, "jpg"), t0)
			s.Add(thumb(1280, "jpg"), t0.Add(-time.Hour)) // age says nothing: only the processor writes here
		}, true},
		{"a stale pair and a newer one", func(s ThumbnailSet) {
			s.Add(thumb(320, "png"), t0.Add(time.Second))
			s.Add(thumb(320, "jpg"), t0.Add(-time.Hour))
			s.Add(thumb(1280, "jpg"), t0.Add(-time.Hour))
			s.Add(thumb(1280, "png"), t0.Add(time.Second))
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ThumbnailSet{}
			tt.add(s)
			if got := s.Ready(); got != tt.want {
				t.Fatalf("Ready = %v, want %v (%v)", got, tt.want, s)
			}
		})
	}
	s := ThumbnailSet{}
	s.Add(thumb(320, "jpg"), t0)
	s.Add(thumb(320, "png"), t0.Add(time.Second))
	s.Add(thumb(320, "jpg"), t0) // an older one listed later does not win
	if s[320].Key != ThumbnailKey("1", id, 320, "png") {
		t.Fatalf("newest 320 = %s", s[320].Key)
	}
}

func TestUploadKey(t *testing.T) {
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	prefix := "patient_images/scenario_1/_meta/uploads/" + id + "."
	const stamp = "1795000000000000001"
	for _, name := range []string{"흉부 X선 (1).jpg", "a.b.c d.PNG", "x", strings.Repeat("가", MaxUploadNameBytes/3)} {
		k := UploadKey("1", id, 1795000000000000001, name)
		if k != prefix+stamp+"."+b64(name) || len(k) > 1024 {
			t.Fatalf("UploadKey(%q) = %q", name, k)
		}
		got, err := Parse(k)
		want := Key{Kind: Meta, Scenario: "1", Name: strings.TrimPrefix(k, "patient_images/scenario_1/_meta/"), ID: id, Stamp: 1795000000000000001, PickedName: name}
		if err != nil || got != want || got.String() != k || !got.UploadNote() {
			t.Fatalf("Parse(%q) = %+v, %v; want %+v", k, got, err, want)
		}
		if !strings.HasPrefix(k, UploadIDPrefix("1", id)) || !strings.HasPrefix(k, UploadPrefix("1")) {
			t.Fatalf("%q is outside its prefixes", k)
		}
	}
	if UploadKey("1", id, 7, "a.jpg") != prefix+"0000000000000000007."+b64("a.jpg") {
		t.Fatal("stamps are not zero-padded to a fixed width")
	}
	for _, bad := range []string{
		prefix + stamp,                            // no name
		prefix + stamp + ".",                      // empty name
		prefix + stamp + "." + b64("a.jpg") + "=", // padded
		prefix + stamp + "." + base64.StdEncoding.EncodeToString([]byte("??>")), // not url-safe
		prefix + stamp + ".YR",                 // non-canonical trailing bits ("a" is YQ)
		prefix + stamp + "." + b64("\xff.jpg"), // not UTF-8
		prefix + stamp + "." + b64(strings.Repeat("a", MaxUploadNameBytes+1)),
		prefix + "0000000000000000000." + b64("a.jpg"), // zero stamp
		prefix + "795000000000000001." + b64("a.jpg"),  // short stamp
		prefix + "+795000000000000001." + b64("a.jpg"), // signed stamp
		prefix + stamp + "." + b64("a.jpg") + ".x",     // extra part
		prefix + stamp + "." + b64("a.jpg") + "/x",     // extra path element
		"patient_images/scenario_1/_meta/uploads/" + strings.ToUpper(id) + "." + stamp + "." + b64("a.jpg"),
		"patient_images/scenario_1/_meta/uploads/x." + stamp + "." + b64("a.jpg"),
		StagedKey(UploadKey("1", id, 1, "a.jpg")),
		QuarantineKey(UploadKey("1", id, 1, "a.jpg")),
		TrashKey(UploadKey("1", id, 1, "a.jpg")),
	} {
		if k, err := Parse(bad); err == nil || !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse accepted %q as %+v", bad, k)
		}
	}
	if k, _ := Parse(CatalogKey("1")); k.UploadNote() {
		t.Error("the catalog is taken for an upload note")
	}
	if _, err := ParseOriginal(UploadKey("1", id, 1, "a.jpg"), "1"); err == nil {
		t.Error("ParseOriginal accepted an upload note")
	}
}
