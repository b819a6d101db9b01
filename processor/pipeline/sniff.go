package pipeline

import (
	"strings"

	"github.com/h2non/filetype"

	"medicpx/processor/pipeline/internal/bmff"
	"medicpx/shared/imagepolicy"
)

// Sniff checks the leading bytes of an upload (up to SniffLen are looked at) against the
// extension of its key: the magic bytes must name an allowed type, and the same type the
// extension declares. It returns the type, or a *Rejected.
func Sniff(head []byte, ext string) (imagepolicy.Type, error) {
	ext = strings.TrimPrefix(ext, ".")
	declared, ok := imagepolicy.ByExt(ext)
	if !ok {
		return imagepolicy.Type{}, Reject(ReasonUnsupported, "extension %q is not an allowed image type", ext)
	}
	if len(head) == 0 {
		return imagepolicy.Type{}, Reject(ReasonEmpty, "no bytes")
	}
	if len(head) > SniffLen {
		head = head[:SniffLen]
	}
	// HEIF and AVIF by their ftyp brands, which filetype does not all know (heix, hevc, mif1, avis).
	if codec, ok := bmff.Kind(head); ok {
		actual, _ := imagepolicy.ByMIME(heifMIME[codec])
		if actual.MIME != declared.MIME {
			return imagepolicy.Type{}, Reject(ReasonMismatch, "content is %s but the key says .%s", actual.MIME, ext)
		}
		return actual, nil
	}
	kind, err := filetype.Match(head)
	if err != nil || kind == filetype.Unknown {
		return imagepolicy.Type{}, Reject(ReasonUnsupported, "content is not a known file type")
	}
	actual, ok := imagepolicy.ByMIME(kind.MIME.Value)
	if !ok {
		return imagepolicy.Type{}, Reject(ReasonUnsupported, "content is %s", kind.MIME.Value)
	}
	if actual.MIME != declared.MIME {
		return imagepolicy.Type{}, Reject(ReasonMismatch, "content is %s but the key says .%s", actual.MIME, ext)
	}
	return actual, nil
}

var heifMIME = map[bmff.Codec]string{bmff.HEVC: "image/heic", bmff.AV1: "image/avif"}
