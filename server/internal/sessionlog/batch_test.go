package sessionlog

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/pgtest"
	"github.com/assist-chat/assist/server/internal/store"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type batchBundle struct {
	log   *Log
	store *store.Store
}

func batchSetup(t *testing.T) *batchBundle {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, pgtest.NewDatabase(t), 8, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &batchBundle{log: New(s, NewHub(), slog.New(slog.NewTextHandler(io.Discard, nil))), store: s}
}

func (b *batchBundle) newSession(t *testing.T, state assistv1.SessionState) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	acc, err := b.store.Q.AccountInsert(ctx, b.store.Pool, "acme-"+uuid.NewString())
	if err != nil {
		t.Fatal(err)
	}
	portal, err := b.store.Q.PortalInsert(ctx, b.store.Pool, dbq.PortalInsertParams{AccountID: acc.ID, Slug: "p" + uuid.NewString()[:8], DisplayName: "P", Mode: 1})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := b.store.Q.SessionInsert(ctx, b.store.Pool, dbq.SessionInsertParams{
		AccountID: acc.ID, PortalID: portal.ID, PortalMode: 1, Kind: 1, State: int16(state), CustomerDisplayName: "Ada",
	})
	if err != nil {
		t.Fatal(err)
	}
	return sess.ID
}

// writingLog is a log whose writers run until the test ends, and an
// active session in it.
func writingLog(t *testing.T) (*batchBundle, context.Context, uuid.UUID) {
	t.Helper()
	b := batchSetup(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go b.log.RunWriters(ctx)
	return b, ctx, b.newSession(t, assistv1.SessionState_SESSION_STATE_ACTIVE)
}

func chatMessage(sessionID uuid.UUID, clientID, text string) *assistv1.SessionEvent {
	return &assistv1.SessionEvent{
		SessionId:       sessionID.String(),
		Author:          &assistv1.Participant{Role: assistv1.ParticipantRole_PARTICIPANT_ROLE_CUSTOMER, DisplayName: "Ada"},
		ClientMessageId: clientID,
		Payload:         &assistv1.SessionEvent_Message{Message: &assistv1.ChatMessage{Text: text}},
	}
}

type sent struct {
	ev        *assistv1.SessionEvent
	duplicate bool
	err       error
}

// queued counts the messages waiting for a writer.
func (b *batchBundle) queued() (n int) {
	for _, q := range b.log.pending {
		n += len(q)
	}
	return n
}

// sendAsOneBatch queues every message, then commits them in one batch, so
// the test controls what shares a transaction.
func (b *batchBundle) sendAsOneBatch(t *testing.T, events ...*assistv1.SessionEvent) []sent {
	t.Helper()
	out := make([]sent, len(events))
	done := make(chan int, len(events))
	for i, ev := range events {
		go func() {
			out[i].ev, out[i].duplicate, out[i].err = b.log.SendMessage(context.Background(), ev)
			done <- i
		}()
		// Queue in order, so the batch is in the order given.
		for b.queued() != i+1 {
			time.Sleep(time.Millisecond)
		}
	}
	// Each session's messages wait in their writer's queue, in order.
	batch := make([]*pendingMessage, 0, len(events))
	for _, ev := range events {
		batch = append(batch, <-b.log.pending[writerOf(uuid.MustParse(ev.GetSessionId()))])
	}
	b.log.commitBatch(context.Background(), batch)
	for range events {
		<-done
	}
	return out
}

// One batch holding messages for a live session, an ended one and an
// unknown one: each gets its own verdict, and the live session's messages
// are stored with contiguous seqs.
func TestBatchGivesEachMessageItsOwnVerdict(t *testing.T) {
	t.Parallel()
	b := batchSetup(t)
	live := b.newSession(t, assistv1.SessionState_SESSION_STATE_ACTIVE)
	ended := b.newSession(t, assistv1.SessionState_SESSION_STATE_ENDED)
	unknown := uuid.New()

	got := b.sendAsOneBatch(t,
		chatMessage(live, "a", "first"),
		chatMessage(ended, "b", "too late"),
		chatMessage(unknown, "c", "nowhere"),
		chatMessage(live, "d", "second"),
	)
	if got[0].err != nil || got[3].err != nil {
		t.Fatalf("live session's messages failed: %v, %v", got[0].err, got[3].err)
	}
	if got[0].ev.GetSeq() != 1 || got[3].ev.GetSeq() != 2 {
		t.Fatalf("seqs %d, %d; want 1, 2", got[0].ev.GetSeq(), got[3].ev.GetSeq())
	}
	if !failure.IsKind(got[1].err, failure.KindFailedPrecondition) {
		t.Fatalf("message to an ended session: %v, want FailedPrecondition", got[1].err)
	}
	if !failure.IsKind(got[2].err, failure.KindNotFound) {
		t.Fatalf("message to an unknown session: %v, want NotFound", got[2].err)
	}
	stored, err := b.log.ReadAll(context.Background(), live)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 2 {
		t.Fatalf("%d events stored, want 2", len(stored))
	}
}

// The same client message id twice in one batch, and again in a later
// batch, is stored once; a reuse with another text is AlreadyExists.
func TestBatchStoresARepeatedClientMessageIDOnce(t *testing.T) {
	t.Parallel()
	b := batchSetup(t)
	sid := b.newSession(t, assistv1.SessionState_SESSION_STATE_ACTIVE)

	got := b.sendAsOneBatch(t,
		chatMessage(sid, "m1", "hello"),
		chatMessage(sid, "m1", "hello"),
		chatMessage(sid, "m1", "a different text"),
	)
	if got[0].err != nil || got[0].duplicate {
		t.Fatalf("first send: %+v", got[0])
	}
	if got[1].err != nil || !got[1].duplicate || got[1].ev.GetSeq() != got[0].ev.GetSeq() {
		t.Fatalf("repeat in the same batch: %+v, want the first event as a duplicate", got[1])
	}
	if !failure.IsKind(got[2].err, failure.KindAlreadyExists) {
		t.Fatalf("reuse with another text: %v, want AlreadyExists", got[2].err)
	}

	again := b.sendAsOneBatch(t, chatMessage(sid, "m1", "hello"), chatMessage(sid, "m2", "next"))
	if again[0].err != nil || !again[0].duplicate || again[0].ev.GetSeq() != got[0].ev.GetSeq() {
		t.Fatalf("retry in a later batch: %+v", again[0])
	}
	if again[1].ev.GetSeq() != got[0].ev.GetSeq()+1 {
		t.Fatalf("next message got seq %d, want %d: a duplicate must not use a seq", again[1].ev.GetSeq(), got[0].ev.GetSeq()+1)
	}
	stored, err := b.log.ReadAll(context.Background(), sid)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 2 {
		t.Fatalf("%d events stored, want 2", len(stored))
	}
}

func advisorMessage(sessionID uuid.UUID, advisorID, clientID, text string) *assistv1.SessionEvent {
	ev := chatMessage(sessionID, clientID, text)
	ev.Author = &assistv1.Participant{Role: assistv1.ParticipantRole_PARTICIPANT_ROLE_ADVISOR, Id: advisorID, DisplayName: "Bob"}
	return ev
}

// Client message ids are the sender's own: an advisor who uses the id the
// customer used stores a message of its own, and each still dedupes its
// retries.
func TestClientMessageIDsAreEachSendersOwn(t *testing.T) {
	t.Parallel()
	b := batchSetup(t)
	sid := b.newSession(t, assistv1.SessionState_SESSION_STATE_ACTIVE)
	adv := uuid.NewString()
	got := b.sendAsOneBatch(t,
		chatMessage(sid, "m1", "from the customer"),
		advisorMessage(sid, adv, "m1", "from the advisor"),
	)
	for i, g := range got {
		if g.err != nil || g.duplicate {
			t.Fatalf("message %d: %+v, want stored", i, g)
		}
	}
	again := b.sendAsOneBatch(t, advisorMessage(sid, adv, "m1", "from the advisor"), chatMessage(sid, "m1", "from the customer"))
	if !again[0].duplicate || again[0].ev.GetSeq() != got[1].ev.GetSeq() || !again[1].duplicate || again[1].ev.GetSeq() != got[0].ev.GetSeq() {
		t.Fatalf("retries %+v, want each sender's stored message", again)
	}
	other := b.sendAsOneBatch(t, advisorMessage(sid, uuid.NewString(), "m1", "another advisor"))
	if other[0].err != nil || other[0].duplicate {
		t.Fatalf("another advisor's m1: %+v, want stored", other[0])
	}
}

// A retry of a message stored before the session ended finds the stored
// event (its first acknowledgement was lost); a new message is refused.
func TestRetryAfterTheEndFindsTheStoredMessage(t *testing.T) {
	t.Parallel()
	b := batchSetup(t)
	sid := b.newSession(t, assistv1.SessionState_SESSION_STATE_ACTIVE)
	first := b.sendAsOneBatch(t, chatMessage(sid, "m1", "hello"))
	if first[0].err != nil {
		t.Fatal(first[0].err)
	}
	_, err := b.log.Write(context.Background(), func(tx *Tx) error {
		if _, err := tx.Exec(context.Background(), "UPDATE sessions SET state = 3 WHERE id = $1", sid); err != nil {
			return err
		}
		_, err := tx.Append(context.Background(), &assistv1.SessionEvent{SessionId: sid.String(), Payload: &assistv1.SessionEvent_SessionEnded{SessionEnded: &assistv1.SessionEnded{}}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got := b.sendAsOneBatch(t, chatMessage(sid, "m1", "hello"), chatMessage(sid, "m2", "too late"))
	if got[0].err != nil || !got[0].duplicate || got[0].ev.GetSeq() != first[0].ev.GetSeq() {
		t.Fatalf("retry after the end: %+v, want the stored event", got[0])
	}
	if !failure.IsKind(got[1].err, failure.KindFailedPrecondition) {
		t.Fatalf("new message after the end: %v, want FailedPrecondition", got[1].err)
	}
}

// Two parties sending back to back, each waiting for its ack, share
// commits: the writer waits a moment for the sender it just acknowledged
// instead of committing their messages alternately, one per transaction.
func TestPartiesSendingBackToBackShareCommits(t *testing.T) {
	t.Parallel()
	b, ctx, sid := writingLog(t)
	const each = 50
	var wg sync.WaitGroup
	for _, party := range []string{"a", "b"} {
		wg.Go(func() {
			for i := range each {
				if _, _, err := b.log.SendMessage(ctx, chatMessage(sid, fmt.Sprintf("%s-%d", party, i), "hello")); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	// Rows of one transaction share their create_time (now() is the
	// transaction's start).
	var stored, commits int
	if err := b.store.Pool.QueryRow(ctx, "SELECT count(*), count(DISTINCT create_time) FROM session_events WHERE session_id = $1", sid).Scan(&stored, &commits); err != nil {
		t.Fatal(err)
	}
	if stored != 2*each {
		t.Fatalf("%d messages stored, want %d", stored, 2*each)
	}
	// One commit per message would be 100; sharing gives about 50.
	if commits > 3*each/2 {
		t.Errorf("%d messages took %d commits, want at most %d", stored, commits, 3*each/2)
	}
	t.Logf("%d messages in %d commits", stored, commits)
}
