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
	Roles   []string
}

// IsStaff reports whether p may upload, pin and delete.
func (p Principal) IsStaff() bool {
	return slices.ContainsFunc(p.Roles, func(r string) bool { return slices.Contains(staffRoles, r) })
}

// claims accepts the role as "role" (string) or "roles" (string or array), as the platform's
// backend and Cognito groups issue them.
type claims struct {
	jwt.RegisteredClaims
	Role  string `json:"role,omitempty"`
	Roles any    `json:"roles,omitempty"`
}

func (c *claims) roles() []string {
	var out []string
	if c.Role != "" {
		out = append(out, c.Role)
	}
	switch v := c.Roles.(type) {
	case string:
		out = append(out, v)
	case []any:
		for _, r := range v {
			if s, ok := r.(string); ok {
				out = append(out, s)
			}
		}
	}
	for i := range out {
		out[i] = strings.ToLower(strings.TrimSpace(out[i]))
	}
	return out
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
	return Principal{Subject: c.Subject, Roles: c.roles()}, nil
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
