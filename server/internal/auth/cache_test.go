package auth

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
)

// A cached credential is forgotten when its key is revoked, and a lookup
// that raced with a revocation is not cached at all.
func TestPrincipalCacheForgetsRevokedCredentials(t *testing.T) {
	t.Parallel()
	c := newPrincipalCache(time.Minute)
	now := time.Now()
	adv := &Principal{Kind: KindAdvisor, AdvisorID: uuid.New(), TokenHash: HashSecret("ast_adv_one"), ReportAccess: true}
	other := &Principal{Kind: KindAdvisor, AdvisorID: uuid.New(), TokenHash: HashSecret("ast_adv_two")}
	c.put(adv, now, c.generation())
	c.put(other, now, c.generation())
	got := c.get(adv.TokenHash, now)
	if got == nil || got.AdvisorID != adv.AdvisorID {
		t.Fatalf("cached %v, want the advisor", got)
	}
	got.ReportAccess = false
	if c.get(adv.TokenHash, now).ReportAccess != true {
		t.Fatal("a caller's change reached the cached principal")
	}
	if c.get(adv.TokenHash, now.Add(2*time.Minute)) != nil {
		t.Fatal("an entry outlived its TTL")
	}

	c.forget(adv.CredentialKey())
	if c.get(adv.TokenHash, now) != nil {
		t.Fatal("a revoked credential is still cached")
	}
	if c.get(other.TokenHash, now) == nil {
		t.Fatal("forgetting one advisor dropped another")
	}

	// A lookup that began before a revocation must not be cached after it.
	gen := c.generation()
	c.forget(adv.CredentialKey())
	c.put(adv, now, gen)
	if c.get(adv.TokenHash, now) != nil {
		t.Fatal("a lookup that raced with a revocation was cached")
	}

	c.forget("")
	if c.get(other.TokenHash, now) != nil {
		t.Fatal("forgetting everything left an entry")
	}
}

// Credentials cached in the same instant do not all expire in the same
// instant: they expire over the TTL's second half, never later.
func TestPrincipalCacheSpreadsExpiries(t *testing.T) {
	t.Parallel()
	const ttl = time.Minute
	c := newPrincipalCache(ttl)
	now := time.Now()
	var hashes [][]byte
	for i := range 200 {
		p := &Principal{Kind: KindCustomer, SessionID: uuid.New(), TokenHash: HashSecret(fmt.Sprintf("ast_cus_%d", i))}
		c.put(p, now, c.generation())
		hashes = append(hashes, p.TokenHash)
	}
	alive := func(at time.Time) (n int) {
		for _, h := range hashes {
			if c.get(h, at) != nil {
				n++
			}
		}
		return n
	}
	if n := alive(now.Add(ttl / 2)); n != len(hashes) {
		t.Errorf("%d of %d entries expired before half the TTL", len(hashes)-n, len(hashes))
	}
	if n := alive(now.Add(ttl * 3 / 4)); n < len(hashes)/5 || n > len(hashes)*4/5 {
		t.Errorf("%d of %d entries alive at three quarters of the TTL, want about half", n, len(hashes))
	}
	if n := alive(now.Add(ttl + time.Nanosecond)); n != 0 {
		t.Errorf("%d entries outlived the TTL", n)
	}
}
