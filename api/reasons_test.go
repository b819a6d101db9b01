package api

import (
	"testing"

	"medicpx/processor/pipeline"
)

// TestEveryPipelineReasonHasAMessage: every reason the processor stores on a quarantined upload has its own
// message for the professor, not the generic fallback.
func TestEveryPipelineReasonHasAMessage(t *testing.T) {
	fallback := reasonMessage("no such reason")
	for _, r := range []pipeline.Reason{
		pipeline.ReasonEmpty, pipeline.ReasonTooLarge, pipeline.ReasonUnsupported, pipeline.ReasonMismatch,
		pipeline.ReasonTooManyPixels, pipeline.ReasonTooManyFrames, pipeline.ReasonCorrupt, pipeline.ReasonBadKey,
		pipeline.ReasonTrailingData, pipeline.ReasonTooComplex, pipeline.ReasonAnimatedPNG, pipeline.ReasonAnimatedWebP,
	} {
		if m := reasonMessage(string(r)); m == fallback || m == "" {
			t.Errorf("reason %q has no message of its own", r)
		}
	}
}
