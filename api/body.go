package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// errBodyTooLarge marks a request whose body is over maxBodyBytes, as declared or as sent.
var errBodyTooLarge = errors.New("request body over the limit")

// refuseLargeBody refuses a body whose declared length is over the limit before any work: before
// the token is checked and before a byte of it is read.
func refuseLargeBody(r *http.Request, limit int64) error {
	if r.ContentLength > limit {
		return wrapError(ETooLarge, msgBodyTooLarge, fmt.Errorf("%w: Content-Length %d", errBodyTooLarge, r.ContentLength))
	}
	return nil
}

// Bounds on what drainBody reads of a refused body.
const (
	maxDrainBytes = 12 << 20 // a little over the largest image: a file sent to the wrong route still gets its answer
	drainTimeout  = 10 * time.Second
)

// drainBody reads and discards what a client sends of a refused body, so that it reads the 413
// instead of a connection reset: a server that closes a socket with unread data makes the kernel
// send RST, which destroys the response in flight (what curl and Python's client saw). A client
// that asked "Expect: 100-continue" has not sent the body and is not asked for it: the answer
// goes out without a 100 Continue and the server closes the connection. Draining is bounded in
// bytes and time; past either the connection is simply closed.
func drainBody(w http.ResponseWriter, r *http.Request) {
	if r.Body == nil || strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
		return
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(drainTimeout)) // unsupported behind Lambda: nothing to drain there
	_, _ = io.CopyN(io.Discard, r.Body, maxDrainBytes)
}

// decodeBody reads a bounded JSON object into v, classifying what went wrong for the caller.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeBodyLimit(w, r, v, maxBodyBytes)
}

// decodeBodyLimit is decodeBody for the one body that may be larger (a reorder, see serveWith).
func decodeBodyLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	err := dec.Decode(v)
	var maxErr *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		if dec.More() {
			return newError(EInvalid, msgBadJSON)
		}
		return nil
	case errors.As(err, &maxErr):
		return wrapError(ETooLarge, msgBodyTooLarge, fmt.Errorf("%w: %w", errBodyTooLarge, err))
	case errors.As(err, &typeErr):
		return wrapError(EUnprocessable, fmt.Sprintf("%s 값의 형식이 잘못되었습니다.", typeErr.Field), err)
	default:
		return wrapError(EInvalid, msgBadJSON, err)
	}
}

var integerRE = regexp.MustCompile(`^-?[0-9]{1,18}$`)

// jsonInt reads a JSON integer strictly: 1.5, "7", 1e3 and true are not integers.
func jsonInt(raw json.RawMessage) (int64, bool) {
	s := strings.TrimSpace(string(raw))
	if !integerRE.MatchString(s) {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
