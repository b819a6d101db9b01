package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestOversizedBody: a 1 MiB body to the upload-url route gets the documented 413 over a real TCP
// connection, whether the client waits for 100 Continue or sends the body anyway, with a
// Content-Length or chunked; the refusal comes before the token is even checked.
func TestOversizedBody(t *testing.T) {
	st := newStack(t)
	body := bytes.Repeat([]byte(" "), 1<<20) // 1 MiB; what it holds does not matter
	path := "/patient-images/upload-url/1"
	auth := "Bearer " + st.token("professor")

	t.Run("net/http client", func(t *testing.T) {
		for _, c := range []struct {
			name   string
			expect bool
			auth   string
		}{
			{"body sent at once", false, auth},
			{"Expect: 100-continue", true, auth},
			{"no token", false, ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				tr := &http.Transport{ExpectContinueTimeout: 5 * time.Second}
				defer tr.CloseIdleConnections()
				req, _ := http.NewRequest("POST", st.url+path, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				if c.auth != "" {
					req.Header.Set("Authorization", c.auth)
				}
				if c.expect {
					req.Header.Set("Expect", "100-continue")
				}
				resp, err := (&http.Client{Transport: tr}).Do(req)
				if err != nil {
					t.Fatalf("no response: %v", err)
				}
				defer resp.Body.Close()
				checkTooLarge(t, resp)
			})
		}
	})

	// A raw connection behaves as curl and Python do: it writes the whole request, body included,
	// before it reads anything (or, with Expect, waits for the interim answer first).
	t.Run("raw connection", func(t *testing.T) {
		host := strings.TrimPrefix(st.url, "http://")
		head := "POST " + path + " HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: " + auth + "\r\nContent-Type: application/json\r\n"
		var chunked bytes.Buffer
		for rest := body; len(rest) > 0; rest = rest[min(len(rest), 64<<10):] {
			n := min(len(rest), 64<<10)
			fmt.Fprintf(&chunked, "%x\r\n%s\r\n", n, rest[:n])
		}
		chunked.WriteString("0\r\n\r\n")
		for _, c := range []struct {
			name    string
			request []byte
		}{
			{"Content-Length, body sent at once", fmt.Appendf(nil, "%sContent-Length: %d\r\n\r\n%s", head, len(body), body)},
			{"chunked, body sent at once", fmt.Appendf(nil, "%sTransfer-Encoding: chunked\r\n\r\n%s", head, chunked.Bytes())},
			{"Expect: 100-continue, body sent only if asked", fmt.Appendf(nil, "%sContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", head, len(body))},
		} {
			t.Run(c.name, func(t *testing.T) {
				conn, err := net.Dial("tcp", host)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				// A small send buffer, as on a real network: the body does not vanish into
				// loopback's buffers, so a server that stops reading makes the writer wait.
				conn.(*net.TCPConn).SetWriteBuffer(16 << 10)
				conn.SetDeadline(time.Now().Add(30 * time.Second))
				if _, err := conn.Write(c.request); err != nil {
					t.Fatalf("sending the request: %v", err)
				}
				br := bufio.NewReader(conn)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("no response: %v", err)
				}
				if resp.StatusCode == http.StatusContinue {
					// What curl does next: send the body, then read the final answer.
					t.Error("the server asked for a body it will refuse")
					if _, err := conn.Write(body); err != nil {
						t.Fatalf("sending the body after 100 Continue: %v", err)
					}
					time.Sleep(time.Second)
					if resp, err = http.ReadResponse(br, nil); err != nil {
						t.Fatalf("no final response: %v", err)
					}
				}
				defer resp.Body.Close()
				checkTooLarge(t, resp)
			})
		}
	})
}

func checkTooLarge(t *testing.T, resp *http.Response) {
	t.Helper()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	var got struct {
		Detail string `json:"detail"`
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge || json.Unmarshal(raw, &got) != nil || got.Detail != msgBodyTooLarge {
		t.Fatalf("%d %s, want 413 {\"detail\": %q}", resp.StatusCode, raw, msgBodyTooLarge)
	}
}
