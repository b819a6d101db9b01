package imagepolicy

import (
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		d       Declared
		wantExt string
		wantErr error
	}{
		{Declared{"photo.jpg", "image/jpeg", 1}, "jpg", nil},
		{Declared{"photo.JPEG", "image/jpeg; charset=binary", MaxBytes}, "jpg", nil},
		{Declared{"환자 사진.png", "image/png", 100}, "png", nil},
		{Declared{"a.gif", "IMAGE/GIF", 100}, "gif", nil},
		{Declared{"a.webp", "image/webp", 100}, "webp", nil},
		{Declared{"a.jpg", "image/jpeg", MaxBytes + 1}, "", ErrTooLarge},
		{Declared{"a.jpg", "image/jpeg", 0}, "", ErrEmpty},
		{Declared{"a.jpg", "image/jpeg", -1}, "", ErrEmpty},
		{Declared{"a.png", "image/jpeg", 1}, "", ErrMismatch},
		{Declared{"a.bmp", "image/bmp", 1}, "", ErrUnsupported},
		{Declared{"a.jpg", "image/svg+xml", 1}, "", ErrUnsupported},
		{Declared{"a.svg", "image/jpeg", 1}, "", ErrUnsupported},
		{Declared{"dir/a.jpg", "image/jpeg", 1}, "", ErrFilename},
		{Declared{`dir\a.jpg`, "image/jpeg", 1}, "", ErrFilename},
		{Declared{"a\x00.jpg", "image/jpeg", 1}, "", ErrFilename},
		{Declared{"a\u0085.jpg", "image/jpeg", 1}, "", ErrFilename},
		{Declared{"noext", "image/jpeg", 1}, "", ErrFilename},
		{Declared{".jpg", "image/jpeg", 1}, "", ErrFilename},
		{Declared{"a.", "image/jpeg", 1}, "", ErrFilename},
		{Declared{"", "image/jpeg", 1}, "", ErrFilename},
		{Declared{strings.Repeat("a", 300) + ".jpg", "image/jpeg", 1}, "", ErrFilename},
		{Declared{"\xff\xfe.jpg", "image/jpeg", 1}, "", ErrFilename},
	}
	for _, tt := range tests {
		t.Run(tt.d.Filename, func(t *testing.T) {
			typ, err := Check(tt.d)
			if !errors.Is(err, tt.wantErr) || (err == nil && typ.Ext != tt.wantExt) {
				t.Fatalf("Check(%+v) = %+v, %v; want ext %q, err %v", tt.d, typ, err, tt.wantExt, tt.wantErr)
			}
		})
	}
}

func TestCheckDimensions(t *testing.T) {
	for _, c := range []struct {
		w, h int
		ok   bool
	}{
		{1, 1, true}, {5120, 2880, true}, {20000, 2500, true}, {7071, 7071, true},
		{0, 10, false}, {20001, 1, false}, {60000, 60000, false}, {10000, 5001, false},
	} {
		if err := CheckDimensions(c.w, c.h); (err == nil) != c.ok {
			t.Errorf("CheckDimensions(%d, %d) = %v, want ok=%v", c.w, c.h, err, c.ok)
		}
	}
}

func TestRemovedSentence(t *testing.T) {
	tests := []struct {
		parts []string
		want  string
	}{
		{nil, ""},
		{[]string{"unknown"}, ""},
		{[]string{RemovedGainMap}, "HDR 정보는 빼고 일반 사진으로 저장했습니다."},
		{[]string{RemovedMotionVideo, RemovedGainMap}, "HDR 정보는 빼고 일반 사진으로 저장했습니다. 모션 포토에 붙은 짧은 동영상은 빼고 사진만 저장했습니다."},
	}
	for _, tt := range tests {
		if got := RemovedSentence(tt.parts); got != tt.want {
			t.Errorf("RemovedSentence(%q) = %q; want %q", tt.parts, got, tt.want)
		}
	}
	for in, want := range map[string]string{
		"":                                     "",
		"hdr_gain_map":                         "hdr_gain_map",
		"mpo_frames,motion_photo_video":        "mpo_frames,motion_photo_video",
		"hdr_gain_map,<script>,hdr_gain_map,x": "hdr_gain_map",
	} {
		if got := JoinRemoved(SplitRemoved(in)); got != want {
			t.Errorf("SplitRemoved(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestIsHEIC(t *testing.T) {
	for _, tt := range []struct {
		name, ct string
		want     bool
	}{
		{"IMG_0001.HEIC", "", true},
		{"IMG_0001.heic", "image/heic", true},
		{"photo.heif", "application/octet-stream", true},
		{"photo.jpg", "image/heif", true},
		{"photo.jpg", "IMAGE/HEIC; charset=x", true},
		{"photo.jpg", "image/jpeg", false},
		{"heic.png", "image/png", false},
		{"photo", "", false},
	} {
		if got := IsHEIC(tt.name, tt.ct); got != tt.want {
			t.Errorf("IsHEIC(%q, %q) = %v; want %v", tt.name, tt.ct, got, tt.want)
		}
	}
}
