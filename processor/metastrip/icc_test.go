package metastrip

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// fakeICC is what the security review planted: a block that claims to be an ICC profile and
// carries a script and a resident registration number. Strip must not keep it anywhere.
var fakeICC = []byte("<script>alert(document.cookie)</script> patient 900101-1234567")

// fakeICCMarks are the parts of fakeICC that must not survive.
var fakeICCMarks = []string{"<script>", "900101-1234567"}

// iccWith is testICC changed by f, on a copy.
func iccWith(f func(p []byte) []byte) []byte { return f(bytes.Clone(testICC)) }

// tagEntry is the offset of tag i's entry in the tag table.
func tagEntry(i int) int { return iccHeaderLen + 4 + iccTagLen*i }

// badICCs are blocks that are not well-formed profiles, each failing one check.
func badICCs() map[string][]byte {
	put := binary.BigEndian.PutUint32
	return map[string][]byte{
		"fake": fakeICC,
		"fake with a valid-looking size": func() []byte {
			p := append(make([]byte, 4), fakeICC...)
			put(p, uint32(len(p)))
			return p
		}(),
		"empty":           {},
		"header only":     testICC[:iccHeaderLen],
		"declared larger": iccWith(func(p []byte) []byte { put(p, uint32(len(p)+1)); return p }),
		"cut short":       testICC[:len(testICC)-1],
		"padded":          append(bytes.Clone(testICC), 0, 0, 0, 0),
		"no acsp":         iccWith(func(p []byte) []byte { copy(p[36:], "acsq"); return p }),
		"too many tags":   iccWith(func(p []byte) []byte { put(p[iccHeaderLen:], maxICCTags+1); return p }),
		"table past the end": iccWith(func(p []byte) []byte {
			put(p[iccHeaderLen:], uint32((len(p)-iccHeaderLen)/iccTagLen))
			return p
		}),
		"tag past the end": iccWith(func(p []byte) []byte {
			put(p[tagEntry(0)+8:], uint32(len(p))) // size
			return p
		}),
		"tag offset overflows": iccWith(func(p []byte) []byte {
			put(p[tagEntry(1)+4:], 0xFFFFFFF0)
			put(p[tagEntry(1)+8:], 0x20)
			return p
		}),
		"tag inside the table": iccWith(func(p []byte) []byte {
			put(p[tagEntry(2)+4:], uint32(tagEntry(0)))
			return p
		}),
		"tag in the header": iccWith(func(p []byte) []byte { put(p[tagEntry(0)+4:], 0); return p }),
	}
}

func TestCheckICC(t *testing.T) {
	if err := checkICC(testICC); err != nil {
		t.Fatalf("the test profile: %v", err)
	}
	// Tags may share data, as the three tone curves of testICC do, and a profile may have none.
	noTags := iccWith(func(p []byte) []byte {
		p = append(p[:iccHeaderLen], 0, 0, 0, 0)
		binary.BigEndian.PutUint32(p, uint32(len(p)))
		return p
	})
	if err := checkICC(noTags); err != nil {
		t.Errorf("a profile with no tags: %v", err)
	}
	for name, p := range badICCs() {
		if err := checkICC(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// jpegWithICC is the plain test JPEG with ICC_PROFILE segments made of the given sequence
// numbers, counts and data.
func jpegWithICC(t *testing.T, segs ...[]byte) []byte {
	t.Helper()
	p := mustStrip(t, readFixture(t, fixtureJPEG), MIMEJPEG)
	out := append([]byte(nil), p[:2]...)
	for _, s := range segs {
		out = append(out, jpegSegmentBytes(markerAPP2, append(bytes.Clone(iccID), s...))...)
	}
	// Without the fixture's own profile, so only the segments above are ICC.
	for pos := 2; ; {
		seg, err := nextJPEGSegment(p, pos)
		if err != nil {
			t.Fatal(err)
		}
		if seg.marker == markerSOS {
			return append(out, p[pos:]...)
		}
		if seg.marker != markerAPP2 {
			out = append(out, p[seg.start:seg.end]...)
		}
		pos = seg.end
	}
}

// iccSeg is one ICC_PROFILE segment's payload after the identifier.
func iccSeg(seq, n byte, data []byte) []byte { return append([]byte{seq, n}, data...) }

// pngICCPChunk is an iCCP chunk holding profile under name, and extra bytes after the stream.
func pngICCPChunk(name string, profile, extra []byte) []byte {
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(profile)
	zw.Close()
	return pngChunkBytes("iCCP", append(append([]byte(name+"\x00\x00"), z.Bytes()...), extra...))
}

// webpWithICCP is the WebP fixture with its ICCP chunk's payload replaced.
func webpWithICCP(t *testing.T, profile []byte) []byte {
	return webpWithChunk(readFixture(t, fixtureWebP), "ICCP", profile)
}

// TestStripICC: an ICC block stays, byte for byte, only when it holds a well-formed profile; the
// review's fake one, with a script and a resident registration number, goes in every format.
func TestStripICC(t *testing.T) {
	third := (len(testICC) + 2) / 3
	part := func(i int) []byte { return testICC[min(i*third, len(testICC)):min((i+1)*third, len(testICC))] }
	gp := mustStrip(t, readFixture(t, fixtureGIF), MIMEGIF)
	gifAt := gifHeaderLen + gifColorTableLen(gp[10])
	gifWithICC := func(profile []byte) []byte {
		ext := append(append([]byte{0x21, 0xFF, 11}, gifICCApp...), gifSubBlocks(profile)...)
		return append(append(append([]byte(nil), gp[:gifAt]...), ext...), gp[gifAt:]...)
	}

	tests := []struct {
		name, mime string
		in         []byte
		keep       bool   // every ICC block of in is kept byte for byte
		want       []byte // otherwise, if not nil: the exact output
	}{
		{"jpeg one segment", MIMEJPEG, jpegWithICC(t, iccSeg(1, 1, testICC)), true, nil},
		{"jpeg three segments", MIMEJPEG, jpegWithICC(t, iccSeg(1, 3, part(0)), iccSeg(2, 3, part(1)), iccSeg(3, 3, part(2))), true, nil},
		{"jpeg three segments out of order", MIMEJPEG, jpegWithICC(t, iccSeg(3, 3, part(2)), iccSeg(1, 3, part(0)), iccSeg(2, 3, part(1))), true, nil},
		{"jpeg fake", MIMEJPEG, jpegWithICC(t, iccSeg(1, 1, fakeICC)), false, jpegWithICC(t)},
		{"jpeg fake after a real profile", MIMEJPEG, jpegWithICC(t, iccSeg(1, 1, testICC), iccSeg(1, 1, fakeICC)), false, jpegWithICC(t)},
		{"jpeg segment missing", MIMEJPEG, jpegWithICC(t, iccSeg(1, 3, part(0)), iccSeg(3, 3, part(2))), false, jpegWithICC(t)},
		{"jpeg segment repeated", MIMEJPEG, jpegWithICC(t, iccSeg(1, 2, testICC), iccSeg(1, 2, fakeICC)), false, jpegWithICC(t)},
		{"jpeg counts disagree", MIMEJPEG, jpegWithICC(t, iccSeg(1, 2, part(0)), iccSeg(2, 3, part(1))), false, jpegWithICC(t)},
		{"jpeg sequence number 0", MIMEJPEG, jpegWithICC(t, iccSeg(0, 1, testICC)), false, jpegWithICC(t)},
		{"jpeg no sequence bytes", MIMEJPEG, jpegWithICC(t, nil), false, jpegWithICC(t)},
		{"png real profile, its name replaced", MIMEPNG,
			pngWith(t, pngICCPChunk("Dr. Kim 900101-1234567", testICC, nil)), false,
			pngWith(t, pngICCPChunk("ICC profile", testICC, nil))},
		{"png real profile", MIMEPNG, pngWith(t, pngICCPChunk("ICC profile", testICC, nil)), true, nil},
		{"png fake", MIMEPNG, pngWith(t, pngICCPChunk("ICC profile", fakeICC, nil)), false, pngWith(t)},
		{"png bytes after the stream", MIMEPNG, pngWith(t, pngICCPChunk("ICC profile", testICC, fakeICC)), false, pngWith(t)},
		{"png second profile", MIMEPNG,
			pngWith(t, pngICCPChunk("ICC profile", testICC, nil), pngICCPChunk("ICC profile", testICC, nil)), false,
			pngWith(t, pngICCPChunk("ICC profile", testICC, nil))},
		{"png a real profile after a fake one", MIMEPNG,
			pngWith(t, pngICCPChunk("ICC profile", fakeICC, nil), pngICCPChunk("ICC profile", testICC, nil)), false,
			pngWith(t)},
		{"webp real profile", MIMEWebP, webpWithICCP(t, testICC), true, nil},
		{"gif real profile", MIMEGIF, gifWithICC(testICC), true, nil},
		{"gif fake", MIMEGIF, gifWithICC(fakeICC), false, gp},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := mustStrip(t, tc.in, tc.mime)
			if tc.keep && !bytes.Equal(out, mustStrip(t, out, tc.mime)) {
				t.Fatal("not idempotent")
			}
			if tc.keep && !bytes.Contains(out, testICC[:len(testICC)/3]) && tc.mime != MIMEPNG {
				t.Fatal("the profile is gone")
			}
			if tc.want != nil && !bytes.Equal(out, tc.want) {
				t.Fatalf("got %d bytes, want %d\n got % x\nwant % x", len(out), len(tc.want), head(out), head(tc.want))
			}
			for _, s := range fakeICCMarks {
				if bytes.Contains(out, []byte(s)) {
					t.Errorf("%q survived", s)
				}
			}
			assertIdempotent(t, out, tc.mime)
		})
	}

	// WebP: a fake ICCP goes, and so does the VP8X flag that announces one.
	out := mustStrip(t, webpWithICCP(t, fakeICC), MIMEWebP)
	for _, s := range fakeICCMarks {
		if bytes.Contains(out, []byte(s)) {
			t.Errorf("webp: %q survived", s)
		}
	}
	if flags := out[riffHeadLen+8]; flags&vp8xFlagICC != 0 {
		t.Errorf("webp: VP8X flags %08b still announce an ICC profile", flags)
	}
	assertIdempotent(t, out, MIMEWebP)
}

// FuzzCheckICC: checkICC never panics, and what it accepts has the structure it promises.
// Seed corpus: testdata/fuzz/FuzzCheckICC, written by TestFixtures -update.
func FuzzCheckICC(f *testing.F) {
	f.Fuzz(func(t *testing.T, p []byte) {
		if checkICC(p) != nil {
			return
		}
		n := int(binary.BigEndian.Uint32(p[iccHeaderLen:]))
		if int(binary.BigEndian.Uint32(p)) != len(p) || string(p[36:40]) != "acsp" || n > maxICCTags {
			t.Fatal("accepted a bad header")
		}
		for i := range n {
			off := uint64(binary.BigEndian.Uint32(p[tagEntry(i)+4:]))
			size := uint64(binary.BigEndian.Uint32(p[tagEntry(i)+8:]))
			if off < uint64(tagEntry(n)) || off+size > uint64(len(p)) {
				t.Fatalf("accepted tag %d at %d, %d bytes", i, off, size)
			}
		}
	})
}

// FuzzNeutralICC: neutralICC never panics, refuses what checkICC refuses, and what it returns
// passes checkICC, is its own result, and holds only neutral text tags and colour tags copied
// byte for byte from the input.
// Seed corpus: testdata/fuzz/FuzzNeutralICC, written by TestFixtures -update.
func FuzzNeutralICC(f *testing.F) {
	f.Fuzz(func(t *testing.T, p []byte) {
		out, err := neutralICC(p)
		switch {
		case checkICC(p) != nil:
			if err == nil {
				t.Fatal("rewrote a block checkICC refuses")
			}
			return
		case err != nil:
			// Only growth past the size limit may refuse a valid profile: neutral text tags are
			// at most 102 bytes each.
			if len(p)+maxICCTags*(102+3) <= maxICCSize {
				t.Fatalf("refused a valid profile of %d bytes: %v", len(p), err)
			}
			return
		}
		if err := checkICC(out); err != nil {
			t.Fatalf("the rewritten profile: %v", err)
		}
		if again, err := neutralICC(out); err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not a fixed point: %v", err)
		}
		if len(out)%4 != 0 {
			t.Fatalf("%d bytes, not padded to 4", len(out))
		}
		in := map[string][]byte{}
		for i := range int(binary.BigEndian.Uint32(p[iccHeaderLen:])) {
			e := p[tagEntry(i):]
			off, size := binary.BigEndian.Uint32(e[4:]), binary.BigEndian.Uint32(e[8:])
			in[string(e[:4])+string(p[off:off+size])] = nil
		}
		for i := range int(binary.BigEndian.Uint32(out[iccHeaderLen:])) {
			e := out[tagEntry(i):]
			off, size := binary.BigEndian.Uint32(e[4:]), binary.BigEndian.Uint32(e[8:])
			sig, data := string(e[:4]), out[off:off+size]
			typ := string(data[:4])
			switch {
			case iccTextTypes[typ]:
				want := iccTextTag(typ, "")
				if sig == "desc" {
					want = iccTextTag(typ, iccNeutralDesc)
				}
				if !bytes.Equal(data, want) {
					t.Fatalf("text tag %q: % x", sig, data)
				}
			case !iccColourTypes[typ] || iccTextSigs[sig]:
				t.Fatalf("tag %q of type %q kept", sig, typ)
			default:
				if _, ok := in[sig+string(data)]; !ok {
					t.Fatalf("colour tag %q is not one of the input's, byte for byte", sig)
				}
			}
		}
	})
}

// writeICCSeeds writes the FuzzCheckICC and FuzzNeutralICC seed corpora: the test profile,
// every bad block, and profiles with patient text in v4 and v2 text tags.
func writeICCSeeds(t *testing.T) {
	seeds := badICCs()
	seeds["valid"] = testICC
	seeds["patient v4"] = patientICC(t)
	v2 := colourPatient(t)
	v2[0] = iccTestTag{"desc", descTag(patient, patient)}
	seeds["patient v2"] = buildTestICC(2, v2)
	for _, target := range []string{"FuzzCheckICC", "FuzzNeutralICC"} {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, p := range seeds {
			seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", p)
			if err := os.WriteFile(filepath.Join(dir, filepathSafe(name)), []byte(seed), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func filepathSafe(name string) string {
	return string(bytes.Map(func(r rune) rune {
		if r == ' ' {
			return '-'
		}
		return r
	}, []byte(name)))
}
