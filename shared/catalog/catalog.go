// Package catalog is what S3 keys cannot say about a scenario's images: the name the professor
// picked (or renamed it to), a caption, a staff note, and the order professors chose. It lives in one object per scenario
// (keys.CatalogKey), and every change to it is a conditional write (If-Match on the ETag that was
// read, If-None-Match: * for the first), re-read and retried with backoff when another writer
// got there first, so concurrent writers each keep their change.
//
// Two binaries write it. The API writes captions and the professors' order, at human rate. The
// processor moves an upload's picked name in when the upload arrives: the upload URL wrote the
// name to the upload's own note (keys.NoteKey), because upload URLs are asked for dozens at a
// time and a write per URL to this one object would make them wait on each other. A note whose
// URL is never used is never read by a listing, and expires with its URL; a listing reads this
// object alone, whatever was abandoned.
package catalog

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"medicpx/shared/imagepolicy"
	"medicpx/shared/keys"
	"medicpx/shared/s3client"
)

// Catalog is one scenario's record of names, captions and order.
type Catalog struct {
	// Seq numbered uploads in upload order in catalogs written before notes; no longer written.
	Seq    int64             `json:"seq"`
	Images map[string]*Entry `json:"images"` // by upload id
	// Order is the upload ids as a professor arranged them. Images not in it follow, in upload order.
	Order []string `json:"order,omitempty"`
}

// Entry is what the catalog knows of one upload.
type Entry struct {
	// OriginalFilename is the name the professor picked, or the one staff renamed it to since
	// (staff only: students never see it).
	OriginalFilename string `json:"original_filename,omitempty"`
	// Caption is shown to students (and is the image's alt text).
	Caption string `json:"caption,omitempty"`
	// Note is staff's own text about the image; students never see it.
	Note string `json:"note,omitempty"`
	// Seq is the upload order as catalogs recorded it before upload notes; no longer written.
	Seq int64 `json:"seq,omitempty"`
	// Stamp is the upload's place in upload order: when its upload URL was handed out, in the
	// API's nanoseconds (see Note).
	Stamp int64 `json:"stamp,omitempty"`
	// SHA256 is the SHA-256 of the bytes staged for the upload, standard base64 (as S3's
	// x-amz-checksum-sha256 has it): the processor computes it from what it read, whatever the
	// client declared, and upload-url compares new uploads with it to find duplicates. A
	// permanent delete removes it with the rest of the entry (Forget).
	SHA256 string `json:"sha256,omitempty"`
}

// Note is what an upload URL records for its upload until the upload arrives (keys.NoteKey).
// Name is what the professor picked; Stamp orders uploads (see Entry).
type Note struct {
	Name  string `json:"name"`
	Stamp int64  `json:"stamp"`
}

// Store is the part of S3 the catalog uses.
type Store interface {
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

var _ Store = (*s3.Client)(nil)

const (
	// MaxBytes bounds what a read of the catalog may allocate. A thousand images with the longest
	// names, captions and notes take about 8.5 MB.
	MaxBytes = 32 << 20
	// attempts is how often a change is re-read and retried after another writer won; with the
	// backoff below that spans several seconds.
	attempts = 40
	// backoffCap caps the random wait between attempts.
	backoffCap = 200 * time.Millisecond
	// maxNoteName bounds the name a note may carry: any name upload-url accepts.
	maxNoteName = imagepolicy.MaxFilenameLen
)

var (
	// ErrUnreadable: the object is not a catalog. A reader goes on without it (and logs it), but
	// no change is written over it, since a write would replace every name and caption it holds.
	ErrUnreadable = errors.New("catalog is unreadable")
	// ErrBusy: other writers kept winning for every attempt.
	ErrBusy = errors.New("catalog changed while it was being updated, on every attempt")
)

// Entry returns the entry of one upload, or the zero entry.
func (c *Catalog) Entry(id string) Entry {
	if c == nil || c.Images[id] == nil {
		return Entry{}
	}
	return *c.Images[id]
}

// entry returns the entry of one upload, adding an empty one.
func (c *Catalog) entry(id string) *Entry {
	if c.Images == nil {
		c.Images = map[string]*Entry{}
	}
	e := c.Images[id]
	if e == nil {
		e = &Entry{}
		c.Images[id] = e
	}
	return e
}

// AddNote records what an upload's note says, unless the catalog already knows better: a name a
// professor gave the image since, or an earlier stamp. It reports whether anything changed.
func (c *Catalog) AddNote(id string, n Note) bool {
	e := c.entry(id)
	changed := false
	if e.OriginalFilename == "" && n.Name != "" {
		e.OriginalFilename, changed = n.Name, true
	}
	if e.Stamp == 0 && e.Seq == 0 && n.Stamp > 0 {
		e.Stamp, changed = n.Stamp, true
	}
	return changed
}

// Checksum is Entry.SHA256 of data: its SHA-256 in standard base64, as S3's x-amz-checksum-sha256
// and the upload-url request's checksum_sha256 carry it.
func Checksum(data []byte) string {
	s := sha256.Sum256(data)
	return base64.StdEncoding.EncodeToString(s[:])
}

// SetChecksum records the SHA-256 of an upload's staged bytes (Entry.SHA256) and reports whether
// it changed. Only an upload the catalog already has an entry for is given one unless add is
// set: a run that comes after a permanent delete must not bring back an entry of the upload.
func (c *Catalog) SetChecksum(id, sum string, add bool) bool {
	if sum == "" || !add && c.Images[id] == nil {
		return false
	}
	e := c.entry(id)
	if e.SHA256 == sum {
		return false
	}
	e.SHA256 = sum
	return true
}

// WithChecksum returns the uploads whose staged bytes had this SHA-256, earliest upload first.
func (c *Catalog) WithChecksum(sum string) []string {
	var ids []string
	for id, e := range c.Images {
		if sum != "" && e.SHA256 == sum {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b string) int {
		if d := cmp.Compare(c.Images[a].Stamp, c.Images[b].Stamp); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return ids
}

// SetCaption sets one upload's caption.
func (c *Catalog) SetCaption(id, caption string) { c.entry(id).Caption = caption }

// SetNote sets one upload's staff note.
func (c *Catalog) SetNote(id, note string) { c.entry(id).Note = note }

// Rename sets the name staff gave an upload. It wins over the upload's note, whenever that is
// folded in (AddNote keeps a name that is already there).
func (c *Catalog) Rename(id, name string) { c.entry(id).OriginalFilename = name }

// Forget removes everything the catalog holds of the given uploads (name, caption, place in the
// order) and reports whether anything was there.
func (c *Catalog) Forget(ids ...string) bool {
	changed := false
	for _, id := range ids {
		if _, ok := c.Images[id]; ok {
			delete(c.Images, id)
			changed = true
		}
	}
	n := len(c.Order)
	c.Order = slices.DeleteFunc(c.Order, func(id string) bool { return slices.Contains(ids, id) })
	return changed || len(c.Order) != n
}

// Read returns the scenario's catalog and its ETag ("" when there is none yet).
func Read(ctx context.Context, st Store, bucket, scenario string) (*Catalog, string, error) {
	out, err := st.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(keys.CatalogKey(scenario))})
	if s3client.IsNotFound(err) {
		return &Catalog{Images: map[string]*Entry{}}, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read catalog: %w", err)
	}
	defer out.Body.Close()
	c := &Catalog{}
	if err := json.NewDecoder(io.LimitReader(out.Body, MaxBytes)).Decode(c); err != nil {
		return nil, "", fmt.Errorf("%w: scenario %s: %w", ErrUnreadable, scenario, err)
	}
	if c.Images == nil {
		c.Images = map[string]*Entry{}
	}
	return c, aws.ToString(out.ETag), nil
}

// ErrNoChange, returned by a change, ends Update without a write.
var ErrNoChange = errors.New("nothing to change")

// Update applies change to the current catalog and writes it only if nobody wrote in between;
// otherwise it reads again and reapplies change, so change must be safe to run again. An error
// from change ends the update with that error (ErrNoChange: with the catalog as read, and nil).
func Update(ctx context.Context, st Store, bucket, scenario string, change func(*Catalog) error) (*Catalog, error) {
	return UpdateRead(ctx, st, bucket, scenario, nil, "", change)
}

// UpdateRead is Update starting from a catalog the caller read (Read's catalog and ETag; nil to
// read it here): a writer that read it beside other work then writes in one round trip when
// nobody wrote in between, and re-reads only when somebody did.
func UpdateRead(ctx context.Context, st Store, bucket, scenario string, read *Catalog, readETag string, change func(*Catalog) error) (*Catalog, error) {
	c, _, err := UpdateReadETag(ctx, st, bucket, scenario, read, readETag, change)
	return c, err
}

// UpdateReadETag is UpdateRead that also returns the ETag of the catalog it returns (the one it
// wrote, or as read when there was nothing to change; "" for none): a writer that writes again
// soon can start from it (UpdateRead) without reading.
func UpdateReadETag(ctx context.Context, st Store, bucket, scenario string, read *Catalog, readETag string, change func(*Catalog) error) (*Catalog, string, error) {
	for attempt := 0; attempt < attempts; attempt++ {
		if attempt > 0 {
			if err := s3client.Backoff(ctx, attempt, 5*time.Millisecond, backoffCap); err != nil {
				return nil, "", err
			}
		}
		c, etag := read, readETag
		if read = nil; c == nil {
			var err error
			if c, etag, err = Read(ctx, st, bucket, scenario); err != nil {
				return nil, "", err
			}
		}
		if err := change(c); errors.Is(err, ErrNoChange) {
			return c, etag, nil
		} else if err != nil {
			return nil, "", err
		}
		body, err := json.Marshal(c)
		if err != nil {
			return nil, "", err
		}
		in := &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(keys.CatalogKey(scenario)),
			Body: bytes.NewReader(body), ContentType: aws.String("application/json"),
		}
		if etag == "" {
			in.IfNoneMatch = aws.String("*")
		} else {
			in.IfMatch = aws.String(etag)
		}
		out, err := st.PutObject(ctx, in)
		switch s3client.HTTPStatus(err) {
		case 0:
			if err != nil {
				return nil, "", fmt.Errorf("write catalog: %w", err)
			}
			return c, aws.ToString(out.ETag), nil
		case http.StatusPreconditionFailed, http.StatusConflict: // 409: S3's ConditionalRequestConflict
			continue
		default:
			return nil, "", fmt.Errorf("write catalog: %w", err)
		}
	}
	return nil, "", ErrBusy
}

// A note is an empty object: its name and stamp are in its metadata, so that reading it is a HEAD.
// The name is base64url-encoded there (any UTF-8 name, within S3's ASCII metadata headers).
const (
	metaName  = "name"
	metaStamp = "stamp"
)

// WriteNote records an upload's note. If-None-Match: * guards it, so a note is never replaced.
func WriteNote(ctx context.Context, st NoteStore, bucket, scenario, id string, n Note) error {
	return putNote(ctx, st, bucket, scenario, id, n, func(in *s3.PutObjectInput) { in.IfNoneMatch = aws.String("*") })
}

// RenewNote writes the note read with etag again, unchanged, only if it is still that note: a
// fresh upload URL for a pending upload (a retry) then keeps its note from expiring before the
// new URL does. A note the processor took meanwhile (the upload arrived) is not brought back:
// the write fails with a 412 or 404 (s3client.HTTPStatus).
func RenewNote(ctx context.Context, st NoteStore, bucket, scenario, id string, n Note, etag string) error {
	return putNote(ctx, st, bucket, scenario, id, n, func(in *s3.PutObjectInput) { in.IfMatch = aws.String(etag) })
}

func putNote(ctx context.Context, st NoteStore, bucket, scenario, id string, n Note, guard func(*s3.PutObjectInput)) error {
	in := &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(keys.NoteKey(scenario, id)),
		Body: bytes.NewReader(nil), ContentLength: aws.Int64(0),
		Metadata: map[string]string{
			metaName:  base64.RawURLEncoding.EncodeToString([]byte(n.Name)),
			metaStamp: strconv.FormatInt(n.Stamp, 10),
		},
	}
	guard(in)
	if _, err := st.PutObject(ctx, in); err != nil {
		return fmt.Errorf("write note %s: %w", id, err)
	}
	return nil
}

// NoteStore is the part of S3 that notes use.
type NoteStore interface {
	HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// ReadNote returns an upload's note, and false when there is none (never written, already moved
// into the catalog, or expired).
func ReadNote(ctx context.Context, st NoteStore, bucket, scenario, id string) (Note, bool, error) {
	n, _, ok, err := ReadNoteETag(ctx, st, bucket, scenario, id)
	return n, ok, err
}

// ReadNoteETag is ReadNote with the note's ETag (for RenewNote).
func ReadNoteETag(ctx context.Context, st NoteStore, bucket, scenario, id string) (Note, string, bool, error) {
	out, err := st.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(keys.NoteKey(scenario, id))})
	if s3client.IsNotFound(err) {
		return Note{}, "", false, nil
	}
	if err != nil {
		return Note{}, "", false, fmt.Errorf("read note %s: %w", id, err)
	}
	name, err := base64.RawURLEncoding.Strict().DecodeString(out.Metadata[metaName])
	stamp, serr := strconv.ParseInt(out.Metadata[metaStamp], 10, 64)
	if err != nil || serr != nil || !utf8.Valid(name) || len(name) > maxNoteName || stamp < 0 {
		// Not ours to trust: treat it as absent (the upload then has no name) rather than fail.
		return Note{}, "", false, nil
	}
	return Note{Name: string(name), Stamp: stamp}, aws.ToString(out.ETag), true, nil
}

// Place is what the scenario's order needs to know of one image.
type Place struct {
	ID       string    // the upload id
	Class    int       // its upload rank (UploadRank): 0 nothing known, 1 numbered, 2 stamped
	N        int64     // its number or stamp within that class
	Modified time.Time // its original's LastModified
	Key      string    // its original's key, the last tie-break
}

// UploadRank places an entry in upload order: images nothing is known of (from before names were
// kept) first, then those an old catalog numbered, then those with upload notes, by stamp.
func UploadRank(e Entry) (class int, n int64) {
	switch {
	case e.Stamp > 0:
		return 2, e.Stamp
	case e.Seq > 0:
		return 1, e.Seq
	}
	return 0, 0
}

// Compare returns the scenario's order as a comparison: the professors' order first, then the
// rest in upload order (images from before the catalog existed by age, ahead of newer uploads).
// The API's listings and the scenarios index's cover both use it, so the cover is the first
// image every listing shows.
func (c *Catalog) Compare() func(a, b Place) int {
	pos := make(map[string]int, len(c.Order))
	for i, id := range c.Order {
		pos[id] = i
	}
	return func(a, b Place) int {
		pa, oka := pos[a.ID]
		pb, okb := pos[b.ID]
		switch {
		case oka && okb:
			return pa - pb
		case oka != okb:
			if oka {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(a.Class, b.Class), cmp.Compare(a.N, b.N), a.Modified.Compare(b.Modified), strings.Compare(a.Key, b.Key))
	}
}
