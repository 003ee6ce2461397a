package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/gen/go/assist/v1/assistv1connect"
	"github.com/assist-chat/assist/server/internal/assisttest"
	"github.com/assist-chat/assist/server/internal/sessionlog"
)

// replicaQueueUntil reads WatchQueue changes until one matches.
func replicaQueueUntil(t *testing.T, stream assistv1connect.SessionServiceWatchQueueClientStream, what string, match func(*assistv1.WatchQueueResponse) bool) {
	t.Helper()
	for {
		res, err := stream.Receive()
		if err != nil {
			t.Fatalf("queue ended before %s: %v", what, err)
		}
		if match(res) {
			return
		}
	}
}

// TestReplicas runs two assistd replicas on one database. The behaviours
// run one after the other: the second cuts the database off for a while.
func TestReplicas(t *testing.T) {
	t.Parallel()
	a := assisttest.Start(t)
	b := assisttest.StartOn(t, a.DatabaseURL)
	advisorToken := a.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	t.Run("DeliverEachOthersEventsLive", func(t *testing.T) { replicaLiveDelivery(t, a, b, advisorToken) })
	t.Run("ReplicaThatLostItsListenConnectionCatchesUpFromTheLog", func(t *testing.T) { replicaListenerLoss(t, a, b, advisorToken) })
}

// Two assistd replicas on one database deliver each other's events live:
// messages and typing both ways, and queue changes.
func replicaLiveDelivery(t *testing.T, a, b *assisttest.Env, advisorToken string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// The queue on A sees a session started on B, and sees it leave when B
	// picks it up.
	queue, err := a.Services(assisttest.GRPC, advisorToken).Session.WatchQueue(ctx, &assistv1.WatchQueueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	defer queue.Close()
	first, err := queue.Receive()
	if err != nil || first.GetSnapshot() == nil {
		t.Fatalf("first queue message: %v, %v; want a snapshot", first, err)
	}
	sess, customerToken := b.StartSession(t, "Bea")
	replicaQueueUntil(t, queue, "the session started on B", func(res *assistv1.WatchQueueResponse) bool {
		return res.GetAdded().GetId() == sess.GetId()
	})
	if _, err := b.Services(assisttest.Connect, advisorToken).Session.PickUpSession(ctx, &assistv1.PickUpSessionRequest{SessionId: sess.GetId()}); err != nil {
		t.Fatalf("pick up on B: %v", err)
	}
	replicaQueueUntil(t, queue, "the pick-up on B", func(res *assistv1.WatchQueueResponse) bool {
		r := res.GetRemoved()
		return r.GetSessionId() == sess.GetId() && r.GetState() == assistv1.SessionState_SESSION_STATE_ACTIVE
	})

	sid := sess.GetId()
	for i, p := range assisttest.Protocols {
		onA, err := a.Services(p, customerToken).Chat.Subscribe(ctx, &assistv1.SubscribeRequest{SessionId: sid})
		if err != nil {
			t.Fatal(err)
		}
		defer onA.Close()
		onB, err := b.Services(p, advisorToken).Chat.Subscribe(ctx, &assistv1.SubscribeRequest{SessionId: sid})
		if err != nil {
			t.Fatal(err)
		}
		defer onB.Close()
		// Catch up with the backlog, so what follows is live.
		last, err := a.Services(p, advisorToken).Session.GetSession(ctx, &assistv1.GetSessionRequest{SessionId: sid})
		if err != nil {
			t.Fatal(err)
		}
		lastSeq := last.GetSession().GetLastSeq()
		atEnd := func(ev *assistv1.SessionEvent) bool { return ev.GetSeq() == lastSeq }
		seenA := receiveUntil(t, onA, atEnd)
		seenB := receiveUntil(t, onB, atEnd)

		fromB := fmt.Sprintf("advisor on B, round %d", i)
		if _, err := e2eSendText(ctx, b.Services(p, advisorToken).Chat, sid, fmt.Sprintf("b-%d", i), fromB); err != nil {
			t.Fatalf("send on B: %v", err)
		}
		seenA = append(seenA, receiveUntil(t, onA, isText(fromB))...)
		fromA := fmt.Sprintf("customer on A, round %d", i)
		if _, err := e2eSendText(ctx, a.Services(p, customerToken).Chat, sid, fmt.Sprintf("a-%d", i), fromA); err != nil {
			t.Fatalf("send on A: %v", err)
		}
		seenB = append(seenB, receiveUntil(t, onB, isText(fromA))...)

		if _, err := b.Services(p, advisorToken).Chat.Send(ctx, &assistv1.SendRequest{SessionId: sid, Content: &assistv1.SendRequest_Typing{Typing: &assistv1.ChatTyping{Active: true}}}); err != nil {
			t.Fatalf("typing on B: %v", err)
		}
		seenA = append(seenA, receiveUntil(t, onA, func(ev *assistv1.SessionEvent) bool {
			return ev.GetTyping() != nil && ev.GetAuthor().GetRole() == assistv1.ParticipantRole_PARTICIPANT_ROLE_ADVISOR
		})...)
		if _, err := a.Services(p, customerToken).Chat.Send(ctx, &assistv1.SendRequest{SessionId: sid, Content: &assistv1.SendRequest_Typing{Typing: &assistv1.ChatTyping{Active: true}}}); err != nil {
			t.Fatalf("typing on A: %v", err)
		}
		seenB = append(seenB, receiveUntil(t, onB, func(ev *assistv1.SessionEvent) bool {
			return ev.GetTyping() != nil && ev.GetAuthor().GetRole() == assistv1.ParticipantRole_PARTICIPANT_ROLE_CUSTOMER
		})...)
		assertContiguous(t, seenA, 1)
		assertContiguous(t, seenB, 1)
	}
}

// A replica whose LISTEN connection drops misses the notifications sent
// meanwhile, yet its subscribers receive every event committed elsewhere
// exactly once and in order, and its queue watchers see the queue changes:
// after reconnecting, the listener makes them re-read the table from their
// cursors.
func replicaListenerLoss(t *testing.T, a, b *assisttest.Env, advisorToken string) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sid, customerToken := e2eActiveSession(t, a, advisorToken, "Lou")
	onB := b.Services(assisttest.Connect, advisorToken)

	stream, err := a.Services(assisttest.GRPC, customerToken).Chat.Subscribe(ctx, &assistv1.SubscribeRequest{SessionId: sid})
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	queue, err := a.Services(assisttest.Connect, advisorToken).Session.WatchQueue(ctx, &assistv1.WatchQueueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	defer queue.Close()
	if first, err := queue.Receive(); err != nil || first.GetSnapshot() == nil {
		t.Fatalf("first queue message: %v, %v; want a snapshot", first, err)
	}
	// Live delivery from B works before the outage.
	if _, err := e2eSendText(ctx, onB.Chat, sid, "before", "before the outage"); err != nil {
		t.Fatal(err)
	}
	seen := receiveUntil(t, stream, isText("before the outage"))

	// Cut the listeners off: refuse new connections to this database, so
	// they cannot come back before the events below are committed, then
	// end their backends.
	// A database cannot refuse connections to itself: work from another
	// one on the same cluster.
	cfg, err := pgx.ParseConfig(a.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	dbName := cfg.Database
	cfg.Database = "postgres"
	db, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("connect to the cluster: %v", err)
	}
	t.Cleanup(func() { _ = db.Close(context.Background()) })
	allow := func(on bool) {
		if _, err := db.Exec(context.Background(), fmt.Sprintf("ALTER DATABASE %s WITH ALLOW_CONNECTIONS %t", pgx.Identifier{dbName}.Sanitize(), on)); err != nil {
			t.Fatalf("allow connections %t: %v", on, err)
		}
	}
	allow(false)
	t.Cleanup(func() { allow(true) })
	const listeners = `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND datname = $2`
	var terminated int
	if err := db.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND datname = $2`, sessionlog.ListenerApplicationName, dbName).Scan(&terminated); err != nil {
		t.Fatal(err)
	}
	if terminated != 2 {
		t.Fatalf("terminated %d listener backends, want one per replica (2)", terminated)
	}
	for {
		var n int
		if err := db.QueryRow(ctx, listeners, sessionlog.ListenerApplicationName, dbName).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("listener backends still there: %v", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}

	// Committed on B while nobody listens: A hears of none of it.
	const missed = 20
	for i := range missed {
		if _, err := e2eSendText(ctx, onB.Chat, sid, fmt.Sprintf("outage-%d", i), fmt.Sprintf("during the outage %d", i)); err != nil {
			t.Fatalf("send on B during the outage: %v", err)
		}
	}
	waiting, _ := b.StartSession(t, "Queued during the outage")

	allow(true)
	seen = append(seen, receiveUntil(t, stream, isText(fmt.Sprintf("during the outage %d", missed-1)))...)
	replicaQueueUntil(t, queue, "the session started during the outage", func(res *assistv1.WatchQueueResponse) bool {
		return res.GetAdded().GetId() == waiting.GetId()
	})
	// And live delivery works again afterwards.
	if _, err := e2eSendText(ctx, onB.Chat, sid, "after", "after the outage"); err != nil {
		t.Fatal(err)
	}
	seen = append(seen, receiveUntil(t, stream, isText("after the outage"))...)

	assertContiguous(t, seen, 1)
	tr, err := onB.Chat.GetTranscript(ctx, &assistv1.GetTranscriptRequest{SessionId: sid})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := logStored(seen)
	logAssertSame(t, "subscriber on A", stored, tr.GetEvents())
}
