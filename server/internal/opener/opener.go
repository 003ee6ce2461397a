// Package opener signs and verifies the opener tokens that start the
// customer app on an upgraded session, and keeps their Ed25519 signing
// keys in the database.
//
// An opener token is a JWT signed with Ed25519. Verification accepts
// EdDSA only (no algorithm choice is left to the token), checks the key id
// against the stored keys, the audience (the customer app), the issuer
// (this server's public URL) and the expiry, with a small clock skew.
// Single use is not decided here: the upgrade rules redeem an opener with
// one conditional UPDATE.
package opener

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/assist-chat/assist/server/internal/failure"
)

// Audience is the audience of every opener: the customer app.
const Audience = "assist-customer-app"

// ClockSkew is how far past its expiry an opener is still accepted, for
// clocks that disagree a little.
const ClockSkew = 30 * time.Second

// Claims is what an opener says.
type Claims struct {
	// OpenerID is the token's unique id (jti): the openers row it redeems.
	OpenerID uuid.UUID
	// SessionID is the session the opener starts the app on (sid).
	SessionID uuid.UUID
	// Issuer is the server's public URL: the app connects there.
	Issuer string
	// Audience is Audience, except in tests that forge a wrong one.
	Audience   string
	IssueTime  time.Time
	ExpireTime time.Time
	// KeyID names the signing key (the JWT header's kid).
	KeyID string
}

type jwtClaims struct {
	jwt.RegisteredClaims
	SessionID string `json:"sid"`
}

// Sign signs c with priv. The result depends only on c and the key
// (Ed25519 signatures are deterministic), so an opener can be signed again
// from its stored claims instead of storing the token.
func Sign(priv ed25519.PrivateKey, c Claims) (string, error) {
	aud := c.Audience
	if aud == "" {
		aud = Audience
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwtClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			ID:        c.OpenerID.String(),
			Issuer:    c.Issuer,
			Audience:  jwt.ClaimStrings{aud},
			IssuedAt:  jwt.NewNumericDate(c.IssueTime),
			ExpiresAt: jwt.NewNumericDate(c.ExpireTime),
		},
		SessionID: c.SessionID.String(),
	})
	t.Header["kid"] = c.KeyID
	return t.SignedString(priv)
}

// PublicKeyFunc returns the public key of a key id, or an error if the id
// is unknown.
type PublicKeyFunc func(ctx context.Context, keyID string) (ed25519.PublicKey, error)

// Verify checks token and returns its claims. Every refusal is
// Unauthenticated, with a message that says why without echoing the token.
func Verify(ctx context.Context, token, issuer string, now time.Time, keys PublicKeyFunc) (Claims, error) {
	var out jwtClaims
	var keyErr error
	parsed, err := jwt.ParseWithClaims(token, &out, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			keyErr = failure.Unauthenticated("the opener has no key id")
			return nil, keyErr
		}
		pub, err := keys(ctx, kid)
		if err != nil {
			keyErr = err
			return nil, err
		}
		return pub, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithAudience(Audience),
		jwt.WithIssuer(issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(ClockSkew),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	if keyErr != nil {
		if fe, ok := failure.As(keyErr); ok {
			return Claims{}, fe
		}
		return Claims{}, keyErr // a database failure: not the caller's fault
	}
	if err != nil || !parsed.Valid {
		return Claims{}, refusal(err).WithCause(err)
	}
	c := Claims{Issuer: out.Issuer, Audience: Audience, KeyID: parsed.Header["kid"].(string)}
	if c.OpenerID, err = uuid.Parse(out.ID); err != nil {
		return Claims{}, failure.Unauthenticated("the opener has no valid id")
	}
	if c.SessionID, err = uuid.Parse(out.SessionID); err != nil {
		return Claims{}, failure.Unauthenticated("the opener names no valid session")
	}
	if out.IssuedAt != nil {
		c.IssueTime = out.IssuedAt.Time
	}
	c.ExpireTime = out.ExpiresAt.Time
	return c, nil
}

// refusal says why jwt refused a token.
func refusal(err error) *failure.Error {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return failure.Unauthenticated("the opener has expired")
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return failure.Unauthenticated("the opener is not meant for the customer app")
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return failure.Unauthenticated("the opener was issued by another server")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return failure.Unauthenticated("the opener's signature is not valid")
	case errors.Is(err, jwt.ErrTokenMalformed):
		return failure.Unauthenticated("the opener is malformed")
	}
	return failure.Unauthenticated("the opener is not valid")
}

// KeyFromSeed returns the private key of a stored 32-byte seed.
func KeyFromSeed(seed []byte) (ed25519.PrivateKey, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("signing key seed has %d bytes, want %d", len(seed), ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}
