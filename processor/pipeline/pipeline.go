// Package pipeline decides, by content alone, whether an uploaded image is acceptable, and makes
// what is stored for an accepted one: the original without identifying metadata, and thumbnails.
// It does no I/O: the processor feeds it bytes from S3, the `check` command bytes from files.
package pipeline

import (
	"errors"
	"fmt"

	"medicpx/shared/imagepolicy"
)

// Reason says why an upload was rejected: imagepolicy's Reason, whose table holds every reason
// with the message the API shows for it. The constants below are the pipeline's verdicts on the
// content, by the names the pipeline uses; the processor adds two of its own
// (imagepolicy.ReasonProcessingFailed, imagepolicy.ReasonDeleted).
type Reason = imagepolicy.Reason

const (
	ReasonEmpty         = imagepolicy.ReasonEmpty
	ReasonTooLarge      = imagepolicy.ReasonTooLarge
	ReasonUnsupported   = imagepolicy.ReasonUnsupported
	ReasonMismatch      = imagepolicy.ReasonMismatch
	ReasonTooManyPixels = imagepolicy.ReasonTooManyPixels
	// ReasonTooManyFrames: a GIF whose frames' areas sum to more than MaxFramePixels, more than
	// decoding every frame here may cost. (A GIF over MaxAnimationFrames is ReasonTooComplex.)
	ReasonTooManyFrames = imagepolicy.ReasonTooManyFrames
	ReasonCorrupt       = imagepolicy.ReasonCorrupt
	ReasonBadKey        = imagepolicy.ReasonBadKey
	// ReasonTrailingData: bytes after the image's end marker, the usual way to smuggle a payload
	// (a ZIP, a script) past a check that only decodes the picture.
	ReasonTrailingData = imagepolicy.ReasonTrailingData
	// ReasonTooComplex: the file asks for more decoding work than any real image needs (a JPEG
	// with too many scans, say), or its decode ran past DecodeBudget; or it is an animation that
	// would cost a viewer too much, with more than MaxAnimationFrames frames or frames × screen
	// over MaxAnimationPixels.
	ReasonTooComplex = imagepolicy.ReasonTooComplex
	// ReasonAnimatedPNG: an APNG. Viewers play its frames, not the default image that was
	// checked, and the frames are not decoded here.
	ReasonAnimatedPNG = imagepolicy.ReasonAnimatedPNG
	// ReasonAnimatedWebP: a WebP with animation frames, refused for the same reason as an APNG.
	// It has its own reason so the professor is not told that a WebP is not a WebP.
	ReasonAnimatedWebP = imagepolicy.ReasonAnimatedWebP
)

// Rejected is the error for an invalid upload: a normal outcome, never retried.
type Rejected struct {
	Reason Reason
	Detail string // for logs and operators; not shown to students
}

func (r *Rejected) Error() string { return fmt.Sprintf("rejected: %s: %s", r.Reason, r.Detail) }

// Reject builds a *Rejected.
func Reject(reason Reason, format string, args ...any) *Rejected {
	return &Rejected{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// AsRejected reports whether err is a rejection, and which.
func AsRejected(err error) (*Rejected, bool) {
	var r *Rejected
	ok := errors.As(err, &r)
	return r, ok
}

// SniffLen is how many leading bytes Sniff needs; the processor fetches only these before deciding
// whether to download the whole object.
const SniffLen = 512

// Thumbnail is one encoded thumbnail.
type Thumbnail struct {
	Size          int    // the longest-edge target, one of imagepolicy.ThumbnailSizes
	Ext           string // "jpg" or "png"
	ContentType   string
	Width, Height int // actual pixels, after orientation
	Data          []byte
}

// Result is what an accepted upload turns into.
type Result struct {
	Type          imagepolicy.Type
	Width, Height int    // of the original as displayed (orientation applied)
	Frames        int    // 1 for still images
	Original      []byte // the original with identifying metadata removed, pixels untouched
	Thumbnails    []Thumbnail
	// Removed names the parts of the upload that were cut off and not stored (RemovedGainMap,
	// RemovedMPOFrames, RemovedMotionVideo), so a professor can be told; nil when nothing was.
	Removed []string
}
