// Package keys is the bucket's object layout: it builds every kind of key the service writes and
// parses any key back, rejecting everything that is not exactly one of those shapes. Both the API
// (to confine a caller to a scenario) and the processor (to ignore what is not a staged upload)
// rely on Parse being strict.
//
// The layout separates unchecked from checked bytes by prefix, not by time:
//
//	incoming/patient_images/scenario_{id}/{uuid}.{ext}   staged upload: where upload URLs write
//	patient_images/scenario_{id}/{uuid}.{ext}            original: written only by the processor
//	patient_images/scenario_{id}/thumbnails/…            its thumbnails, written after it
//	quarantine/patient_images/scenario_{id}/{uuid}.{ext} a rejected staged upload
//	patient_images/scenario_{id}/_meta/…                the API's own records (catalog, pin)
//	uploads/patient_images/scenario_{id}/{uuid}.json    an upload URL's note: the picked name until the upload arrives
//	retired/patient_images/scenario_{id}/{hash}         a deleted upload's tombstone (and {hash}.lock, its lock)
//	patient_images/_index/scenarios.json               the scenarios index (derived, rebuilt by the sweep)
//
// An upload URL can be replayed until it expires, but it can only ever overwrite the staged key.
// The final key holds bytes the processor checked and stripped, so a download URL for it can never
// serve unchecked bytes, whatever the timing.
package keys

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"medicpx/shared/imagepolicy"
)

const (
	// Root is the prefix under which every scenario's images live.
	Root = "patient_images/"
	// QuarantineRoot prefixes a rejected original's copy; the rest of its key is the original key.
	QuarantineRoot = "quarantine/"
	// IncomingRoot prefixes a staged upload; the rest of its key is the final original's key. S3
	// events fire under it only, so the processor's own writes trigger nothing.
	IncomingRoot = "incoming/"
	// TrashRoot prefixes a deleted original and its thumbnails; the rest of each key is the key it
	// had, so a restore puts it back exactly where it was. Parse refuses trash keys, which is how
	// the processor and its sweep come to ignore them.
	TrashRoot = "trash/"
	// NotesRoot prefixes an upload URL's note (NoteKey): the name the professor picked, kept only
	// until the processor has moved it into the scenario's catalog. Notes of URLs that were never
	// used expire with their URL. Listings never read this prefix, so abandoned URLs cost readers
	// nothing.
	NotesRoot = "uploads/"
	// RetiredRoot prefixes the tombstone of a deleted upload (RetiredKey) and the lock that orders
	// deletes and restores of one upload (LockKey). Both are named by a hash of the upload's ID,
	// never by the ID itself, so that a permanently deleted upload leaves nothing that names it.
	RetiredRoot = "retired/"

	thumbDir   = "thumbnails/"
	metaDir    = "_meta/"
	uploadsDir = metaDir + "uploads/"
)

// ThumbnailExts are the extensions a thumbnail can have: JPEG, or PNG where the source has
// transparency.
var ThumbnailExts = []string{"jpg", "png"}

// Kind tells which part of the layout a key belongs to.
type Kind int

const (
	Original Kind = iota + 1
	Thumbnail
	Meta
	Quarantine
	Staged
)

func (k Kind) String() string {
	switch k {
	case Original:
		return "original"
	case Thumbnail:
		return "thumbnail"
	case Meta:
		return "meta"
	case Quarantine:
		return "quarantine"
	case Staged:
		return "staged"
	}
	return "unknown"
}

// Key is a parsed object key.
type Key struct {
	Kind     Kind
	Scenario string
	ID       string // the upload's UUID (originals, thumbnails, quarantine, staged, upload notes)
	Ext      string // extension as stored, lower case
	Size     int    // thumbnails only
	Name     string // meta only: the path under _meta/
	// An upload note (see UploadKey) is a Meta key: the API's own record, which the processor
	// ignores like every other _meta/ key. These are set for upload notes only.
	Stamp      int64  // the upload's place in upload order
	PickedName string // the file name the professor picked
}

// UploadNote reports whether k is an upload note (UploadKey).
func (k Key) UploadNote() bool { return k.Kind == Meta && k.Stamp > 0 }

var (
	scenarioRE = regexp.MustCompile(ScenarioPattern)
	uuidRE     = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	metaNameRE = regexp.MustCompile(`^[a-z0-9_-]{1,64}\.json$`)
)

// stampDigits is the fixed width of an upload note's stamp: every positive int64 fits, and a fixed
// width makes the notes' key order follow the stamps within one ID (there is only one per ID).
const stampDigits = 19

// MaxUploadNameBytes bounds the name an upload note carries: imagepolicy.MaxFilenameLen, so every
// name the API accepts fits, and the key stays far below S3's 1,024 bytes (about 500 at most).
const MaxUploadNameBytes = imagepolicy.MaxFilenameLen

// ScenarioPattern is the rule for a scenario id, as a regular expression that RE2 and a browser's
// ECMAScript engine read alike (the API hands it to the pages).
const ScenarioPattern = `^[A-Za-z0-9_-]{1,64}$`

// ErrInvalid is wrapped by every parse and validation error.
var ErrInvalid = errors.New("invalid key")

// ValidScenario reports whether id is an allowed scenario id.
func ValidScenario(id string) bool { return scenarioRE.MatchString(id) }

// ValidID reports whether id is an upload id as the API mints them (lower-case UUID).
func ValidID(id string) bool { return uuidRE.MatchString(id) }

// ScenarioPrefix is the listing prefix of one scenario; with Delimiter "/" it returns originals only.
func ScenarioPrefix(scenario string) string { return Root + "scenario_" + scenario + "/" }

// ThumbnailPrefix is the listing prefix of one scenario's thumbnails.
func ThumbnailPrefix(scenario string) string { return ScenarioPrefix(scenario) + thumbDir }

// OriginalKey builds an original's key.
func OriginalKey(scenario, id, ext string) string {
	return ScenarioPrefix(scenario) + id + "." + ext
}

// ThumbnailKey builds the key of an original's thumbnail of the given size and extension.
func ThumbnailKey(scenario, id string, size int, ext string) string {
	return ThumbnailPrefix(scenario) + id + "_" + strconv.Itoa(size) + "." + ext
}

// MetaKey builds the key of a scenario metadata file.
func MetaKey(scenario, name string) string { return ScenarioPrefix(scenario) + metaDir + name }

// RepresentativeKey is where a scenario's pinned representative image is recorded.
func RepresentativeKey(scenario string) string { return MetaKey(scenario, "representative.json") }

// QuarantineKey is where an original is copied when it is rejected.
func QuarantineKey(original string) string { return QuarantineRoot + original }

// StagedKey is where the upload URLs for an original write: the processor promotes what it finds
// there to the original's key after checking it.
func StagedKey(original string) string { return IncomingRoot + original }

// StagedPrefix is the listing prefix of one scenario's staged uploads.
func StagedPrefix(scenario string) string { return IncomingRoot + ScenarioPrefix(scenario) }

// TrashKey is where a deleted original or thumbnail is kept until it is restored or expires.
func TrashKey(key string) string { return TrashRoot + key }

// IndexKey is the scenarios index (shared/scenarioindex): every scenario with ready images, its
// image count, cover thumbnail and last change, so the staff's scenario home reads one object.
// It is under Root but outside every scenario, so Parse refuses it: the processor ignores it,
// the sweep skips it, and no s3_url serves it.
const IndexKey = Root + "_index/scenarios.json"

// CatalogKey is where a scenario's names, captions and order are recorded.
func CatalogKey(scenario string) string { return MetaKey(scenario, "catalog.json") }

// UploadKey builds the key of an upload note: the upload's ID, its stamp (a time-ordered number
// the API assigns when it hands out the upload URL) and the original file name, base64url-encoded
// so any UTF-8 name is a safe key. Everything a listing needs is in the key, so listing the notes
// costs O(pages) calls and no read per image. The name must be 1..MaxUploadNameBytes bytes of
// UTF-8 and the stamp positive; anything else builds a key Parse refuses.
func UploadKey(scenario, id string, stamp int64, name string) string {
	return UploadIDPrefix(scenario, id) + fmt.Sprintf("%0*d", stampDigits, stamp) + "." + base64.RawURLEncoding.EncodeToString([]byte(name))
}

// UploadPrefix is the listing prefix of one scenario's upload notes.
func UploadPrefix(scenario string) string { return ScenarioPrefix(scenario) + uploadsDir }

// UploadIDPrefix is the listing prefix of one upload's note.
func UploadIDPrefix(scenario, id string) string { return UploadPrefix(scenario) + id + "." }

// IDHash is the name an upload's tombstone and lock go by: SHA-256 of its ID, hex. It lets
// the processor and the API find them from the ID, while the bucket holds nothing that gives the
// ID back (it has 122 random bits, so the hash cannot be reversed by trying IDs).
func IDHash(id string) string {
	sum := sha256.Sum256([]byte("medicpx-upload:" + id))
	return hex.EncodeToString(sum[:])
}

// RetiredPrefix is the listing prefix of one scenario's tombstones and locks.
func RetiredPrefix(scenario string) string { return RetiredRoot + ScenarioPrefix(scenario) }

// RetiredKey is an upload's tombstone: present from the moment a delete starts until the upload
// can no longer be written to (its upload URL has expired) or it is restored.
func RetiredKey(scenario, id string) string { return RetiredPrefix(scenario) + IDHash(id) }

// LockKey is the lease that serialises deletes, permanent deletes and restores of one upload,
// and the processor's undo of a promotion that lost to a delete.
func LockKey(scenario, id string) string { return RetiredKey(scenario, id) + lockSuffix }

const lockSuffix = ".lock"

// RetiredHash returns the ID hash a tombstone key names, and whether key is a tombstone (not a
// lock, not anything else) of the scenario.
func RetiredHash(key, scenario string) (string, bool) {
	h, ok := strings.CutPrefix(key, RetiredPrefix(scenario))
	if !ok || len(h) != sha256.Size*2 || strings.Trim(h, "0123456789abcdef") != "" {
		return "", false
	}
	return h, true
}

// NoteKey is where the upload URL for an upload records the name the professor picked.
func NoteKey(scenario, id string) string { return NotesRoot + ScenarioPrefix(scenario) + id + ".json" }

// ParseNote parses a NoteKey back into its scenario and upload ID.
func ParseNote(key string) (scenario, id string, ok bool) {
	rest, ok := strings.CutPrefix(key, NotesRoot+Root+"scenario_")
	if !ok {
		return "", "", false
	}
	scenario, name, ok := strings.Cut(rest, "/")
	id, isJSON := strings.CutSuffix(name, ".json")
	if !ok || !isJSON || !ValidScenario(scenario) || !ValidID(id) {
		return "", "", false
	}
	return scenario, id, true
}

// Filename is the last path element of a key, as the API reports it.
func Filename(key string) string { return key[strings.LastIndexByte(key, '/')+1:] }

// String rebuilds the key.
func (k Key) String() string {
	switch k.Kind {
	case Original:
		return OriginalKey(k.Scenario, k.ID, k.Ext)
	case Thumbnail:
		return ThumbnailKey(k.Scenario, k.ID, k.Size, k.Ext)
	case Meta:
		return MetaKey(k.Scenario, k.Name)
	case Quarantine:
		return QuarantineKey(OriginalKey(k.Scenario, k.ID, k.Ext))
	case Staged:
		return StagedKey(OriginalKey(k.Scenario, k.ID, k.Ext))
	}
	return ""
}

// OriginalKey returns the key of the original a thumbnail, quarantine copy or staged upload
// belongs to. A staged HEIC or AVIF (.heic, .heif, .hif, .avif) becomes a JPEG original.
func (k Key) OriginalKey() string { return OriginalKey(k.Scenario, k.ID, storedExt(k.Ext)) }

// Original is the key of the original k belongs to, parsed.
func (k Key) Original() Key {
	return Key{Kind: Original, Scenario: k.Scenario, ID: k.ID, Ext: storedExt(k.Ext)}
}

// storedExt is the extension of the original stored for an upload with extension ext.
func storedExt(ext string) string {
	if t, ok := imagepolicy.ByExt(ext); ok && t.StoredAs != "" {
		return t.Stored().Ext
	}
	return ext
}

// StagedKeys are the staged keys whose upload promotes to original: the staged key itself and,
// for a JPEG, one for each extension of a type converted to JPEG.
func StagedKeys(original string) []string {
	out := []string{StagedKey(original)}
	k, err := Parse(original)
	if err != nil || k.Kind != Original || storedExt(k.Ext) != "jpg" {
		return out
	}
	for _, t := range imagepolicy.Types() {
		if t.StoredAs == "" {
			continue
		}
		for _, ext := range t.Exts {
			out = append(out, StagedKey(OriginalKey(k.Scenario, k.ID, ext)))
		}
	}
	return out
}

// Parse parses any key of the layout. Anything else, including keys that differ only by case,
// encoding or extra path elements, is an error.
func Parse(s string) (Key, error) { return parse(s, false) }

// parse is Parse; staged allows an original name with the extension of a type that is converted
// (a staged .heic), which no original, thumbnail or quarantine copy ever has.
func parse(s string, staged bool) (Key, error) {
	bad := func(why string) (Key, error) { return Key{}, fmt.Errorf("%w: %s: %q", ErrInvalid, why, s) }
	for _, wrap := range []struct {
		root string
		kind Kind
	}{{QuarantineRoot, Quarantine}, {IncomingRoot, Staged}} {
		if rest, ok := strings.CutPrefix(s, wrap.root); ok {
			k, err := parse(rest, wrap.kind == Staged)
			if err != nil || k.Kind != Original {
				return bad(wrap.kind.String() + " key of a non-original")
			}
			k.Kind = wrap.kind
			return k, nil
		}
	}
	rest, ok := strings.CutPrefix(s, Root+"scenario_")
	if !ok {
		return bad("outside " + Root)
	}
	scenario, rest, ok := strings.Cut(rest, "/")
	if !ok || !ValidScenario(scenario) {
		return bad("scenario")
	}
	switch {
	case strings.HasPrefix(rest, thumbDir):
		name := strings.TrimPrefix(rest, thumbDir)
		stem, ext, ok := splitExt(name)
		if !ok || !slices.Contains(ThumbnailExts, ext) {
			return bad("thumbnail extension")
		}
		i := strings.LastIndexByte(stem, '_')
		if i < 0 || !ValidID(stem[:i]) {
			return bad("thumbnail id")
		}
		size, err := strconv.Atoi(stem[i+1:])
		if err != nil || !isThumbnailSize(size) || strconv.Itoa(size) != stem[i+1:] {
			return bad("thumbnail size")
		}
		return Key{Kind: Thumbnail, Scenario: scenario, ID: stem[:i], Ext: ext, Size: size}, nil
	case strings.HasPrefix(rest, uploadsDir):
		return parseUploadNote(scenario, strings.TrimPrefix(rest, uploadsDir), bad)
	case strings.HasPrefix(rest, metaDir):
		name := strings.TrimPrefix(rest, metaDir)
		if !metaNameRE.MatchString(name) {
			return bad("meta name")
		}
		return Key{Kind: Meta, Scenario: scenario, Name: name}, nil
	}
	stem, ext, ok := splitExt(rest)
	if !ok || !ValidID(stem) {
		return bad("original name")
	}
	if t, ok := imagepolicy.ByExt(ext); !ok || ext != strings.ToLower(ext) || t.StoredAs != "" && !staged {
		return bad("original extension")
	}
	return Key{Kind: Original, Scenario: scenario, ID: stem, Ext: ext}, nil
}

// ParseOriginal parses s and requires it to be an original of the given scenario.
func ParseOriginal(s, scenario string) (Key, error) {
	k, err := Parse(s)
	if err != nil {
		return Key{}, err
	}
	if k.Kind != Original {
		return Key{}, fmt.Errorf("%w: a %s, not an original: %q", ErrInvalid, k.Kind, s)
	}
	if k.Scenario != scenario {
		return Key{}, fmt.Errorf("%w: belongs to another scenario: %q", ErrInvalid, s)
	}
	return k, nil
}

// parseUploadNote parses an upload note's name, {uuid}.{stamp}.{base64url name}, strictly: exactly
// stampDigits digits for a positive stamp, the canonical unpadded encoding of a valid UTF-8 name of
// 1..MaxUploadNameBytes bytes, so that String rebuilds exactly the key that was parsed.
func parseUploadNote(scenario, name string, bad func(string) (Key, error)) (Key, error) {
	parts := strings.Split(name, ".")
	if len(parts) != 3 || !ValidID(parts[0]) {
		return bad("upload note id")
	}
	stamp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || stamp <= 0 || len(parts[1]) != stampDigits || strings.Trim(parts[1], "0123456789") != "" {
		return bad("upload note stamp")
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(parts[2])
	if err != nil || len(raw) == 0 || len(raw) > MaxUploadNameBytes || !utf8.Valid(raw) ||
		base64.RawURLEncoding.EncodeToString(raw) != parts[2] {
		return bad("upload note name")
	}
	return Key{Kind: Meta, Scenario: scenario, Name: strings.TrimPrefix(uploadsDir, metaDir) + name, ID: parts[0], Stamp: stamp, PickedName: string(raw)}, nil
}

func splitExt(name string) (stem, ext string, ok bool) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || i == len(name)-1 {
		return "", "", false
	}
	return name[:i], name[i+1:], true
}

func isThumbnailSize(n int) bool {
	for _, s := range imagepolicy.ThumbnailSizes {
		if s == n {
			return true
		}
	}
	return false
}
