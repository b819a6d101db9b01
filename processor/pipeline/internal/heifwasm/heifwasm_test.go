package heifwasm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const samples = "../../../../../shared/samples/heic"

func noLimit(w, h int) error { return nil }

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(samples, name))
	if err != nil {
		t.Skipf("%s is absent: %v", filepath.Clean(samples), err)
	}
	return data
}

// TestMemoryCap: a decode that needs more than its sandbox may have fails with an error, never
// a crash: with 16 MiB the output buffer's malloc fails (the iPhone photo needs 88 MiB); with
// 24 MiB it is libheif's own allocation that fails, and since the module was built without C++
// exceptions that ends in a trap ("unreachable"), also an error. The real module then decodes the
// photo: the process and the compiled module are unharmed.
func TestMemoryCap(t *testing.T) {
	data := readSample(t, "iphonexr_rot90_gps.heic")
	saved := heifCodec
	for _, mib := range []uint32{16, 24} {
		heifCodec = &codec{name: fmt.Sprintf("libheif (%d MiB)", mib), gz: heifModule, limit: mib << 20 / pageSize}
		_, err := HEIF(context.Background(), data, noLimit)
		heifCodec = saved
		if err == nil {
			t.Fatalf("decoded within %d MiB", mib)
		}
		t.Logf("%d MiB: %v", mib, err)
	}
	img, err := HEIF(context.Background(), data, noLimit)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 3024 || b.Dy() != 4032 {
		t.Fatalf("decoded %v", b)
	}
}

// TestLimitBeforeAllocation: the caller's limit sees the decoder's reported size before the
// output buffer exists, and its error is returned as it is.
func TestLimitBeforeAllocation(t *testing.T) {
	errCap := errors.New("cap")
	var saw [2]int
	_, err := HEIF(context.Background(), readSample(t, "nikon_stonehenge_gps.heic"), func(w, h int) error {
		saw = [2]int{w, h}
		return errCap
	})
	if !errors.Is(err, errCap) || saw != [2]int{300, 200} {
		t.Fatalf("err %v, limit saw %v", err, saw)
	}
}

// TestGarbage: bytes no decoder accepts are an error from either module, never a panic.
func TestGarbage(t *testing.T) {
	junk := append([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00heicmif1"), make([]byte, 1000)...)
	for name, dec := range map[string]func(context.Context, []byte, Limit) (any, error){
		"heif": func(ctx context.Context, b []byte, l Limit) (any, error) { return HEIF(ctx, b, l) },
		"avif": func(ctx context.Context, b []byte, l Limit) (any, error) { return AVIF(ctx, b, l) },
	} {
		if _, err := dec(context.Background(), junk, noLimit); err == nil {
			t.Errorf("%s decoded junk", name)
		}
	}
}

// TestModulesPresent: the modules pulled from the two packages (embed.go) are there and gzipped,
// so a version that renames them fails here rather than at the first upload.
func TestModulesPresent(t *testing.T) {
	for name, m := range map[string][]byte{"heif": heifModule(), "avif": avifModule()} {
		if len(m) < 1000 || m[0] != 0x1f || m[1] != 0x8b {
			t.Errorf("%s module: %d bytes, not gzip", name, len(m))
		}
	}
	if err := Warm(); err != nil {
		t.Fatal(err)
	}
}

// TestTemplateStatesTheCap: template.yaml sizes the processor's memory with this cap in mind
// (infra's TestProcessorMemoryLimit adds it to GOMEMLIMIT); the figure it states is MemoryLimit.
func TestTemplateStatesTheCap(t *testing.T) {
	data, err := os.ReadFile("../../../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("capped at %d MiB", MemoryLimit>>20)
	if !strings.Contains(string(data), want) {
		t.Errorf("template.yaml does not say %q", want)
	}
}
