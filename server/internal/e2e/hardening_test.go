package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connectproto"
	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assistd"
	"github.com/assist-chat/assist/server/internal/assisttest"
	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/limits"
	"github.com/assist-chat/assist/server/internal/pgtest"
)

// When a colleague picks up a waiting session, the streams another advisor
// opened on it while it waited end at once with PermissionDenied, on the
// colleague's replica and on others, long before the periodic check.
func TestStreamsEndWhenAccessIsTakenAway(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	// The periodic check is far away: only the signal can end the streams.
	slow := assisttest.WithCredentialCheckInterval(time.Hour)
	a := assisttest.StartOn(t, db, slow)
	b := assisttest.StartOn(t, db, slow)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	watcher := a.Login(t, assisttest.Advisor2Email, assisttest.Advisor2Password)
	winner := b.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	for _, p := range assisttest.Protocols {
		t.Run(string(p), func(t *testing.T) {
			sess, _ := a.StartSession(t, "Ada")
			onA, onB := a.Services(p, watcher), b.Services(p, watcher)
			subA, err := onA.Chat.Subscribe(ctx, &assistv1.SubscribeRequest{SessionId: sess.GetId()})
			if err != nil {
				t.Fatal(err)
			}
			defer subA.Close()
			subB, err := onB.Chat.Subscribe(ctx, &assistv1.SubscribeRequest{SessionId: sess.GetId()})
			if err != nil {
				t.Fatal(err)
			}
			defer subB.Close()
			for _, s := range []assistv1connectSubscribe{subA, subB} {
				if _, err := s.Receive(); err != nil { // the stream is open
					t.Fatal(err)
				}
			}
			if _, err := b.Services(assisttest.Connect, winner).Session.PickUpSession(ctx, &assistv1.PickUpSessionRequest{SessionId: sess.GetId()}); err != nil {
				t.Fatal(err)
			}
			picked := time.Now()
			for name, s := range map[string]assistv1connectSubscribe{"same replica": subB, "other replica": subA} {
				if err := e2eStreamEnd(s.Receive); connect.CodeOf(err) != connect.CodePermissionDenied {
					t.Fatalf("%s: stream ended with %v, want PermissionDenied", name, err)
				}
				if d := time.Since(picked); d > 5*time.Second {
					t.Fatalf("%s: the stream ended %s after the pick-up", name, d)
				}
			}
			// The private conversation is not readable on new calls either.
			if _, err := onA.Chat.GetTranscript(ctx, &assistv1.GetTranscriptRequest{SessionId: sess.GetId()}); connect.CodeOf(err) != connect.CodeNotFound {
				t.Fatalf("transcript after the pick-up: %v, want NotFound", err)
			}
		})
	}
}

type assistv1connectSubscribe interface {
	Receive() (*assistv1.SubscribeResponse, error)
}

// Logging out ends the streams the token opened at once, not at the next
// periodic check.
func TestLogoutEndsStreamsAtOnce(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t, assisttest.WithCredentialCheckInterval(time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sid, _, _ := env.ActiveSession(t)
	token := env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	advisor := env.Services(assisttest.GRPC, token)
	sub, err := advisor.Chat.Subscribe(ctx, &assistv1.SubscribeRequest{SessionId: sid})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if _, err := sub.Receive(); err != nil {
		t.Fatal(err)
	}
	if _, err := advisor.Auth.Logout(ctx, &assistv1.LogoutRequest{}); err != nil {
		t.Fatal(err)
	}
	out := time.Now()
	if err := e2eStreamEnd(sub.Receive); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("stream ended with %v, want Unauthenticated", err)
	}
	if d := time.Since(out); d > 5*time.Second {
		t.Fatalf("the stream ended %s after the logout", d)
	}
}

// A stream ends with Unauthenticated when its credential expires, with no
// signal and the periodic check an hour away: the guard checks at expiry.
func TestStreamsEndWhenTheirCredentialExpires(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t, assisttest.WithCredentialCheckInterval(time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sid, _, _ := env.ActiveSession(t)
	token := env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	if _, err := e2eDB(t, env.DatabaseURL).Exec(ctx, `UPDATE access_tokens SET expire_time = now() + interval '2 seconds' WHERE token_hash = $1`, auth.HashSecret(token)); err != nil {
		t.Fatal(err)
	}
	sub, err := env.Services(assisttest.GRPC, token).Chat.Subscribe(ctx, &assistv1.SubscribeRequest{SessionId: sid})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	opened := time.Now()
	if err := e2eStreamEnd(sub.Receive); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("stream ended with %v, want Unauthenticated", err)
	}
	if d := time.Since(opened); d > 10*time.Second {
		t.Fatalf("the stream ended %s after it opened, its token expiring after 2 s", d)
	}
}

// A change no signal announces (here a token revoked in the database by
// hand) still ends the stream at the next periodic check.
func TestPeriodicCheckEndsStreamsWithoutASignal(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t, assisttest.WithCredentialCheckInterval(300*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sid, _, _ := env.ActiveSession(t)
	token := env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	sub, err := env.Services(assisttest.Connect, token).Chat.Subscribe(ctx, &assistv1.SubscribeRequest{SessionId: sid})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if _, err := sub.Receive(); err != nil {
		t.Fatal(err)
	}
	if _, err := e2eDB(t, env.DatabaseURL).Exec(ctx, `UPDATE access_tokens SET revoke_time = now() WHERE token_hash = $1`, auth.HashSecret(token)); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	if err := e2eStreamEnd(sub.Receive); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("stream ended with %v, want Unauthenticated", err)
	}
	if d := time.Since(revoked); d > 5*time.Second {
		t.Fatalf("the stream ended %s after its token was revoked, with a 300 ms check interval", d)
	}
}

// A retried StartSession returns the same session with a new token and
// revokes the earlier ones; a request_id reused with other details, or
// after the end, is refused.
func TestStartSessionRetries(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	portal := env.Services(assisttest.Connect, "").Portal
	req := &assistv1.StartSessionRequest{PortalSlug: assisttest.PortalSlug, Customer: &assistv1.CustomerInfo{DisplayName: "Ada", Email: "ada@example.com"}, RequestId: uuid.NewString()}
	first, err := portal.StartSession(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	// Used once, so that the server has resolved (and may cache) it.
	if _, err := env.Services(assisttest.Connect, first.GetCustomerToken()).Chat.GetTranscript(ctx, &assistv1.GetTranscriptRequest{SessionId: first.GetSession().GetId()}); err != nil {
		t.Fatal(err)
	}
	again, err := portal.StartSession(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if again.GetSession().GetId() != first.GetSession().GetId() || again.GetCustomerToken() == first.GetCustomerToken() {
		t.Fatalf("retry gave session %s token equal=%v, want the same session with a new token", again.GetSession().GetId(), again.GetCustomerToken() == first.GetCustomerToken())
	}
	sid := first.GetSession().GetId()
	if _, err := e2eSendText(ctx, env.Services(assisttest.Connect, first.GetCustomerToken()).Chat, sid, "m1", "hi"); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("the first attempt's token after a retry: %v, want Unauthenticated", err)
	}
	if _, err := e2eSendText(ctx, env.Services(assisttest.Connect, again.GetCustomerToken()).Chat, sid, "m1", "hi"); err != nil {
		t.Fatalf("the retry's token: %v", err)
	}
	other := &assistv1.StartSessionRequest{PortalSlug: assisttest.PortalSlug, Customer: &assistv1.CustomerInfo{DisplayName: "Eve"}, RequestId: req.RequestId}
	_, err = portal.StartSession(ctx, other)
	e2eWantCode(t, err, connect.CodeAlreadyExists, "request_id reused with other details")

	advisor := env.Services(assisttest.Connect, env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword))
	if _, err := advisor.Session.EndSession(ctx, &assistv1.EndSessionRequest{SessionId: sid, Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED}); err != nil {
		t.Fatal(err)
	}
	_, err = portal.StartSession(ctx, req)
	e2eWantCode(t, err, connect.CodeFailedPrecondition, "retry after the end")

	_, err = portal.StartSession(ctx, &assistv1.StartSessionRequest{PortalSlug: assisttest.PortalSlug, Customer: &assistv1.CustomerInfo{DisplayName: "Ada"}, Routing: &assistv1.StartSessionRequest_FirstAvailableAdvisor{FirstAvailableAdvisor: true}})
	e2eWantCode(t, err, connect.CodeInvalidArgument, "first_available_advisor on a queue portal")
	if !strings.Contains(err.Error(), "first_available_advisor") {
		t.Fatalf("error %q does not name first_available_advisor", err)
	}
}

// The rate limits answer ResourceExhausted with a retry delay, before the
// request is served, per address for StartSession and Login and per
// credential for everything else.
func TestRateLimitsRefuseWithARetryDelay(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t, assisttest.WithRateLimits(
		limits.Rate{N: 3, Period: time.Minute}, limits.Rate{N: 2, Period: time.Minute}, limits.Rate{N: 5, Period: time.Minute}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	anon := env.Services(assisttest.Connect, "")
	var tokens []string
	var err error
	for range 4 {
		var res *assistv1.StartSessionResponse
		res, err = anon.Portal.StartSession(ctx, &assistv1.StartSessionRequest{PortalSlug: assisttest.PortalSlug, Customer: &assistv1.CustomerInfo{DisplayName: "Ada"}})
		if err == nil {
			tokens = append(tokens, res.GetCustomerToken())
		}
	}
	if len(tokens) != 3 {
		t.Fatalf("%d of 4 starts succeeded, want 3", len(tokens))
	}
	wantRetryDelay(t, err, "the 4th StartSession")
	for range 3 {
		_, err = anon.Auth.Login(ctx, &assistv1.LoginRequest{Email: assisttest.AdvisorEmail, Password: "wrong"})
	}
	wantRetryDelay(t, err, "the 3rd Login")

	customer := env.Services(assisttest.GRPC, tokens[0])
	for i := range 6 {
		_, err = customer.Chat.GetTranscript(ctx, &assistv1.GetTranscriptRequest{SessionId: uuid.NewString()})
		if i < 5 && connect.CodeOf(err) == connect.CodeResourceExhausted {
			t.Fatalf("call %d with one credential refused: %v", i+1, err)
		}
	}
	wantRetryDelay(t, err, "the 6th call with one credential")
	// Another credential has its own budget.
	if _, err := env.Services(assisttest.GRPC, tokens[1]).Chat.GetTranscript(ctx, &assistv1.GetTranscriptRequest{SessionId: uuid.NewString()}); connect.CodeOf(err) == connect.CodeResourceExhausted {
		t.Fatalf("another credential refused: %v", err)
	}
}

func wantRetryDelay(t *testing.T, err error, what string) {
	t.Helper()
	if connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Fatalf("%s: %v, want ResourceExhausted", what, err)
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		t.Fatalf("%s: %T is not a connect error", what, err)
	}
	for _, d := range ce.Details() {
		m, err := connectproto.UnmarshalErrorDetail(d)
		if info, ok := m.(*errdetails.RetryInfo); err == nil && ok && info.GetRetryDelay().AsDuration() > 0 {
			return
		}
	}
	t.Fatalf("%s: no RetryInfo with a delay in %v", what, ce.Details())
}

// A request whose body never finishes is cut off after the unary body
// timeout, and a client address cannot hold more connections than allowed.
func TestSlowBodiesAndConnectionFloodsAreBounded(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t, assisttest.WithConfig(func(c *assistd.Config) {
		c.UnaryBodyTimeout = time.Second
		c.MaxConnsPerAddress = 3
	}))
	addr := env.Server.Addr()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /assist.v1.ChatService/Send HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"sessionId\":")
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server still held the unfinished request after 10s")
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Fatalf("the unfinished request was held %s", d)
	}

	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	time.Sleep(200 * time.Millisecond) // accepted in order
	extra, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	_ = extra.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := extra.Read(make([]byte, 1)); err != io.EOF && !isReset(err) {
		t.Fatalf("a 4th connection from one address: read gave %v, want it closed", err)
	}
	metrics, err := http.Get(env.URL + "/metrics")
	if err == nil {
		body, _ := io.ReadAll(metrics.Body)
		metrics.Body.Close()
		if !strings.Contains(string(body), `assist_refused_total{reason="connections"} `) || strings.Contains(string(body), `{reason="connections"} 0`) {
			t.Fatalf("metrics do not count the refused connection:\n%s", body)
		}
	}
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "reset")
}

// A long queue's snapshot is bounded, says how many wait in all, and
// changes arrive one session at a time.
func TestQueueSnapshotIsBoundedAndChangesArriveOneByOne(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn := e2eDB(t, env.DatabaseURL)
	// Fill the queue directly: 520 waiting sessions.
	if _, err := conn.Exec(ctx, `INSERT INTO sessions (account_id, portal_id, portal_mode, kind, state, customer_display_name)
		SELECT account_id, id, mode, 2, 1, 'Waiting ' || g FROM portals, generate_series(1, 520) g WHERE slug = $1`, assisttest.PortalSlug); err != nil {
		t.Fatal(err)
	}
	advisor := env.Services(assisttest.Connect, env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword))
	queue, err := advisor.Session.WatchQueue(ctx, &assistv1.WatchQueueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	defer queue.Close()
	first, err := queue.Receive()
	if err != nil {
		t.Fatal(err)
	}
	snap := first.GetSnapshot()
	if len(snap.GetSessions()) != 500 || snap.GetTotalWaiting() != 520 {
		t.Fatalf("snapshot lists %d of %d, want 500 of 520", len(snap.GetSessions()), snap.GetTotalWaiting())
	}
	sess, _ := env.StartSession(t, "Newcomer")
	next, err := queue.Receive()
	if err != nil {
		t.Fatal(err)
	}
	if next.GetAdded().GetId() != sess.GetId() {
		t.Fatalf("after a start, got %v, want the new session added", next)
	}
	oldest := snap.GetSessions()[0].GetId()
	if _, err := advisor.Session.PickUpSession(ctx, &assistv1.PickUpSessionRequest{SessionId: oldest}); err != nil {
		t.Fatal(err)
	}
	next, err = queue.Receive()
	if err != nil {
		t.Fatal(err)
	}
	if next.GetRemoved().GetSessionId() != oldest || next.GetRemoved().GetState() != assistv1.SessionState_SESSION_STATE_ACTIVE {
		t.Fatalf("after a pick-up, got %v, want %s removed as active", next, oldest)
	}
}
