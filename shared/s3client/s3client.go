// Package s3client builds the S3 client both binaries use: the default AWS credential chain and
// endpoint in AWS, or an endpoint override with path-style addressing for a local S3 server.
package s3client

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"medicpx/shared/config"
)

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
			// versitygw (posix) keeps keys as files in folders and removes a folder once it is
			// empty; a write into it at that moment gets 409 ExistingObjectIsDirectory. S3 has no
			// folders and never answers it, so it is a fault of the local server worth a retry.
			o.Retryer = retry.AddWithErrorCodes(retry.NewStandard(), "ExistingObjectIsDirectory")
		}
		o.UsePathStyle = c.PathStyle
		// Checksums only when an operation requires them: S3-compatible servers and presigned
		// URLs handed to browsers must not depend on the SDK's newer default trailers.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		for _, opt := range opts {
			opt(o)
		}
	}), nil
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
