package auth

import (
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
