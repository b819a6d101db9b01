package identify

import (
	"slices"
	"testing"
)

func TestFind(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Kind
	}{
		// Resident registration numbers.
		{"rrn with hyphen", "환자 800101-1234567 흉부", []Kind{RRN}},
		{"rrn without hyphen", "8001011234567", []Kind{RRN}},
		{"rrn with a space", "800101 2234567", []Kind{RRN}},
		{"rrn with spaced hyphen", "800101 - 2234567", []Kind{RRN}},
		{"rrn in a file name", "홍길동_800101-1234567_흉부.jpg", []Kind{RRN}},
		{"rrn born 2000s", "050315-4123456", []Kind{RRN}},
		{"foreigner's number", "900101-5123456", []Kind{RRN}},
		{"foreigner's number 8", "900101-8123456", []Kind{RRN}},
		{"full-width digits", "８００１０１－１２３４５６７", []Kind{RRN}},
		{"en dash", "800101–1234567", []Kind{RRN}},
		{"zero-width space inside", "800101-123\u200b4567", []Kind{RRN}},
		{"rrn first digit 9 is not one", "800101-9234567", nil},
		{"rrn first digit 0 is not one", "800101-0234567", nil},
		{"part of a longer number", "18001011234567", nil},
		{"followed by a digit", "80010112345678", nil},

		// Phone numbers.
		{"mobile with hyphens", "연락처 010-1234-5678", []Kind{Phone}},
		{"mobile without hyphens", "01012345678", []Kind{Phone}},
		{"mobile with dots", "010.1234.5678", []Kind{Phone}},
		{"mobile with spaces", "010 1234 5678", []Kind{Phone}},
		{"old mobile", "011-123-4567", []Kind{Phone}},
		{"seoul landline", "02-123-4567", []Kind{Phone}},
		{"seoul landline 4", "02-1234-5678", []Kind{Phone}},
		{"seoul in parentheses", "(02) 1234-5678", []Kind{Phone}},
		{"gyeonggi landline", "031-123-4567", []Kind{Phone}},
		{"busan landline without hyphens", "0511234567", []Kind{Phone}},
		{"voip", "070-1234-5678", []Kind{Phone}},
		{"international mobile", "+82 10-1234-5678", []Kind{Phone}},
		{"international mobile compact", "+821012345678", []Kind{Phone}},
		{"international with leading zero", "+82 (0)10 1234 5678", []Kind{Phone}},
		{"international seoul", "+82-2-1234-5678", []Kind{Phone}},
		{"0082 form", "0082-10-1234-5678", []Kind{Phone}},
		{"in a file name", "환자_010-1234-5678.jpg", []Kind{Phone}},
		{"full-width phone", "０１０－１２３４－５６７８", []Kind{Phone}},

		// E-mail addresses.
		{"email", "문의: hong.gildong@example.com", []Kind{Email}},
		{"email with plus", "a+b@mail.co.kr", []Kind{Email}},
		{"korean local part", "홍길동@naver.com", []Kind{Email}},
		{"full-width at", "hong＠example.com", []Kind{Email}},

		// Several at once, each once.
		{"all three", "800101-1234567 010-1234-5678 02-123-4567 a@b.kr", []Kind{RRN, Phone, Email}},

		// Ordinary clinical text.
		{"blood pressure", "BP 120/80", nil},
		{"vital signs", "BP 140/90 HR 88 RR 20 BT 36.8", nil},
		{"date", "2024-01-15 촬영", nil},
		{"date with dots", "2024.01.15", nil},
		{"korean date", "2024년 1월 15일", nil},
		{"size", "우상복부 3cm 크기의 종괴", nil},
		{"lab values", "WBC 12.5, Hb 13.2, PLT 250, Na 140, K 4.0", nil},
		{"range", "Na 135-145 mmol/L", nil},
		{"time", "08:30-09:15", nil},
		{"numbered name", "14. 복부 촉진 소견 - 우상복부 압통 부위 확대 사진.jpg", nil},
		{"camera name", "IMG_20240115_123456.jpg", nil},
		{"kakaotalk name", "KakaoTalk_20240115_123456789.jpg", nil},
		{"screenshot name", "Screenshot_20240115-123456_Gallery.jpg", nil},
		{"long accession", "검체번호 2024011512345678", nil},
		{"decimals", "0.5 mg 0.25 mg", nil},
		{"at sign without a domain", "@ 3cm 아래", nil},
		{"ecg", "PR 0.16s QRS 0.08s QTc 420ms", nil},
		{"short digit groups", "01 23 45", nil},
		{"empty", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Find(tc.in); !slices.Equal(got, tc.want) {
				t.Errorf("Find(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestNouns(t *testing.T) {
	if got := Nouns([]Kind{RRN, Email}); got != "주민등록번호로 보이는 숫자, 이메일 주소" {
		t.Errorf("Nouns = %q", got)
	}
}

func TestBidiControl(t *testing.T) {
	for _, r := range []rune{'\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069'} {
		if !BidiControl("사진" + string(r) + "gpj.exe") {
			t.Errorf("U+%04X not found", r)
		}
	}
	for _, s := range []string{"", "환자 사진.jpg", "שלום.jpg", "مرحبا", "a\u200eb", "\u2065\u2070\u2029"} {
		if BidiControl(s) {
			t.Errorf("%q reported", s)
		}
	}
}
