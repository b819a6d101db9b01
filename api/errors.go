package api

import (
	"errors"
	"fmt"
	"net/http"
)

// Code classifies an error by what the caller can do about it. codeStatus is the one table that
// turns codes into HTTP statuses.
type Code int

const (
	EInternal        Code = iota // a fault of ours or of S3; retrying may help
	EInvalid                     // malformed request (path, query, JSON syntax)
	EUnprocessable               // well-formed JSON whose values are not acceptable
	EUnauthenticated             // no valid token
	EForbidden                   // valid token, role may not
	ENotFound
	EConflict
	ETooLarge
	EUnsupported
	EMethod
	ETooMany // over a rate limit
)

var codeStatus = map[Code]int{
	EInternal:        http.StatusInternalServerError,
	EInvalid:         http.StatusBadRequest,
	EUnprocessable:   http.StatusUnprocessableEntity,
	EUnauthenticated: http.StatusUnauthorized,
	EForbidden:       http.StatusForbidden,
	ENotFound:        http.StatusNotFound,
	EConflict:        http.StatusConflict,
	ETooLarge:        http.StatusRequestEntityTooLarge,
	EUnsupported:     http.StatusUnsupportedMediaType,
	EMethod:          http.StatusMethodNotAllowed,
	ETooMany:         http.StatusTooManyRequests,
}

// Error is an error with a public message. Detail goes to the client as {"detail": …}; Err, the
// cause, goes only to the log.
type Error struct {
	Code   Code
	Detail string
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Detail, e.Err)
	}
	return e.Detail
}

func (e *Error) Unwrap() error { return e.Err }

func newError(code Code, detail string) *Error { return &Error{Code: code, Detail: detail} }

func wrapError(code Code, detail string, err error) *Error {
	return &Error{Code: code, Detail: detail, Err: err}
}

// Public messages (Korean: the platform's language and what the seed's frontend shows).
const (
	msgInternal       = "일시적인 오류가 발생했습니다. 잠시 후 다시 시도하세요."
	msgNoToken        = "인증이 필요합니다. Authorization: Bearer 토큰을 보내세요."
	msgBadToken       = "유효하지 않은 토큰입니다."
	msgExpiredToken   = "토큰이 만료되었습니다. 다시 로그인하세요."
	msgForbidden      = "관리자 또는 교수 권한이 필요합니다."
	msgBadScenario    = "잘못된 시나리오 ID입니다. 영문, 숫자, '_', '-'로 된 1~64자여야 합니다."
	msgNotFound       = "이미지를 찾을 수 없습니다."
	msgRouteNotFound  = "요청한 경로를 찾을 수 없습니다."
	msgMethod         = "허용되지 않는 메서드입니다."
	msgBadJSON        = "요청 본문이 올바른 JSON이 아닙니다."
	msgBodyTooLarge   = "요청 본문이 너무 큽니다."
	msgBadKey         = "잘못된 s3_key입니다. 이 시나리오의 원본 이미지 키여야 합니다."
	msgUnsupported    = "지원하지 않는 파일 형식입니다. JPEG, PNG, GIF, WebP만 업로드할 수 있습니다."
	msgHEIC           = "HEIC(HEIF) 사진은 올릴 수 없습니다. JPEG로 바꿔서 올려 주세요. iPhone이라면 설정 > 카메라 > 포맷에서 '높은 호환성'을 고르면 앞으로 JPEG로 찍히고, 이미 찍은 사진은 JPEG로 공유하거나 화면을 캡처해서 올리면 됩니다."
	msgTypeMismatch   = "파일 확장자와 content_type이 일치하지 않습니다."
	msgTooLarge       = "파일 크기는 최대 10MB(10,485,760바이트)입니다."
	msgEmpty          = "content_length는 1 이상의 정수여야 합니다."
	msgBadMethod      = "method는 \"PUT\" 또는 \"POST\"여야 합니다."
	msgNotReady       = "처리가 끝난 이미지만 대표 이미지로 지정할 수 있습니다."
	msgStillThere     = "이미지가 아직 처리 중입니다."
	msgBadFilenameFmt = "잘못된 파일 이름입니다: %s"
	msgTooMany        = "요청이 너무 많습니다. 잠시 후 다시 시도하세요."
)

// asError returns err as an *Error, classifying unknown errors as internal.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return wrapError(EInternal, msgInternal, err)
}
