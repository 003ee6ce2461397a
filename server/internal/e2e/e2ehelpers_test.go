package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"github.com/jackc/pgx/v5"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/gen/go/assist/v1/assistv1connect"
	"github.com/assist-chat/assist/server/internal/assisttest"
)

// e2eDB opens a direct connection to a test database, for what the API
// cannot show: row counts, the listener's backend, a fixture the API cannot
// create yet.
func e2eDB(t *testing.T, databaseURL string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		t.Fatalf("connect to the test database: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// e2eRowCounts is how many rows the tables that requests write to hold.
type e2eRowCounts struct {
	Sessions, SessionEvents, AccessTokens, SessionAdvisors int64
}

func e2eCountRows(t *testing.T, conn *pgx.Conn) e2eRowCounts {
	t.Helper()
	var c e2eRowCounts
	err := conn.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM sessions),
		(SELECT count(*) FROM session_events),
		(SELECT count(*) FROM access_tokens),
		(SELECT count(*) FROM session_advisors)`).Scan(&c.Sessions, &c.SessionEvents, &c.AccessTokens, &c.SessionAdvisors)
	if err != nil {
		t.Fatalf("count rows: %v", err)
	}
	return c
}

// e2eLeakMarkers are fragments of database errors, Go errors and stacks
// that must never reach a client.
var e2eLeakMarkers = []string{
	"SQLSTATE", "pgx", "pgconn", "duplicate key", "violates", "syntax error",
	"relation \"", "invalid byte sequence", "out of range", "goroutine ", ".go:", "panic",
}

// e2eAssertNoLeak fails if err's message shows database or Go internals.
func e2eAssertNoLeak(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, m := range e2eLeakMarkers {
		if strings.Contains(msg, m) {
			t.Errorf("error message leaks internals (%q): %s", m, msg)
		}
	}
}

// e2eWantCode fails unless err carries code; it also checks that the
// message leaks nothing.
func e2eWantCode(t *testing.T, err error, want connect.Code, what string) {
	t.Helper()
	if got := connect.CodeOf(err); err == nil || got != want {
		t.Errorf("%s: got %v (%v), want code %v", what, connect.CodeOf(err), err, want)
	}
	e2eAssertNoLeak(t, err)
}

// e2eWantField fails unless err is InvalidArgument naming field.
func e2eWantField(t *testing.T, err error, field, what string) {
	t.Helper()
	e2eWantCode(t, err, connect.CodeInvalidArgument, what)
	if err != nil && !strings.Contains(err.Error(), field) {
		t.Errorf("%s: the message %q does not name %q", what, err, field)
	}
}

// e2eSubscribeFirstError opens a Subscribe stream and returns the error
// that ends it before any event arrives (nil if an event arrives).
func e2eSubscribeFirstError(ctx context.Context, c assistv1connect.ChatServiceClient, req *assistv1.SubscribeRequest) error {
	stream, err := c.Subscribe(ctx, req)
	if err != nil {
		return err
	}
	defer stream.Close()
	_, err = stream.Receive()
	if errors.Is(err, io.EOF) {
		return errors.New("stream ended cleanly without an error")
	}
	return err
}

// e2eChatOpenFirstError opens a Chat stream with first as the first request
// and returns the error that ends it before any event arrives (nil if one
// arrives).
func e2eChatOpenFirstError(ctx context.Context, c assistv1connect.ChatServiceClient, first *assistv1.ChatRequest) error {
	stream, err := c.Chat(ctx)
	if err != nil {
		return err
	}
	defer stream.Close()
	if err := stream.Send(first); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	_, err = stream.Receive()
	if errors.Is(err, io.EOF) {
		return errors.New("stream ended cleanly without an error")
	}
	return err
}

// e2eSendText sends a chat message with Send.
func e2eSendText(ctx context.Context, c assistv1connect.ChatServiceClient, sessionID, clientMessageID, text string) (*assistv1.SessionEvent, error) {
	res, err := c.Send(ctx, &assistv1.SendRequest{SessionId: sessionID, Content: &assistv1.SendRequest_Message{
		Message: &assistv1.ChatSend{ClientMessageId: clientMessageID, Text: text}}})
	if err != nil {
		return nil, err
	}
	return res.GetEvent(), nil
}

// e2eActiveSession starts a session as a new customer and has the advisor
// with advisorToken pick it up; it returns the session id and the
// customer's token.
func e2eActiveSession(t *testing.T, env *assisttest.Env, advisorToken, customerName string) (sessionID, customerToken string) {
	t.Helper()
	sess, customerToken := env.StartSession(t, customerName)
	if _, err := env.Services(assisttest.Connect, advisorToken).Session.PickUpSession(context.Background(), &assistv1.PickUpSessionRequest{SessionId: sess.GetId()}); err != nil {
		t.Fatalf("pick up: %v", err)
	}
	return sess.GetId(), customerToken
}

// e2eRejection is the error a ChatAck's rejection stands for, or nil.
func e2eRejection(res *assistv1.ChatResponse) error {
	r := res.GetAck().GetRejection()
	if r == nil {
		return nil
	}
	var code connect.Code
	if err := code.UnmarshalText([]byte(r.GetCode())); err != nil {
		return fmt.Errorf("rejection with an unknown code %q: %s", r.GetCode(), r.GetMessage())
	}
	return connect.NewError(code, r.GetMessage())
}

// e2eStreamEnd reads a stream until it ends and returns the error that
// ended it.
func e2eStreamEnd[T any](receive func() (T, error)) error {
	for {
		if _, err := receive(); err != nil {
			return err
		}
	}
}
