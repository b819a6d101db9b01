// Package imagepolicy holds the rules every patient image must meet: which types are allowed, how
// they are named, and how large they may be. The API applies them to what an uploader declares;
// the processor applies them again to what was actually stored.
package imagepolicy

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	// MaxBytes is the largest accepted upload: 10 MiB.
	MaxBytes int64 = 10 << 20
	// MaxPixels and MaxSide bound the decoded size, checked on the header before any decode so a
	// small file cannot expand into gigabytes of pixels.
	MaxPixels = 50_000_000
	MaxSide   = 20_000
	// MaxFilenameLen bounds the declared original filename (bytes of UTF-8).
	MaxFilenameLen = 255
)

// ThumbnailSizes are the longest-edge sizes of the thumbnails written next to each original.
var ThumbnailSizes = []int{320, 1280}

// Type is one allowed image type.
type Type struct {
	MIME string // canonical MIME type, e.g. "image/jpeg"
	Ext  string // canonical key extension, e.g. "jpg"
	// Exts are the filename extensions that declare this type.
	Exts []string
	// Aliases are other MIME types that declare it.
	Aliases []string
	// StoredAs is the MIME type of the original stored for an upload of this type, when that is
	// not the type itself: a HEIC or AVIF upload is converted to a JPEG, a format every browser
	// shows. Its staged key keeps the extension it was declared with.
	StoredAs string
}

// Stored is the type of the original stored for an upload of type t.
func (t Type) Stored() Type {
	if s, ok := ByMIME(t.StoredAs); ok && t.StoredAs != "" {
		return s
	}
	return t
}

// StagedExt is the extension of the staged key for an upload of type t declared as filename:
// a converted type keeps the declared one (.heif stays .heif), the others use t.Ext.
func (t Type) StagedExt(filename string) string {
	ext := strings.ToLower(strings.TrimPrefix(path.Ext(filename), "."))
	if t.StoredAs != "" && slices.Contains(t.Exts, ext) {
		return ext
	}
	return t.Ext
}

var types = []Type{
	{MIME: "image/jpeg", Ext: "jpg", Exts: []string{"jpg", "jpeg"}},
	{MIME: "image/png", Ext: "png", Exts: []string{"png"}},
	{MIME: "image/gif", Ext: "gif", Exts: []string{"gif"}},
	{MIME: "image/webp", Ext: "webp", Exts: []string{"webp"}},
	// HEIC/HEIF as iPhones and cameras (Canon's and Sony's .HIF) write it, and AVIF.
	{MIME: "image/heic", Ext: "heic", Exts: HEICExts, Aliases: []string{"image/heif"}, StoredAs: "image/jpeg"},
	{MIME: "image/avif", Ext: "avif", Exts: []string{"avif"}, StoredAs: "image/jpeg"},
}

// untypedMIMEs are what browsers send as a file's type when they do not know it: desktop Chrome
// and Firefox for a HEIC. A converted type's extension then declares it.
var untypedMIMEs = []string{"", "application/octet-stream"}

// Types returns the allowed types.
func Types() []Type { return append([]Type(nil), types...) }

// ByMIME returns the allowed type with that MIME type (case-insensitive, parameters ignored).
func ByMIME(mime string) (Type, bool) {
	mime, _, _ = strings.Cut(mime, ";")
	mime = strings.ToLower(strings.TrimSpace(mime))
	if mime == "image/jpg" { // common misspelling that browsers never send but scripts do
		mime = "image/jpeg"
	}
	for _, t := range types {
		if t.MIME == mime || slices.Contains(t.Aliases, mime) {
			return t, true
		}
	}
	return Type{}, false
}

// ByExt returns the allowed type that a filename extension (without dot, any case) declares.
func ByExt(ext string) (Type, bool) {
	ext = strings.ToLower(ext)
	for _, t := range types {
		for _, e := range t.Exts {
			if e == ext {
				return t, true
			}
		}
	}
	return Type{}, false
}

// IsHEIC reports whether a declared file is HEIC/HEIF, the iPhone's default photo format, by its
// extension or its type. HEIC is accepted now; a declaration that is still refused (an image
// sequence, say) gets a message that says how to get a JPEG instead.
func IsHEIC(filename, contentType string) bool {
	ext := strings.ToLower(strings.TrimPrefix(path.Ext(filename), "."))
	ct := strings.ToLower(strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0]))
	return slices.Contains(HEICExts, ext) || slices.Contains(HEICTypes, ct)
}

// HEICExts and HEICTypes are the extensions and types IsHEIC recognises (the pages are given them).
var (
	HEICExts  = []string{"heic", "heif", "hif"}
	HEICTypes = []string{"image/heic", "image/heif", "image/heic-sequence", "image/heif-sequence"}
)

// Errors of a declared upload. Each is a distinct sentinel so callers can map it to a status.
var (
	ErrFilename    = errors.New("invalid filename")
	ErrUnsupported = errors.New("unsupported type")
	ErrMismatch    = errors.New("extension and content type disagree")
	ErrTooLarge    = errors.New("too large")
	ErrEmpty       = errors.New("empty file")
)

// Declared is what an uploader says about a file before sending it.
type Declared struct {
	Filename      string
	ContentType   string
	ContentLength int64
}

// Check validates a declaration and returns the type it resolves to. The error wraps one of the
// sentinels above with a reason fit for a person.
func Check(d Declared) (Type, error) {
	if err := CheckFilename(d.Filename); err != nil {
		return Type{}, err
	}
	ext := strings.TrimPrefix(path.Ext(d.Filename), ".")
	byExt, ok := ByExt(ext)
	if !ok {
		return Type{}, fmt.Errorf("%w: extension %q", ErrUnsupported, ext)
	}
	byMIME, ok := ByMIME(d.ContentType)
	if !ok && byExt.StoredAs != "" && slices.Contains(untypedMIMEs, strings.ToLower(strings.TrimSpace(d.ContentType))) {
		byMIME, ok = byExt, true
	}
	if !ok {
		return Type{}, fmt.Errorf("%w: content type %q", ErrUnsupported, d.ContentType)
	}
	if byExt.MIME != byMIME.MIME {
		return Type{}, fmt.Errorf("%w: .%s is not %s", ErrMismatch, ext, byMIME.MIME)
	}
	if err := CheckSize(d.ContentLength); err != nil {
		return Type{}, err
	}
	return byMIME, nil
}

// CheckSize validates a byte count against the limits.
func CheckSize(n int64) error {
	switch {
	case n <= 0:
		return fmt.Errorf("%w: %d bytes", ErrEmpty, n)
	case n > MaxBytes:
		return fmt.Errorf("%w: %d bytes > %d", ErrTooLarge, n, MaxBytes)
	}
	return nil
}

// CheckFilename accepts a plain file name: no directories, no control characters, valid UTF-8,
// at most MaxFilenameLen bytes, and an extension.
func CheckFilename(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrFilename)
	case len(name) > MaxFilenameLen:
		return fmt.Errorf("%w: longer than %d bytes", ErrFilename, MaxFilenameLen)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: not UTF-8", ErrFilename)
	case strings.ContainsAny(name, `/\`):
		return fmt.Errorf("%w: contains a path", ErrFilename)
	case name == "." || name == "..":
		return fmt.Errorf("%w: %q", ErrFilename, name)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: contains a control character", ErrFilename)
		}
	}
	ext := path.Ext(name)
	if ext == "" || ext == "." || ext == name {
		return fmt.Errorf("%w: no extension", ErrFilename)
	}
	return nil
}

// CheckDimensions applies the pixel limits to header dimensions.
func CheckDimensions(w, h int) error {
	switch {
	case w <= 0 || h <= 0:
		return fmt.Errorf("invalid dimensions %dx%d", w, h)
	case w > MaxSide || h > MaxSide:
		return fmt.Errorf("%dx%d: a side exceeds %d px", w, h, MaxSide)
	case int64(w)*int64(h) > MaxPixels:
		return fmt.Errorf("%dx%d: more than %d pixels", w, h, MaxPixels)
	}
	return nil
}
