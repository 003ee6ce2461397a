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
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/store"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// notifyChannel is the PostgreSQL channel that wakes other replicas.
const notifyChannel = "assist_log"

// readBatch is how many stored events a replay reads per query.
const readBatch = 500

// Log reads and writes session logs.
type Log struct {
	store *store.Store
	hub   *Hub
	// replica tags this process's notifications so that it can skip its
	// own: local subscribers already got those events from the hub.
	replica string
	logger  *slog.Logger
	// pending feeds chat messages to the group-commit writers (batch.go).
	pending chan *pendingMessage
}

// New returns the log over s, fanning out through hub.
func New(s *store.Store, hub *Hub, logger *slog.Logger) *Log {
	return &Log{store: s, hub: hub, replica: uuid.NewString()[:8], logger: logger, pending: make(chan *pendingMessage, maxBatch*batchWriters)}
}

// Hub returns the local fan-out.
func (l *Log) Hub() *Hub { return l.hub }

// Tx is a database transaction that may append to session logs and change
// queues. What it appends is published only after it commits.
type Tx struct {
	pgx.Tx
	log      *Log
	appended []*assistv1.SessionEvent
	portals  map[uuid.UUID]bool
}

// Write runs fn in one transaction and, after commit, delivers the events
// it appended. fn sees the session rows it appends to locked.
func (l *Log) Write(ctx context.Context, fn func(tx *Tx) error) ([]*assistv1.SessionEvent, error) {
	var t *Tx
	err := l.store.InTx(ctx, func(ptx pgx.Tx) error {
		t = &Tx{Tx: ptx, log: l, portals: map[uuid.UUID]bool{}}
		if err := fn(t); err != nil {
			return err
		}
		return t.notify(ctx)
	})
	if err != nil {
		return nil, err
	}
	l.hub.Publish(t.appended...)
	for p := range t.portals {
		l.hub.QueueChanged(p)
	}
	return t.appended, nil
}

// Append assigns ev the session's next seq and stores it. The session row
// stays locked until commit. An ended session accepts only its SessionEnded
// event.
func (t *Tx) Append(ctx context.Context, ev *assistv1.SessionEvent) (*assistv1.SessionEvent, error) {
	sessionID, err := uuid.Parse(ev.GetSessionId())
	if err != nil {
		return nil, failure.InvalidArgument("session_id", "must be a UUID")
	}
	next, err := t.log.store.Q.SessionNextSeq(ctx, t, sessionID)
	if store.IsNotFound(err) {
		return nil, failure.NotFound("session")
	}
	if err != nil {
		return nil, fmt.Errorf("next seq: %w", err)
	}
	if next.State == int16(assistv1.SessionState_SESSION_STATE_ENDED) && ev.GetSessionEnded() == nil {
		return nil, failure.FailedPrecondition("the session has ended")
	}
	ev = proto.CloneOf(ev)
	ev.Seq = next.LastSeq
	ev.CreateTime = timestamppb.New(time.Now())
	data, err := proto.Marshal(ev)
	if err != nil {
		return nil, err
	}
	var cmid *string
	if ev.ClientMessageId != "" {
		cmid = &ev.ClientMessageId
	}
	err = t.log.store.Q.EventInsert(ctx, t, dbq.EventInsertParams{
		SessionID: sessionID, Seq: ev.Seq, ClientMessageID: cmid, Event: data,
	})
	if err != nil {
		return nil, err
	}
	t.appended = append(t.appended, ev)
	return ev, nil
}

// QueueChanged records that portalID's queue changes in this transaction.
func (t *Tx) QueueChanged(portalID uuid.UUID) { t.portals[portalID] = true }

// notify wakes other replicas at commit: PostgreSQL delivers NOTIFY only if
// the transaction commits.
func (t *Tx) notify(ctx context.Context) error {
	if err := t.log.notifyAppended(ctx, t.Tx, t.appended); err != nil {
		return err
	}
	for p := range t.portals {
		if err := pgNotify(ctx, t.Tx, fmt.Sprintf("q:%s:%s", t.log.replica, p)); err != nil {
			return err
		}
	}
	return nil
}

// notifyAppended tells other replicas, one notification per session, up to
// which seq its log grew in this transaction.
func (l *Log) notifyAppended(ctx context.Context, tx pgx.Tx, events []*assistv1.SessionEvent) error {
	last := map[string]int64{}
	for _, ev := range events {
		last[ev.SessionId] = max(last[ev.SessionId], ev.Seq)
	}
	for sid, seq := range last {
		if err := pgNotify(ctx, tx, fmt.Sprintf("e:%s:%s:%d", l.replica, sid, seq)); err != nil {
			return err
		}
	}
	return nil
}

func pgNotify(ctx context.Context, tx pgx.Tx, payload string) error {
	_, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", notifyChannel, payload)
	return err
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
	data, err := proto.Marshal(ev)
	if err != nil {
		return err
	}
	payload := fmt.Sprintf("t:%s:%s:%s", l.replica, ev.SessionId, base64.StdEncoding.EncodeToString(data))
	if len(payload) > 7900 { // NOTIFY's payload limit is 8000 bytes
		return nil
	}
	_, err = l.store.Pool.Exec(ctx, "SELECT pg_notify($1, $2)", notifyChannel, payload)
	return err
}

// Read returns stored events with seq > afterSeq, up to limit.
func (l *Log) Read(ctx context.Context, sessionID uuid.UUID, afterSeq int64, limit int32) ([]*assistv1.SessionEvent, error) {
	rows, err := l.store.Q.EventListAfter(ctx, l.store.Pool, dbq.EventListAfterParams{
		SessionID: sessionID, Seq: afterSeq, Limit: limit,
	})
	if err != nil {
		return nil, fmt.Errorf("read log: %w", err)
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

// Subscribe sends sessionID's events with seq > afterSeq to send: first the
// stored ones, then live ones, with no gap and no duplicate, plus ephemeral
// events (seq 0) as they happen. It returns nil after sending the
// SessionEnded event, or the context's error when the caller goes away.
func (l *Log) Subscribe(ctx context.Context, sessionID uuid.UUID, afterSeq int64, send func(*assistv1.SessionEvent) error) error {
	// Register first, then read the backlog: an event committed in between
	// is in both, and the cursor drops the second copy.
	sub := l.hub.Subscribe(sessionID)
	defer sub.Close()
	cursor := afterSeq

	// catchUp sends every stored event after the cursor.
	catchUp := func() (ended bool, err error) {
		for {
			batch, err := l.Read(ctx, sessionID, cursor, readBatch)
			if err != nil {
				return false, err
			}
			for _, ev := range batch {
				if err := send(ev); err != nil {
					return false, err
				}
				cursor = ev.Seq
				if ev.GetSessionEnded() != nil {
					return true, nil
				}
			}
			if len(batch) < readBatch {
				return false, nil
			}
		}
	}

	if ended, err := catchUp(); ended || err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-sub.Ready():
		}
		events, wakeSeq := sub.Drain()
		for _, ev := range events {
			switch {
			case ev.Seq == 0:
				if err := send(ev); err != nil {
					return err
				}
			case ev.Seq <= cursor:
				// Already sent from the table.
			case ev.Seq == cursor+1:
				if err := send(ev); err != nil {
					return err
				}
				cursor = ev.Seq
				if ev.GetSessionEnded() != nil {
					return nil
				}
			default:
				// A gap: the missing events are in the table.
				if ended, err := catchUp(); ended || err != nil {
					return err
				}
			}
		}
		if wakeSeq > cursor {
			if ended, err := catchUp(); ended || err != nil {
				return err
			}
		}
	}
}

// ErrListenerStopped is returned by Listen when its context ends.
var ErrListenerStopped = errors.New("listener stopped")
