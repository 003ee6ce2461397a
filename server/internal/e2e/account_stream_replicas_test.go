package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assisttest"
	"github.com/assist-chat/assist/server/internal/pgtest"
)

// readAccount reads the account stream from after until it has n events.
func readAccount(t *testing.T, ctx context.Context, env *assisttest.Env, key string, after int64, n int) []*assistv1.AccountEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	stream, err := intEvents(env, assisttest.Connect, key).StreamAccountEvents(ctx, &assistv1.StreamAccountEventsRequest{AfterPosition: after})
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	var out []*assistv1.AccountEvent
	for len(out) < n {
		res, err := stream.Receive()
		if err != nil {
			t.Fatalf("account stream on %s after %d events: %v", env.URL, len(out), err)
		}
		out = append(out, res.GetEvent())
	}
	return out
}

// Two replicas share one database: whichever leads the sequencer, both
// serve the same account order; when the leader stops, the other takes
// over and events written meanwhile still get their positions.
func TestAccountStreamIsOneOrderAcrossReplicasAndSurvivesTheLeadersStop(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	a := assisttest.StartOn(t, db, intFast)
	b := assisttest.StartOn(t, db, intFast)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	key := intAPIKey(t, a, intDemoAccount(t, a), assistv1.ApiKeyScope_API_KEY_SCOPE_SESSIONS_READ)

	sa, ca, _ := a.ActiveSession(t)
	sb, cb, _ := b.ActiveSession(t)
	for i := range 10 {
		sendMessages(t, ctx, a, sa, ca, fmt.Sprintf("a%d", i), 1)
		sendMessages(t, ctx, b, sb, cb, fmt.Sprintf("b%d", i), 1)
	}
	n := int(storedCount(t, a))
	fromA := readAccount(t, ctx, a, key, 0, n)
	fromB := readAccount(t, ctx, b, key, 0, n)
	for i := range fromA {
		if fromA[i].GetPosition() != int64(i+1) || fromA[i].GetEvent().GetSessionId() != fromB[i].GetEvent().GetSessionId() || fromA[i].GetEvent().GetSeq() != fromB[i].GetEvent().GetSeq() {
			t.Fatalf("position %d: replica A has %s/%d, replica B %s/%d; want one order", i+1,
				fromA[i].GetEvent().GetSessionId(), fromA[i].GetEvent().GetSeq(), fromB[i].GetEvent().GetSessionId(), fromB[i].GetEvent().GetSeq())
		}
	}

	// Stop A (it may or may not lead); B carries on alone.
	if err := a.Server.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	sendMessages(t, ctx, b, sb, cb, "after-stop", 5)
	more := int(storedCount(t, b)) - n
	rest := readAccount(t, ctx, b, key, int64(n), more)
	for i, ev := range rest {
		if ev.GetPosition() != int64(n+i+1) {
			t.Fatalf("after the stop, event %d has position %d, want %d", i, ev.GetPosition(), n+i+1)
		}
	}
	if last := rest[len(rest)-1].GetEvent().GetMessage().GetText(); last != "after-stop 4" {
		t.Errorf("the last event after the stop is %q, want the last message sent", last)
	}
}
