package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"medicpx/shared/config"
)

// Roles that may change a scenario's images. Every other valid token may read.
var staffRoles = []string{"admin", "professor"}

// Principal is who is asking, as the token says.
type Principal struct {
	Subject string
	// Staff is decided once, by staffClaims, when the token is verified.
	Staff bool
}

// IsStaff reports whether p may upload, pin and delete.
func (p Principal) IsStaff() bool { return p.Staff }

// claims carries the role as "role" (a string, as the platform's backend issues it) and/or
// "roles" (an array of strings, e.g. identity-provider groups). Both are kept raw so that
// staffClaims sees their JSON types: a "roles" that is a string is not an array. The struct tags
// are for SignHS256; reading goes through UnmarshalJSON.
type claims struct {
	jwt.RegisteredClaims
	Role  any `json:"role,omitempty"`
	Roles any `json:"roles,omitempty"`
}

// UnmarshalJSON reads the claims by exact name (README, "Authentication"). The jwt library
// decodes claims with encoding/json, which matches struct fields case-insensitively and with
// Unicode folding ("ROLE", "Exp" and "roleſ", long s, would fill role, exp and roles) and lets
// the last of two equal names win. A reader that matches names exactly (the platform's backend,
// a browser) would then see other claims than the ones the API decided on. So a payload that
// repeats a name, in any object, is refused, and a claim is read only under its exact name: any
// other name is an unknown claim and changes nothing. The library calls this for the payload
// before it checks the signature; nothing read here counts unless the signature then verifies,
// and the library's validator (exp, nbf, iss, aud) then checks the fields set here.
func (c *claims) UnmarshalJSON(b []byte) error {
	// Names are compared as bytes, so they must be UTF-8: encoding/json would turn two different
	// invalid sequences into the same U+FFFD name, which a byte-exact reader sees as two.
	if !utf8.Valid(b) {
		return errors.New("claims are not UTF-8")
	}
	if err := uniqueNames(b); err != nil {
		return err
	}
	// A map's keys are matched exactly, and with no name repeated no value is overwritten.
	var members map[string]json.RawMessage
	if err := json.Unmarshal(b, &members); err != nil {
		return err
	}
	*c = claims{}
	for _, f := range []struct {
		name string
		dst  any
	}{
		{"iss", &c.Issuer}, {"sub", &c.Subject}, {"aud", &c.Audience}, {"exp", &c.ExpiresAt},
		{"nbf", &c.NotBefore}, {"iat", &c.IssuedAt}, {"jti", &c.ID},
		{"role", &c.Role}, {"roles", &c.Roles},
	} {
		if raw, ok := members[f.name]; ok {
			if err := json.Unmarshal(raw, f.dst); err != nil {
				return fmt.Errorf("claim %q: %w", f.name, err)
			}
		}
	}
	return nil
}

// uniqueNames checks that b is a JSON object and that no object in it, at any depth, has two
// members of the same name (compared after unescaping, as every reader compares them:
// "r\u006fle" is "role").
func uniqueNames(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	// Numbers stay text: a number too large for a float64 in an unknown claim is not an error.
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return errors.New("claims are not a JSON object")
	}
	return objectNames(dec)
}

// objectNames reads the rest of an object whose '{' dec has just returned.
func objectNames(dec *json.Decoder) error {
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		name, ok := t.(string)
		if !ok {
			return fmt.Errorf("member name %v is not a string", t)
		}
		if seen[name] {
			return fmt.Errorf("member name %q appears twice in one object", name)
		}
		seen[name] = true
		if err := skipValue(dec); err != nil {
			return err
		}
	}
	_, err := dec.Token() // '}'
	return err
}

// skipValue reads one value, checking the names of the objects in it.
func skipValue(dec *json.Decoder) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	switch t {
	case json.Delim('{'):
		return objectNames(dec)
	case json.Delim('['):
		for dec.More() {
			if err := skipValue(dec); err != nil {
				return err
			}
		}
		_, err = dec.Token() // ']'
		return err
	}
	return nil
}

// staffClaims is the one rule for role claims (README, "Authentication"):
//
//   - a role name matches only exactly, after ASCII-only case folding: "Admin" is admin, but
//     "admin " (space), an NBSP-padded "admin" and "ADMİN" (dotted capital İ, which Unicode
//     folding turns into "admin") are not. Nothing is trimmed or normalised, because every
//     extra rule is one more way for a crafted claim to become "admin";
//   - "role" must be a string and "roles" an array of strings; a claim of any other shape (a
//     string "roles", a number, an array holding a non-string) makes the token a reader;
//   - every role claim the token carries must grant staff: "role" must name a staff role, and
//     "roles" must contain one. So {"role":"student","roles":["professor"]} is a student: when
//     the claims disagree, the safe reading wins.
//
// A token without either claim is a reader.
func (c *claims) staff() bool {
	if c.Role == nil && c.Roles == nil {
		return false
	}
	if c.Role != nil {
		r, ok := c.Role.(string)
		if !ok || !isStaffRole(r) {
			return false
		}
	}
	if c.Roles != nil {
		list, ok := c.Roles.([]any)
		if !ok {
			return false
		}
		granted := false
		for _, v := range list {
			r, ok := v.(string)
			if !ok {
				return false
			}
			granted = granted || isStaffRole(r)
		}
		if !granted {
			return false
		}
	}
	return true
}

// isStaffRole compares with ASCII-only case folding. strings.EqualFold is not used: it folds
// Unicode too, so "profeſſor" (long s, U+017F) would equal "professor".
func isStaffRole(r string) bool {
	return slices.ContainsFunc(staffRoles, func(s string) bool { return asciiEqualFold(r, s) })
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if asciiLower(a[i]) != asciiLower(b[i]) {
			return false
		}
	}
	return true
}

func asciiLower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// Verifier checks bearer tokens. HS256 tokens are checked against the shared secret, RS256/ES256
// tokens against the JWKS; a token of one family is never checked with the other's key, which is
// what defeats alg-confusion (an HS256 token "signed" with a public key).
type Verifier struct {
	secret atomic.Pointer[[]byte]
	jwks   jwt.Keyfunc
	parser *jwt.Parser

	// source, when set, is where the HS256 secret lives; see NewVerifierWithSource.
	source      SecretSource
	log         *slog.Logger
	refetchMu   sync.Mutex
	lastRefetch time.Time
	now         func() time.Time
}

// SecretSource fetches the current HS256 secret (jwtsecret.Source in AWS).
type SecretSource interface {
	FetchSecret(ctx context.Context) ([]byte, error)
}

// SecretRefetchInterval is the least time between two fetches of the secret prompted by
// signature failures: a flood of forged tokens costs one GetSecretValue a minute, not one each.
const SecretRefetchInterval = time.Minute

// secretFetchTimeout bounds a refetch, which holds up the request that prompted it.
const secretFetchTimeout = 5 * time.Second

// NewVerifierWithSource fetches the HS256 secret from src now (at cold start; failing it fails
// start-up) and builds a Verifier that fetches it again when an HS256 token's signature does not
// verify, at most once per SecretRefetchInterval, and retries that token with a changed secret.
// A rotated secret thus takes effect without a deploy, and tokens signed with the old secret stop
// verifying once the new one is fetched (a rotation after a leak must cut them off).
func NewVerifierWithSource(ctx context.Context, c config.JWT, src SecretSource, log *slog.Logger) (*Verifier, error) {
	secret, err := src.FetchSecret(ctx)
	if err != nil {
		return nil, fmt.Errorf("JWT secret: %w", err)
	}
	c.Secret = string(secret)
	v, err := NewVerifier(ctx, c)
	if err != nil {
		return nil, err
	}
	v.source, v.log = src, log
	return v, nil
}

// NewVerifier builds a Verifier from configuration. With a JWKS URL it fetches the key set in the
// background and refreshes it.
func NewVerifier(ctx context.Context, c config.JWT) (*Verifier, error) {
	v := &Verifier{now: time.Now}
	secret := []byte(c.Secret)
	v.secret.Store(&secret)
	var methods []string
	if c.Secret != "" {
		methods = append(methods, "HS256")
	}
	if c.JWKSURL != "" {
		k, err := keyfunc.NewDefaultCtx(ctx, []string{c.JWKSURL})
		if err != nil {
			return nil, fmt.Errorf("JWKS %s: %w", c.JWKSURL, err)
		}
		v.jwks = k.Keyfunc
		methods = append(methods, "RS256", "ES256")
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(methods),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(30 * time.Second),
	}
	if c.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(c.Issuer))
	}
	if c.Audience != "" {
		opts = append(opts, jwt.WithAudience(c.Audience))
	}
	v.parser = jwt.NewParser(opts...)
	return v, nil
}

// keyFor returns the key function for one verification, with the HS256 secret as of now.
func (v *Verifier) keyFor(secret []byte) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) { return v.key(t, secret) }
}

func (v *Verifier) key(t *jwt.Token, secret []byte) (any, error) {
	switch t.Method.Alg() {
	case "HS256":
		if len(secret) == 0 {
			return nil, errors.New("HS256 not configured")
		}
		return secret, nil
	case "RS256", "ES256":
		if v.jwks == nil {
			return nil, errors.New("JWKS not configured")
		}
		return v.jwks(t)
	}
	return nil, fmt.Errorf("algorithm %q not allowed", t.Method.Alg())
}

// Verify parses a raw token and returns who it names.
func (v *Verifier) Verify(raw string) (Principal, error) {
	var c claims
	secret := *v.secret.Load()
	tok, err := v.parser.ParseWithClaims(raw, &c, v.keyFor(secret))
	if err != nil && v.source != nil && errors.Is(err, jwt.ErrTokenSignatureInvalid) &&
		tok != nil && tok.Method != nil && tok.Method.Alg() == "HS256" {
		if fresh, changed := v.refetch(secret); changed {
			c = claims{}
			_, err = v.parser.ParseWithClaims(raw, &c, v.keyFor(fresh))
		}
	}
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return Principal{}, wrapError(EUnauthenticated, msgExpiredToken, err)
		}
		return Principal{}, wrapError(EUnauthenticated, msgBadToken, err)
	}
	return Principal{Subject: c.Subject, Staff: c.staff()}, nil
}

// refetch fetches the secret again unless that happened less than SecretRefetchInterval ago, and
// reports whether the secret now differs from used (possibly fetched by a concurrent request).
func (v *Verifier) refetch(used []byte) ([]byte, bool) {
	v.refetchMu.Lock()
	defer v.refetchMu.Unlock()
	if cur := *v.secret.Load(); !bytes.Equal(cur, used) {
		return cur, true
	}
	now := v.now()
	if !v.lastRefetch.IsZero() && now.Sub(v.lastRefetch) < SecretRefetchInterval {
		return used, false
	}
	v.lastRefetch = now
	ctx, cancel := context.WithTimeout(context.Background(), secretFetchTimeout)
	defer cancel()
	fresh, err := v.source.FetchSecret(ctx)
	if err != nil {
		// Keep verifying with the secret we have; the next failure after the interval tries again.
		v.log.Error("JWT secret refetch failed", "error", err)
		return used, false
	}
	changed := !bytes.Equal(fresh, used)
	v.log.Info("JWT secret refetched after a signature failure", "changed", changed)
	if changed {
		v.secret.Store(&fresh)
	}
	return fresh, changed
}

// SignHS256 issues a token the way the platform's backend does; used by `make token` for the
// local stack and by tests.
func SignHS256(secret []byte, subject, role string, ttl time.Duration, now time.Time) (string, error) {
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   subject,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		Role: role,
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
}

type principalKey struct{}

func withPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

func principalFrom(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}

// bearer extracts the token of an "Authorization: Bearer …" header.
func bearer(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", newError(EUnauthenticated, msgNoToken)
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", newError(EUnauthenticated, msgNoToken)
	}
	return strings.TrimSpace(tok), nil
}
