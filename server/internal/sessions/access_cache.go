package sessions

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/assist-chat/assist/server/internal/auth"
)

// accessCacheTTL bounds how long rights computed for a credential on a
// session are reused. Changes do not wait for it: every transaction that
// changes who may read or write a session, or how (pick-up, end, the
// upgrade's steps), signals the session to every replica (AccessChanged),
// and revocations signal the credential; the TTL only bounds a signal lost
// with a LISTEN connection, after whose return everything is forgotten.
const accessCacheTTL = 10 * time.Second

// maxCachedAccess bounds the cache: past it, it starts again empty.
const maxCachedAccess = 100_000

// accessCache remembers the rights of credentials on sessions, so that a
// chatting client's every Send does not compute them again.
type accessCache struct {
	mu        sync.Mutex
	bySession map[uuid.UUID]map[accessKey]cachedAccess
	size      int
	// gen counts forgets: rights read from the database before a forget
	// may be stale, and are not stored (see put).
	gen uint64
}

// accessKey names a holder's rights: every credential of one key and kind
// has the same rights (two tokens of one advisor, say).
type accessKey struct {
	kind       auth.Kind
	credential string
}

type cachedAccess struct {
	a       *Access
	expires time.Time
}

func newAccessCache() *accessCache {
	return &accessCache{bySession: map[uuid.UUID]map[accessKey]cachedAccess{}}
}

func keyOf(p *auth.Principal) accessKey { return accessKey{p.Kind, p.CredentialKey()} }

func (c *accessCache) get(p *auth.Principal, sessionID uuid.UUID, now time.Time) *Access {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.bySession[sessionID][keyOf(p)]
	if !ok || now.After(e.expires) {
		return nil
	}
	return e.a
}

// generation is read before the rights are computed and given to put.
func (c *accessCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put stores a, unless a forget happened since the computation began
// (gen): the change may have committed between the read and now.
func (c *accessCache) put(p *auth.Principal, sessionID uuid.UUID, a *Access, now time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.size >= maxCachedAccess {
		clear(c.bySession)
		c.size = 0
	}
	m := c.bySession[sessionID]
	if m == nil {
		m = map[accessKey]cachedAccess{}
		c.bySession[sessionID] = m
	}
	if _, ok := m[keyOf(p)]; !ok {
		c.size++
	}
	// Somewhere in the TTL's second half: the rights of clients that
	// connected together would otherwise expire, and be read again from
	// the pool, in the same instant.
	m[keyOf(p)] = cachedAccess{a: a, expires: now.Add(accessCacheTTL - rand.N(accessCacheTTL/2+1))}
}

// forgetSession drops the rights on sessionID; uuid.Nil drops everything.
func (c *accessCache) forgetSession(sessionID uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if sessionID == uuid.Nil {
		clear(c.bySession)
		c.size = 0
		return
	}
	c.size -= len(c.bySession[sessionID])
	delete(c.bySession, sessionID)
}

// forgetCredential drops the rights of the credential key; "" drops
// everything. Revocations are rare: a scan is fine.
func (c *accessCache) forgetCredential(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for id, m := range c.bySession {
		for k := range m {
			if key == "" || k.credential == key {
				delete(m, k)
				c.size--
			}
		}
		if len(m) == 0 {
			delete(c.bySession, id)
		}
	}
}

// LoadToWrite is Load for the path every chat message takes: the rights
// come from a cache, forgotten on every replica as soon as they change
// (see accessCacheTTL). Only the session's rules fields (state, kind,
// upgrade, handoff, participants) are current in the returned session;
// its last seq and times may be old.
func (s *Service) LoadToWrite(ctx context.Context, p *auth.Principal, sessionID uuid.UUID) (*Access, error) {
	if p == nil {
		return s.Load(ctx, p, sessionID)
	}
	now := time.Now()
	if a := s.access.get(p, sessionID, now); a != nil {
		return a, nil
	}
	gen := s.access.generation()
	a, err := s.Load(ctx, p, sessionID)
	if err != nil {
		return nil, err
	}
	s.access.put(p, sessionID, a, now, gen)
	return a, nil
}
