package imagepolicy

// Reason says why an upload was rejected. The processor stores it on the quarantine copy (object
// metadata keys.MetaReason); the API reads it back and shows its Message. Stored values outlive any
// deploy, so a value never changes and none is ever reused for another meaning.
//
// Every reason the processor can write is in the table below: the pipeline's verdicts on the
// content and the processor's own two (ReasonProcessingFailed, ReasonDeleted). A new reason is
// added here, with its message, or the API has nothing to tell the professor but FallbackMessage.
type Reason string

const (
	ReasonEmpty         Reason = "empty"
	ReasonTooLarge      Reason = "too_large"
	ReasonUnsupported   Reason = "unsupported_type"
	ReasonMismatch      Reason = "type_mismatch"
	ReasonTooManyPixels Reason = "too_many_pixels"
	// ReasonTooManyFrames: a GIF whose frames add up to more pixels than the pipeline decodes.
	ReasonTooManyFrames Reason = "too_many_frames"
	ReasonCorrupt       Reason = "corrupt"
	ReasonBadKey        Reason = "bad_key"
	// ReasonTrailingData: bytes after the image's end marker.
	ReasonTrailingData Reason = "trailing_data"
	// ReasonTooComplex: more decoding work than any real image needs, or an animation that would
	// cost a viewer too much.
	ReasonTooComplex Reason = "too_complex"
	// ReasonAnimatedPNG and ReasonAnimatedWebP: animation frames the pipeline does not check.
	ReasonAnimatedPNG  Reason = "animated_png"
	ReasonAnimatedWebP Reason = "animated_webp"
	// ReasonProcessingFailed: the processor's sweep gave up after repeated failures. Not a verdict
	// on the content.
	ReasonProcessingFailed Reason = "processing_failed"
	// ReasonDeleted: bytes sent through the upload URL of an image that had been deleted (or
	// caught in flight by the delete). They are never looked at.
	ReasonDeleted Reason = "deleted"
)

// FallbackMessage is what the API shows for a reason not in the table (a value written by a newer
// processor, say).
const FallbackMessage = "이미지를 처리할 수 없습니다. 사진 앱에서 JPEG로 다시 저장해서 올려 주세요."

// reasons explain each rejection to a professor in plain Korean: what is wrong with the file,
// never suggesting it was tampered with, and what to do instead. The order is the one Reasons
// returns.
var reasons = []struct {
	reason  Reason
	message string
}{
	{ReasonEmpty, "파일이 비어 있습니다. 사진 앱에서 사진을 다시 골라 올려 주세요."},
	{ReasonTooLarge, "파일이 10MB를 넘습니다. 사진 앱에서 크기를 줄여 저장하거나 화면을 캡처해서 올려 주세요."},
	{ReasonUnsupported, "JPEG, PNG, GIF, WebP 형식의 이미지가 아닙니다. 사진 앱에서 JPEG로 다시 저장하거나 화면을 캡처해서 올려 주세요."},
	{ReasonMismatch, "파일 이름의 확장자와 실제 이미지 형식이 다릅니다(예: PNG 사진인데 이름이 .jpg). 사진 앱에서 JPEG로 다시 저장하거나 실제 형식에 맞는 확장자로 바꿔서 올려 주세요."},
	{ReasonTooManyPixels, "사진 해상도가 너무 큽니다(최대 5천만 화소, 한 변 20,000픽셀). 사진 앱에서 크기를 줄여 저장한 뒤 올려 주세요."},
	{ReasonTooManyFrames, "움직이는 이미지의 장면 수가 너무 많습니다. 필요한 장면만 화면 캡처해서 올려 주세요."},
	{ReasonCorrupt, "이미지를 끝까지 읽을 수 없습니다. 파일이 덜 받아졌거나 깨진 것 같습니다. 원래 사진을 사진 앱에서 JPEG로 다시 저장하거나 화면을 캡처해서 올려 주세요."},
	{ReasonTrailingData, "사진 뒤에 이미지가 아닌 데이터가 붙어 있어 저장하지 않았습니다. 사진 앱에서 JPEG로 다시 저장하거나 화면을 캡처해서 올려 주세요."},
	{ReasonBadKey, "올바른 업로드 경로가 아닙니다. 이 페이지에서 다시 올려 주세요."},
	{ReasonTooComplex, "이미지 구조가 지나치게 복잡하거나 움직이는 이미지의 장면이 너무 많거나 커서 처리할 수 없습니다. 사진 앱이나 편집기에서 일반 JPEG로 다시 저장하거나 화면을 캡처해서 올려 주세요. 움직이는 이미지는 장면 수나 크기를 줄여서 올려 주세요."},
	{ReasonAnimatedPNG, "움직이는 PNG(APNG)는 올릴 수 없습니다. 움직이지 않는 PNG로 저장해서 올리거나, 움직이는 이미지는 GIF로 올려 주세요."},
	{ReasonAnimatedWebP, "움직이는 WebP는 올릴 수 없습니다. 움직이지 않는 사진으로 저장해서 올리거나, 움직이는 이미지는 GIF로 올려 주세요."},
	{ReasonProcessingFailed, "여러 번 시도했지만 이 사진을 처리하지 못했습니다. 사진 앱에서 JPEG로 다시 저장하거나 다른 파일로 올려 주세요."},
	{ReasonDeleted, "삭제한 이미지의 업로드 URL로 보낸 파일이라 등록하지 않았습니다. 새 사진은 새 업로드로 올려 주세요."},
}

// Reasons returns every reason in the table, in its order.
func Reasons() []Reason {
	out := make([]Reason, len(reasons))
	for i, r := range reasons {
		out[i] = r.reason
	}
	return out
}

// Known reports whether r is in the table.
func (r Reason) Known() bool {
	_, ok := r.message()
	return ok
}

// Message explains r to a professor: its own message, or FallbackMessage for a reason not in the
// table.
func (r Reason) Message() string {
	if m, ok := r.message(); ok {
		return m
	}
	return FallbackMessage
}

func (r Reason) message() (string, bool) {
	for _, e := range reasons {
		if e.reason == r {
			return e.message, true
		}
	}
	return "", false
}
