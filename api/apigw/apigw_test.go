package apigw

import (
	"net/url"
	"testing"
)

func TestEscapePath(t *testing.T) {
	cases := []struct{ decoded, escaped string }{
		{"/patient-images/scenarios/1/images", "/patient-images/scenarios/1/images"},
		{"/patient-images/scenarios/1%/images", "/patient-images/scenarios/1%25/images"},
		{"/patient-images/scenarios/1?x=1/images", "/patient-images/scenarios/1%3Fx=1/images"},
		{"/a#b", "/a%23b"},
		{"/a b", "/a%20b"},
		{"/환자.jpg", "/%ED%99%98%EC%9E%90.jpg"},
		{"/%2F", "/%252F"}, // a literal "%2F" in the decoded path was "%252F" on the wire
		{"/../x//y/", "/../x//y/"},
		{"", ""},
	}
	for _, c := range cases {
		got := EscapePath(c.decoded)
		if got != c.escaped {
			t.Errorf("EscapePath(%q) = %q, want %q", c.decoded, got, c.escaped)
		}
		// Round trip: decoding what we made gives back what API Gateway had decoded.
		if u, err := url.Parse("https://h" + got); err != nil || u.Path != c.decoded && c.decoded != "" {
			t.Errorf("EscapePath(%q) = %q does not parse back: %v %v", c.decoded, got, u, err)
		}
	}
}
