package sessions

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/assist-chat/assist/server/internal/auth"
)

// Cached rights are forgotten by session, by credential and all at once,
// expire, and are not stored when a forget raced with their computation.
func TestAccessCacheForgetsWhatChanged(t *testing.T) {
	t.Parallel()
	c := newAccessCache()
	now := time.Now()
	adv := &auth.Principal{Kind: auth.KindAdvisor, AdvisorID: uuid.New()}
	cust := &auth.Principal{Kind: auth.KindCustomer, SessionID: uuid.New()}
	s1, s2 := uuid.New(), uuid.New()
	put := func(p *auth.Principal, s uuid.UUID) { c.put(p, s, &Access{Read: true}, now, c.generation()) }
	has := func(p *auth.Principal, s uuid.UUID) bool { return c.get(p, s, now) != nil }

	put(adv, s1)
	put(adv, s2)
	put(cust, s1)
	if !has(adv, s1) || !has(adv, s2) || !has(cust, s1) || has(cust, s2) {
		t.Fatal("the cache does not return what was put")
	}
	if c.get(adv, s1, now.Add(accessCacheTTL+time.Second)) != nil {
		t.Error("an entry outlived its TTL")
	}
	c.forgetSession(s1)
	if has(adv, s1) || has(cust, s1) || !has(adv, s2) {
		t.Error("forgetting a session must drop its rights only")
	}
	put(cust, s1)
	c.forgetCredential(adv.CredentialKey())
	if has(adv, s2) || !has(cust, s1) {
		t.Error("forgetting a credential must drop its rights only")
	}
	c.forgetSession(uuid.Nil)
	if has(cust, s1) || c.size != 0 {
		t.Error("forgetting everything left entries")
	}

	// Rights computed while the session changed are not kept.
	gen := c.generation()
	c.forgetSession(s2)
	c.put(adv, s2, &Access{Read: true}, now, gen)
	if has(adv, s2) {
		t.Error("rights read before a change were stored after it")
	}
}

// Rights cached in the same instant do not all expire in the same instant:
// they expire over the TTL's second half, never later.
func TestAccessCacheSpreadsExpiries(t *testing.T) {
	t.Parallel()
	c := newAccessCache()
	now := time.Now()
	adv := &auth.Principal{Kind: auth.KindAdvisor, AdvisorID: uuid.New()}
	var ids []uuid.UUID
	for range 200 {
		id := uuid.New()
		c.put(adv, id, &Access{Read: true}, now, c.generation())
		ids = append(ids, id)
	}
	alive := func(at time.Time) (n int) {
		for _, id := range ids {
			if c.get(adv, id, at) != nil {
				n++
			}
		}
		return n
	}
	if n := alive(now.Add(accessCacheTTL / 2)); n != len(ids) {
		t.Errorf("%d of %d entries expired before half the TTL", len(ids)-n, len(ids))
	}
	if n := alive(now.Add(accessCacheTTL * 3 / 4)); n < len(ids)/5 || n > len(ids)*4/5 {
		t.Errorf("%d of %d entries alive at three quarters of the TTL, want about half", n, len(ids))
	}
	if n := alive(now.Add(accessCacheTTL + time.Nanosecond)); n != 0 {
		t.Errorf("%d entries outlived the TTL", n)
	}
}
