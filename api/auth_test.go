package api

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"medicpx/shared/config"
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// jwksServer serves an RSA and an EC public key as a JWKS, as Cognito does.
func jwksServer(t *testing.T, rk *rsa.PrivateKey, ek *ecdsa.PrivateKey) string {
	t.Helper()
	ecX, ecY := ek.PublicKey.X.FillBytes(make([]byte, 32)), ek.PublicKey.Y.FillBytes(make([]byte, 32))
	set := map[string]any{"keys": []map[string]string{
		{"kty": "RSA", "kid": "rsa1", "alg": "RS256", "use": "sig",
			"n": b64(rk.PublicKey.N.Bytes()), "e": b64(big.NewInt(int64(rk.PublicKey.E)).Bytes())},
		{"kty": "EC", "kid": "ec1", "alg": "ES256", "use": "sig", "crv": "P-256", "x": b64(ecX), "y": b64(ecY)},
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestVerifier(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(context.Background(), config.JWT{Secret: testSecret, JWKSURL: jwksServer(t, rk, ek)})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := func(role any, exp time.Time) jwt.MapClaims {
		c := jwt.MapClaims{"sub": "u1", "iat": now.Unix()}
		if !exp.IsZero() {
			c["exp"] = exp.Unix()
		}
		switch r := role.(type) {
		case string:
			c["role"] = r
		case []string:
			c["roles"] = r
		}
		return c
	}
	hs := func(c jwt.MapClaims, secret string) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	signed := func(m jwt.SigningMethod, kid string, key any, c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(m, c)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	hour := now.Add(time.Hour)
	pubDER, _ := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	noneTok := b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + b64([]byte(`{"sub":"u1","role":"admin","exp":`+big.NewInt(hour.Unix()).String()+`}`)) + "."

	tests := []struct {
		name      string
		token     string
		wantErr   string // substring of the public detail; "" = valid
		wantStaff bool
	}{
		{"HS256 professor", hs(claims("professor", hour), testSecret), "", true},
		{"HS256 admin via roles array", hs(claims([]string{"viewer", "admin"}, hour), testSecret), "", true},
		{"HS256 student", hs(claims("student", hour), testSecret), "", false},
		{"HS256 no role is a reader", hs(claims(nil, hour), testSecret), "", false},
		{"RS256 from JWKS", signed(jwt.SigningMethodRS256, "rsa1", rk, claims("professor", hour)), "", true},
		{"ES256 from JWKS", signed(jwt.SigningMethodES256, "ec1", ek, claims("student", hour)), "", false},
		{"expired", hs(claims("admin", now.Add(-time.Hour)), testSecret), msgExpiredToken, false},
		{"no exp", hs(claims("admin", time.Time{}), testSecret), msgBadToken, false},
		{"wrong secret", hs(claims("admin", hour), testSecret+"x"), msgBadToken, false},
		{"alg none", noneTok, msgBadToken, false},
		// HS256 "signed" with the RSA public key: the classic alg-confusion attack.
		{"HS/RS confusion", hs(claims("admin", hour), string(pubDER)), msgBadToken, false},
		{"RS256 unknown kid", signed(jwt.SigningMethodRS256, "other", rk, claims("admin", hour)), msgBadToken, false},
		{"HS384 not whitelisted", func() string {
			s, _ := jwt.NewWithClaims(jwt.SigningMethodHS384, claims("admin", hour)).SignedString([]byte(testSecret))
			return s
		}(), msgBadToken, false},
		{"malformed", "not.a.jwt", msgBadToken, false},
		{"tampered payload", func() string {
			parts := strings.Split(hs(claims("student", hour), testSecret), ".")
			parts[1] = b64([]byte(`{"sub":"u1","role":"admin","exp":` + big.NewInt(hour.Unix()).String() + `}`))
			return strings.Join(parts, ".")
		}(), msgBadToken, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(tt.token)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if p.IsStaff() != tt.wantStaff || p.Subject != "u1" {
					t.Fatalf("principal %+v, want staff=%v", p, tt.wantStaff)
				}
				return
			}
			e := asError(err)
			if err == nil || e.Code != EUnauthenticated || e.Detail != tt.wantErr {
				t.Fatalf("err = %v, want 401 %q", err, tt.wantErr)
			}
		})
	}
}

func TestVerifierWithoutJWKSRejectsRS256(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	v, err := NewVerifier(context.Background(), config.JWT{Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"sub": "u", "exp": time.Now().Add(time.Hour).Unix()}).SignedString(rk)
	if _, err := v.Verify(tok); err == nil {
		t.Fatal("RS256 token accepted with no JWKS configured")
	}
}

// TestRoleClaims is the role-claim table of issue 9: only exact names after ASCII case folding are
// staff, "roles" counts only as an array of strings, and every role claim present must grant staff.
func TestRoleClaims(t *testing.T) {
	v, err := NewVerifier(context.Background(), config.JWT{Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour).Unix()
	tests := []struct {
		name   string
		claims string // JSON members added to sub and exp
		staff  bool
	}{
		{"professor", `"role":"professor"`, true},
		{"admin", `"role":"admin"`, true},
		{"ASCII upper case", `"role":"PROFESSOR"`, true},
		{"ASCII mixed case", `"role":"AdMiN"`, true},
		{"roles array", `"roles":["viewer","admin"]`, true},
		{"roles array upper case", `"roles":["Professor"]`, true},
		{"role and roles agree", `"role":"admin","roles":["professor"]`, true},
		{"student", `"role":"student"`, false},
		{"no role", ``, false},
		{"dotted capital I", `"role":"ADMİN"`, false},
		{"dotless small i", `"role":"admın"`, false},
		{"long s", `"role":"profeſſor"`, false},
		{"dotted capital I in roles", `"roles":["viewer","ADMİN"]`, false},
		{"trailing space", `"role":"admin "`, false},
		{"leading space", `"role":" admin"`, false},
		{"NBSP padded", `"role":"\u00a0admin\u00a0"`, false},
		{"tab", `"role":"admin\t"`, false},
		{"zero-width space", `"role":"ad\u200bmin"`, false},
		{"fullwidth letters", `"role":"ａｄｍｉｎ"`, false},
		{"NUL suffix", `"role":"admin\u0000"`, false},
		{"empty role", `"role":""`, false},
		{"role as array", `"role":["admin"]`, false},
		{"role as number", `"role":1`, false},
		{"string roles", `"roles":"PROFESSOR"`, false},
		{"student with string roles", `"role":"student","roles":"PROFESSOR"`, false},
		{"student with roles array", `"role":"student","roles":["professor"]`, false},
		{"admin with roles lacking staff", `"role":"admin","roles":["viewer"]`, false},
		{"admin with string roles", `"role":"admin","roles":"admin"`, false},
		{"roles with a non-string", `"roles":["admin",1]`, false},
		{"roles with an object", `"roles":[{"name":"admin"}]`, false},
		{"roles empty", `"roles":[]`, false},
		{"roles null", `"roles":null`, false},
		{"comma-joined roles", `"roles":["admin,professor"]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := fmt.Sprintf(`{"sub":"u1","exp":%d`, exp)
			if tt.claims != "" {
				body += "," + tt.claims
			}
			body += "}"
			if !json.Valid([]byte(body)) {
				t.Fatalf("test claims are not JSON: %s", body)
			}
			head := b64([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + b64([]byte(body))
			sig, err := jwt.SigningMethodHS256.Sign(head, []byte(testSecret))
			if err != nil {
				t.Fatal(err)
			}
			p, err := v.Verify(head + "." + b64(sig))
			if err != nil {
				t.Fatalf("Verify %s: %v", body, err)
			}
			if p.IsStaff() != tt.staff {
				t.Errorf("%s: staff = %v, want %v", body, p.IsStaff(), tt.staff)
			}
		})
	}
}
