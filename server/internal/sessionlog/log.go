// Package sessionlog is the append-only, ordered log of every session:
// messages, notices, joins, state changes, upgrade steps, the end. Every
// reader (browser, app, console, report, integrator) reads this one log.
//
// A session's seqs are contiguous (1, 2, 3 …) and assigned under the session
// row's lock inside the writing transaction, so commit order equals seq
// order. Writes are acknowledged after commit; a repeated client message id
// returns the stored event; readers resume from a cursor.
package sessionlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/store"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// readBatch is how many stored events a replay reads per query, after a
// first page of firstReplayPage: the client reads the first events while
// the server reads the rest.
const (
	readBatch       = 1000
	firstReplayPage = 100
)

// Log reads and writes session logs.
type Log struct {
	store *store.Store
	hub   *Hub
	// replica tags this process's notifications so that it can skip its
	// own: local subscribers already got those events from the hub. 128
	// random bits: two replicas never share one.
	replica string
	logger  *slog.Logger
	// pending feeds chat messages to the group-commit writers (batch.go),
	// one queue each.
	pending [batchWriters]chan *pendingMessage
}

// New returns the log over s, fanning out through hub.
func New(s *store.Store, hub *Hub, logger *slog.Logger) *Log {
	l := &Log{store: s, hub: hub, replica: strings.ReplaceAll(uuid.NewString(), "-", ""), logger: logger}
	for i := range l.pending {
		l.pending[i] = make(chan *pendingMessage, maxBatch)
	}
	return l
}

// Hub returns the local fan-out.
func (l *Log) Hub() *Hub { return l.hub }

// Tx is a database transaction that may append to session logs, change
// queues and change who may reach what. What it appends is written, and
// the other replicas are told, when it commits; local subscribers get it
// after the commit.
type Tx struct {
	pgx.Tx
	log *Log
	// sessions holds the rows this transaction locked to append to.
	sessions map[uuid.UUID]*lockedSession
	rows     dbq.EventInsertBatchParams
	appended []*assistv1.SessionEvent
	note     notification
}

// lockedSession is a session row locked for appending: its state and the
// last seq handed out in this transaction.
type lockedSession struct {
	state   assistv1.SessionState
	lastSeq int64
	changed bool
}

// Write runs fn in one transaction and, after commit, delivers the events
// it appended and the changes it recorded. fn sees the session rows it
// appends to locked.
func (l *Log) Write(ctx context.Context, fn func(tx *Tx) error) ([]*assistv1.SessionEvent, error) {
	var t *Tx
	err := l.store.InTx(ctx, func(ptx pgx.Tx) error {
		t = &Tx{Tx: ptx, log: l, sessions: map[uuid.UUID]*lockedSession{}, note: notification{replica: l.replica}}
		if err := fn(t); err != nil {
			return err
		}
		return t.flush(ctx)
	})
	if err != nil {
		return nil, err
	}
	l.deliverLocally(t.appended, t.note)
	return t.appended, nil
}

// deliverLocally hands what a committed transaction did to this process's
// subscribers and watchers.
func (l *Log) deliverLocally(appended []*assistv1.SessionEvent, n notification) {
	l.hub.Publish(appended...)
	for _, q := range n.queue {
		l.hub.QueueChanged(q.portal, q.session)
	}
	for _, id := range n.access {
		l.hub.AccessChanged(id)
	}
	for _, key := range n.revoked {
		l.hub.CredentialRevoked(key)
	}
	for _, j := range n.joined {
		l.hub.AdvisorJoined(j.advisor, j.session)
	}
}

// lock locks, in id order so that transactions never deadlock, the
// sessions this transaction has not locked yet. Unknown ids stay unlocked.
func (t *Tx) lock(ctx context.Context, ids ...uuid.UUID) error {
	var need []uuid.UUID
	for _, id := range ids {
		if t.sessions[id] == nil {
			need = append(need, id)
		}
	}
	if len(need) == 0 {
		return nil
	}
	rows, err := t.log.store.Q.SessionLockForAppend(ctx, t, lockOrder(need))
	if err != nil {
		return fmt.Errorf("lock sessions: %w", err)
	}
	t.locked(rows)
	return nil
}

// lockOrder sorts ids, without repeats, in the order sessions are locked
// in: the same order everywhere, so that transactions never deadlock.
func lockOrder(ids []uuid.UUID) []uuid.UUID {
	ids = slices.Clone(ids)
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	return slices.Compact(ids)
}

// locked records session rows the transaction locked.
func (t *Tx) locked(rows []dbq.SessionLockForAppendRow) {
	for _, r := range rows {
		t.sessions[r.ID] = &lockedSession{state: assistv1.SessionState(r.State), lastSeq: r.LastSeq}
	}
}

// Append assigns ev the session's next seq and stores it at commit. The
// session row stays locked until then. An ended session accepts only its
// SessionEnded event.
func (t *Tx) Append(ctx context.Context, ev *assistv1.SessionEvent) (*assistv1.SessionEvent, error) {
	sessionID, err := uuid.Parse(ev.GetSessionId())
	if err != nil {
		return nil, failure.InvalidArgument("session_id", "must be a UUID")
	}
	if err := t.lock(ctx, sessionID); err != nil {
		return nil, err
	}
	s := t.sessions[sessionID]
	if s == nil {
		return nil, failure.NotFound("session")
	}
	return t.add(sessionID, s, ev)
}

// add is the one routine that puts an event in a log, for Append and for
// the group commit alike: it applies the log's rules to the locked
// session, assigns the next seq and stamps the time.
func (t *Tx) add(sessionID uuid.UUID, s *lockedSession, ev *assistv1.SessionEvent) (*assistv1.SessionEvent, error) {
	if s.state == assistv1.SessionState_SESSION_STATE_ENDED && ev.GetSessionEnded() == nil {
		return nil, failure.FailedPrecondition("the session has ended")
	}
	if ev.GetSessionEnded() != nil {
		s.state = assistv1.SessionState_SESSION_STATE_ENDED
	}
	ev = proto.CloneOf(ev)
	s.lastSeq++
	s.changed = true
	ev.Seq = s.lastSeq
	ev.CreateTime = timestamppb.New(time.Now())
	data, err := proto.Marshal(ev)
	if err != nil {
		return nil, err
	}
	t.rows.SessionIds = append(t.rows.SessionIds, sessionID)
	t.rows.Seqs = append(t.rows.Seqs, ev.Seq)
	t.rows.Senders = append(t.rows.Senders, senderKey(ev.GetAuthor()))
	t.rows.ClientMessageIds = append(t.rows.ClientMessageIds, ev.GetClientMessageId())
	t.rows.Events = append(t.rows.Events, data)
	t.appended = append(t.appended, ev)
	return ev, nil
}

// QueueChanged records that sessionID joins or leaves portalID's queue in
// this transaction.
func (t *Tx) QueueChanged(portalID, sessionID uuid.UUID) {
	t.note.queue = append(t.note.queue, queueChange{portalID, sessionID})
}

// AccessChanged records that who may read sessionID changes in this
// transaction: open streams on it check their access again.
func (t *Tx) AccessChanged(sessionID uuid.UUID) {
	t.note.access = append(t.note.access, sessionID)
}

// AdvisorJoined records that a colleague brings advisorID into sessionID
// in this transaction (an invitation, a transfer): the advisor's queue
// watches are told.
func (t *Tx) AdvisorJoined(advisorID, sessionID uuid.UUID) {
	t.note.joined = append(t.note.joined, advisorJoined{advisorID, sessionID})
}

// CredentialRevoked records that the credential key (see
// auth.Principal.CredentialKey) stops working in this transaction: open
// streams holding it check again and end.
func (t *Tx) CredentialRevoked(key string) {
	t.note.revoked = append(t.note.revoked, key)
}

// flush writes the appended rows, advances the sessions' last seq, and
// queues the notifications that PostgreSQL delivers only if the
// transaction commits.
func (t *Tx) flush(ctx context.Context) error {
	w, err := t.writes()
	if err != nil {
		return err
	}
	return t.log.write(ctx, t, w)
}

// txWrites is what a transaction writes when it ends.
type txWrites struct {
	events   dbq.EventInsertBatchParams
	lastSeqs dbq.SessionSetLastSeqBatchParams
	notify   []string
}

// writes gathers what the transaction writes when it ends. Call it once.
func (t *Tx) writes() (txWrites, error) {
	w := txWrites{events: t.rows}
	for id, s := range t.sessions {
		if s.changed {
			w.lastSeqs.Ids = append(w.lastSeqs.Ids, id)
			w.lastSeqs.LastSeqs = append(w.lastSeqs.LastSeqs, s.lastSeq)
			t.note.appended = append(t.note.appended, sessionSeq{id, s.lastSeq})
		}
	}
	var err error
	w.notify, err = t.note.encode()
	return w, err
}

// write runs w's statements on db: a transaction, or a pipeline (where it
// is called twice, to record then to read; see store.Pipeline).
func (l *Log) write(ctx context.Context, db dbq.DBTX, w txWrites) error {
	if len(w.events.Seqs) > 0 {
		if err := l.store.Q.EventInsertBatch(ctx, db, w.events); err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
		if err := l.store.Q.SessionSetLastSeqBatch(ctx, db, w.lastSeqs); err != nil {
			return fmt.Errorf("advance seqs: %w", err)
		}
	}
	if len(w.notify) > 0 {
		if err := l.store.Q.NotifyAll(ctx, db, dbq.NotifyAllParams{Channel: notifyChannel, Payloads: w.notify}); err != nil {
			return fmt.Errorf("notify: %w", err)
		}
	}
	return nil
}

// notify sends n to the other replicas through db.
func (l *Log) notify(ctx context.Context, db dbq.DBTX, n notification) error {
	payloads, err := n.encode()
	if err != nil {
		return err
	}
	return l.write(ctx, db, txWrites{notify: payloads})
}

// RevokeCredential tells every replica that the credential key stopped
// working (already committed: a logout, a revoked key), so that open
// streams holding it end now.
func (l *Log) RevokeCredential(ctx context.Context, key string) error {
	n := notification{replica: l.replica, revoked: []string{key}}
	l.hub.CredentialRevoked(key)
	return l.notify(ctx, l.store.Pool, n)
}

// senderKey names who sent an event, for the uniqueness of client message
// ids: each sender has its own.
func senderKey(p *assistv1.Participant) string {
	switch p.GetRole() {
	case assistv1.ParticipantRole_PARTICIPANT_ROLE_CUSTOMER:
		return "customer"
	case assistv1.ParticipantRole_PARTICIPANT_ROLE_CUSTOMER_APP:
		return "app"
	case assistv1.ParticipantRole_PARTICIPANT_ROLE_ADVISOR:
		return "advisor:" + p.GetId()
	case assistv1.ParticipantRole_PARTICIPANT_ROLE_INTEGRATION:
		return "integration:" + p.GetId()
	case assistv1.ParticipantRole_PARTICIPANT_ROLE_SYSTEM:
		return "system"
	}
	return ""
}

// SendMessage stores a chat message and returns the stored event. If the
// client message id was already used in this session, it returns the event
// stored the first time and duplicate=true, writing nothing; a different
// text under the same id is AlreadyExists.
func (l *Log) SendMessage(ctx context.Context, ev *assistv1.SessionEvent) (stored *assistv1.SessionEvent, duplicate bool, err error) {
	// No lookup first: the writer finds retries in the same transaction
	// that locks the session, which also settles concurrent retries.
	sessionID, err := uuid.Parse(ev.GetSessionId())
	if err != nil {
		return nil, false, failure.InvalidArgument("session_id", "must be a UUID")
	}
	return l.enqueue(ctx, sessionID, ev)
}

// PublishEphemeral delivers an event that is never stored (typing) to
// every replica's subscribers.
func (l *Log) PublishEphemeral(ctx context.Context, ev *assistv1.SessionEvent) error {
	ev.Seq = 0
	ev.CreateTime = timestamppb.New(time.Now())
	l.hub.Publish(ev)
	return l.notify(ctx, l.store.Pool, notification{replica: l.replica, typing: ev})
}

// Read returns stored events with seq > afterSeq, up to limit.
func (l *Log) Read(ctx context.Context, sessionID uuid.UUID, afterSeq int64, limit int32) ([]*assistv1.SessionEvent, error) {
	rows, err := l.readStored(ctx, sessionID, afterSeq, limit)
	if err != nil {
		return nil, err
	}
	events := make([]*assistv1.SessionEvent, 0, len(rows))
	for _, r := range rows {
		ev, err := decode(r)
		if err != nil {
			return nil, err
		}
		events = append(events, ev)
	}
	return events, nil
}

// readStored returns stored rows with seq > afterSeq, up to limit.
func (l *Log) readStored(ctx context.Context, sessionID uuid.UUID, afterSeq int64, limit int32) ([]dbq.SessionEvent, error) {
	rows, err := l.store.Q.EventListAfter(ctx, l.store.Pool, dbq.EventListAfterParams{
		SessionID: sessionID, Seq: afterSeq, Limit: limit,
	})
	if err != nil {
		return nil, fmt.Errorf("read log: %w", err)
	}
	return rows, nil
}

// ReadAll returns the whole stored log.
func (l *Log) ReadAll(ctx context.Context, sessionID uuid.UUID) ([]*assistv1.SessionEvent, error) {
	var all []*assistv1.SessionEvent
	var after int64
	for {
		batch, err := l.Read(ctx, sessionID, after, readBatch)
		if err != nil {
			return nil, err
		}
		all = append(all, batch...)
		if len(batch) < readBatch {
			return all, nil
		}
		after = batch[len(batch)-1].Seq
	}
}

func decode(row dbq.SessionEvent) (*assistv1.SessionEvent, error) {
	ev := new(assistv1.SessionEvent)
	if err := proto.Unmarshal(row.Event, ev); err != nil {
		return nil, fmt.Errorf("decode event %s/%d: %w", row.SessionID, row.Seq, err)
	}
	return ev, nil
}

// Reader is where a subscription writes its events. Send may hold events
// back (a network stream buffers them); Subscribe calls Flush after each
// run of events that were at hand together (a page of the stored log, the
// events one commit delivered), so that a burst costs one network write
// instead of one per event, and nothing waits once the run is sent.
// SendStored sends a stored event as the bytes it is stored as (a binary
// protobuf SessionEvent), sparing a replay a decode and an encode; the
// bytes are the page's, valid only during the call.
type Reader interface {
	Send(*assistv1.SessionEvent) error
	SendStored(event []byte) error
	Flush() error
}

// ReaderFuncs is a Reader made of functions. Without FlushFunc, every
// Send is final; without SendStoredFunc, stored events are decoded and
// go through SendFunc.
type ReaderFuncs struct {
	SendFunc       func(*assistv1.SessionEvent) error
	FlushFunc      func() error
	SendStoredFunc func(event []byte) error
}

// SendStored calls SendStoredFunc, or decodes event for SendFunc.
func (r ReaderFuncs) SendStored(event []byte) error {
	if r.SendStoredFunc != nil {
		return r.SendStoredFunc(event)
	}
	ev := new(assistv1.SessionEvent)
	if err := proto.Unmarshal(event, ev); err != nil {
		return fmt.Errorf("decode event: %w", err)
	}
	return r.SendFunc(ev)
}

// Send calls SendFunc.
func (r ReaderFuncs) Send(ev *assistv1.SessionEvent) error { return r.SendFunc(ev) }

// Flush calls FlushFunc, if any.
func (r ReaderFuncs) Flush() error {
	if r.FlushFunc == nil {
		return nil
	}
	return r.FlushFunc()
}

// Subscribe sends sessionID's events with seq > afterSeq to r: first the
// stored ones, then live ones, with no gap and no duplicate, plus ephemeral
// events (seq 0) as they happen. It returns nil after sending the
// SessionEnded event, or the context's error when the caller goes away.
func (l *Log) Subscribe(ctx context.Context, sessionID uuid.UUID, afterSeq int64, r Reader) error {
	// Register first, then read the backlog: an event committed in between
	// is in both, and the cursor drops the second copy.
	sub := l.hub.Subscribe(sessionID)
	defer sub.Close()
	cursor := afterSeq

	// catchUp sends every stored event after the cursor, a page at a time.
	catchUp := func() (ended bool, err error) {
		page := store.NewStoredEvents()
		defer page.Release()
		limit := int32(firstReplayPage)
		for {
			if err := l.store.ReadEventsAfter(ctx, sessionID, cursor, limit, page); err != nil {
				return false, fmt.Errorf("read log: %w", err)
			}
			for i := range page.Len() {
				event := page.Event(i)
				if err := r.SendStored(event); err != nil {
					return false, err
				}
				cursor = page.Seq(i)
				if isSessionEnded(event) {
					return true, r.Flush()
				}
			}
			if err := r.Flush(); err != nil {
				return false, err
			}
			if page.Len() < int(limit) {
				return false, nil
			}
			limit = readBatch
		}
	}
	// deliver sends the live events the hub gathered since the last call,
	// reading from the table what it missed.
	deliver := func(events []*assistv1.SessionEvent, wakeSeq int64) (ended bool, err error) {
		for _, ev := range events {
			switch {
			case ev.Seq == 0:
				if err := r.Send(ev); err != nil {
					return false, err
				}
			case ev.Seq <= cursor:
				// Already sent from the table.
			case ev.Seq == cursor+1:
				if err := r.Send(ev); err != nil {
					return false, err
				}
				cursor = ev.Seq
				if ev.GetSessionEnded() != nil {
					return true, r.Flush()
				}
			default:
				// A gap: the missing events are in the table.
				if ended, err := catchUp(); ended || err != nil {
					return ended, err
				}
			}
		}
		if wakeSeq > cursor {
			return catchUp()
		}
		return false, r.Flush()
	}

	// The reading and sending run on short-lived goroutines: the stream's
	// own goroutine only waits, and its stack stays small while it does
	// (see OnFreshStack).
	if ended, err := OnFreshStack(catchUp); ended || err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-sub.Ready():
		}
		if ended, err := OnFreshStack(func() (bool, error) { return deliver(sub.Drain()) }); ended || err != nil {
			return err
		}
	}
}

// OnFreshStack runs fn on a goroutine of its own and waits for it. A
// goroutine's stack grows to its deepest call and stays that size while
// it lives: a stream's goroutine, parked for hours between events, would
// keep the stack that a database read or a network write once needed.
// Run there, the deep calls leave it at its first size; a short-lived
// goroutine's stack goes back to the runtime when it ends. A panic in fn
// goes on in the caller.
func OnFreshStack[T any](fn func() (T, error)) (T, error) {
	type result struct {
		v        T
		err      error
		panicked any
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			if p := recover(); p != nil {
				r.panicked = p
			}
			done <- r
		}()
		r.v, r.err = fn()
	}()
	r := <-done
	if r.panicked != nil {
		panic(r.panicked)
	}
	return r.v, r.err
}

// sessionEndedField is SessionEvent's session_ended field.
var sessionEndedField = (&assistv1.SessionEvent{}).ProtoReflect().Descriptor().Fields().ByName("session_ended").Number()

// isSessionEnded reports whether a stored SessionEvent is the SessionEnded
// event, reading its fields' tags only.
func isSessionEnded(event []byte) bool {
	for len(event) > 0 {
		num, typ, n := protowire.ConsumeTag(event)
		if n < 0 {
			return false
		}
		if num == sessionEndedField {
			return true
		}
		event = event[n:]
		n = protowire.ConsumeFieldValue(num, typ, event)
		if n < 0 {
			return false
		}
		event = event[n:]
	}
	return false
}

// ErrListenerStopped is returned by Listen when its context ends.
var ErrListenerStopped = errors.New("listener stopped")
