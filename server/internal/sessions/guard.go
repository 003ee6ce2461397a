package sessions

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/failure"
)

// DefaultCheckInterval is how often an open stream's access is checked
// when nothing signalled a change. A safety net only: every change of
// access is signalled to every replica, a lost LISTEN connection makes
// every stream check again, and a credential's expiry is checked when it
// comes.
const DefaultCheckInterval = 2 * time.Minute

// checkTimeout bounds one check; a check that fails keeps the stream.
const checkTimeout = 5 * time.Second

// Guard keeps every open stream of the process within its holder's
// rights. A stream ends with Unauthenticated once its credential stops
// working (logout, revocation, expiry, a disabled advisor or API key), and
// with PermissionDenied once a session it follows is out of reach (picked
// up by another advisor, transferred, an invitation ended). Changes are
// signalled from any replica and checked at once; every interval each
// stream is checked in any case, for what no signal announces (expiry).
//
// One registry and one goroutine serve every stream: a stream costs a few
// map entries, not a goroutine and a timer, and streams of one holder on
// the same sessions (a customer's tabs, a console's reconnections) share
// one check.
type Guard struct {
	s        *Service
	interval time.Duration
	wake     chan struct{}

	mu        sync.Mutex
	streams   map[*guarded]struct{}
	byKey     map[string]map[*guarded]struct{}
	bySession map[uuid.UUID]map[*guarded]struct{}
	// due are the streams to check now: signalled, or due by the interval.
	due map[*guarded]struct{}
	// dueAll: anything may have changed; check every stream.
	dueAll bool
	// earliest is no later than any stream's next periodic check: sweeps
	// before it have nothing to look at.
	earliest time.Time
}

// guarded is one open stream.
type guarded struct {
	p        *auth.Principal
	sessions []uuid.UUID
	next     time.Time // next periodic check
	lost     func(error)
	ended    bool // lost was called, or the stream ended
}

// NewGuard returns the process's stream guard over s; Run runs it.
// interval <= 0 means DefaultCheckInterval.
func NewGuard(s *Service, interval time.Duration) *Guard {
	if interval <= 0 {
		interval = DefaultCheckInterval
	}
	g := &Guard{
		s: s, interval: interval, wake: make(chan struct{}, 1),
		streams: map[*guarded]struct{}{}, byKey: map[string]map[*guarded]struct{}{},
		bySession: map[uuid.UUID]map[*guarded]struct{}{}, due: map[*guarded]struct{}{},
	}
	hub := s.log.Hub()
	hub.OnAccessChanged(g.sessionChanged)
	hub.OnRevoked(g.credentialChanged)
	return g
}

// Watch guards a stream of p following sessionIDs (none: the credential
// alone). lost is called at most once, from the guard's goroutine, with
// the error that ends the stream. The returned stop unregisters it.
func (g *Guard) Watch(p *auth.Principal, sessionIDs []uuid.UUID, lost func(error)) (stop func()) {
	st := &guarded{p: p, sessions: sessionIDs, lost: lost}
	st.next = g.nextCheck(st, time.Now())
	key := p.CredentialKey()
	g.mu.Lock()
	if g.earliest.IsZero() || st.next.Before(g.earliest) {
		g.earliest = st.next
	}
	g.streams[st] = struct{}{}
	addTo(g.byKey, key, st)
	for _, id := range sessionIDs {
		addTo(g.bySession, id, st)
	}
	g.mu.Unlock()
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		st.ended = true
		delete(g.streams, st)
		delete(g.due, st)
		removeFrom(g.byKey, key, st)
		for _, id := range sessionIDs {
			removeFrom(g.bySession, id, st)
		}
	}
}

// nextCheck is when st is checked again if nothing is signalled: after
// the interval, or when its credential expires if that comes first.
func (g *Guard) nextCheck(st *guarded, now time.Time) time.Time {
	next := now.Add(g.interval)
	if exp := st.p.ExpireTime; !exp.IsZero() && exp.Before(next) {
		next = exp
	}
	return next
}

func addTo[K comparable](m map[K]map[*guarded]struct{}, k K, st *guarded) {
	set := m[k]
	if set == nil {
		set = map[*guarded]struct{}{}
		m[k] = set
	}
	set[st] = struct{}{}
}

func removeFrom[K comparable](m map[K]map[*guarded]struct{}, k K, st *guarded) {
	if set := m[k]; set != nil {
		delete(set, st)
		if len(set) == 0 {
			delete(m, k)
		}
	}
}

// sessionChanged marks the streams following sessionID (uuid.Nil: every
// stream) for a check now. It never blocks.
func (g *Guard) sessionChanged(sessionID uuid.UUID) {
	g.mu.Lock()
	if sessionID == uuid.Nil {
		g.dueAll = true
	} else {
		for st := range g.bySession[sessionID] {
			g.due[st] = struct{}{}
		}
	}
	g.mu.Unlock()
	g.signal()
}

// credentialChanged marks the streams holding key ("": every stream) for a
// check now. It never blocks.
func (g *Guard) credentialChanged(key string) {
	g.mu.Lock()
	if key == "" {
		g.dueAll = true
	} else {
		for st := range g.byKey[key] {
			g.due[st] = struct{}{}
		}
	}
	g.mu.Unlock()
	g.signal()
}

func (g *Guard) signal() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// sweepEvery is how often the guard looks for streams due by the interval:
// their checks spread over the interval instead of coming all at once.
func (g *Guard) sweepEvery() time.Duration { return min(time.Second, g.interval/4) }

// Run checks streams as they are signalled or due, until ctx ends.
func (g *Guard) Run(ctx context.Context) {
	tick := time.NewTicker(g.sweepEvery())
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.wake:
		case <-tick.C:
		}
		g.checkDue(ctx)
	}
}

// checkDue checks the signalled streams and those due by the interval,
// once per holder and set of sessions.
func (g *Guard) checkDue(ctx context.Context) {
	now := time.Now()
	g.mu.Lock()
	groups := map[string][]*guarded{}
	take := func(st *guarded) {
		k := groupKey(st)
		groups[k] = append(groups[k], st)
		st.next = g.nextCheck(st, now)
	}
	switch {
	case g.dueAll || !now.Before(g.earliest):
		// Look at every stream, and find the next earliest check.
		g.earliest = time.Time{}
		for st := range g.streams {
			if _, signalled := g.due[st]; g.dueAll || signalled || !now.Before(st.next) {
				take(st)
			}
			if g.earliest.IsZero() || st.next.Before(g.earliest) {
				g.earliest = st.next
			}
		}
	default:
		// Only the signalled streams are due.
		for st := range g.due {
			take(st)
			if st.next.Before(g.earliest) {
				g.earliest = st.next
			}
		}
	}
	clear(g.due)
	g.dueAll = false
	g.mu.Unlock()

	for _, group := range groups {
		if ctx.Err() != nil {
			return
		}
		err := g.check(ctx, group[0].p, group[0].sessions)
		if err == nil {
			continue
		}
		g.mu.Lock()
		var ends []func(error)
		for _, st := range group {
			if !st.ended {
				st.ended = true
				ends = append(ends, st.lost)
			}
		}
		g.mu.Unlock()
		for _, end := range ends {
			end(err)
		}
	}
}

// groupKey names the streams that one check answers for: same credential
// (token or key), same sessions.
func groupKey(st *guarded) string {
	var b strings.Builder
	b.Write(st.p.TokenHash)
	b.WriteString(st.p.CredentialKey())
	ids := slices.Clone(st.sessions)
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	for _, id := range ids {
		b.Write(id[:])
	}
	return b.String()
}

// check returns the error that ends a stream of p on sessionIDs, or nil
// while access holds. A failure to check (the database restarting) keeps
// the stream: the next signal or interval checks again.
func (g *Guard) check(ctx context.Context, p *auth.Principal, sessionIDs []uuid.UUID) error {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	if err := g.s.auth.StillValid(ctx, p); err != nil {
		if failure.IsKind(err, failure.KindUnauthenticated) {
			return failure.Unauthenticated("the credential was revoked or has expired")
		}
		return nil
	}
	for _, id := range sessionIDs {
		_, err := g.s.Load(ctx, p, id)
		if failure.IsKind(err, failure.KindNotFound) {
			return failure.PermissionDenied("you no longer have access to this session")
		}
	}
	return nil
}

// Streams reports how many streams the guard watches.
func (g *Guard) Streams() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.streams)
}
