package sessionlog

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/failure"
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
	// fsync does not idle the next batch.
	batchWriters = 4
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
	for range batchWriters {
		go func() {
			defer func() { done <- struct{}{} }()
			l.writer(ctx)
		}()
	}
	for range batchWriters {
		<-done
	}
}

func (l *Log) writer(ctx context.Context) {
	for {
		var batch []*pendingMessage
		select {
		case <-ctx.Done():
			return
		case m := <-l.pending:
			batch = append(batch, m)
		}
	gather:
		for len(batch) < maxBatch {
			select {
			case m := <-l.pending:
				batch = append(batch, m)
			default:
				break gather
			}
		}
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
	case l.pending <- m:
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

type clientKey struct {
	session uuid.UUID
	id      string
}

// commitBatch stores a batch in one transaction and answers every message.
func (l *Log) commitBatch(ctx context.Context, batch []*pendingMessage) {
	results := make([]sendResult, len(batch))
	// sameAs[i] = j: message i repeats message j of this batch.
	sameAs := map[int]int{}
	var stored []*assistv1.SessionEvent

	err := l.store.InTx(ctx, func(tx pgx.Tx) error {
		stored = stored[:0]
		clear(sameAs)
		ids := make([]uuid.UUID, 0, len(batch))
		keys := dbq.EventListByClientMessageIDsParams{}
		for _, m := range batch {
			ids = append(ids, m.sessionID)
			keys.SessionIds = append(keys.SessionIds, m.sessionID)
			keys.ClientMessageIds = append(keys.ClientMessageIds, m.ev.GetClientMessageId())
		}
		slices.SortFunc(ids, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
		ids = slices.Compact(ids)

		locked, err := l.store.Q.SessionLockForAppend(ctx, tx, ids)
		if err != nil {
			return fmt.Errorf("lock sessions: %w", err)
		}
		type sessionState struct {
			state   assistv1.SessionState
			lastSeq int64
			changed bool
		}
		sessions := make(map[uuid.UUID]*sessionState, len(locked))
		for _, r := range locked {
			sessions[r.ID] = &sessionState{state: assistv1.SessionState(r.State), lastSeq: r.LastSeq}
		}
		// Retries of messages stored by an earlier transaction.
		prior, err := l.store.Q.EventListByClientMessageIDs(ctx, tx, keys)
		if err != nil {
			return fmt.Errorf("find retried messages: %w", err)
		}
		storedBefore := make(map[clientKey]*assistv1.SessionEvent, len(prior))
		for _, row := range prior {
			ev, err := decode(row)
			if err != nil {
				return err
			}
			storedBefore[clientKey{row.SessionID, *row.ClientMessageID}] = ev
		}

		var rows dbq.EventInsertBatchParams
		firstInBatch := map[clientKey]int{}
		now := timestamppb.New(time.Now())
		for i, m := range batch {
			key := clientKey{m.sessionID, m.ev.GetClientMessageId()}
			s := sessions[m.sessionID]
			switch {
			case s == nil:
				results[i].err = failure.NotFound("session")
			case storedBefore[key] != nil:
				results[i] = sameMessage(storedBefore[key], m.ev)
			case s.state == assistv1.SessionState_SESSION_STATE_ENDED:
				results[i].err = failure.FailedPrecondition("the session has ended")
			default:
				if j, ok := firstInBatch[key]; ok {
					sameAs[i] = j
					continue
				}
				s.lastSeq++
				s.changed = true
				ev := proto.CloneOf(m.ev)
				ev.Seq = s.lastSeq
				ev.CreateTime = now
				data, err := proto.Marshal(ev)
				if err != nil {
					return err
				}
				rows.SessionIds = append(rows.SessionIds, m.sessionID)
				rows.Seqs = append(rows.Seqs, ev.Seq)
				rows.ClientMessageIds = append(rows.ClientMessageIds, key.id)
				rows.Events = append(rows.Events, data)
				results[i] = sendResult{ev: ev}
				firstInBatch[key] = i
				stored = append(stored, ev)
			}
		}
		if len(stored) == 0 {
			return nil
		}
		if err := l.store.Q.EventInsertBatch(ctx, tx, rows); err != nil {
			return fmt.Errorf("insert messages: %w", err)
		}
		var last dbq.SessionSetLastSeqBatchParams
		for id, s := range sessions {
			if s.changed {
				last.Ids = append(last.Ids, id)
				last.LastSeqs = append(last.LastSeqs, s.lastSeq)
			}
		}
		if err := l.store.Q.SessionSetLastSeqBatch(ctx, tx, last); err != nil {
			return fmt.Errorf("advance seqs: %w", err)
		}
		return l.notifyAppended(ctx, tx, stored)
	})
	if err != nil {
		// Nothing was stored: every message that was to be stored fails.
		for i := range results {
			if results[i].err == nil {
				results[i] = sendResult{err: err}
			}
		}
	} else {
		l.hub.Publish(stored...)
	}
	for i, j := range sameAs {
		if results[j].err != nil {
			results[i] = results[j]
		} else {
			results[i] = sameMessage(results[j].ev, batch[i].ev)
		}
	}
	for i, m := range batch {
		m.done <- results[i]
	}
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
