package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"medicpx/shared/imagepolicy"
)

// TestMe: what /patient-images/me tells a student and a professor, built from the rules the API
// applies (the response is validated against openapi.yaml by the stack's client).
func TestMe(t *testing.T) {
	st := newStack(t)
	for _, tc := range []struct {
		role, want string
		upload     bool
	}{
		{"professor", roleStaff, true},
		{"admin", roleStaff, true},
		{"student", roleReader, false},
	} {
		resp := st.call("GET", "/patient-images/me", st.token(tc.role), nil)
		if resp.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", tc.role, resp.Status, resp.Raw)
		}
		var me meResponse
		if err := json.Unmarshal(resp.Raw, &me); err != nil {
			t.Fatal(err)
		}
		if me.Subject != "user-"+tc.role || me.Role != tc.want || me.CanUpload != tc.upload {
			t.Errorf("%s: %+v", tc.role, me)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", tc.role, resp.Header.Get("Cache-Control"))
		}
		p := me.Policy
		if p.MaxBytes != imagepolicy.MaxBytes || p.MaxFilenameBytes != imagepolicy.MaxFilenameLen ||
			p.MaxCaptionChars != maxCaptionRunes || p.HEICMessage != msgHEIC || p.UnsupportedMsg != msgUnsupported ||
			p.ScenarioIDPattern != `^[A-Za-z0-9_-]{1,64}$` {
			t.Errorf("%s: policy %+v", tc.role, p)
		}
		var mimes []string
		for _, ty := range p.Types {
			mimes = append(mimes, ty.MIME)
			got, ok := imagepolicy.ByMIME(ty.MIME)
			if !ok || got.Ext != ty.Ext || !slices.Equal(got.Exts, ty.Exts) {
				t.Errorf("type %+v is not imagepolicy's %+v", ty, got)
			}
		}
		if len(p.Types) != len(imagepolicy.Types()) || !slices.Contains(mimes, "image/webp") {
			t.Errorf("types %v", mimes)
		}
	}
}

// TestMePolicyMatchesTheRules: the HEIC lists /me hands the page are exactly what IsHEIC
// applies, in any case and with type parameters. (The scenario pattern is keys.ScenarioPattern
// itself, which keys.ValidScenario compiles; TestMe checks what /me serves.)
func TestMePolicyMatchesTheRules(t *testing.T) {
	// Every extension of up to four letters and digits: IsHEIC says yes exactly for imagepolicy.HEICExts.
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789"
	var ext func(prefix string)
	ext = func(prefix string) {
		if prefix != "" {
			want := slices.Contains(imagepolicy.HEICExts, prefix)
			if imagepolicy.IsHEIC("photo."+prefix, "") != want || imagepolicy.IsHEIC("photo."+strings.ToUpper(prefix), "") != want {
				t.Errorf("extension %q: IsHEIC disagrees with imagepolicy.HEICExts", prefix)
			}
		}
		if len(prefix) == 4 {
			return
		}
		for _, c := range chars {
			ext(prefix + string(c))
		}
	}
	ext("")
	for _, ct := range imagepolicy.HEICTypes {
		if !imagepolicy.IsHEIC("photo.bin", ct) || !imagepolicy.IsHEIC("photo.bin", strings.ToUpper(ct)+"; x=1") {
			t.Errorf("content type %q: IsHEIC says no", ct)
		}
	}
	for _, ty := range imagepolicy.Types() {
		if ty.StoredAs != "" {
			continue // HEIC itself, accepted and converted
		}
		if imagepolicy.IsHEIC("photo."+ty.Ext, ty.MIME) {
			t.Errorf("%s is taken for HEIC", ty.MIME)
		}
	}
	for _, ct := range []string{"image/heic-x", "image/avif", "image/heics", "image/heifs", "video/heic", "image/hei"} {
		if imagepolicy.IsHEIC("photo.bin", ct) != slices.Contains(imagepolicy.HEICTypes, ct) {
			t.Errorf("content type %q: IsHEIC disagrees with imagepolicy.HEICTypes", ct)
		}
	}
}

// TestTokenShapes: for each shape of role claims, what the page will be told (/me's can_upload)
// is what the API decides (claims.staff, through Verify) and what it does (upload-url: 200 or 403).
// The page shows the staff view exactly when can_upload is true, so this fixes what it shows.
func TestTokenShapes(t *testing.T) {
	st := newStack(t)
	v, err := NewVerifier(t.Context(), st.api.cfg.JWT)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		claims map[string]any
		staff  bool
	}{
		{"role professor", map[string]any{"role": "professor"}, true},
		{"role PROFESSOR", map[string]any{"role": "PROFESSOR"}, true},
		{"role Admin", map[string]any{"role": "Admin"}, true},
		{"role admin", map[string]any{"role": "admin"}, true},
		{"role student", map[string]any{"role": "student"}, false},
		{"roles [professor]", map[string]any{"roles": []any{"professor"}}, true},
		{"roles [student, ADMIN]", map[string]any{"roles": []any{"student", "ADMIN"}}, true},
		{"roles [student]", map[string]any{"roles": []any{"student"}}, false},
		{"roles []", map[string]any{"roles": []any{}}, false},
		{"roles a string", map[string]any{"roles": "professor"}, false},
		{"roles holding a number", map[string]any{"roles": []any{"professor", 1}}, false},
		{"role student, roles [professor]", map[string]any{"role": "student", "roles": []any{"professor"}}, false},
		{"role professor, roles [admin]", map[string]any{"role": "professor", "roles": []any{"admin"}}, true},
		{"role professor, roles [student]", map[string]any{"role": "professor", "roles": []any{"student"}}, false},
		{"role an array", map[string]any{"role": []any{"professor"}}, false},
		{"role a number", map[string]any{"role": 1}, false},
		{"role null", map[string]any{"role": nil}, false},
		{"role 'admin ' (space)", map[string]any{"role": "admin "}, false},
		{"role NBSP-padded", map[string]any{"role": "\u00a0admin"}, false},
		{"role ADMİN (dotted capital I)", map[string]any{"role": "ADMİN"}, false},
		{"role profeſſor (long s)", map[string]any{"role": "profeſſor"}, false},
		{"Role (not the claim's name)", map[string]any{"Role": "professor"}, false},
		{"no role", map[string]any{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := jwt.MapClaims{"sub": "shape", "exp": time.Now().Add(time.Hour).Unix()}
			for k, v := range tc.claims {
				c[k] = v
			}
			tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(testSecret))
			if err != nil {
				t.Fatal(err)
			}
			p, err := v.Verify(tok)
			if err != nil {
				t.Fatal(err)
			}
			if p.Staff != tc.staff {
				t.Errorf("staff() = %v, want %v", p.Staff, tc.staff)
			}
			me := st.call("GET", "/patient-images/me", tok, nil)
			if me.Status != http.StatusOK {
				t.Fatalf("/me: %d %s", me.Status, me.Raw)
			}
			wantRole := map[bool]string{true: roleStaff, false: roleReader}[tc.staff]
			if me.Body["can_upload"] != tc.staff || me.str("role") != wantRole {
				t.Errorf("/me says can_upload %v role %q, want %v %q", me.Body["can_upload"], me.str("role"), tc.staff, wantRole)
			}
			up := st.call("POST", "/patient-images/upload-url/1", tok, uploadBody("a.jpg", "image/jpeg", 10, "PUT"))
			if wantStatus := map[bool]int{true: http.StatusOK, false: http.StatusForbidden}[tc.staff]; up.Status != wantStatus {
				t.Errorf("upload-url: %d %s, want %d", up.Status, up.Raw, wantStatus)
			}
		})
	}
}
