package processor

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"medicpx/processor/pipeline"
	"medicpx/shared/imagepolicy"
)

// CheckFiles runs the pipeline on local files, with the same limits as Process, and prints
// one line per file: "FILE: ready WxH" (with ", removed PARTS: SENTENCE" when parts a phone
// appended were cut off) or "FILE: rejected REASON (detail)". With outDir it also
// writes what would be stored: the stripped original under its own name and the thumbnails as
// NAME_SIZE.EXT. A rejection is an answer, not an error; the error reports files that could not
// be read or written, after all files were tried.
func CheckFiles(w io.Writer, outDir string, paths []string) error {
	var errs []error
	for _, path := range paths {
		if err := checkFile(w, outDir, path); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func checkFile(w io.Writer, outDir, path string) error {
	data, err := readLimited(path, imagepolicy.MaxBytes+1)
	if err != nil {
		return err
	}
	ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(path), "."))
	// Reading one byte past the limit is enough for Run to reject a huge file as too large.
	res, err := pipeline.Run(data, ext)
	if r, ok := pipeline.AsRejected(err); ok {
		fmt.Fprintf(w, "%s: rejected %s (%s)\n", path, r.Reason, r.Detail)
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(res.Removed) > 0 {
		fmt.Fprintf(w, "%s: ready %dx%d, removed %s: %s\n", path, res.Width, res.Height,
			imagepolicy.JoinRemoved(res.Removed), imagepolicy.RemovedSentence(res.Removed))
	} else {
		fmt.Fprintf(w, "%s: ready %dx%d\n", path, res.Width, res.Height)
	}
	if outDir == "" {
		return nil
	}
	base := filepath.Base(path)
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	files := map[string][]byte{base: res.Original}
	for _, th := range res.Thumbnails {
		files[fmt.Sprintf("%s_%d.%s", stem, th.Size, th.Ext)] = th.Data
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(outDir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// readLimited reads at most limit bytes, so a huge file is recognised without loading it.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}
