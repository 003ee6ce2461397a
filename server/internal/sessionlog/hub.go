package sessionlog

import (
	"math"
	"sync"

	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
)

// maxPending bounds what a slow subscriber may owe. Past it the hub drops
// the subscriber's backlog and asks it to re-read from the table, so a slow
// reader never blocks writers and never loses an event.
const maxPending = 1024

// Hub fans committed events out to this process's subscribers. It is
// best-effort by design: the table is the truth, and subscribers re-read
// it whenever the hub tells them they may have missed something.
type Hub struct {
	mu       sync.Mutex
	sessions map[uuid.UUID]map[*Subscription]struct{}
	queues   map[*QueueWatch]struct{}
	// committed, if set, hears of every stored event's session (uuid.Nil:
	// any session may have changed): the account feed's sequencer.
	committed func(sessionID uuid.UUID)
	// revoked hear of every revoked credential key ("" when anything may
	// have been missed): the credential cache, the stream guard.
	revoked []func(key string)
	// accessChanged hear of every session whose access changed (uuid.Nil
	// when anything may have been missed): the access cache, the guard.
	accessChanged []func(sessionID uuid.UUID)
}

// OnRevoked registers fn to hear, on every replica, the credential keys
// that were revoked or whose rights changed, and "" when anything may have
// been missed. fn must not block.
func (h *Hub) OnRevoked(fn func(key string)) {
	h.mu.Lock()
	h.revoked = append(h.revoked, fn)
	h.mu.Unlock()
}

// OnAccessChanged registers fn to hear, on every replica, the sessions
// whose access or sending rules changed (see Tx.AccessChanged), and
// uuid.Nil when anything may have been missed. fn must not block.
func (h *Hub) OnAccessChanged(fn func(sessionID uuid.UUID)) {
	h.mu.Lock()
	h.accessChanged = append(h.accessChanged, fn)
	h.mu.Unlock()
}

// OnCommitted registers fn to hear, after commit, the session of every
// stored event (local or, through LISTEN, another replica's), and uuid.Nil
// when anything may have been missed. fn must not block.
func (h *Hub) OnCommitted(fn func(sessionID uuid.UUID)) {
	h.mu.Lock()
	h.committed = fn
	h.mu.Unlock()
}

func (h *Hub) tellCommitted(sessionID uuid.UUID) {
	h.mu.Lock()
	fn := h.committed
	h.mu.Unlock()
	if fn != nil {
		fn(sessionID)
	}
}

// NewHub returns an empty hub.
func NewHub() *Hub {
	return &Hub{
		sessions: make(map[uuid.UUID]map[*Subscription]struct{}),
		queues:   make(map[*QueueWatch]struct{}),
	}
}

// Subscription receives one session's events from the hub.
type Subscription struct {
	hub       *Hub
	sessionID uuid.UUID
	ready     chan struct{} // capacity 1: "something is pending"

	mu      sync.Mutex
	pending []*assistv1.SessionEvent
	// wakeSeq > 0 means events up to it were committed elsewhere (another
	// replica, or an overflow here) and must be read from the table.
	wakeSeq int64
}

// Subscribe registers for sessionID's events. Register before reading the
// backlog, so that nothing committed in between is missed.
func (h *Hub) Subscribe(sessionID uuid.UUID) *Subscription {
	s := &Subscription{hub: h, sessionID: sessionID, ready: make(chan struct{}, 1)}
	h.mu.Lock()
	set := h.sessions[sessionID]
	if set == nil {
		set = make(map[*Subscription]struct{})
		h.sessions[sessionID] = set
	}
	set[s] = struct{}{}
	h.mu.Unlock()
	return s
}

// Close unregisters the subscription.
func (s *Subscription) Close() {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if set := h.sessions[s.sessionID]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(h.sessions, s.sessionID)
		}
	}
}

// Ready is signalled when Drain has something to return.
func (s *Subscription) Ready() <-chan struct{} { return s.ready }

// Drain returns the events delivered since the last call, and the highest
// seq known to be committed but not delivered (0 if none).
func (s *Subscription) Drain() (events []*assistv1.SessionEvent, wakeSeq int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	events, wakeSeq = s.pending, s.wakeSeq
	s.pending, s.wakeSeq = nil, 0
	return events, wakeSeq
}

func (s *Subscription) push(ev *assistv1.SessionEvent, wakeSeq int64) {
	s.mu.Lock()
	switch {
	case wakeSeq > 0:
		s.wakeSeq = max(s.wakeSeq, wakeSeq)
	case len(s.pending) >= maxPending:
		s.pending = nil
		s.wakeSeq = math.MaxInt64
	default:
		s.pending = append(s.pending, ev)
	}
	s.mu.Unlock()
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

func (h *Hub) each(sessionID uuid.UUID, fn func(*Subscription)) {
	h.mu.Lock()
	subs := make([]*Subscription, 0, len(h.sessions[sessionID]))
	for s := range h.sessions[sessionID] {
		subs = append(subs, s)
	}
	h.mu.Unlock()
	for _, s := range subs {
		fn(s)
	}
}

// Publish delivers events (committed, or ephemeral) to local subscribers.
func (h *Hub) Publish(events ...*assistv1.SessionEvent) {
	for _, ev := range events {
		id, err := uuid.Parse(ev.GetSessionId())
		if err != nil {
			continue
		}
		h.each(id, func(s *Subscription) { s.push(ev, 0) })
		if ev.GetSeq() > 0 {
			h.tellCommitted(id)
		}
	}
}

// Wake tells sessionID's subscribers that events up to seq were committed
// and must be read from the table.
func (h *Hub) Wake(sessionID uuid.UUID, seq int64) {
	h.each(sessionID, func(s *Subscription) { s.push(nil, seq) })
	h.tellCommitted(sessionID)
}

// WakeAll makes every subscriber, queue watcher and access listener look
// again at the table: after a lost LISTEN connection, anything may have
// been missed.
func (h *Hub) WakeAll() {
	h.mu.Lock()
	var ids []uuid.UUID
	for id := range h.sessions {
		ids = append(ids, id)
	}
	queues := make([]*QueueWatch, 0, len(h.queues))
	for w := range h.queues {
		queues = append(queues, w)
	}
	h.mu.Unlock()
	for _, id := range ids {
		h.Wake(id, math.MaxInt64)
	}
	h.tellCommitted(uuid.Nil)
	h.CredentialRevoked("")
	h.AccessChanged(uuid.Nil)
	for _, w := range queues {
		w.push(uuid.Nil)
	}
}

// QueueWatch collects the waiting sessions that changed in the queues of
// its portals, so that a watcher reads those sessions only.
type QueueWatch struct {
	hub     *Hub
	advisor uuid.UUID
	portals map[uuid.UUID]bool
	ready   chan struct{}

	mu      sync.Mutex
	changed map[uuid.UUID]bool
	// joined: sessions a colleague brought the advisor into.
	joined map[uuid.UUID]bool
	// all: anything may have changed (a lost LISTEN, an overflow): re-read
	// the whole queue.
	all bool
}

// WatchQueues registers for queue changes of the given portals, and for
// the sessions colleagues bring advisorID into.
func (h *Hub) WatchQueues(advisorID uuid.UUID, portalIDs ...uuid.UUID) *QueueWatch {
	w := &QueueWatch{
		hub: h, advisor: advisorID, portals: make(map[uuid.UUID]bool, len(portalIDs)), ready: make(chan struct{}, 1),
		changed: map[uuid.UUID]bool{}, joined: map[uuid.UUID]bool{},
	}
	for _, id := range portalIDs {
		w.portals[id] = true
	}
	h.mu.Lock()
	h.queues[w] = struct{}{}
	h.mu.Unlock()
	return w
}

// Ready is signalled after a queue change.
func (w *QueueWatch) Ready() <-chan struct{} { return w.ready }

// Drain returns the sessions that changed since the last call, or all =
// true when the whole queue must be read again.
func (w *QueueWatch) Drain() (sessions []uuid.UUID, all bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	all = w.all
	if !all {
		for id := range w.changed {
			sessions = append(sessions, id)
		}
	}
	clear(w.changed)
	w.all = false
	return sessions, all
}

// DrainJoined returns the sessions the advisor was brought into since the
// last call.
func (w *QueueWatch) DrainJoined() []uuid.UUID {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []uuid.UUID
	for id := range w.joined {
		out = append(out, id)
	}
	clear(w.joined)
	return out
}

// push records a changed session (uuid.Nil: anything changed).
func (w *QueueWatch) push(sessionID uuid.UUID) {
	w.mu.Lock()
	switch {
	case sessionID == uuid.Nil || len(w.changed) >= maxPending:
		w.all = true
		clear(w.changed)
	case !w.all:
		w.changed[sessionID] = true
	}
	w.mu.Unlock()
	select {
	case w.ready <- struct{}{}:
	default:
	}
}

// Close unregisters the watcher.
func (w *QueueWatch) Close() {
	w.hub.mu.Lock()
	delete(w.hub.queues, w)
	w.hub.mu.Unlock()
}

// QueueChanged tells the watchers of portalID that sessionID joined or
// left its queue.
func (h *Hub) QueueChanged(portalID, sessionID uuid.UUID) {
	h.mu.Lock()
	var watchers []*QueueWatch
	for w := range h.queues {
		if w.portals[portalID] {
			watchers = append(watchers, w)
		}
	}
	h.mu.Unlock()
	for _, w := range watchers {
		w.push(sessionID)
	}
}

// AdvisorJoined tells advisorID's queue watchers that a colleague brought
// them into sessionID.
func (h *Hub) AdvisorJoined(advisorID, sessionID uuid.UUID) {
	h.mu.Lock()
	var watchers []*QueueWatch
	for w := range h.queues {
		if w.advisor == advisorID {
			watchers = append(watchers, w)
		}
	}
	h.mu.Unlock()
	for _, w := range watchers {
		w.mu.Lock()
		if len(w.joined) < maxPending {
			w.joined[sessionID] = true
		}
		w.mu.Unlock()
		select {
		case w.ready <- struct{}{}:
		default:
		}
	}
}

// AccessChanged tells the access listeners that who may read or write
// sessionID changed (uuid.Nil: any session).
func (h *Hub) AccessChanged(sessionID uuid.UUID) {
	h.mu.Lock()
	fns := h.accessChanged
	h.mu.Unlock()
	for _, fn := range fns {
		fn(sessionID)
	}
}

// CredentialRevoked tells the credential listeners that key stopped
// working or its holder's rights changed ("": any credential).
func (h *Hub) CredentialRevoked(key string) {
	h.mu.Lock()
	fns := h.revoked
	h.mu.Unlock()
	for _, fn := range fns {
		fn(key)
	}
}
