//go:build !devlogin

package web

import (
	"net/http"
	"strings"
	"testing"
)

// The default build (production, Lambda) has no dev sign-in, even when Mount is given a secret.
func TestNoDevLoginWithoutTag(t *testing.T) {
	h := newRouter([]byte("0123456789abcdef0123456789abcdef"))
	for _, tc := range []struct{ method, target string }{
		{http.MethodPost, "/dev/token"},
		{http.MethodPost, "/dev/token?role=professor"},
		{http.MethodGet, "/dev/token"},
	} {
		if rec := do(t, h, tc.method, tc.target, nil); rec.Code != http.StatusNotFound {
			t.Errorf("%s %s = %d, want 404", tc.method, tc.target, rec.Code)
		}
	}
	page := do(t, h, http.MethodGet, "/", nil).Body.String()
	if !strings.Contains(page, `data-devlogin="false"`) {
		t.Error(`page does not say data-devlogin="false"`)
	}
}
