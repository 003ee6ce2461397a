package e2e

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assisttest"
)

// A waiting customer learns where they stand in the queue; the position
// moves up as earlier sessions are picked up, and is 0 once an advisor has
// theirs. Another customer cannot ask about a session not theirs.
func TestWaitingCustomerSeesTheirPlaceInTheQueue(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	type waiting struct{ id, token string }
	var queue []waiting
	for _, name := range []string{"Ada", "Bo", "Cy"} {
		s, token := env.StartSession(t, name)
		queue = append(queue, waiting{s.GetId(), token})
	}
	position := func(w waiting) *assistv1.GetQueuePositionResponse {
		t.Helper()
		res, err := env.Services(assisttest.Connect, w.token).Portal.GetQueuePosition(ctx, &assistv1.GetQueuePositionRequest{SessionId: w.id})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for i, w := range queue {
		if got := position(w); got.GetPosition() != int32(i+1) || got.GetWaiting() != 3 {
			t.Fatalf("customer %d: position %d of %d, want %d of 3", i, got.GetPosition(), got.GetWaiting(), i+1)
		}
	}
	advisor := env.Services(assisttest.Connect, env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword))
	if _, err := advisor.Session.PickUpSession(ctx, &assistv1.PickUpSessionRequest{SessionId: queue[0].id}); err != nil {
		t.Fatal(err)
	}
	if got := position(queue[0]); got.GetPosition() != 0 {
		t.Fatalf("picked-up session at position %d, want 0", got.GetPosition())
	}
	if got := position(queue[2]); got.GetPosition() != 2 || got.GetWaiting() != 2 {
		t.Fatalf("last customer at %d of %d after a pick-up, want 2 of 2", got.GetPosition(), got.GetWaiting())
	}
	_, err := env.Services(assisttest.Connect, queue[1].token).Portal.GetQueuePosition(ctx, &assistv1.GetQueuePositionRequest{SessionId: queue[2].id})
	e2eWantCode(t, err, connect.CodeNotFound, "another customer's session")
	_, err = env.Services(assisttest.Connect, "").Portal.GetQueuePosition(ctx, &assistv1.GetQueuePositionRequest{SessionId: uuid.NewString()})
	e2eWantCode(t, err, connect.CodeUnauthenticated, "no credential")
	_, err = env.Services(assisttest.Connect, queue[1].token).Portal.GetQueuePosition(ctx, &assistv1.GetQueuePositionRequest{SessionId: "nope"})
	e2eWantCode(t, err, connect.CodeInvalidArgument, "a malformed session id")
}
