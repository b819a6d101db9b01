package s3client

import "testing"

func TestLoopbackHTTP(t *testing.T) {
	for _, c := range []struct {
		endpoint string
		want     bool
	}{
		{"http://127.0.0.1:7070", true},
		{"http://localhost:9000", true},
		{"http://[::1]:9000", true},
		{"http://127.0.0.2:80", true},
		{"https://127.0.0.1:7070", false}, // TLS: the SDK decides itself
		{"http://10.0.0.5:9000", false},   // another machine: bodies stay signed
		{"http://s3.example.com", false},
		{"http://localhost.example.com", false},
		{"", false}, // AWS
		{"::not a url", false},
	} {
		if got := loopbackHTTP(c.endpoint); got != c.want {
			t.Errorf("loopbackHTTP(%q) = %v, want %v", c.endpoint, got, c.want)
		}
	}
}
