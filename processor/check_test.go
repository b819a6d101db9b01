package processor

import (
	"bytes"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"medicpx/infra/testenv/phonesamples"
)

func TestCheckFiles(t *testing.T) {
	dir := filepath.Join("..", "testdata", "images")
	tests := []struct {
		file  string
		line  string   // printed, after "FILE: "
		wrote []string // files in -out
	}{
		{file: "valid/orient6.jpg", line: "ready 500x800", wrote: []string{"orient6.jpg", "orient6_1280.jpg", "orient6_320.jpg"}},
		{file: "valid/alpha.png", line: "ready 120x80", wrote: []string{"alpha.png", "alpha_1280.png", "alpha_320.png"}},
		{file: "hostile/png-as.jpg", line: "rejected type_mismatch (content is image/png but the key says .jpg)"},
		{file: "hostile/empty.jpg", line: "rejected empty (0 bytes)"},
		{file: "hostile/bomb.png", line: "rejected too_many_pixels ("},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			out := t.TempDir()
			var buf bytes.Buffer
			path := filepath.Join(dir, tt.file)
			if err := CheckFiles(&buf, out, []string{path}); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); !strings.HasPrefix(got, path+": "+tt.line) || strings.Count(got, "\n") != 1 {
				t.Errorf("printed %q, want %q", got, path+": "+tt.line)
			}
			entries, _ := os.ReadDir(out)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if !slices.Equal(names, tt.wrote) {
				t.Errorf("wrote %v, want %v", names, tt.wrote)
			}
			if len(tt.wrote) > 0 {
				f, _ := os.Open(filepath.Join(out, tt.wrote[2]))
				defer f.Close()
				if cfg, _, err := image.DecodeConfig(f); err != nil || max(cfg.Width, cfg.Height) > 320 {
					t.Errorf("320 thumbnail: %+v, %v", cfg, err)
				}
			}
		})
	}
	t.Run("a phone photo says what was removed", func(t *testing.T) {
		dir := phonesamples.Dir(t)
		var buf bytes.Buffer
		path := filepath.Join(dir, "pixel6_ultrahdr.jpg")
		if err := CheckFiles(&buf, "", []string{path}); err != nil {
			t.Fatal(err)
		}
		if want := path + ": ready 1512x2688, removed hdr_gain_map: HDR 정보는 빼고 일반 사진으로 저장했습니다.\n"; buf.String() != want {
			t.Errorf("printed %q, want %q", buf.String(), want)
		}
	})
	t.Run("unreadable file is an error, the others are still checked", func(t *testing.T) {
		var buf bytes.Buffer
		err := CheckFiles(&buf, "", []string{filepath.Join(dir, "missing.jpg"), filepath.Join(dir, "valid/still.gif")})
		if err == nil || !strings.Contains(buf.String(), "still.gif: ready 64x48") {
			t.Errorf("err = %v, printed %q", err, buf.String())
		}
	})
}
