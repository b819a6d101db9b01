// Package retire makes a delete stick. A delete writes the upload's tombstone (keys.RetiredKey)
// before it removes anything; the processor looks for it before it checks an upload and again
// once the writes of a promotion are answered, and readers hide an upload that has one. Restore is the only
// way back: it removes the tombstone. The README ("Delete, permanent delete and the trash") gives
// the argument for why no interleaving publishes a deleted upload.
//
// Deletes, permanent deletes, restores, and the processor's undo of a promotion that lost to a
// delete, each take the upload's lock (keys.LockKey) first, so that they happen one at a time
// per upload: a restore racing a delete ends restored or trashed, never half of each.
//
// Both objects are named by a hash of the upload ID and hold no name, caption or ID, so after a
// permanent delete nothing in the bucket names the upload.
package retire

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"medicpx/shared/keys"
	"medicpx/shared/s3client"
)

// State is what a tombstone says of its upload.
type State string

const (
	// Trashed: deleted to the trash, restorable. New bytes staged for it are quarantined.
	Trashed State = "trash"
	// Purged: deleted for good. New bytes staged for it are dropped unread.
	Purged State = "permanent"
)

// Tombstone is what keys.RetiredKey says.
type Tombstone struct {
	State State
	At    time.Time // when the delete wrote it
}

// Keep is how long a tombstone outlives its delete. It must outlast every upload URL that could
// have been handed out for the upload before the delete (UPLOAD_URL_TTL is at most 168 h), since
// a replayed URL is the last way new bytes can reach its key; and the processor's longest run.
const Keep = 8 * 24 * time.Hour

// Store is the part of S3 this package uses.
type Store interface {
	HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObject(context.Context, *s3.DeleteObjectInput, ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

var _ Store = (*s3.Client)(nil)

// The state is in the tombstone's metadata, so that a look at it is a HEAD.
const metaState = "state"

// Mark writes the upload's tombstone (replacing one that is there: a permanent delete after a
// delete turns Trashed into Purged).
func Mark(ctx context.Context, st Store, bucket string, k keys.Key, state State, now time.Time) error {
	_, err := st.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(keys.RetiredKey(k.Scenario, k.ID)),
		Body: bytes.NewReader(nil), ContentLength: aws.Int64(0),
		Metadata: map[string]string{metaState: string(state)},
	})
	if err != nil {
		return fmt.Errorf("write tombstone: %w", err)
	}
	return nil
}

// Lookup returns the upload's tombstone, if it has one.
func Lookup(ctx context.Context, st Store, bucket string, k keys.Key) (Tombstone, bool, error) {
	out, err := st.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(keys.RetiredKey(k.Scenario, k.ID))})
	if s3client.IsNotFound(err) {
		return Tombstone{}, false, nil
	}
	if err != nil {
		return Tombstone{}, false, fmt.Errorf("read tombstone: %w", err)
	}
	t := Tombstone{State: State(out.Metadata[metaState]), At: aws.ToTime(out.LastModified)}
	if t.State != Purged {
		// Only we write tombstones; one that does not say Purged is still a delete, and the
		// safe reading of an unreadable one is the milder delete that keeps the trash copy.
		t.State = Trashed
	}
	return t, true, nil
}

// Clear removes the upload's tombstone: a restore, or the sweep once it has served its time.
func Clear(ctx context.Context, st Store, bucket string, k keys.Key) error {
	_, err := st.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(keys.RetiredKey(k.Scenario, k.ID))})
	if err != nil && !s3client.IsNotFound(err) {
		return fmt.Errorf("remove tombstone: %w", err)
	}
	return nil
}

const (
	// Lease is how long a lock holds without being released: far longer than any operation under
	// it takes (a delete is a dozen S3 calls), so that only a holder that died loses it.
	Lease = 30 * time.Second
	// maxWait is how long Acquire waits for another holder before it gives up with ErrBusy.
	maxWait = 15 * time.Second
)

// ErrBusy: another operation on the same upload held the lock for longer than Acquire waits.
var ErrBusy = errors.New("another operation on this upload is in progress")

// Lock is a held lock of one upload.
type Lock struct {
	st          Store
	bucket, key string
	etag        string
}

type lease struct {
	Until time.Time `json:"until"`
}

// Acquire takes the upload's lock, waiting (with jittered backoff) while another holder has it,
// and taking over a lease that has run out.
func Acquire(ctx context.Context, st Store, bucket string, k keys.Key, now func() time.Time) (*Lock, error) {
	key := keys.LockKey(k.Scenario, k.ID)
	deadline := now().Add(maxWait)
	for attempt := 0; ; attempt++ {
		body, _ := json.Marshal(lease{Until: now().Add(Lease).UTC()})
		out, err := st.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body),
			ContentLength: aws.Int64(int64(len(body))), ContentType: aws.String("application/json"),
			IfNoneMatch: aws.String("*"),
		})
		if err == nil {
			return &Lock{st: st, bucket: bucket, key: key, etag: aws.ToString(out.ETag)}, nil
		}
		if s := s3client.HTTPStatus(err); s != http.StatusPreconditionFailed && s != http.StatusConflict {
			return nil, fmt.Errorf("take lock: %w", err)
		}
		if err := takeOverExpired(ctx, st, bucket, key, now()); err != nil {
			return nil, err
		}
		if now().After(deadline) {
			return nil, ErrBusy
		}
		if err := s3client.Backoff(ctx, attempt, 10*time.Millisecond, 200*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// takeOverExpired removes the lock at key if its lease ran out (its holder died), conditionally
// on the ETag read, so that a lock taken meanwhile by someone else stays.
func takeOverExpired(ctx context.Context, st Store, bucket, key string, now time.Time) error {
	out, err := st.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if s3client.IsNotFound(err) {
		return nil // released meanwhile
	}
	if err != nil {
		return fmt.Errorf("read lock: %w", err)
	}
	defer out.Body.Close()
	var l lease
	if err := json.NewDecoder(io.LimitReader(out.Body, 1<<10)).Decode(&l); err == nil && now.Before(l.Until) {
		return nil
	}
	_, err = st.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), IfMatch: out.ETag})
	if err != nil && !s3client.IsNotFound(err) && s3client.HTTPStatus(err) != http.StatusPreconditionFailed {
		return fmt.Errorf("take over an expired lock: %w", err)
	}
	return nil
}

// Release gives the lock back (only if it is still this holder's), even when ctx was cancelled.
func (l *Lock) Release(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, err := l.st.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(l.bucket), Key: aws.String(l.key), IfMatch: aws.String(l.etag)})
	if err != nil && !s3client.IsNotFound(err) && s3client.HTTPStatus(err) != http.StatusPreconditionFailed {
		return fmt.Errorf("release lock: %w", err)
	}
	return nil
}

// TrashDays is how long a deleted image stays restorable in the trash.
const TrashDays = 30
