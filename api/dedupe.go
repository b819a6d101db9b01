package api

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"medicpx/shared/catalog"
	"medicpx/shared/keys"
	"medicpx/shared/retire"
	"medicpx/shared/s3client"
)

// Issue 19: uploads that survive the network. upload-url takes two optional fields:
//
//   - checksum_sha256, the base64 SHA-256 the client computed: the PUT URL signs it as
//     x-amz-checksum-sha256 (the POST policy pins it), so S3 refuses a body that does not match,
//     and the answer names an image of the scenario that has the same bytes (duplicate_of). The
//     processor records the SHA-256 of what it reads in the catalog whether or not one was sent,
//     so finding a duplicate reads the catalog alone, never an object per image.
//   - s3_key, a retry of an earlier answer whose upload has not arrived: the same key with a
//     fresh URL, so resending after a network failure can never make a second image.

const (
	headerChecksumSHA256 = "x-amz-checksum-sha256"
	// headerChecksumAlgorithm goes with it in a POST form, as S3's browser-upload examples have it.
	headerChecksumAlgorithm = "x-amz-checksum-algorithm"
	msgBadChecksum          = "checksum_sha256은 파일 내용의 SHA-256 값(32바이트)을 패딩을 포함한 표준 base64로 적은 44자 문자열이어야 합니다."
	msgDuplicate            = "이미 올린 사진과 같습니다(duplicate_of)."
	msgRetryNotFound        = "다시 보낼 업로드를 찾을 수 없습니다. 업로드 URL이 만료되었거나 삭제되었을 수 있으니 새로 올려 주세요."
	msgRetryArrived         = "이 업로드는 이미 도착했습니다. 상태 URL(status_url)로 처리 결과를 확인하세요."
	msgRetryType            = "s3_key의 확장자가 content_type과 맞지 않습니다. 처음 받은 업로드 URL과 같은 파일로 다시 요청하세요."
	// maxDuplicateChecks bounds the candidates looked at (three S3 calls each, side by side): the
	// same bytes uploaded more often than this are still found unless all of the first few were
	// deleted.
	maxDuplicateChecks = 4
)

// readRetryFields checks the issue-19 fields of an upload-url request.
func readRetryFields(r *http.Request, req uploadRequest, up *declaredUpload) error {
	if req.ChecksumSHA256 != nil {
		sum, err := base64.StdEncoding.Strict().DecodeString(*req.ChecksumSHA256)
		if err != nil || len(sum) != sha256.Size || base64.StdEncoding.EncodeToString(sum) != *req.ChecksumSHA256 {
			return newError(EInvalid, msgBadChecksum)
		}
		up.checksum = *req.ChecksumSHA256
	}
	if req.S3Key != nil {
		scenario, err := scenarioID(r)
		if err != nil {
			return err
		}
		k, err := requireOriginal(req.S3Key, scenario)
		if err != nil {
			return err
		}
		if k.Ext != up.typ.Stored().Ext {
			return newError(EUnprocessable, msgRetryType)
		}
		up.retry = &k
	}
	return nil
}

// retryUpload checks that k is a pending upload of its scenario (its note exists, it has no
// tombstone, and nothing of it arrived: not staged, promoted or quarantined) and renews its note
// so that it outlives the fresh URL. It returns the name the note recorded. The five reads run
// side by side; the renewal is conditional on the note read, so a note the processor took
// meanwhile is never brought back (that upload arrived: 409).
func (s *Server) retryUpload(ctx context.Context, k keys.Key) (string, error) {
	type noteResult struct {
		n    catalog.Note
		etag string
		ok   bool
		err  error
	}
	nc := make(chan noteResult, 1)
	go func() {
		n, etag, ok, err := catalog.ReadNoteETag(ctx, s.store, s.cfg.S3.Bucket, k.Scenario, k.ID)
		nc <- noteResult{n, etag, ok, err}
	}()
	key := k.String()
	tomb := keys.RetiredKey(k.Scenario, k.ID)
	found, err := s.existing(ctx, append(keys.StagedKeys(key), key, keys.QuarantineKey(key), tomb))
	note := <-nc
	if err = errors.Join(err, note.err); err != nil {
		return "", wrapError(EInternal, msgInternal, err)
	}
	switch {
	case found[tomb]:
		return "", newError(ENotFound, msgRetryNotFound)
	case len(found) > 0:
		return "", newError(EConflict, msgRetryArrived)
	case !note.ok:
		return "", newError(ENotFound, msgRetryNotFound)
	}
	err = catalog.RenewNote(ctx, s.store, s.cfg.S3.Bucket, k.Scenario, k.ID, note.n, note.etag)
	switch st := s3client.HTTPStatus(err); {
	case err == nil:
		return note.n.Name, nil
	case st == http.StatusPreconditionFailed || st == http.StatusNotFound || st == http.StatusConflict:
		// The processor took the note between the read and this write: the upload arrived.
		return "", wrapError(EConflict, msgRetryArrived, err)
	}
	return "", wrapError(EInternal, msgInternal, err)
}

// duplicateSearch is a look for an image with the same bytes, started beside the note's write.
type duplicateSearch struct {
	s      *Server
	ctx    context.Context
	cancel context.CancelFunc
	sum    string
	res    chan catalogResult
}

// findDuplicate starts reading the scenario's catalog when there is a checksum to look for.
func (s *Server) findDuplicate(ctx context.Context, scenario, sum string) *duplicateSearch {
	d := &duplicateSearch{s: s, sum: sum, cancel: func() {}}
	if sum == "" {
		return d
	}
	d.ctx, d.cancel = context.WithCancel(ctx)
	d.res = make(chan catalogResult, 1)
	go func() {
		c, err := s.catalogForReading(d.ctx, scenario)
		d.res <- catalogResult{c, err}
	}()
	return d
}

// wait returns the key of the earliest ready or processing image of the scenario, other than
// self, whose staged bytes had the checksum, or "". Candidates come from the catalog; each is
// checked with three calls side by side (its final original, its staged copy, its tombstone), so
// a deleted image, a rejected one or one that never arrived never counts.
func (d *duplicateSearch) wait(self string) (string, error) {
	if d.res == nil {
		return "", nil
	}
	defer d.cancel()
	c := <-d.res
	if c.err != nil {
		return "", wrapError(EInternal, msgInternal, c.err)
	}
	selfKey, _ := keys.Parse(self)
	var ids []string
	for _, id := range c.c.WithChecksum(d.sum) {
		if id != selfKey.ID && len(ids) < maxDuplicateChecks {
			ids = append(ids, id)
		}
	}
	type result struct {
		key string
		err error
	}
	results := make([]chan result, len(ids))
	for i, id := range ids {
		results[i] = make(chan result, 1)
		go func() {
			key, err := d.s.liveUpload(d.ctx, selfKey.Scenario, id)
			results[i] <- result{key, err}
		}()
	}
	var errs []error
	for _, ch := range results {
		if r := <-ch; r.err != nil {
			errs = append(errs, r.err)
		} else if r.key != "" && len(errs) == 0 {
			return r.key, nil
		}
	}
	if len(errs) > 0 {
		return "", wrapError(EInternal, msgInternal, errors.Join(errs...))
	}
	return "", nil
}

// liveUpload returns the original key of upload id when it is ready or being processed (its
// final original or its staged copy exists) and has no tombstone, else "".
func (s *Server) liveUpload(ctx context.Context, scenario, id string) (string, error) {
	type listed struct {
		key string
		err error
	}
	find := func(prefix string, kind keys.Kind) chan listed {
		ch := make(chan listed, 1)
		go func() {
			var found string
			err := s.list(ctx, prefix+id+".", false, func(o types.Object) {
				if k, err := keys.Parse(aws.ToString(o.Key)); err == nil && k.Kind == kind && k.ID == id {
					found = k.OriginalKey()
				}
			})
			ch <- listed{found, err}
		}()
		return ch
	}
	fc, sc := find(keys.ScenarioPrefix(scenario), keys.Original), find(keys.StagedPrefix(scenario), keys.Staged)
	_, dead, terr := retire.Lookup(ctx, s.store, s.cfg.S3.Bucket, keys.Key{Scenario: scenario, ID: id})
	f, st := <-fc, <-sc
	if err := errors.Join(f.err, st.err, terr); err != nil {
		return "", err
	}
	if dead {
		return "", nil
	}
	return cmp.Or(f.key, st.key), nil
}
