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

// hsRaw signs payload, byte for byte, as an HS256 token with testSecret: the claims tests must
// control the exact JSON (duplicate and look-alike names), which no JSON encoder will produce.
func hsRaw(t testing.TB, payload string) string {
	t.Helper()
	head := b64([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + b64([]byte(payload))
	sig, err := jwt.SigningMethodHS256.Sign(head, []byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return head + "." + b64(sig)
}

// TestClaimNames is issue 16 item 6: a claim is read only under its exact name, and a payload with
// a duplicate name is refused. encoding/json would match "ROLE", "Exp" or "roleſ" (long s folds
// to s) to the role and exp fields and let the last duplicate win; a reader that matches names
// exactly (the platform's backend, a browser) would then see other claims than the API decided on.
func TestClaimNames(t *testing.T) {
	const iss, aud = "https://platform.example", "medicpx"
	v, err := NewVerifier(context.Background(), config.JWT{Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	strict, err := NewVerifier(context.Background(), config.JWT{Secret: testSecret, Issuer: iss, Audience: aud})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	future, past := now.Add(time.Hour).Unix(), now.Add(-time.Hour).Unix()
	// In payloads, $F is an exp an hour ahead, $P one an hour ago; $I and $A the expected iss and aud.
	expand := strings.NewReplacer("$F", fmt.Sprint(future), "$P", fmt.Sprint(past), "$I", iss, "$A", aud).Replace
	const valid = "" // wantErr for an accepted token
	tests := []struct {
		name      string
		strict    bool // the verifier that requires iss and aud
		payload   string
		wantErr   string // public detail of the 401, or valid
		wantStaff bool
	}{
		// Ordinary tokens still work.
		{"role string", false, `{"sub":"u1","exp":$F,"role":"professor"}`, valid, true},
		{"roles array", false, `{"sub":"u1","exp":$F,"roles":["viewer","admin"]}`, valid, true},
		{"student", false, `{"sub":"u1","exp":$F,"role":"student"}`, valid, false},
		{"unknown claims are ignored", false, `{"sub":"u1","exp":$F,"role":"admin","jti":"x","ext":{"role":"student"}}`, valid, true},
		{"iss and aud", true, `{"sub":"u1","exp":$F,"iss":"$I","aud":"$A","role":"admin"}`, valid, true},
		{"aud array", true, `{"sub":"u1","exp":$F,"iss":"$I","aud":["other","$A"],"role":"admin"}`, valid, true},

		// Look-alike names are unknown claims: they never grant staff.
		{"ROLE beside role", false, `{"sub":"u1","exp":$F,"role":"student","ROLE":"admin"}`, valid, false},
		{"ROLE alone", false, `{"sub":"u1","exp":$F,"ROLE":"admin"}`, valid, false},
		{"Role alone", false, `{"sub":"u1","exp":$F,"Role":"professor"}`, valid, false},
		{"rolEs", false, `{"sub":"u1","exp":$F,"rolEs":["admin"]}`, valid, false},
		{"long s in roles", false, `{"sub":"u1","exp":$F,"roleſ":["admin"]}`, valid, false},
		{"long s in roles, escaped", false, `{"sub":"u1","exp":$F,"role\u017f":["admin"]}`, valid, false},
		{"long s after roles", false, `{"sub":"u1","exp":$F,"roles":["viewer"],"ROLEſ":["admin"]}`, valid, false},
		{"Cyrillic e in roles", false, `{"sub":"u1","exp":$F,"rolеs":["admin"]}`, valid, false},
		{"Kelvin sign", false, `{"sub":"u1","exp":$F,"roleK":["admin"],"Krole":"admin"}`, valid, false},
		{"long s in sub", false, `{"sub":"u1","exp":$F,"ſub":"u2","role":"student"}`, valid, false},

		// Look-alike registered claims do not stand in for the real ones.
		{"Exp after an expired exp", false, `{"sub":"u1","exp":$P,"Exp":$F}`, msgExpiredToken, false},
		{"EXP without exp", false, `{"sub":"u1","EXP":$F,"role":"admin"}`, msgBadToken, false},
		{"NBF after a future nbf", false, `{"sub":"u1","exp":$F,"nbf":$F,"NBF":$P}`, msgBadToken, false},
		{"Iss after a foreign iss", true, `{"sub":"u1","exp":$F,"iss":"https://evil.example","Iss":"$I","aud":"$A"}`, msgBadToken, false},
		{"long s in iss", true, `{"sub":"u1","exp":$F,"iſs":"$I","aud":"$A"}`, msgBadToken, false},
		{"AUD without aud", true, `{"sub":"u1","exp":$F,"iss":"$I","AUD":"$A"}`, msgBadToken, false},

		// A duplicate name is refused, whichever value comes last.
		{"role twice, student last", false, `{"sub":"u1","exp":$F,"role":"admin","role":"student"}`, msgBadToken, false},
		{"role twice, admin last", false, `{"sub":"u1","exp":$F,"role":"student","role":"admin"}`, msgBadToken, false},
		{"role twice, one escaped", false, `{"sub":"u1","exp":$F,"role":"student","r\u006fle":"admin"}`, msgBadToken, false},
		{"roles twice", false, `{"sub":"u1","exp":$F,"roles":["viewer"],"roles":["admin"]}`, msgBadToken, false},
		{"exp twice, expired last", false, `{"sub":"u1","exp":$F,"exp":$P}`, msgBadToken, false},
		{"exp twice, expired first", false, `{"sub":"u1","exp":$P,"exp":$F}`, msgBadToken, false},
		{"sub twice", false, `{"sub":"u1","sub":"u2","exp":$F}`, msgBadToken, false},
		{"iss twice", true, `{"sub":"u1","exp":$F,"iss":"https://evil.example","iss":"$I","aud":"$A"}`, msgBadToken, false},
		{"aud twice", true, `{"sub":"u1","exp":$F,"iss":"$I","aud":"other","aud":"$A"}`, msgBadToken, false},
		{"unknown claim twice", false, `{"sub":"u1","exp":$F,"x":1,"x":2}`, msgBadToken, false},
		{"nested duplicate", false, `{"sub":"u1","exp":$F,"role":"admin","ext":{"a":1,"a":2}}`, msgBadToken, false},
		{"duplicate in an array's object", false, `{"sub":"u1","exp":$F,"roles":["admin",{"a":1,"a":2}]}`, msgBadToken, false},
		{"same name in two objects is not a duplicate", false, `{"sub":"u1","exp":$F,"role":"admin","ext":{"role":"x"},"ext2":[{"role":"y"}]}`, valid, true},

		// Names are compared as exact bytes, so the payload must be UTF-8: two invalid sequences
		// would both decode to U+FFFD, one name to encoding/json and two to a byte-exact reader.
		{"invalid UTF-8", false, "{\"sub\":\"u1\",\"exp\":$F,\"a\xff\":1,\"a\xfe\":2}", msgBadToken, false},
		{"payload not an object", false, `["sub","u1","exp",$F]`, msgBadToken, false},
		{"null payload", false, `null`, msgBadToken, false},
		{"huge number in an unknown claim", false, `{"sub":"u1","exp":$F,"x":1e400,"role":"admin"}`, valid, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := expand(tt.payload)
			if !json.Valid([]byte(payload)) {
				t.Fatalf("test payload is not JSON: %s", payload)
			}
			ver := v
			if tt.strict {
				ver = strict
			}
			p, err := ver.Verify(hsRaw(t, payload))
			if tt.wantErr == valid {
				if err != nil {
					t.Fatalf("Verify %s: %v", payload, err)
				}
				if p.IsStaff() != tt.wantStaff || p.Subject != "u1" {
					t.Fatalf("%s: principal %+v, want u1 with staff=%v", payload, p, tt.wantStaff)
				}
				return
			}
			if e := asError(err); err == nil || e.Code != EUnauthenticated || e.Detail != tt.wantErr {
				t.Fatalf("%s: err = %v (principal %+v), want 401 %q", payload, err, p, tt.wantErr)
			}
		})
	}
}

// TestClaimNamesOverHTTP sends raw-payload tokens to a staff-only route: a look-alike role name
// gets 403, a repeated name and a look-alike exp 401.
func TestClaimNamesOverHTTP(t *testing.T) {
	st := newStack(t)
	now := time.Now()
	future, past := now.Add(time.Hour).Unix(), now.Add(-time.Hour).Unix()
	const path = "/patient-images/scenarios/1/trash"
	tests := []struct {
		name    string
		payload string
		status  int
		detail  string
	}{
		{"professor", fmt.Sprintf(`{"sub":"u1","exp":%d,"role":"professor"}`, future), http.StatusOK, ""},
		{"ROLE beside role", fmt.Sprintf(`{"sub":"u1","exp":%d,"role":"student","ROLE":"admin"}`, future), http.StatusForbidden, msgForbidden},
		{"long s in roles", fmt.Sprintf(`{"sub":"u1","exp":%d,"roleſ":["admin"]}`, future), http.StatusForbidden, msgForbidden},
		{"role twice", fmt.Sprintf(`{"sub":"u1","exp":%d,"role":"student","role":"admin"}`, future), http.StatusUnauthorized, msgBadToken},
		{"Exp after an expired exp", fmt.Sprintf(`{"sub":"u1","exp":%d,"Exp":%d,"role":"admin"}`, past, future), http.StatusUnauthorized, msgExpiredToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := st.call("GET", path, hsRaw(t, tt.payload), nil)
			if r.Status != tt.status || r.str("detail") != tt.detail {
				t.Fatalf("%s: %d %s, want %d %q", tt.payload, r.Status, r.Raw, tt.status, tt.detail)
			}
			if r.Status == http.StatusUnauthorized && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: %v", r.Header)
			}
		})
	}
}
