package sessionlog

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/store"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// Group commit. One transaction (and one NOTIFY, which takes a server-wide
// lock at commit) per chat message caps throughput at the commit rate. The
// writers below gather the messages sent concurrently on every session into
// one transaction: lock the sessions in id order, insert every row at once,
// commit, then acknowledge each message. Nothing is acknowledged before the
// commit, and seqs stay contiguous and in commit order because every append
// to a session, batched or not, holds that session's row lock.
const (
	// maxBatch bounds one transaction's size (and its NOTIFY payloads).
	maxBatch = 256
	// batchWriters run transactions in parallel, so that one commit's
	// fsync does not idle the next batch; each serves its share of the
	// sessions (writerOf). Commits wait for each other anyway (a NOTIFY
	// takes a server-wide lock at commit): two writers gave the bench its
	// best latency, four made smaller, costlier transactions.
	batchWriters = 2
	// maxLinger is how long a batch waits for the senders the batch before
	// it acknowledged (see writer).
	maxLinger = 300 * time.Microsecond
	// lingerBelow: batches of this size or more do not wait.
	lingerBelow = 8
)

// pendingMessage is a chat message waiting for a writer.
type pendingMessage struct {
	ev        *assistv1.SessionEvent
	sessionID uuid.UUID
	done      chan sendResult // buffered: a writer never blocks on it
}

type sendResult struct {
	ev        *assistv1.SessionEvent
	duplicate bool
	err       error
}

// RunWriters runs the group-commit writers until ctx ends. Messages sent
// while no writer runs wait (bounded by their own context).
func (l *Log) RunWriters(ctx context.Context) {
	done := make(chan struct{})
	for _, pending := range l.pending {
		go func() {
			defer func() { done <- struct{}{} }()
			l.writer(ctx, pending)
		}()
	}
	for range batchWriters {
		<-done
	}
}

func (l *Log) writer(ctx context.Context, pending <-chan *pendingMessage) {
	linger := time.NewTimer(0)
	<-linger.C
	last := 0 // the previous batch's size
	for {
		var batch []*pendingMessage
		// queued: a message came while the previous batch was committing.
		queued := true
		select {
		case m := <-pending:
			batch = append(batch, m)
		default:
			queued = false
			select {
			case <-ctx.Done():
				return
			case m := <-pending:
				batch = append(batch, m)
			}
		}
	gather:
		for len(batch) < maxBatch {
			select {
			case m := <-pending:
				batch = append(batch, m)
			default:
				break gather
			}
		}
		// The senders the previous batch just acknowledged are likely to
		// send again at once when others were waiting meanwhile (two
		// parties chatting back to back): wait a moment for them, so that
		// their messages share this commit instead of alternating one per
		// commit. Large batches gain nothing from it: the queue fills
		// anyway.
		want := 0
		if last < lingerBelow {
			want = last
			if queued {
				want = last + 1
			}
		}
		if len(batch) < want {
			linger.Reset(maxLinger)
		wait:
			for len(batch) < want {
				select {
				case m := <-pending:
					batch = append(batch, m)
				case <-linger.C:
					break wait
				}
			}
			if !linger.Stop() {
				select {
				case <-linger.C:
				default:
				}
			}
		}
		last = len(batch)
		// A batch taken is finished even during shutdown: its senders wait.
		commitCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		l.commitBatch(commitCtx, batch)
		cancel()
	}
}

// enqueue hands a message to the writers and waits for its result.
func (l *Log) enqueue(ctx context.Context, sessionID uuid.UUID, ev *assistv1.SessionEvent) (*assistv1.SessionEvent, bool, error) {
	m := &pendingMessage{ev: ev, sessionID: sessionID, done: make(chan sendResult, 1)}
	select {
	case l.pending[writerOf(sessionID)] <- m:
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
	// Once queued, wait for the verdict even if the caller gives up: the
	// message may be stored, and a retry with its id will find it.
	select {
	case r := <-m.done:
		return r.ev, r.duplicate, r.err
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}

// writerOf is the writer that stores sessionID's messages. One writer per
// session: its messages wait in one queue and share transactions, instead
// of writers queueing on each other's session locks.
func writerOf(sessionID uuid.UUID) int {
	var h byte
	for _, b := range sessionID {
		h ^= b
	}
	return int(h) % batchWriters
}

type clientKey struct {
	session uuid.UUID
	sender  string
	id      string
}

// commitBatch stores a batch in one transaction and answers every message.
// If the transaction fails for a reason a retry would not cure, each
// message is tried again in a transaction of its own, so that one bad
// message never fails its neighbours.
func (l *Log) commitBatch(ctx context.Context, batch []*pendingMessage) {
	results, err := l.storeBatch(ctx, batch)
	switch {
	case err == nil:
	case len(batch) > 1 && !failure.IsKind(err, failure.KindUnavailable) && ctx.Err() == nil:
		l.logger.Error("a group commit failed; storing its messages one by one", "messages", len(batch), "error", err)
		for _, m := range batch {
			l.commitBatch(ctx, []*pendingMessage{m})
		}
		return
	default:
		if ctx.Err() != nil && !failure.IsKind(err, failure.KindUnavailable) {
			// The writer's own time limit, not the caller's: transient.
			err = failure.Unavailable("the message could not be stored in time; retry").WithCause(err)
		}
		// Nothing was stored: every message that was to be stored fails.
		for i := range results {
			if results[i].err == nil {
				results[i] = sendResult{err: err}
			}
		}
	}
	for i, m := range batch {
		m.done <- results[i]
	}
}

// storeBatch appends a batch in one transaction of two round trips (see
// store.Pipeline): begin, lock the sessions and find retries of messages
// stored before; then store the rest through the one append routine,
// advance the sessions, notify and commit.
func (l *Log) storeBatch(ctx context.Context, batch []*pendingMessage) ([]sendResult, error) {
	results := make([]sendResult, len(batch))
	conn, err := l.store.Appends.Acquire(ctx)
	if err != nil {
		return results, fmt.Errorf("begin: %w", err)
	}
	defer conn.Release(ctx)
	t := &Tx{log: l, sessions: map[uuid.UUID]*lockedSession{}, note: notification{replica: l.replica}}

	ids := make([]uuid.UUID, 0, len(batch))
	keys := dbq.EventListByClientMessageIDsParams{}
	for _, m := range batch {
		ids = append(ids, m.sessionID)
		keys.SessionIds = append(keys.SessionIds, m.sessionID)
		keys.Senders = append(keys.Senders, senderKey(m.ev.GetAuthor()))
		keys.ClientMessageIds = append(keys.ClientMessageIds, m.ev.GetClientMessageId())
	}
	ids = lockOrder(ids)
	q := l.store.Q
	p := store.NewPipeline()
	p.Begin()
	_, _ = q.SessionLockForAppend(ctx, p.Queue(), ids)
	_, _ = q.EventListByClientMessageIDs(ctx, p.Queue(), keys)
	locked, prior, err := func() ([]dbq.SessionLockForAppendRow, []dbq.SessionEvent, error) {
		res := conn.Send(ctx, p)
		defer func() { _ = res.Close() }()
		if err := res.Begin(); err != nil {
			return nil, nil, fmt.Errorf("begin: %w", err)
		}
		locked, err := q.SessionLockForAppend(ctx, res, ids)
		if err != nil {
			return nil, nil, fmt.Errorf("lock sessions: %w", err)
		}
		// Retries of messages stored by an earlier transaction: found
		// whatever happened to the session since.
		prior, err := q.EventListByClientMessageIDs(ctx, res, keys)
		if err != nil {
			return nil, nil, fmt.Errorf("find retried messages: %w", err)
		}
		return locked, prior, res.Close()
	}()
	if err != nil {
		return results, err
	}
	t.locked(locked)

	storedBefore := make(map[clientKey]*assistv1.SessionEvent, len(prior))
	for _, row := range prior {
		ev, err := decode(row)
		if err != nil {
			return results, err
		}
		storedBefore[clientKey{row.SessionID, row.Sender, *row.ClientMessageID}] = ev
	}
	// sameAs[i] = j: message i repeats message j of this batch.
	sameAs := map[int]int{}
	firstInBatch := map[clientKey]int{}
	for i, m := range batch {
		key := clientKey{m.sessionID, senderKey(m.ev.GetAuthor()), m.ev.GetClientMessageId()}
		s := t.sessions[m.sessionID]
		if s == nil {
			results[i].err = failure.NotFound("session")
			continue
		}
		if prev := storedBefore[key]; prev != nil {
			results[i] = sameMessage(prev, m.ev)
			continue
		}
		if j, ok := firstInBatch[key]; ok {
			sameAs[i] = j
			continue
		}
		ev, err := t.add(m.sessionID, s, m.ev)
		if _, refused := failure.As(err); refused {
			results[i].err = err
			continue
		}
		if err != nil {
			return results, err
		}
		results[i] = sendResult{ev: ev}
		firstInBatch[key] = i
	}

	w, err := t.writes()
	if err != nil {
		return results, err
	}
	p = store.NewPipeline()
	_ = l.write(ctx, p.Queue(), w)
	p.Commit()
	err = func() error {
		res := conn.Send(ctx, p)
		defer func() { _ = res.Close() }()
		if err := l.write(ctx, res, w); err != nil {
			return err
		}
		if err := res.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return res.Close()
	}()
	if err != nil {
		return results, err
	}
	l.deliverLocally(t.appended, t.note)

	for i, j := range sameAs {
		if results[j].err != nil {
			results[i] = results[j]
		} else {
			results[i] = sameMessage(results[j].ev, batch[i].ev)
		}
	}
	return results, nil
}

// sameMessage answers a repeated client message id: the stored event if the
// retry carries the same message, AlreadyExists if the id was reused for
// another one.
func sameMessage(stored, retry *assistv1.SessionEvent) sendResult {
	if stored.GetMessage().GetText() != retry.GetMessage().GetText() || stored.GetAuthor().GetRole() != retry.GetAuthor().GetRole() {
		return sendResult{err: failure.AlreadyExists("client_message_id %q was already used for another message", retry.GetClientMessageId())}
	}
	return sendResult{ev: stored, duplicate: true}
}
