package imagepolicy

import (
	"slices"
	"strings"
)

// Parts of an upload that the processor cuts off and never stores. Phones append them after a
// JPEG's primary image; they carry their own metadata (a stereo frame repeats the camera serial,
// a video its sound). The names are stored with the original (metadata keys.MetaRemoved) and returned by
// the API, so they never change.
const (
	RemovedGainMap     = "hdr_gain_map"       // HDR gain map (Ultra HDR, Apple, Adobe)
	RemovedMPOFrames   = "mpo_frames"         // further pictures: a stereo pair's other eye, previews
	RemovedMotionVideo = "motion_photo_video" // a Motion Photo's short video, possibly with sound
	// RemovedHEICConverted: a HEIC, HEIF or AVIF upload was stored as a JPEG made from its pixels;
	// what the container held besides the picture and its colour profile was left out.
	RemovedHEICConverted = "heic_converted"
)

// removedSentences tell a professor, in plain Korean, what was left out and that the photo itself
// is stored as it is.
var removedSentences = map[string]string{
	RemovedGainMap:       "HDR 정보는 빼고 일반 사진으로 저장했습니다.",
	RemovedMPOFrames:     "함께 들어 있던 다른 사진(입체 사진의 다른 쪽 등)은 빼고 대표 사진 한 장만 저장했습니다.",
	RemovedMotionVideo:   "모션 포토에 붙은 짧은 동영상은 빼고 사진만 저장했습니다.",
	RemovedHEICConverted: "HEIC/AVIF 사진은 모든 브라우저에서 볼 수 있도록 JPEG로 변환해 저장했습니다. 위치, 기기 정보 같은 메타데이터는 저장하지 않았습니다.",
}

// KnownRemoved reports whether name is one of the Removed* parts.
func KnownRemoved(name string) bool {
	_, ok := removedSentences[name]
	return ok
}

// RemovedSentence explains the removed parts in one or more Korean sentences, in a fixed order;
// "" when nothing (known) was removed.
func RemovedSentence(parts []string) string {
	var out []string
	for _, p := range []string{RemovedHEICConverted, RemovedGainMap, RemovedMPOFrames, RemovedMotionVideo} {
		if slices.Contains(parts, p) {
			out = append(out, removedSentences[p])
		}
	}
	return strings.Join(out, " ")
}

// JoinRemoved and SplitRemoved carry the list in one S3 metadata value ("a,b"); SplitRemoved keeps
// only known names, so a tampered value cannot put arbitrary text into a response.
func JoinRemoved(parts []string) string { return strings.Join(parts, ",") }

func SplitRemoved(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if KnownRemoved(p) && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}
