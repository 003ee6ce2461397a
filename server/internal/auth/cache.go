package auth

import (
	"math/rand/v2"
	"sync"
	"time"
)

// DefaultCacheTTL bounds how long a resolved credential is reused without
// asking the database. Revocations do not wait for it: they are signalled
// to every replica at once (Forget); the TTL only bounds a signal lost with
// a LISTEN connection, after whose return everything is forgotten anyway.
const DefaultCacheTTL = 10 * time.Second

// principalCache remembers resolved credentials, so that a chatting
// client's every Send does not look its token up again.
type principalCache struct {
	ttl   time.Duration
	mu    sync.Mutex
	byTok map[[32]byte]cachedPrincipal
	// byKey indexes the entries by credential key, for Forget.
	byKey map[string]map[[32]byte]struct{}
	// gen counts forgets: an entry read from the database before a forget
	// may be stale, and is not stored (see put).
	gen uint64
}

type cachedPrincipal struct {
	p       *Principal
	expires time.Time
}

func newPrincipalCache(ttl time.Duration) *principalCache {
	return &principalCache{ttl: ttl, byTok: map[[32]byte]cachedPrincipal{}, byKey: map[string]map[[32]byte]struct{}{}}
}

func tokenKey(hash []byte) (k [32]byte) {
	copy(k[:], hash)
	return k
}

func (c *principalCache) get(hash []byte, now time.Time) *Principal {
	if c.ttl <= 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byTok[tokenKey(hash)]
	if !ok || now.After(e.expires) {
		return nil
	}
	p := *e.p // callers get their own copy
	return &p
}

// generation is read before a database lookup and given to put.
func (c *principalCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put stores p, unless a forget happened since the lookup began (gen):
// the revocation may have committed between the read and now.
func (c *principalCache) put(p *Principal, now time.Time, gen uint64) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.byTok) > 100_000 {
		// Bounded: a flood of distinct tokens empties it rather than
		// growing it.
		clear(c.byTok)
		clear(c.byKey)
	}
	tk, key := tokenKey(p.TokenHash), p.CredentialKey()
	cp := *p
	c.byTok[tk] = cachedPrincipal{p: &cp, expires: spreadExpiry(now, c.ttl)}
	if c.byKey[key] == nil {
		c.byKey[key] = map[[32]byte]struct{}{}
	}
	c.byKey[key][tk] = struct{}{}
}

// forget drops every entry of the credential key; "" drops everything.
func (c *principalCache) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if key == "" {
		clear(c.byTok)
		clear(c.byKey)
		return
	}
	for tk := range c.byKey[key] {
		delete(c.byTok, tk)
	}
	delete(c.byKey, key)
}

// Forget makes the next call with any credential of key (see
// Principal.CredentialKey) resolve it from the database again; "" forgets
// every credential. Called on every replica when a credential is revoked
// or its holder's rights change.
func (s *Service) Forget(key string) { s.cache.forget(key) }

// spreadExpiry is when an entry stored at now expires: somewhere in the
// second half of the TTL. Clients that connected together (a deploy, a
// reconnect wave) would otherwise all miss the cache in the same instant,
// and their lookups would queue for the pool's connections together.
func spreadExpiry(now time.Time, ttl time.Duration) time.Time {
	return now.Add(ttl - rand.N(ttl/2+1))
}
