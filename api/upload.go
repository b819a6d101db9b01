package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"medicpx/shared/imagepolicy"
	"medicpx/shared/keys"
)

// errBodyTooLarge marks a request whose body is over maxBodyBytes, as declared or as sent.
var errBodyTooLarge = errors.New("request body over the limit")

// refuseLargeBody refuses a body whose declared length is over the limit before any work: before
// the token is checked and before a byte of it is read.
func refuseLargeBody(r *http.Request, limit int64) error {
	if r.ContentLength > limit {
		return wrapError(ETooLarge, msgBodyTooLarge, fmt.Errorf("%w: Content-Length %d", errBodyTooLarge, r.ContentLength))
	}
	return nil
}

// Bounds on what drainBody reads of a refused body.
const (
	maxDrainBytes = 12 << 20 // a little over the largest image: a file sent to the wrong route still gets its answer
	drainTimeout  = 10 * time.Second
)

// drainBody reads and discards what a client sends of a refused body, so that it reads the 413
// instead of a connection reset: a server that closes a socket with unread data makes the kernel
// send RST, which destroys the response in flight (what curl and Python's client saw). A client
// that asked "Expect: 100-continue" has not sent the body and is not asked for it: the answer
// goes out without a 100 Continue and the server closes the connection. Draining is bounded in
// bytes and time; past either the connection is simply closed.
func drainBody(w http.ResponseWriter, r *http.Request) {
	if r.Body == nil || strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
		return
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(drainTimeout)) // unsupported behind Lambda: nothing to drain there
	_, _ = io.CopyN(io.Discard, r.Body, maxDrainBytes)
}

// decodeBody reads a bounded JSON object into v, classifying what went wrong for the caller.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeBodyLimit(w, r, v, maxBodyBytes)
}

// decodeBodyLimit is decodeBody for the one body that may be larger (a reorder, see serveWith).
func decodeBodyLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	err := dec.Decode(v)
	var maxErr *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		if dec.More() {
			return newError(EInvalid, msgBadJSON)
		}
		return nil
	case errors.As(err, &maxErr):
		return wrapError(ETooLarge, msgBodyTooLarge, fmt.Errorf("%w: %w", errBodyTooLarge, err))
	case errors.As(err, &typeErr):
		return wrapError(EUnprocessable, fmt.Sprintf("%s 값의 형식이 잘못되었습니다.", typeErr.Field), err)
	default:
		return wrapError(EInvalid, msgBadJSON, err)
	}
}

var integerRE = regexp.MustCompile(`^-?[0-9]{1,18}$`)

// jsonInt reads a JSON integer strictly: 1.5, "7", 1e3 and true are not integers.
func jsonInt(raw json.RawMessage) (int64, bool) {
	s := strings.TrimSpace(string(raw))
	if !integerRE.MatchString(s) {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

type uploadRequest struct {
	Filename      *string         `json:"filename"`
	ContentType   *string         `json:"content_type"`
	ContentLength json.RawMessage `json:"content_length"`
	Method        *string         `json:"method"`
}

func (s *Server) uploadURL(w http.ResponseWriter, r *http.Request) error {
	scenario, err := scenarioID(r)
	if err != nil {
		return err
	}
	var req uploadRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	switch {
	case req.Filename == nil:
		return newError(EUnprocessable, "filename이 필요합니다.")
	case req.ContentType == nil:
		return newError(EUnprocessable, "content_type이 필요합니다.")
	case req.ContentLength == nil:
		return newError(EUnprocessable, "content_length가 필요합니다.")
	}
	length, ok := jsonInt(req.ContentLength)
	if !ok {
		return newError(EUnprocessable, "content_length는 바이트 수를 나타내는 정수여야 합니다.")
	}
	method := "PUT"
	if req.Method != nil {
		method = strings.ToUpper(*req.Method)
	}
	if method != "PUT" && method != "POST" {
		return newError(EUnprocessable, msgBadMethod)
	}
	typ, err := imagepolicy.Check(imagepolicy.Declared{Filename: *req.Filename, ContentType: *req.ContentType, ContentLength: length})
	switch {
	case errors.Is(err, imagepolicy.ErrFilename):
		return wrapError(EUnprocessable, fmt.Sprintf(msgBadFilenameFmt, "경로, 제어 문자 없이 확장자를 포함한 255바이트 이하여야 합니다."), err)
	case errors.Is(err, imagepolicy.ErrUnsupported) && imagepolicy.IsHEIC(*req.Filename, *req.ContentType):
		return wrapError(EUnsupported, msgHEIC, err)
	case errors.Is(err, imagepolicy.ErrUnsupported):
		return wrapError(EUnsupported, msgUnsupported, err)
	case errors.Is(err, imagepolicy.ErrMismatch):
		return wrapError(EUnprocessable, msgTypeMismatch, err)
	case errors.Is(err, imagepolicy.ErrTooLarge):
		return wrapError(ETooLarge, msgTooLarge, err)
	case errors.Is(err, imagepolicy.ErrEmpty):
		return wrapError(EUnprocessable, msgEmpty, err)
	case err != nil:
		return wrapError(EUnprocessable, err.Error(), err)
	}

	// The client is told the final key (s3_key, s3_url, stored_filename: the contract), but the
	// URL writes to its staged key: only the processor, after checking the bytes, writes the final
	// one. Replaying this URL until it expires can therefore only stage new bytes, never replace
	// the checked image directly.
	id := s.NewID()
	key := keys.OriginalKey(scenario, id, typ.Ext)
	staged := keys.StagedKey(key)
	ctx := r.Context()
	// The name the professor picked exists only in this request: keep it before handing out the URL.
	if err := s.recordUpload(ctx, scenario, id, *req.Filename); err != nil {
		return err
	}
	ttl := s.cfg.UploadTTL
	resp := map[string]any{
		"scenario_id":       scenario,
		"original_filename": *req.Filename,
		"stored_filename":   keys.Filename(key),
		"upload_method":     method,
		"file_type":         typ.MIME,
		"file_size":         length,
		"expires_in":        int64(ttl / time.Second),
		"s3_url":            s.s3URL(ctx, key),
		"s3_key":            key,
		"status_url":        "/patient-images/scenarios/" + scenario + "/images/" + keys.Filename(key),
	}
	bucket := aws.String(s.cfg.S3.Bucket)
	if method == "PUT" {
		// Content-Type and Content-Length are signed: S3 refuses any other type or size.
		req, err := s.presign.PresignPutObject(ctx, &s3.PutObjectInput{
			Bucket: bucket, Key: aws.String(staged), ContentType: aws.String(typ.MIME), ContentLength: aws.Int64(length),
		}, s3.WithPresignExpires(ttl))
		if err != nil {
			return wrapError(EInternal, msgInternal, err)
		}
		resp["upload_url"] = req.URL
		resp["upload_headers"] = map[string]string{"Content-Type": typ.MIME}
		resp["message"] = "업로드 URL이 생성되었습니다. 이 URL로 PUT 요청을 보내 파일을 업로드하세요."
	} else {
		// The policy pins the key, the type and the size range; the form must carry these fields.
		post, err := s.presign.PresignPostObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String(staged)},
			func(o *s3.PresignPostOptions) {
				o.Expires = ttl
				o.Conditions = []any{
					[]any{"content-length-range", 1, imagepolicy.MaxBytes},
					map[string]string{"Content-Type": typ.MIME},
				}
			})
		if err != nil {
			return wrapError(EInternal, msgInternal, err)
		}
		fields := map[string]string{"Content-Type": typ.MIME}
		for k, v := range post.Values {
			fields[k] = v
		}
		resp["upload_url"] = post.URL
		resp["upload_fields"] = fields
		resp["message"] = "업로드 URL이 생성되었습니다. upload_fields를 모두 폼 필드로 넣고 파일을 마지막 'file' 필드로 하여 이 URL로 POST(multipart/form-data) 요청을 보내 파일을 업로드하세요."
	}
	writeJSON(w, http.StatusOK, resp)
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

// windowURL presigns a GET signed as of a fixed time in the current window, so every listing within
// one window returns byte-identical URLs (cacheable by browsers and CDNs). Each URL stays valid
// for at least one full window after it is handed out. Since the URL depends only on the key, the
// window and the credentials, it is signed once and then served from memory: signing through the
// SDK's middleware stack is most of a listing's CPU time.
//
// The signing time is the window's start, but never earlier than the moment this process first
// saw the credentials it signs with. In AWS those are the function role's temporary credentials,
// and S3 documents a presigned URL as valid from X-Amz-Date for X-Amz-Expires seconds and only
// while the credentials that signed it are (S3 API Reference, "Authenticating Requests: Using
// Query Parameters"; S3 User Guide, "presigned URL ... expires when the token expires"); nothing
// documents S3 accepting a signing time from before the session existed, so we never ask it to.
// The credentials were issued before we first saw them, so that moment is a safe lower bound. In a
// fresh execution environment the first window's URLs therefore start later and expire at the
// same time as everyone else's; a new session (new access key) starts a new set. URLs are stable
// per execution environment (its credentials), not across environments, which sign with their own.
func (s *Server) windowURL(ctx context.Context, key string) (string, error) {
	u, _, err := s.windowURLUntil(ctx, key)
	return u, err
}

// windowURLUntil is windowURL that also says when the URL expires.
func (s *Server) windowURLUntil(ctx context.Context, key string) (string, time.Time, error) {
	creds, err := s.creds.Retrieve(ctx)
	if err != nil {
		return "", time.Time{}, wrapError(EInternal, msgInternal, err)
	}
	window := s.cfg.ListURLWindow
	now := s.Now().UTC()
	start := now.Truncate(window)
	signAt := s.urls.signingTime(creds.AccessKeyID, start, now)
	expires := start.Add(2 * window).Sub(signAt).Truncate(time.Second)
	if creds.CanExpire {
		// A URL cannot outlive its credentials; say so in the URL rather than promise more.
		expires = min(expires, creds.Expires.Sub(signAt).Truncate(time.Second))
	}
	if u, ok := s.urls.get(signAt, creds.AccessKeyID, key); ok {
		return u, signAt.Add(expires), nil
	}
	req, err := s.presign.PresignGetObject(ctx, getObject(s.cfg.S3.Bucket, key),
		func(o *s3.PresignOptions) {
			o.Expires = expires
			o.Presigner = fixedTimeSigner{signer: windowSigner, at: signAt}
			// Sign with exactly the credentials signAt was chosen for, even if the provider
			// refreshes in between.
			o.ClientOptions = append(o.ClientOptions, func(so *s3.Options) {
				so.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil })
			})
		})
	if err != nil {
		return "", time.Time{}, wrapError(EInternal, msgInternal, err)
	}
	s.urls.put(signAt, creds.AccessKeyID, key, req.URL)
	return req.URL, signAt.Add(expires), nil
}

// getObject is the GetObject that every presigned download signs. It pins response-content-type
// to the type the key stands for, which the processor validated by content, so a browser is told
// an image type whatever type the stored object claims.
func getObject(bucket, key string) *s3.GetObjectInput {
	return &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), ResponseContentType: aws.String(servedType(key))}
}

// servedType is the validated Content-Type of an original or thumbnail key.
func servedType(key string) string {
	if k, err := keys.Parse(key); err == nil && (k.Kind == keys.Original || k.Kind == keys.Thumbnail) {
		if t, ok := imagepolicy.ByExt(k.Ext); ok {
			return t.MIME
		}
	}
	return "application/octet-stream"
}

// urlCache holds the current window's signed URLs; it empties when the window or the credentials
// move on. It is bounded by bytes, not by count: a URL signed with a session token is about 1.9 KB,
// so a count bound of 100,000 would allow about 190 MB in a 256 MB function. At the bound it stops
// growing (misses just sign again).
type urlCache struct {
	mu       sync.Mutex
	signedAt time.Time
	keyID    string
	urls     map[string]string
	bytes    int
	maxBytes int // 0: maxCachedURLBytes

	// seenKeyID was first seen at seenAt: the earliest time URLs signed with it may carry.
	seenKeyID string
	seenAt    time.Time
}

// maxCachedURLBytes is about 8,000 URLs with session tokens: every URL of a few listed scenarios.
const maxCachedURLBytes = 16 << 20

// urlEntryOverhead approximates a map entry's own cost beside its two strings.
const urlEntryOverhead = 64

// signingTime is when URLs of the window starting at start are signed with the access key keyID:
// the window's start, or the moment the key was first seen if that is later.
func (c *urlCache) signingTime(keyID string, start, now time.Time) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if keyID != c.seenKeyID {
		c.seenKeyID, c.seenAt = keyID, now.Truncate(time.Second)
	}
	if c.seenAt.After(start) {
		return c.seenAt
	}
	return start
}

func (c *urlCache) get(signedAt time.Time, keyID, key string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.signedAt.Equal(signedAt) || c.keyID != keyID {
		return "", false
	}
	u, ok := c.urls[key]
	return u, ok
}

func (c *urlCache) put(signedAt time.Time, keyID, key, u string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.signedAt.Equal(signedAt) || c.keyID != keyID {
		c.signedAt, c.keyID, c.urls, c.bytes = signedAt, keyID, make(map[string]string), 0
	}
	limit := c.maxBytes
	if limit == 0 {
		limit = maxCachedURLBytes
	}
	size := len(key) + len(u) + urlEntryOverhead
	if _, ok := c.urls[key]; !ok && c.bytes+size <= limit {
		c.urls[key] = u
		c.bytes += size
	}
}

// windowSigner is configured as the S3 client's own presigner (S3 paths are not double-escaped).
var windowSigner = v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })

// fixedTimeSigner signs as of a fixed time instead of now.
type fixedTimeSigner struct {
	signer *v4.Signer
	at     time.Time
}

func (f fixedTimeSigner) PresignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string,
	_ time.Time, optFns ...func(*v4.SignerOptions)) (string, http.Header, error) {
	return f.signer.PresignHTTP(ctx, creds, r, payloadHash, service, region, f.at, optFns...)
}

var _ s3.HTTPPresignerV4 = fixedTimeSigner{}
