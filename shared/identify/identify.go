// Package identify finds text that would let a reader identify a patient — a Korean resident
// registration number, a phone number, an e-mail address — and the invisible characters that
// make text read differently from what it holds (bidirectional overrides and isolates). The API
// refuses the first in what students see (captions) and warns about it in what only staff see
// (file names, notes); it refuses the second everywhere.
//
// The patterns are deliberately narrow so that ordinary clinical text passes: blood pressure
// (120/80), dates (2024-01-15, 2024.01.15), vital signs and lab values (HR 88, Na 140, 3cm).
// Each match must stand alone as a number: a digit right before or after it means it is part of
// a longer number, not one of these.
package identify

import (
	"regexp"
	"strings"
)

// Kind is a kind of identifying text.
type Kind int

const (
	// RRN: a resident registration number (주민등록번호) or a foreigner's registration number:
	// six digits (the birth date), an optional hyphen or space, then seven digits whose first
	// (sex and century) is 1 to 8.
	RRN Kind = iota + 1
	// Phone: a Korean mobile (01X), landline (02, 0XX), VoIP (070) or personal (050X) number, with
	// hyphens, dots, spaces or nothing between its groups, the area code optionally in
	// parentheses, or in the international +82 / 0082 form (with or without the leading 0).
	Phone
	// Email: an e-mail address.
	Email
)

// Noun is how a Korean sentence names what was found; each ends without a final consonant, so
// it takes 가 / 는 / 를.
func (k Kind) Noun() string {
	switch k {
	case RRN:
		return "주민등록번호로 보이는 숫자"
	case Phone:
		return "전화번호로 보이는 번호"
	case Email:
		return "이메일 주소"
	}
	return "개인 정보"
}

// sep is what may stand between the groups of a phone number.
const sep = `[-. ]?`

var patterns = []struct {
	kind Kind
	re   *regexp.Regexp
}{
	{RRN, regexp.MustCompile(`(?:^|[^0-9])[0-9]{6}(?: ?- ?| )?[1-8][0-9]{6}(?:[^0-9]|$)`)},
	{Phone, regexp.MustCompile(`(?:^|[^0-9+])\(?(?:01[016789]|02|0[3-6][1-5]|070|050[2-8])\)?` + sep + `[0-9]{3,4}` + sep + `[0-9]{4}(?:[^0-9]|$)`)},
	{Phone, regexp.MustCompile(`(?:\+|(?:^|[^0-9])00) ?82` + sep + `(?:\(0\)|0)?` + sep + `\(?(?:1[016789]|2|[3-6][1-5]|70|50[2-8])\)?` + sep + `[0-9]{3,4}` + sep + `[0-9]{4}(?:[^0-9]|$)`)},
	{Email, regexp.MustCompile(`[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.\p{L}{2,}`)},
}

// Find reports the kinds of identifying text in s, each once, in the order of the Kind constants.
func Find(s string) []Kind {
	s = normalize(s)
	var out []Kind
	for _, p := range patterns {
		if (len(out) == 0 || out[len(out)-1] != p.kind) && p.re.MatchString(s) {
			out = append(out, p.kind)
		}
	}
	return out
}

// Nouns joins the Korean names of kinds for a sentence: "A, B".
func Nouns(kinds []Kind) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.Noun()
	}
	return strings.Join(names, ", ")
}

// normalize folds what a keyboard or a word processor may put in place of the ASCII characters
// the patterns look for: full-width digits and signs, Unicode dashes and spaces. Zero-width
// characters are dropped, so that they cannot split a number.
func normalize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '０' && r <= '９':
			return '0' + (r - '０')
		case r == '－' || r == '‐' || r == '‑' || r == '‒' || r == '–' || r == '—' || r == '―' || r == '−' || r == '﹣':
			return '-'
		case r == '＋':
			return '+'
		case r == '＠':
			return '@'
		case r == '．':
			return '.'
		case r == '（':
			return '('
		case r == '）':
			return ')'
		case r == '\u00a0' || r == '\u3000' || r == '\t' || r == '\n' || (r >= '\u2000' && r <= '\u200a') || r == '\u202f':
			return ' '
		case r == '\u200b' || r == '\u200c' || r == '\u200d' || r == '\u2060' || r == '\ufeff':
			return -1
		}
		return r
	}, s)
}

// BidiControl reports whether s holds a bidirectional override or isolate (U+202A–U+202E,
// U+2066–U+2069): invisible characters that reorder how text is displayed, so that a name or a
// caption can show something other than what it holds (a "…gpj.exe" shown as "…exe.jpg").
func BidiControl(s string) bool {
	for _, r := range s {
		if r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069' {
			return true
		}
	}
	return false
}
