// Package s3client builds the S3 client both binaries use: the default AWS credential chain and
// endpoint in AWS, or an endpoint override with path-style addressing for a local S3 server.
package s3client

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"medicpx/shared/config"
)

// FolderRaceCode is versitygw's error code for a write into a folder it is removing: its posix
// backend keeps keys as files in folders and removes a folder once it is empty, and a write into
// it at that moment gets 409 with this code. S3 has no folders and never answers it, so it is a
// fault of the local server worth a retry: New's clients retry it, and so do the page's uploads
// and the test client's.
const FolderRaceCode = "ExistingObjectIsDirectory"

// New returns an S3 client for c. Extra options (e.g. an HTTP client that counts calls in tests)
// are applied last.
func New(ctx context.Context, c config.S3, opts ...func(*s3.Options)) (*s3.Client, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(c.Region))
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	return s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
			o.Retryer = retry.AddWithErrorCodes(retry.NewStandard(), FolderRaceCode)
		}
		o.UsePathStyle = c.PathStyle
		if loopbackHTTP(c.Endpoint) {
			o.APIOptions = append(o.APIOptions, unsignedPayload)
		}
		// Checksums only when an operation requires them: S3-compatible servers and presigned
		// URLs handed to browsers must not depend on the SDK's newer default trailers.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		for _, opt := range opts {
			opt(o)
		}
	}), nil
}

// StoredChecksums makes a GetObject answer with the checksums S3 keeps for the object
// (x-amz-checksum-mode: ENABLED) without the SDK recomputing them over the body: S3 checked them
// against the bytes when they were written. Setting GetObjectInput.ChecksumMode instead would
// have the SDK hash the whole body again while it is read.
func StoredChecksums(o *s3.Options) {
	o.APIOptions = append(o.APIOptions, smithyhttp.SetHeaderValue("x-amz-checksum-mode", "ENABLED"))
}

// StoredSHA256 is the whole object's SHA-256 from a GetObject made with StoredChecksums (standard
// base64, as catalog.Checksum gives it), or "" when S3 keeps none: the object was written
// without one, or in parts (a composite checksum is not the bytes' hash).
func StoredSHA256(out *s3.GetObjectOutput) string {
	v := aws.ToString(out.ChecksumSHA256)
	if out.ChecksumType == types.ChecksumTypeComposite {
		return ""
	}
	if b, err := base64.StdEncoding.DecodeString(v); err != nil || len(b) != sha256.Size {
		return ""
	}
	return v
}

// loopbackHTTP reports whether endpoint is plain HTTP to this machine: the local S3 server.
func loopbackHTTP(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "http" {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// unsignedPayload signs a request body as UNSIGNED-PAYLOAD instead of hashing it into the
// signature, as the SDK itself does for PutObject over HTTPS, i.e. in AWS. Over the local
// stack's plain HTTP the SDK would SHA-256 every body it sends and versitygw would hash it again
// to check, work the same calls in AWS never do (in a burst, 8% of the processor's CPU and 7% of
// versitygw's). Only for a loopback endpoint, where no one sits between the two; operations
// that need a checksum (DeleteObjects' Content-MD5) still send one.
//
// It runs ahead of the SDK's request-checksum step, when the operation has one: that step
// computes the body's SHA-256 beside a checksum it sends (a PutObject's CRC32) unless a payload
// hash is already set, as UNSIGNED-PAYLOAD then is.
func unsignedPayload(stack *middleware.Stack) error {
	const hashID, checksumID = "ComputePayloadHash", "AWSChecksum:ComputeInputPayloadChecksum"
	if _, ok := stack.Finalize.Get(hashID); !ok {
		return nil
	}
	if _, ok := stack.Finalize.Get(checksumID); !ok {
		return v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware(stack)
	}
	if _, err := stack.Finalize.Remove(hashID); err != nil {
		return err
	}
	return stack.Finalize.Insert(&v4.UnsignedPayload{}, checksumID, middleware.Before)
}

// IsNotFound reports whether err says the object (or version asked for) does not exist: the typed
// NoSuchKey/NotFound errors, or a bare 404 (HEAD responses have no body to type them by).
func IsNotFound(err error) bool {
	if err == nil {
		return false
	}
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	return HTTPStatus(err) == http.StatusNotFound
}

// HTTPStatus is the HTTP status of a failed S3 call, or 0 when err did not come from a response.
func HTTPStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// Backoff waits before another attempt at a conditional write that lost (HTTP 412) or a lock that
// was held: 1 ms plus a random part (full jitter, so writers that collided spread out) of base
// doubled per attempt, at most ceiling. It returns ctx's error when ctx ends first.
func Backoff(ctx context.Context, attempt int, base, ceiling time.Duration) error {
	d := time.Millisecond + rand.N(min(ceiling, base<<min(attempt, 10)))
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// Lister is the part of S3 that List uses.
type Lister interface {
	ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// List calls each for every object under prefix, page by page (up to 1,000 keys a call); with
// delimit, only those directly under it (not in its sub-"folders").
func List(ctx context.Context, st Lister, bucket, prefix string, delimit bool, each func(types.Object)) error {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), MaxKeys: aws.Int32(1000)}
	if delimit {
		in.Delimiter = aws.String("/")
	}
	pages := s3.NewListObjectsV2Paginator(st, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list %s: %w", prefix, err)
		}
		for _, o := range page.Contents {
			each(o)
		}
	}
	return nil
}
