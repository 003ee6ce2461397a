package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect/v2"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assisttest"
)

// pickupAdvisor is a logged-in demo advisor.
type pickupAdvisor struct {
	email, id, token string
}

func pickupLogin(ctx context.Context, t *testing.T, env *assisttest.Env, email, password string) pickupAdvisor {
	t.Helper()
	res, err := env.Services(assisttest.Connect, "").Auth.Login(ctx, &assistv1.LoginRequest{Email: email, Password: password})
	if err != nil {
		t.Fatalf("login %s: %v", email, err)
	}
	return pickupAdvisor{email: email, id: res.GetAdvisor().GetId(), token: res.GetAccessToken()}
}

// TestPickUp covers the queue and picking sessions up from it. The
// behaviours run one after the other: the queue's changes are exact.
func TestPickUp(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	t.Run("WatchQueueShowsSnapshotThenAddedThenRemoved", func(t *testing.T) { pickupWatchQueue(t, env) })
	t.Run("RaceHasExactlyOneWinner", func(t *testing.T) { pickupRace(t, env) })
}

// Several advisors of the portal pick up the same waiting session at once,
// round after round: exactly one wins, the others get FailedPrecondition
// (whether they raced or came late), and the log records exactly one
// advisor joining — the winner.
func pickupRace(t *testing.T, env *assisttest.Env) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	advisors := []pickupAdvisor{
		pickupLogin(ctx, t, env, assisttest.AdvisorEmail, assisttest.AdvisorPassword),
		pickupLogin(ctx, t, env, assisttest.Advisor2Email, assisttest.Advisor2Password),
		pickupLogin(ctx, t, env, assisttest.AdminEmail, assisttest.AdminPassword),
	}
	const rounds = 12
	wins := map[string]int{}
	for round := range rounds {
		sess, customerToken := env.StartSession(t, fmt.Sprintf("Customer %d", round))
		errs := make([]error, len(advisors))
		var ready, wg sync.WaitGroup
		start := make(chan struct{})
		for i, adv := range advisors {
			svc := env.Services(assisttest.Protocols[(i+round)%len(assisttest.Protocols)], adv.token).Session
			// Warm the connection up so that the calls below really race.
			if _, err := svc.ListSessions(ctx, &assistv1.ListSessionsRequest{PageSize: 1}); err != nil {
				t.Fatal(err)
			}
			ready.Add(1)
			wg.Go(func() {
				ready.Done()
				<-start
				_, errs[i] = svc.PickUpSession(ctx, &assistv1.PickUpSessionRequest{SessionId: sess.GetId()})
			})
		}
		ready.Wait()
		close(start)
		wg.Wait()

		var winner *pickupAdvisor
		for i, err := range errs {
			if err == nil {
				if winner != nil {
					t.Fatalf("round %d: both %s and %s picked the session up", round, winner.email, advisors[i].email)
				}
				winner = &advisors[i]
				continue
			}
			e2eWantCode(t, err, connect.CodeFailedPrecondition, fmt.Sprintf("round %d: losing pick-up by %s", round, advisors[i].email))
		}
		if winner == nil {
			t.Fatalf("round %d: nobody picked the session up: %v", round, errs)
		}
		wins[winner.email]++
		// A loser who comes late, after the winner committed, is told the
		// same thing as one who raced.
		for _, adv := range advisors {
			if adv.id == winner.id {
				continue
			}
			_, err := env.Services(assisttest.GRPC, adv.token).Session.PickUpSession(ctx, &assistv1.PickUpSessionRequest{SessionId: sess.GetId()})
			e2eWantCode(t, err, connect.CodeFailedPrecondition, fmt.Sprintf("round %d: late pick-up by %s", round, adv.email))
		}

		got, err := env.Services(assisttest.Connect, winner.token).Session.GetSession(ctx, &assistv1.GetSessionRequest{SessionId: sess.GetId()})
		if err != nil {
			t.Fatal(err)
		}
		if s := got.GetSession(); s.GetAdvisorId() != winner.id || s.GetState() != assistv1.SessionState_SESSION_STATE_ACTIVE {
			t.Errorf("round %d: session is %v, want active and led by %s", round, s, winner.email)
		}
		tr, err := env.Services(assisttest.Connect, customerToken).Chat.GetTranscript(ctx, &assistv1.GetTranscriptRequest{SessionId: sess.GetId()})
		if err != nil {
			t.Fatal(err)
		}
		var joined []*assistv1.Participant
		for _, ev := range tr.GetEvents() {
			if p := ev.GetParticipantJoined().GetParticipant(); p.GetRole() == assistv1.ParticipantRole_PARTICIPANT_ROLE_ADVISOR {
				joined = append(joined, p)
			}
		}
		if len(joined) != 1 || joined[0].GetId() != winner.id {
			t.Errorf("round %d: advisors joined in the log: %v, want exactly the winner %s", round, joined, winner.id)
		}
	}
	t.Logf("wins per advisor over %d rounds: %v", rounds, wins)
}

// WatchQueue starts with a snapshot of the waiting sessions, then shows a
// session as added when a customer starts it and as removed when an
// advisor picks it up or ends it; over every protocol.
func pickupWatchQueue(t *testing.T, env *assisttest.Env) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	advisor := pickupLogin(ctx, t, env, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	watcher := pickupLogin(ctx, t, env, assisttest.Advisor2Email, assisttest.Advisor2Password)
	stillWaiting, _ := env.StartSession(t, "Waits all along")

	for _, p := range assisttest.Protocols {
		t.Run(string(p), func(t *testing.T) {
			queue, err := env.Services(p, watcher.token).Session.WatchQueue(ctx, &assistv1.WatchQueueRequest{})
			if err != nil {
				t.Fatal(err)
			}
			defer queue.Close()
			next := func(what string) *assistv1.WatchQueueResponse {
				t.Helper()
				res, err := queue.Receive()
				if err != nil {
					t.Fatalf("queue ended before %s: %v", what, err)
				}
				return res
			}

			snap := next("the snapshot").GetSnapshot()
			if snap == nil || len(snap.GetSessions()) != 1 || snap.GetSessions()[0].GetId() != stillWaiting.GetId() {
				t.Fatalf("snapshot is %v, want exactly the waiting session %s", snap, stillWaiting.GetId())
			}

			sess, _ := env.StartSession(t, "Newcomer "+string(p))
			added := next("the new session").GetAdded()
			if added.GetId() != sess.GetId() || added.GetState() != assistv1.SessionState_SESSION_STATE_WAITING {
				t.Fatalf("after a customer started %s the queue sent added=%v", sess.GetId(), added)
			}
			if _, err := env.Services(p, advisor.token).Session.PickUpSession(ctx, &assistv1.PickUpSessionRequest{SessionId: sess.GetId()}); err != nil {
				t.Fatal(err)
			}
			removed := next("the pick-up").GetRemoved()
			if removed.GetSessionId() != sess.GetId() || removed.GetState() != assistv1.SessionState_SESSION_STATE_ACTIVE || removed.GetAdvisorId() != advisor.id {
				t.Fatalf("after the pick-up the queue sent removed=%v, want %s active with advisor %s", removed, sess.GetId(), advisor.id)
			}

			// A waiting session that an advisor of the portal ends leaves too.
			gone, _ := env.StartSession(t, "Leaves "+string(p))
			if next("the second session").GetAdded().GetId() != gone.GetId() {
				t.Fatal("the second session was not added")
			}
			if _, err := env.Services(p, watcher.token).Session.EndSession(ctx, &assistv1.EndSessionRequest{SessionId: gone.GetId(), Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_UNKNOWN}); err != nil {
				t.Fatalf("end a waiting session: %v", err)
			}
			removed = next("the end").GetRemoved()
			if removed.GetSessionId() != gone.GetId() || removed.GetState() != assistv1.SessionState_SESSION_STATE_ENDED {
				t.Fatalf("after the end the queue sent removed=%v, want %s ended", removed, gone.GetId())
			}
		})
	}
}
