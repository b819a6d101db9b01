package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"medicpx/shared/imagepolicy"
	"medicpx/shared/keys"
)

type uploadRequest struct {
	Filename      *string         `json:"filename"`
	ContentType   *string         `json:"content_type"`
	ContentLength json.RawMessage `json:"content_length"`
	Method        *string         `json:"method"`
	// Issue 19 (dedupe.go): the SHA-256 the PUT must match, and the key of an earlier answer to retry.
	ChecksumSHA256 *string `json:"checksum_sha256"`
	S3Key          *string `json:"s3_key"`
}

// uploadURL is POST …/upload-url/{scenario_id}: check what the client declares, note the name it
// picked, and presign a PUT or a POST that can only write the upload's staged key.
func (s *Server) uploadURL(w http.ResponseWriter, r *http.Request) error {
	scenario, err := scenarioID(r)
	if err != nil {
		return err
	}
	up, err := readUpload(w, r)
	if err != nil {
		return err
	}
	// The client is told the final key (s3_key, s3_url, stored_filename: the contract), but the
	// URL writes to its staged key: only the processor, after checking the bytes, writes the final
	// one. Replaying this URL until it expires can therefore only stage new bytes, never replace
	// the checked image directly.
	ctx := r.Context()
	// The catalog is read beside the note's write (one S3 call after the other at most), only
	// when there is a checksum to look for.
	dup := s.findDuplicate(ctx, scenario, up.checksum)
	// A HEIC or AVIF is stored as a JPEG: the client is told the JPEG's key, and the upload is
	// staged under its own extension, which the processor reads the type from.
	var key, id string
	if up.retry != nil {
		// A retry: the same key, its note kept alive for the fresh URL (retryUpload).
		key, id = up.retry.String(), up.retry.ID
		if up.filename, err = s.retryUpload(ctx, *up.retry); err != nil {
			dup.cancel()
			return err
		}
	} else {
		id = s.NewID()
		key = keys.OriginalKey(scenario, id, up.typ.Stored().Ext)
		// The name the professor picked exists only in this request: keep it before handing out the URL.
		if err := s.recordUpload(ctx, scenario, id, up.filename); err != nil {
			dup.cancel()
			return err
		}
	}
	resp := map[string]any{
		"scenario_id":       scenario,
		"original_filename": up.filename,
		"stored_filename":   keys.Filename(key),
		"upload_method":     up.method,
		"file_type":         up.typ.MIME,
		"file_size":         up.length,
		"expires_in":        int64(s.cfg.UploadTTL / time.Second),
		"s3_url":            s.s3URL(ctx, key),
		"s3_key":            key,
		"status_url":        "/patient-images/scenarios/" + scenario + "/images/" + keys.Filename(key),
	}
	if w := staffWarning(fieldFilename, up.filename); w != "" {
		// Kept (only staff see a name), but said: it is better left out.
		resp["warnings"] = []string{w}
	}
	presign := s.presignPut
	if up.method == "POST" {
		presign = s.presignPost
	}
	staged := keys.StagedKey(keys.OriginalKey(scenario, id, up.typ.StagedExt(up.filename)))
	if err := presign(ctx, staged, up, resp); err != nil {
		dup.cancel()
		return wrapError(EInternal, msgInternal, err)
	}
	if d, err := dup.wait(key); err != nil {
		return err
	} else if d != "" {
		resp["duplicate_of"] = map[string]string{"s3_key": d, "s3_url": s.s3URL(ctx, d)}
		resp["message"] = msgDuplicate + " " + resp["message"].(string)
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// declaredUpload is an upload-url request that passed the upload policy.
type declaredUpload struct {
	filename string
	typ      imagepolicy.Type
	length   int64
	method   string    // PUT or POST
	checksum string    // the SHA-256 the bytes must have, base64; "" when not declared
	retry    *keys.Key // the upload this request retries; nil for a new upload
}

// readUpload reads an upload-url request and checks it against the upload policy.
func readUpload(w http.ResponseWriter, r *http.Request) (declaredUpload, error) {
	var req uploadRequest
	if err := decodeBody(w, r, &req); err != nil {
		return declaredUpload{}, err
	}
	switch {
	case req.Filename == nil:
		return declaredUpload{}, newError(EUnprocessable, "filename이 필요합니다.")
	case req.ContentType == nil:
		return declaredUpload{}, newError(EUnprocessable, "content_type이 필요합니다.")
	case req.ContentLength == nil:
		return declaredUpload{}, newError(EUnprocessable, "content_length가 필요합니다.")
	}
	length, ok := jsonInt(req.ContentLength)
	if !ok {
		return declaredUpload{}, newError(EUnprocessable, "content_length는 바이트 수를 나타내는 정수여야 합니다.")
	}
	method := "PUT"
	if req.Method != nil {
		method = strings.ToUpper(*req.Method)
	}
	if method != "PUT" && method != "POST" {
		return declaredUpload{}, newError(EUnprocessable, msgBadMethod)
	}
	// Before the type: "x\u202egpj.exe" shows as "xexe.jpg" and is refused for what it does.
	if err := refuseBidi(fieldFilename, *req.Filename); err != nil {
		return declaredUpload{}, err
	}
	typ, err := imagepolicy.Check(imagepolicy.Declared{Filename: *req.Filename, ContentType: *req.ContentType, ContentLength: length})
	if err != nil {
		return declaredUpload{}, policyError(err, *req.Filename, *req.ContentType)
	}

	up := declaredUpload{filename: *req.Filename, typ: typ, length: length, method: method}
	if err := readRetryFields(r, req, &up); err != nil {
		return declaredUpload{}, err
	}
	return up, nil
}

// policyError is the answer to a declared upload the policy refused.
func policyError(err error, filename, contentType string) error {
	switch {
	case errors.Is(err, imagepolicy.ErrFilename):
		return wrapError(EUnprocessable, fmt.Sprintf(msgBadFilenameFmt, "경로, 제어 문자 없이 확장자를 포함한 255바이트 이하여야 합니다."), err)
	case errors.Is(err, imagepolicy.ErrUnsupported) && imagepolicy.IsHEIC(filename, contentType):
		return wrapError(EUnsupported, msgHEIC, err)
	case errors.Is(err, imagepolicy.ErrUnsupported):
		return wrapError(EUnsupported, msgUnsupported, err)
	case errors.Is(err, imagepolicy.ErrMismatch):
		return wrapError(EUnprocessable, msgTypeMismatch, err)
	case errors.Is(err, imagepolicy.ErrTooLarge):
		return wrapError(ETooLarge, msgTooLarge, err)
	case errors.Is(err, imagepolicy.ErrEmpty):
		return wrapError(EUnprocessable, msgEmpty, err)
	}
	return wrapError(EUnprocessable, err.Error(), err)
}

// presignPut signs a PUT of the staged key with its Content-Type and Content-Length, so S3
// refuses any other type or size.
func (s *Server) presignPut(ctx context.Context, staged string, up declaredUpload, resp map[string]any) error {
	in := &s3.PutObjectInput{
		Bucket: aws.String(s.cfg.S3.Bucket), Key: aws.String(staged), ContentType: aws.String(up.typ.MIME), ContentLength: aws.Int64(up.length),
	}
	headers := map[string]string{"Content-Type": up.typ.MIME}
	if up.checksum != "" {
		// Signed as a header (the SDK never hoists x-amz-checksum-* into the query), so the URL
		// cannot be used without it and S3 refuses a body whose SHA-256 differs.
		in.ChecksumSHA256 = aws.String(up.checksum)
		headers[headerChecksumSHA256] = up.checksum
	}
	req, err := s.presign.PresignPutObject(ctx, in, s3.WithPresignExpires(s.cfg.UploadTTL))
	if err != nil {
		return err
	}
	resp["upload_url"] = req.URL
	resp["upload_headers"] = headers
	resp["message"] = "업로드 URL이 생성되었습니다. 이 URL로 PUT 요청을 보내 파일을 업로드하세요."
	return nil
}

// presignPost signs a POST whose policy pins the key, the type and the size range; the form must
// carry the fields it returns.
func (s *Server) presignPost(ctx context.Context, staged string, up declaredUpload, resp map[string]any) error {
	post, err := s.presign.PresignPostObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.cfg.S3.Bucket), Key: aws.String(staged)},
		func(o *s3.PresignPostOptions) {
			o.Expires = s.cfg.UploadTTL
			o.Conditions = []any{
				[]any{"content-length-range", 1, imagepolicy.MaxBytes},
				map[string]string{"Content-Type": up.typ.MIME},
			}
			if up.checksum != "" {
				o.Conditions = append(o.Conditions, map[string]string{headerChecksumAlgorithm: "SHA256"},
					map[string]string{headerChecksumSHA256: up.checksum})
			}
		})
	if err != nil {
		return err
	}
	fields := map[string]string{"Content-Type": up.typ.MIME}
	if up.checksum != "" {
		fields[headerChecksumAlgorithm], fields[headerChecksumSHA256] = "SHA256", up.checksum
	}
	for k, v := range post.Values {
		fields[k] = v
	}
	resp["upload_url"] = post.URL
	resp["upload_fields"] = fields
	resp["message"] = "업로드 URL이 생성되었습니다. upload_fields를 모두 폼 필드로 넣고 파일을 마지막 'file' 필드로 하여 이 URL로 POST(multipart/form-data) 요청을 보내 파일을 업로드하세요."
	return nil
}

type downloadRequest struct {
	S3Key     *string         `json:"s3_key"`
	ExpiresIn json.RawMessage `json:"expires_in"`
}

func (s *Server) downloadURL(w http.ResponseWriter, r *http.Request) error {
	scenario, err := scenarioID(r)
	if err != nil {
		return err
	}
	var req downloadRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	k, err := requireOriginal(req.S3Key, scenario)
	if err != nil {
		return err
	}
	maxTTL := int64(s.cfg.DownloadMaxTTL / time.Second)
	expires := int64(3600)
	if req.ExpiresIn != nil {
		n, ok := jsonInt(req.ExpiresIn)
		switch {
		case !ok:
			return newError(EUnprocessable, "expires_in은 초 단위 정수여야 합니다.")
		case n <= 0:
			return newError(EUnprocessable, "expires_in은 1 이상이어야 합니다.")
		case n > maxTTL:
			return newError(EUnprocessable, fmt.Sprintf("expires_in은 최대 %d초(%s)까지 가능합니다.", maxTTL, s.cfg.DownloadMaxTTL))
		}
		expires = n
	}
	ctx := r.Context()
	o, err := s.lookup(ctx, k)
	if err != nil {
		return err
	}
	if o.staged || !o.ready() && !principalFrom(ctx).IsStaff() {
		// Students never reach an unfinished upload, and nobody gets a URL for unchecked bytes.
		return newError(ENotFound, msgNotFound)
	}
	req2, err := s.presign.PresignGetObject(ctx, getObject(s.cfg.S3.Bucket, k.String()),
		s3.WithPresignExpires(time.Duration(expires)*time.Second))
	if err != nil {
		return wrapError(EInternal, msgInternal, err)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"scenario_id":  scenario,
		"s3_key":       k.String(),
		"download_url": req2.URL,
		"expires_in":   expires,
		"message":      "다운로드 URL이 생성되었습니다.",
	})
	return nil
}
