package api

import (
	"context"
	"medicpx/shared/imagepolicy"
	"medicpx/shared/keys"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

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
