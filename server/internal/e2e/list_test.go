package e2e

import (
	"context"
	"slices"
	"testing"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assisttest"
)

// An advisor pages through their sessions, newest first, each exactly
// once; the state filter keeps only the sessions in that state.
func TestAdvisorPagesThroughTheirSessions(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	ctx := context.Background()
	advisorToken := env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	advisor := env.Services(assisttest.GRPC, advisorToken).Session
	var started []string // oldest first
	for range 5 {
		id, _ := e2eActiveSession(t, env, advisorToken, "Pat")
		started = append(started, id)
	}
	if _, err := advisor.EndSession(ctx, &assistv1.EndSessionRequest{SessionId: started[1], Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_UNRESOLVED}); err != nil {
		t.Fatal(err)
	}

	var listed []string
	token := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		res, err := advisor.ListSessions(ctx, &assistv1.ListSessionsRequest{PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.GetSessions()) > 2 {
			t.Fatalf("page of %d sessions, want at most 2", len(res.GetSessions()))
		}
		for _, s := range res.GetSessions() {
			listed = append(listed, s.GetId())
		}
		if token = res.GetNextPageToken(); token == "" {
			break
		}
	}
	want := slices.Clone(started)
	slices.Reverse(want)
	if !slices.Equal(listed, want) {
		t.Fatalf("listed %v, want newest first %v", listed, want)
	}

	res, err := advisor.ListSessions(ctx, &assistv1.ListSessionsRequest{State: assistv1.SessionState_SESSION_STATE_ENDED})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.GetSessions()) != 1 || res.GetSessions()[0].GetId() != started[1] {
		t.Fatalf("ended sessions: %v, want only %s", res.GetSessions(), started[1])
	}
}
