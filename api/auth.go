package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

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
// staffClaims sees their JSON types: a "roles" that is a string is not an array.
type claims struct {
	jwt.RegisteredClaims
	Role  any `json:"role,omitempty"`
	Roles any `json:"roles,omitempty"`
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
	secret []byte
	jwks   jwt.Keyfunc
	parser *jwt.Parser
}

// NewVerifier builds a Verifier from configuration. With a JWKS URL it fetches the key set in the
// background and refreshes it.
func NewVerifier(ctx context.Context, c config.JWT) (*Verifier, error) {
	v := &Verifier{secret: []byte(c.Secret)}
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

func (v *Verifier) keyFor(t *jwt.Token) (any, error) {
	switch t.Method.Alg() {
	case "HS256":
		if len(v.secret) == 0 {
			return nil, errors.New("HS256 not configured")
		}
		return v.secret, nil
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
	if _, err := v.parser.ParseWithClaims(raw, &c, v.keyFor); err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return Principal{}, wrapError(EUnauthenticated, msgExpiredToken, err)
		}
		return Principal{}, wrapError(EUnauthenticated, msgBadToken, err)
	}
	return Principal{Subject: c.Subject, Staff: c.staff()}, nil
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
