package api

import (
	"fmt"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"medicpx/shared/identify"
	"medicpx/shared/imagepolicy"
	"medicpx/shared/keys"
)

// What students see gives nothing away. Students get an image's caption (also its alt text) and a
// neutral label ("사진 3", or the caption), never the file name the professor picked nor the
// staff note (image.OriginalFilename and image.Note are set for staff only, in item). Text that
// would identify a patient (shared/identify) is refused in a caption, and only warned about in a
// file name or a note, which staff alone read. Bidirectional overrides and isolates, which make
// text show something other than what it holds, are refused in all three.

const (
	maxNoteRunes = 2000

	msgNoteLong   = "메모는 최대 2,000자입니다."
	msgNoteBad    = "메모에는 줄바꿈 외의 제어 문자를 쓸 수 없습니다."
	msgBidiFmt    = "%s에 글자 방향을 바꾸는 보이지 않는 문자(U+202A–U+202E, U+2066–U+2069)가 있습니다. 보이는 글자와 실제 내용이 달라질 수 있어 쓸 수 없습니다."
	msgCaptionPII = "캡션에 %s가 있습니다. 학생에게 보이는 캡션에는 환자를 알아볼 수 있는 정보를 넣을 수 없습니다."
	msgStaffPII   = "%s에 %s가 있습니다. %s 교수와 관리자에게만 보이지만, 환자를 알아볼 수 있는 정보는 빼 두는 것이 안전합니다."
)

// Field names as the messages say them.
const (
	fieldCaption  = "캡션"
	fieldNote     = "메모"
	fieldFilename = "파일 이름"
)

// refuseBidi refuses text holding a bidirectional override or isolate.
func refuseBidi(field, s string) error {
	if identify.BidiControl(s) {
		return newError(EUnprocessable, fmt.Sprintf(msgBidiFmt, field))
	}
	return nil
}

// staffWarning is the warning for identifying text in a staff-only field, or "" when there is none.
func staffWarning(field, s string) string {
	kinds := identify.Find(s)
	if len(kinds) == 0 {
		return ""
	}
	topic := map[string]string{fieldNote: "메모는", fieldFilename: "파일 이름은"}[field]
	return fmt.Sprintf(msgStaffPII, field, identify.Nouns(kinds), topic)
}

// checkText is the rule captions and notes share: valid UTF-8, line breaks normalised and the
// ends trimmed, at most maxRunes characters, no control characters but line breaks and tabs,
// no bidirectional controls.
func checkText(s, field string, maxRunes int, msgLong, msgBad string) (string, error) {
	if !utf8.ValidString(s) {
		return "", newError(EUnprocessable, msgBad)
	}
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	if utf8.RuneCountInString(s) > maxRunes {
		return "", newError(EUnprocessable, msgLong)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return "", newError(EUnprocessable, msgBad)
		}
	}
	return s, refuseBidi(field, s)
}

// checkCaption enforces the caption's limits (checkText, at most 500 characters) and refuses
// identifying text: students see the caption.
func checkCaption(c string) (string, error) {
	c, err := checkText(c, fieldCaption, maxCaptionRunes, msgCaptionLong, msgCaptionBad)
	if err != nil {
		return "", err
	}
	if kinds := identify.Find(c); len(kinds) > 0 {
		return "", newError(EUnprocessable, fmt.Sprintf(msgCaptionPII, identify.Nouns(kinds)))
	}
	return c, nil
}

// checkNote enforces the note's limits (checkText, at most 2,000 characters); identifying text
// is kept, with a warning.
func checkNote(n string) (string, string, error) {
	n, err := checkText(n, fieldNote, maxNoteRunes, msgNoteLong, msgNoteBad)
	if err != nil {
		return "", "", err
	}
	return n, staffWarning(fieldNote, n), nil
}

// checkRename applies upload-url's rules for a name to a new name for the stored image k: a plain
// file name (imagepolicy.CheckFilename) without bidirectional controls, whose extension declares
// the image's own type. Identifying text is kept, with a warning.
func checkRename(name string, k keys.Key) (string, error) {
	if err := refuseBidi(fieldFilename, name); err != nil {
		return "", err
	}
	if err := imagepolicy.CheckFilename(name); err != nil {
		return "", policyError(err, name, "")
	}
	stored, _ := imagepolicy.ByExt(k.Ext)
	if t, ok := imagepolicy.ByExt(strings.TrimPrefix(path.Ext(name), ".")); !ok || t.MIME != stored.MIME {
		return "", newError(EUnprocessable, fmt.Sprintf(msgBadFilenameFmt,
			fmt.Sprintf("확장자는 이 이미지의 형식(%s)에 맞아야 합니다: .%s", stored.MIME, strings.Join(stored.Exts, ", ."))))
	}
	return staffWarning(fieldFilename, name), nil
}

// warnings is the list a response carries (nil when there is nothing to say).
func warnings(ws ...string) []string {
	var out []string
	for _, w := range ws {
		if w != "" {
			out = append(out, w)
		}
	}
	return out
}
