package e2e

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect/v2"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assistd"
	"github.com/assist-chat/assist/server/internal/assisttest"
	"github.com/assist-chat/assist/server/internal/feed"
)

// With a retention of N days, the job deletes the chat logs of sessions
// that ended more than N days ago: the session keeps its details and says
// when its log was deleted, recent logs stay, and an account stream cursor
// before the deleted events is refused (OutOfRange) instead of silently
// skipping them.
func TestRetentionDeletesOldChatLogsAndRefusesCursorsBeforeThem(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t, intFast, func(c *assistd.Config) { c.Integrations.RetentionInterval = 200 * time.Millisecond })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	accountID := intDemoAccount(t, env)
	key := intAPIKey(t, env, accountID, assistv1.ApiKeyScope_API_KEY_SCOPE_SESSIONS_READ)
	pool := env.Server.Store().Pool

	old, oldCustomer, advisorToken := env.ActiveSession(t)
	sendMessages(t, ctx, env, old, oldCustomer, "old", 3)
	advisor := env.Services(assisttest.Connect, advisorToken)
	if _, err := advisor.Session.EndSession(ctx, &assistv1.EndSessionRequest{SessionId: old, Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED, Notes: "fixed"}); err != nil {
		t.Fatal(err)
	}
	// Everything of the old session is sequenced before the new one starts.
	events := intEvents(env, assisttest.Connect, key)
	waitFor(t, 10*time.Second, "the old session sequenced", func() bool {
		var fed, last int64
		_ = pool.QueryRow(ctx, "SELECT coalesce(f.fed_seq, 0), s.last_seq FROM sessions s LEFT JOIN feed_sessions f ON f.session_id = s.id WHERE s.id = $1", old).Scan(&fed, &last)
		return last > 0 && fed == last
	})
	recent, recentCustomer := e2eActiveSession(t, env, advisorToken, "Recent")
	sendMessages(t, ctx, env, recent, recentCustomer, "recent", 2)

	var oldEvents int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM session_events WHERE session_id = $1", old).Scan(&oldEvents); err != nil || oldEvents == 0 {
		t.Fatalf("old session events: %d (%v)", oldEvents, err)
	}
	if err := feed.SetDays(ctx, env.Server.Store(), accountID, 1); err != nil {
		t.Fatal(err)
	}
	// A day ago is not enough; two days ago is.
	if _, err := pool.Exec(ctx, "UPDATE sessions SET end_time = now() - interval '2 days' WHERE id = $1", old); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "the old log deleted", func() bool {
		var n int
		_ = pool.QueryRow(ctx, "SELECT count(*) FROM session_events WHERE session_id = $1", old).Scan(&n)
		return n == 0
	})

	// Its feed rows went with it (no foreign key cascades them).
	var feedRows int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM account_feed WHERE session_id = $1", old).Scan(&feedRows); err != nil || feedRows != 0 {
		t.Errorf("the old session's feed rows after retention: %d (%v), want none", feedRows, err)
	}

	got, err := advisor.Session.GetSession(ctx, &assistv1.GetSessionRequest{SessionId: old})
	if err != nil {
		t.Fatal(err)
	}
	s := got.GetSession()
	if s.GetLogDeleteTime() == nil || s.GetOutcome() != assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED || s.GetCustomer().GetDisplayName() != "Ada" || s.GetEndTime() == nil {
		t.Errorf("the old session after retention: %v; want its details kept and log_delete_time set", s)
	}
	tr, err := env.Services(assisttest.Connect, key).Chat.GetTranscript(ctx, &assistv1.GetTranscriptRequest{SessionId: old})
	if err != nil || len(tr.GetEvents()) != 0 {
		t.Errorf("the old transcript: %d events (%v), want none", len(tr.GetEvents()), err)
	}
	var recentEvents int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM session_events WHERE session_id = $1", recent).Scan(&recentEvents); err != nil || recentEvents < 5 {
		t.Errorf("the recent session kept %d events (%v), want all of them", recentEvents, err)
	}
	if got, err := advisor.Session.GetSession(ctx, &assistv1.GetSessionRequest{SessionId: recent}); err != nil || got.GetSession().GetLogDeleteTime() != nil {
		t.Errorf("the recent session: %v (%v), want its log kept", got.GetSession(), err)
	}

	// The stream: from the start is refused; from the oldest kept event it
	// starts with the recent session.
	_, err = intFirstAccountEvent(ctx, events, &assistv1.StreamAccountEventsRequest{})
	e2eWantCode(t, err, connect.CodeOutOfRange, "a cursor before deleted events")
	ev, err := intFirstAccountEvent(ctx, events, &assistv1.StreamAccountEventsRequest{FromOldestAvailable: true})
	if err != nil || ev.GetEvent().GetSessionId() != recent || ev.GetType() != assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_SESSION_STARTED {
		t.Fatalf("from the oldest available: %v (%v), want the recent session's start", ev, err)
	}
	if _, err := intFirstAccountEvent(ctx, events, &assistv1.StreamAccountEventsRequest{AfterPosition: ev.GetPosition() - 1}); err != nil {
		t.Errorf("a cursor at the oldest kept position: %v, want the stream", err)
	}
}
