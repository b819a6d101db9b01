package processor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"medicpx/processor/pipeline"
	"medicpx/shared/s3client"
)

// Two kinds of failure end a Process call with an error, and only one of them is the upload's:
//
//   - an infrastructure fault: S3 answered 5xx (500 InternalError, 503 SlowDown, 507
//     InsufficientStorage of a full disk), throttled (429, the SDK's throttling codes), or could
//     not be reached (a network error, a timeout, the retry quota spent), or a deadline ran out
//     while waiting on S3. The bytes may be a perfectly good photo. Process returns these as an
//     *InfraError; the sweep retries them for as long as the upload is staged and never counts
//     them against it (Retry);
//   - a failure of the image itself: a decode that panicked, or one still running when the
//     object's deadline cut it off. These count, and after MaxAttempts the sweep quarantines the
//     upload as processing_failed. So does any error not known to be the infrastructure's: a bug
//     must not retry forever.
//
// A rejection (a *pipeline.Rejected) is neither: it is an outcome, not an error.

// InfraError is an infrastructure fault: what the processor runs on failed, not the upload.
type InfraError struct{ Err error }

func (e *InfraError) Error() string { return e.Err.Error() }
func (e *InfraError) Unwrap() error { return e.Err }

// IsInfrastructure reports whether err is (or wraps) an *InfraError.
func IsInfrastructure(err error) bool {
	var ie *InfraError
	return errors.As(err, &ie)
}

// imageFault is a failure of the pipeline on this upload's bytes that is not a rejection: a
// panic, or a decode cut off by the object's deadline. It is never an infrastructure fault,
// whatever it wraps (a cut-off decode wraps context.DeadlineExceeded).
type imageFault struct{ err error }

func (e *imageFault) Error() string { return e.err.Error() }
func (e *imageFault) Unwrap() error { return e.err }

// classify wraps an infrastructure fault in an *InfraError and returns any other error as it is.
func classify(err error) error {
	if err == nil || IsInfrastructure(err) {
		return err
	}
	var f *imageFault
	if errors.As(err, &f) || !infrastructure(err) {
		return err
	}
	return &InfraError{Err: err}
}

// infraCodes are S3 error codes of a server in trouble, beside the SDK's throttling and
// retryable codes, and versitygw's s3client.FolderRaceCode.
var infraCodes = map[string]bool{
	"InternalError": true, "ServiceUnavailable": true, "SlowDown": true, "InsufficientStorage": true,
	s3client.FolderRaceCode: true,
}

// infrastructure reports whether err is an infrastructure fault (see above). Errors of the
// pipeline are classified before they get here (imageFault), so a deadline or a cancellation
// seen here was met while waiting on S3.
func infrastructure(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	if s := s3client.HTTPStatus(err); s >= 500 || s == http.StatusTooManyRequests || s == http.StatusRequestTimeout {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := ae.ErrorCode()
		_, throttle := retry.DefaultThrottleErrorCodes[code]
		_, retryable := retry.DefaultRetryableErrorCodes[code]
		if throttle || retryable || infraCodes[code] {
			return true
		}
	}
	var (
		ne     net.Error
		send   *smithyhttp.RequestSendError
		cancel *aws.RequestCanceledError
		quota  ratelimit.QuotaExceededError
	)
	// A body cut off mid-read (io.ErrUnexpectedEOF) is the connection's fault too: the length was
	// known from the headers.
	return errors.As(err, &ne) || errors.As(err, &send) || errors.As(err, &cancel) || errors.As(err, &quota) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}

// runPipeline is the pipeline as Process calls it; tests replace it with one that panics or hangs.
var runPipeline = pipeline.RunContext

// checkImage runs the pipeline on one upload's bytes. A panic is recovered as the image's own
// failure (an imageFault): one hostile file must not take down the receiver with the uploads
// beside it, nor make Lambda's runtime exit. A decode stopped by ctx is the image's failure only
// when the object's own deadline stopped it (the decode overran the processor); a cancellation
// from outside (the sweep or the process shutting down) is not the upload's doing.
func checkImage(ctx context.Context, data []byte, ext string) (res *pipeline.Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, &imageFault{fmt.Errorf("pipeline panicked: %v", r)}
		}
	}()
	res, err = runPipeline(ctx, data, ext)
	if _, rejected := pipeline.AsRejected(err); err == nil || rejected {
		return res, err
	}
	if ctx.Err() != nil && !errors.Is(context.Cause(ctx), errObjectDeadline) {
		return nil, err // stopped from outside: classify sees the cancellation
	}
	return nil, &imageFault{err}
}

// errObjectDeadline is the cause of the context Process gives each object (ObjectTimeout).
var errObjectDeadline = errors.New("object deadline passed")
