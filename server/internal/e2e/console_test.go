package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect/v2"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/gen/go/assist/v1/assistv1connect"
	"github.com/assist-chat/assist/server/internal/assisttest"
)

// consoleWatch opens WatchAdvisor over HTTP/1.1 (as a browser on plain
// http does) and returns its messages; the first must be "opened".
func consoleWatch(ctx context.Context, t *testing.T, env *assisttest.Env, token string, req *assistv1.WatchAdvisorRequest) <-chan browserItem[*assistv1.WatchAdvisorResponse] {
	t.Helper()
	c := assistv1connect.NewSessionServiceClient(env.ClientWith(assisttest.HTTP1Client(), assisttest.Connect, token))
	stream, err := c.WatchAdvisor(ctx, req)
	if err != nil {
		t.Fatalf("open WatchAdvisor: %v", err)
	}
	t.Cleanup(func() { _ = stream.Close() })
	items := browserReceive(ctx, stream.Receive)
	first := <-items
	if first.err != nil || first.res.GetOpened() == nil {
		t.Fatalf("the first WatchAdvisor message is not 'opened': %v %v", first.res, first.err)
	}
	return items
}

// consoleFirstError is the error that ends a WatchAdvisor stream at once.
func consoleFirstError(ctx context.Context, c assistv1connect.SessionServiceClient, req *assistv1.WatchAdvisorRequest) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	stream, err := c.WatchAdvisor(ctx, req)
	if err != nil {
		return err
	}
	defer stream.Close()
	_, err = stream.Receive()
	return err
}

// One WatchAdvisor stream, over one HTTP/1.1 connection, carries the queue
// and the logs of ten sessions, each from its own cursor: the replayed
// history, then live messages, each once and in order per session.
func TestConsoleStreamFollowsTenSessionsFromTheirCursorsAndTheQueue(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	advisorToken := env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	type session struct {
		id, token string
		last      int64
	}
	var sessions []*session
	var cursors []*assistv1.SessionCursor
	for i := range 10 {
		id, token := e2eActiveSession(t, env, advisorToken, fmt.Sprintf("Customer %d", i))
		ev, err := e2eSendText(ctx, env.Services(assisttest.Connect, token).Chat, id, "old", "old")
		if err != nil {
			t.Fatal(err)
		}
		s := &session{id: id, token: token, last: ev.GetSeq()}
		sessions = append(sessions, s)
		// Even sessions resume after their old message; odd ones from 0.
		after := int64(0)
		if i%2 == 0 {
			after = s.last
		}
		cursors = append(cursors, &assistv1.SessionCursor{SessionId: id, AfterSeq: after})
	}
	items := consoleWatch(ctx, t, env, advisorToken, &assistv1.WatchAdvisorRequest{WatchQueue: true, Sessions: cursors})

	waiting, _ := env.StartSession(t, "Queued customer")
	for _, s := range sessions {
		if _, err := e2eSendText(ctx, env.Services(assisttest.Connect, s.token).Chat, s.id, "new", "new"); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string][]string{} // session -> texts
	cursor := map[string]int64{}
	queued := false
	for done := 0; done < len(sessions) || !queued; {
		var item browserItem[*assistv1.WatchAdvisorResponse]
		select {
		case item = <-items:
		case <-ctx.Done():
			t.Fatalf("timed out: messages so far %v, queue seen %v", seen, queued)
		}
		if item.err != nil {
			t.Fatalf("the stream failed: %v", item.err)
		}
		if q := item.res.GetQueue(); q != nil {
			for _, s := range append(q.GetSnapshot().GetSessions(), q.GetAdded()) {
				queued = queued || s.GetId() == waiting.GetId()
			}
			continue
		}
		ev := item.res.GetEvent()
		if ev.GetSeq() == 0 {
			continue
		}
		if ev.GetSeq() != cursor[ev.GetSessionId()]+1 && cursor[ev.GetSessionId()] != 0 {
			t.Fatalf("session %s: seq %d after %d, want contiguous", ev.GetSessionId(), ev.GetSeq(), cursor[ev.GetSessionId()])
		}
		cursor[ev.GetSessionId()] = ev.GetSeq()
		if m := ev.GetMessage(); m != nil {
			seen[ev.GetSessionId()] = append(seen[ev.GetSessionId()], m.GetText())
			if m.GetText() == "new" {
				done++
			}
		}
	}
	for i, s := range sessions {
		want := "[old new]"
		if i%2 == 0 {
			want = "[new]"
		}
		if got := fmt.Sprint(seen[s.id]); got != want {
			t.Errorf("session %d (resumed from %d) got messages %s, want %s", i, cursors[i].GetAfterSeq(), got, want)
		}
	}
}

// WatchAdvisor authorizes each session exactly as Subscribe does: another
// advisor's session is NotFound, a customer may not open it, a cursor
// beyond the log is InvalidArgument.
func TestConsoleStreamRefusesSessionsTheAdvisorMayNotSee(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	ctx := context.Background()
	alex := env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	sam := env.Login(t, assisttest.Advisor2Email, assisttest.Advisor2Password)
	mine, customerToken := e2eActiveSession(t, env, alex, "Mine")
	theirs, _ := e2eActiveSession(t, env, sam, "Theirs")
	c := assistv1connect.NewSessionServiceClient(env.Client(assisttest.Connect, alex))

	err := consoleFirstError(ctx, c, &assistv1.WatchAdvisorRequest{Sessions: []*assistv1.SessionCursor{{SessionId: mine}, {SessionId: theirs}}})
	e2eWantCode(t, err, connect.CodeNotFound, "following another advisor's session")
	err = consoleFirstError(ctx, c, &assistv1.WatchAdvisorRequest{Sessions: []*assistv1.SessionCursor{{SessionId: mine, AfterSeq: 1000}}})
	e2eWantCode(t, err, connect.CodeInvalidArgument, "a cursor beyond the log")
	err = consoleFirstError(ctx, c, &assistv1.WatchAdvisorRequest{Sessions: []*assistv1.SessionCursor{{SessionId: "not-a-uuid"}}})
	e2eWantCode(t, err, connect.CodeInvalidArgument, "a session id that is not a UUID")
	customer := assistv1connect.NewSessionServiceClient(env.Client(assisttest.Connect, customerToken))
	err = consoleFirstError(ctx, customer, &assistv1.WatchAdvisorRequest{Sessions: []*assistv1.SessionCursor{{SessionId: mine}}})
	e2eWantCode(t, err, connect.CodePermissionDenied, "a customer token")
	anonymous := assistv1connect.NewSessionServiceClient(env.Client(assisttest.Connect, ""))
	err = consoleFirstError(ctx, anonymous, &assistv1.WatchAdvisorRequest{WatchQueue: true})
	e2eWantCode(t, err, connect.CodeUnauthenticated, "no token")
}
