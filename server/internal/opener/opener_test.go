package opener_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/opener"
)

const issuer = "https://assist.example"

func keys(id string, pub ed25519.PublicKey) opener.PublicKeyFunc {
	return func(_ context.Context, kid string) (ed25519.PublicKey, error) {
		if kid != id {
			return nil, failure.Unauthenticated("unknown key id")
		}
		return pub, nil
	}
}

func TestVerifyAcceptsOnlyAGenuineLiveOpenerForThisServer(t *testing.T) {
	t.Parallel()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now().Truncate(time.Second)
	good := opener.Claims{
		OpenerID: uuid.New(), SessionID: uuid.New(), Issuer: issuer,
		IssueTime: now, ExpireTime: now.Add(10 * time.Minute), KeyID: "k1",
	}
	sign := func(change func(*opener.Claims), key ed25519.PrivateKey) string {
		c := good
		if change != nil {
			change(&c)
		}
		tok, err := opener.Sign(key, c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	hs256, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"aud": opener.Audience, "iss": issuer, "exp": now.Add(time.Hour).Unix()}).SignedString([]byte(pub))
	tok := sign(nil, priv)
	if again := sign(nil, priv); again != tok {
		t.Fatalf("signing the same claims twice gave different openers: downloads could not sign them again")
	}
	c, err := opener.Verify(context.Background(), tok, issuer, now, keys("k1", pub))
	if err != nil {
		t.Fatalf("a genuine opener is refused: %v", err)
	}
	if c.OpenerID != good.OpenerID || c.SessionID != good.SessionID || c.KeyID != "k1" || !c.ExpireTime.Equal(good.ExpireTime) {
		t.Errorf("verified claims %+v, want %+v", c, good)
	}
	// Within the clock skew an expired opener still works.
	if _, err := opener.Verify(context.Background(), tok, issuer, good.ExpireTime.Add(opener.ClockSkew/2), keys("k1", pub)); err != nil {
		t.Errorf("an opener expired by less than the clock skew is refused: %v", err)
	}
	for name, tc := range map[string]struct {
		token string
		at    time.Time
		says  string
	}{
		"expired beyond the skew":             {tok, good.ExpireTime.Add(opener.ClockSkew + time.Second), "expired"},
		"wrong audience":                      {sign(func(c *opener.Claims) { c.Audience = "console" }, priv), now, "not meant"},
		"another server":                      {sign(func(c *opener.Claims) { c.Issuer = "https://evil.example" }, priv), now, "another server"},
		"unknown key id":                      {sign(func(c *opener.Claims) { c.KeyID = "k2" }, priv), now, "unknown key"},
		"no key id":                           {sign(func(c *opener.Claims) { c.KeyID = "" }, priv), now, "no key id"},
		"signed by another key":               {sign(nil, other), now, "signature"},
		"HS256 with the public key as secret": {hs256, now, "not valid"},
		"truncated":                           {tok[:len(tok)-5], now, ""},
		"empty":                               {"", now, ""},
	} {
		_, err := opener.Verify(context.Background(), tc.token, issuer, tc.at, keys("k1", pub))
		if !failure.IsKind(err, failure.KindUnauthenticated) {
			t.Errorf("%s: got %v, want Unauthenticated", name, err)
			continue
		}
		if tc.says != "" && !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: the refusal says %q, want it to mention %q", name, err, tc.says)
		}
	}
}

func TestParseEncryptionKeyTakesHexOrBase64OfThirtyTwoBytes(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{strings.Repeat("ab", 32), "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=", "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA"} {
		if k, err := opener.ParseEncryptionKey(ok); err != nil || len(k) != 32 {
			t.Errorf("ParseEncryptionKey(%q) = %d bytes, %v; want 32 bytes", ok, len(k), err)
		}
	}
	for _, bad := range []string{"", "short", strings.Repeat("ab", 16), "secret-value-not-to-echo"} {
		_, err := opener.ParseEncryptionKey(bad)
		if err == nil {
			t.Errorf("ParseEncryptionKey(%q) accepted it", bad)
		} else if bad != "" && strings.Contains(err.Error(), bad) {
			t.Errorf("the error shows the key: %v", err)
		}
	}
}
