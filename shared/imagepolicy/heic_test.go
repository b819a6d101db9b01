package imagepolicy

import (
	"errors"
	"testing"
)

// TestHEICDeclared: HEIC/HEIF and AVIF are accepted with the types browsers give them, an empty
// or generic type only for their extensions; they are stored as JPEG and staged under their own
// extension.
func TestHEICDeclared(t *testing.T) {
	tests := []struct {
		name, ctype, mime, staged string
		err                       error
	}{
		{"IMG_0001.HEIC", "image/heic", "image/heic", "heic", nil},
		{"IMG_0001.heic", "", "image/heic", "heic", nil},
		{"IMG_0001.heic", "application/octet-stream", "image/heic", "heic", nil},
		{"camera.HIF", "image/heif", "image/heic", "hif", nil},
		{"photo.heif", "image/heic", "image/heic", "heif", nil},
		{"a.avif", "image/avif", "image/avif", "avif", nil},
		{"a.avif", "", "image/avif", "avif", nil},
		{"a.jpg", "", "", "", ErrUnsupported},
		{"a.jpg", "application/octet-stream", "", "", ErrUnsupported},
		{"a.jpg", "image/heic", "", "", ErrMismatch},
		{"a.heic", "image/avif", "", "", ErrMismatch},
		{"a.heics", "image/heic-sequence", "", "", ErrUnsupported},
	}
	for _, tt := range tests {
		typ, err := Check(Declared{Filename: tt.name, ContentType: tt.ctype, ContentLength: 100})
		if !errors.Is(err, tt.err) || err == nil && (typ.MIME != tt.mime || typ.StagedExt(tt.name) != tt.staged || typ.Stored().MIME != "image/jpeg") {
			t.Errorf("Check(%q, %q) = %s %v (staged .%s, stored %s); want %s %v .%s", tt.name, tt.ctype, typ.MIME, err,
				typ.StagedExt(tt.name), typ.Stored().MIME, tt.mime, tt.err, tt.staged)
		}
	}
	if jpg, _ := ByExt("jpeg"); jpg.StagedExt("a.jpeg") != "jpg" || jpg.Stored().MIME != "image/jpeg" {
		t.Errorf("a JPEG is staged as .%s, stored as %s", jpg.StagedExt("a.jpeg"), jpg.Stored().MIME)
	}
	if !KnownRemoved(RemovedHEICConverted) || RemovedSentence([]string{RemovedHEICConverted}) == "" {
		t.Error("heic_converted has no sentence")
	}
}
