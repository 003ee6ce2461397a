package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/gen/go/assist/v1/assistv1connect"
	"github.com/assist-chat/assist/server/internal/assisttest"
)

// badinputMaxMessageBytes is the request size cap of the server under
// test: above the largest field (10000-character notes), below a valid
// text of 3500 4-byte characters.
const badinputMaxMessageBytes = 12 << 10

// badinputChat sends reqs on a new Chat stream, then reads until the stream
// fails, and returns that error.
func badinputChat(ctx context.Context, c assistv1connect.ChatServiceClient, reqs ...*assistv1.ChatRequest) error {
	stream, err := c.Chat(ctx)
	if err != nil {
		return err
	}
	defer stream.Close()
	for _, req := range reqs {
		if err := stream.Send(req); err != nil {
			if errors.Is(err, io.EOF) {
				break // the server answered already; Receive has its error
			}
			return err
		}
	}
	for {
		res, err := stream.Receive()
		if err == nil {
			// A refused message is answered on its own; the stream goes on.
			err = e2eRejection(res)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return errors.New("stream ended cleanly: the bad request was accepted")
			}
			return err
		}
	}
}

func badinputOpen(sid string, afterSeq int64) *assistv1.ChatRequest {
	return &assistv1.ChatRequest{Action: &assistv1.ChatRequest_Open{Open: &assistv1.ChatOpen{SessionId: sid, AfterSeq: afterSeq}}}
}

func badinputChatSend(cmid, text string) *assistv1.ChatRequest {
	return &assistv1.ChatRequest{Action: &assistv1.ChatRequest_Send{Send: &assistv1.ChatSend{ClientMessageId: cmid, Text: text}}}
}

// badinputCase is one malformed request and what the server must answer.
type badinputCase struct {
	name string
	call func(ctx context.Context, c *assisttest.Clients) error
	code connect.Code
	// field must appear in the error message (InvalidArgument names the
	// field at fault).
	field string
}

// TestBadInput runs on a server with a small request size cap. The
// behaviours run one after the other: the first counts rows.
func TestBadInput(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t, assisttest.WithMaxMessageBytes(badinputMaxMessageBytes))
	advisor := env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	t.Run("BadRequestsGetTheirCodeNameTheFieldAndWriteNothing", func(t *testing.T) { badinputCodes(t, env, advisor) })
	t.Run("BadRequestOnABusyChatStreamEndsOnlyThatStream", func(t *testing.T) { badinputBusyChat(t, env, advisor) })
}

// Every implemented RPC validates its request: a malformed field is
// InvalidArgument naming the field, an unknown id NotFound, a reused
// client_message_id AlreadyExists, a request above the size cap
// ResourceExhausted; over every protocol, with no database error text in
// the message, and with nothing written to the database.
func badinputCodes(t *testing.T, env *assisttest.Env, advisor string) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sid, customer := e2eActiveSession(t, env, advisor, "Bea")
	waiting, _ := env.StartSession(t, "Wanda")
	if _, err := e2eSendText(ctx, env.Services(assisttest.Connect, customer).Chat, sid, "taken", "the first text"); err != nil {
		t.Fatal(err)
	}
	got, err := env.Services(assisttest.Connect, advisor).Session.GetSession(ctx, &assistv1.GetSessionRequest{SessionId: sid})
	if err != nil {
		t.Fatal(err)
	}
	lastSeq := got.GetSession().GetLastSeq()
	unknown := uuid.NewString()
	long := func(n int) string { return strings.Repeat("x", n) }
	oversized := strings.Repeat("😀", 3500) // a valid length, but 14000 bytes
	startReq := func(mod func(*assistv1.StartSessionRequest)) *assistv1.StartSessionRequest {
		req := &assistv1.StartSessionRequest{PortalSlug: assisttest.PortalSlug, Customer: &assistv1.CustomerInfo{DisplayName: "Valid"}}
		mod(req)
		return req
	}
	send := func(req *assistv1.SendRequest) func(ctx context.Context, c *assisttest.Clients) error {
		return func(ctx context.Context, c *assisttest.Clients) error {
			_, err := c.Chat.Send(ctx, req)
			return err
		}
	}
	message := func(sessionID, cmid, text string) *assistv1.SendRequest {
		return &assistv1.SendRequest{SessionId: sessionID, Content: &assistv1.SendRequest_Message{Message: &assistv1.ChatSend{ClientMessageId: cmid, Text: text}}}
	}
	subscribe := func(req *assistv1.SubscribeRequest) func(ctx context.Context, c *assisttest.Clients) error {
		return func(ctx context.Context, c *assisttest.Clients) error {
			return e2eSubscribeFirstError(ctx, c.Chat, req)
		}
	}
	chat := func(reqs ...*assistv1.ChatRequest) func(ctx context.Context, c *assisttest.Clients) error {
		return func(ctx context.Context, c *assisttest.Clients) error { return badinputChat(ctx, c.Chat, reqs...) }
	}
	getPortal := func(slug string) func(ctx context.Context, c *assisttest.Clients) error {
		return func(ctx context.Context, c *assisttest.Clients) error {
			_, err := c.Portal.GetPortal(ctx, &assistv1.GetPortalRequest{PortalSlug: slug})
			return err
		}
	}
	start := func(req *assistv1.StartSessionRequest) func(ctx context.Context, c *assisttest.Clients) error {
		return func(ctx context.Context, c *assisttest.Clients) error {
			_, err := c.Portal.StartSession(ctx, req)
			return err
		}
	}
	end := func(req *assistv1.EndSessionRequest) func(ctx context.Context, c *assisttest.Clients) error {
		return func(ctx context.Context, c *assisttest.Clients) error {
			_, err := c.Session.EndSession(ctx, req)
			return err
		}
	}
	list := func(req *assistv1.ListSessionsRequest) func(ctx context.Context, c *assisttest.Clients) error {
		return func(ctx context.Context, c *assisttest.Clients) error {
			_, err := c.Session.ListSessions(ctx, req)
			return err
		}
	}
	watch := func(portalIDs ...string) func(ctx context.Context, c *assisttest.Clients) error {
		return func(ctx context.Context, c *assisttest.Clients) error {
			stream, err := c.Session.WatchQueue(ctx, &assistv1.WatchQueueRequest{PortalIds: portalIDs})
			if err != nil {
				return err
			}
			defer stream.Close()
			_, err = stream.Receive()
			return err
		}
	}
	login := func(email, password string) func(ctx context.Context, c *assisttest.Clients) error {
		return func(ctx context.Context, c *assisttest.Clients) error {
			_, err := c.Auth.Login(ctx, &assistv1.LoginRequest{Email: email, Password: password})
			return err
		}
	}
	const (
		invalid   = connect.CodeInvalidArgument
		notFound  = connect.CodeNotFound
		exhausted = connect.CodeResourceExhausted
	)

	// Calls made with the customer's token.
	customerCases := []badinputCase{
		{"Send: session_id not a UUID", send(message("not-a-uuid", "c1", "hi")), invalid, "session_id"},
		{"Send: session_id empty", send(message("", "c1", "hi")), invalid, "session_id"},
		{"Send: text empty", send(message(sid, "c1", "")), invalid, "text"},
		{"Send: text of 4001 characters", send(message(sid, "c1", long(4001))), invalid, "text"},
		{"Send: text of blanks only", send(message(sid, "c1", " \t\n\u00a0 ")), invalid, "text"},
		{"Send: client_message_id empty", send(message(sid, "", "hi")), invalid, "client_message_id"},
		{"Send: client_message_id with a space", send(message(sid, "a b", "hi")), invalid, "client_message_id"},
		{"Send: client_message_id of 65 characters", send(message(sid, long(65), "hi")), invalid, "client_message_id"},
		{"Send: no content", send(&assistv1.SendRequest{SessionId: sid}), invalid, "content"},
		{"Send: unknown session", send(message(unknown, "c1", "hi")), notFound, "session"},
		{"Send: typing on an unknown session", send(&assistv1.SendRequest{SessionId: unknown, Content: &assistv1.SendRequest_Typing{Typing: &assistv1.ChatTyping{}}}), notFound, "session"},
		{"Send: client_message_id reused for another text", send(message(sid, "taken", "a different text")), connect.CodeAlreadyExists, "client_message_id"},
		{"Send: larger than the size cap", send(message(sid, "c1", oversized)), exhausted, ""},

		{"Subscribe: session_id not a UUID", subscribe(&assistv1.SubscribeRequest{SessionId: "123"}), invalid, "session_id"},
		{"Subscribe: negative after_seq", subscribe(&assistv1.SubscribeRequest{SessionId: sid, AfterSeq: -1}), invalid, "after_seq"},
		{"Subscribe: after_seq beyond the end of the log", subscribe(&assistv1.SubscribeRequest{SessionId: sid, AfterSeq: lastSeq + 1}), invalid, "after_seq"},
		{"Subscribe: unknown session", subscribe(&assistv1.SubscribeRequest{SessionId: unknown}), notFound, "session"},

		{"Chat: first request is a send", chat(badinputChatSend("c1", "hi")), invalid, "open"},
		{"Chat: first request is typing", chat(&assistv1.ChatRequest{Action: &assistv1.ChatRequest_Typing{Typing: &assistv1.ChatTyping{Active: true}}}), invalid, "open"},
		{"Chat: first request has no action", chat(&assistv1.ChatRequest{}), invalid, "action"},
		{"Chat: open.session_id not a UUID", chat(badinputOpen("nope", 0)), invalid, "session_id"},
		{"Chat: open with a negative after_seq", chat(badinputOpen(sid, -5)), invalid, "after_seq"},
		{"Chat: open after the end of the log", chat(badinputOpen(sid, lastSeq+100)), invalid, "after_seq"},
		{"Chat: open an unknown session", chat(badinputOpen(unknown, 0)), notFound, "session"},
		{"Chat: open twice", chat(badinputOpen(sid, lastSeq), badinputOpen(sid, lastSeq)), invalid, "open"},
		{"Chat: send blanks", chat(badinputOpen(sid, lastSeq), badinputChatSend("c1", "   ")), invalid, "text"},
		{"Chat: send 4001 characters", chat(badinputOpen(sid, lastSeq), badinputChatSend("c1", long(4001))), invalid, "text"},
		{"Chat: send with a bad client_message_id", chat(badinputOpen(sid, lastSeq), badinputChatSend("no/slash", "hi")), invalid, "client_message_id"},
		{"Chat: client_message_id reused for another text", chat(badinputOpen(sid, lastSeq), badinputChatSend("taken", "another text")), connect.CodeAlreadyExists, "client_message_id"},
		{"Chat: message larger than the size cap", chat(badinputOpen(sid, lastSeq), badinputChatSend("c1", oversized)), exhausted, ""},

		{"GetTranscript: session_id not a UUID", func(ctx context.Context, c *assisttest.Clients) error {
			_, err := c.Chat.GetTranscript(ctx, &assistv1.GetTranscriptRequest{SessionId: "x"})
			return err
		}, invalid, "session_id"},
		{"GetTranscript: unknown session", func(ctx context.Context, c *assisttest.Clients) error {
			_, err := c.Chat.GetTranscript(ctx, &assistv1.GetTranscriptRequest{SessionId: unknown})
			return err
		}, notFound, "session"},
	}

	// Calls made with the advisor's token.
	advisorCases := []badinputCase{
		{"GetSession: session_id not a UUID", func(ctx context.Context, c *assisttest.Clients) error {
			_, err := c.Session.GetSession(ctx, &assistv1.GetSessionRequest{SessionId: "x"})
			return err
		}, invalid, "session_id"},
		{"GetSession: unknown session", func(ctx context.Context, c *assisttest.Clients) error {
			_, err := c.Session.GetSession(ctx, &assistv1.GetSessionRequest{SessionId: unknown})
			return err
		}, notFound, "session"},
		{"PickUpSession: session_id not a UUID", func(ctx context.Context, c *assisttest.Clients) error {
			_, err := c.Session.PickUpSession(ctx, &assistv1.PickUpSessionRequest{SessionId: "x"})
			return err
		}, invalid, "session_id"},
		{"PickUpSession: unknown session", func(ctx context.Context, c *assisttest.Clients) error {
			_, err := c.Session.PickUpSession(ctx, &assistv1.PickUpSessionRequest{SessionId: unknown})
			return err
		}, notFound, "session"},
		{"EndSession: session_id not a UUID", end(&assistv1.EndSessionRequest{SessionId: "x", Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED}), invalid, "session_id"},
		{"EndSession: no outcome", end(&assistv1.EndSessionRequest{SessionId: sid}), invalid, "outcome"},
		{"EndSession: undefined outcome", end(&assistv1.EndSessionRequest{SessionId: sid, Outcome: 99}), invalid, "outcome"},
		{"EndSession: notes of 10001 characters", end(&assistv1.EndSessionRequest{SessionId: sid, Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED, Notes: long(10001)}), invalid, "notes"},
		{"EndSession: notes with a NUL character", end(&assistv1.EndSessionRequest{SessionId: waiting.GetId(), Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED, Notes: "bad\x00notes"}), invalid, "notes"},
		{"EndSession: unknown session", end(&assistv1.EndSessionRequest{SessionId: unknown, Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED}), notFound, "session"},
		{"ListSessions: page_size 101", list(&assistv1.ListSessionsRequest{PageSize: 101}), invalid, "page_size"},
		{"ListSessions: negative page_size", list(&assistv1.ListSessionsRequest{PageSize: -1}), invalid, "page_size"},
		{"ListSessions: page_token not from a page", list(&assistv1.ListSessionsRequest{PageToken: "!!not-a-token!!"}), invalid, "page_token"},
		{"ListSessions: page_token of 201 characters", list(&assistv1.ListSessionsRequest{PageToken: long(201)}), invalid, "page_token"},
		{"ListSessions: undefined state", list(&assistv1.ListSessionsRequest{State: 42}), invalid, "state"},
		{"WatchQueue: portal_ids not UUIDs", watch("portal"), invalid, "portal_ids"},
		{"WatchQueue: portal_ids repeated", watch(waiting.GetPortalId(), waiting.GetPortalId()), invalid, "portal_ids"},
		{"WatchQueue: unknown portal", watch(unknown), notFound, "portal"},
	}

	// Calls anyone may make.
	anonymousCases := []badinputCase{
		{"GetPortal: portal_slug with capitals and a space", getPortal("Bad Slug"), invalid, "portal_slug"},
		{"GetPortal: unknown portal", getPortal("no-such-portal"), notFound, "portal"},
		{"StartSession: portal_slug with capitals and a space", start(startReq(func(r *assistv1.StartSessionRequest) { r.PortalSlug = "Bad Slug" })), invalid, "portal_slug"},
		{"StartSession: portal_slug empty", start(startReq(func(r *assistv1.StartSessionRequest) { r.PortalSlug = "" })), invalid, "portal_slug"},
		{"StartSession: unknown portal", start(startReq(func(r *assistv1.StartSessionRequest) { r.PortalSlug = "no-such-portal" })), notFound, "portal"},
		{"StartSession: no customer", start(startReq(func(r *assistv1.StartSessionRequest) { r.Customer = nil })), invalid, "customer"},
		{"StartSession: display_name empty", start(startReq(func(r *assistv1.StartSessionRequest) { r.Customer.DisplayName = "" })), invalid, "display_name"},
		{"StartSession: display_name of 101 characters", start(startReq(func(r *assistv1.StartSessionRequest) { r.Customer.DisplayName = long(101) })), invalid, "display_name"},
		{"StartSession: display_name with a NUL character", start(startReq(func(r *assistv1.StartSessionRequest) { r.Customer.DisplayName = "Ada\x00" })), invalid, "display_name"},
		{"StartSession: email not an address", start(startReq(func(r *assistv1.StartSessionRequest) { r.Customer.Email = "not-an-address" })), invalid, "email"},
		{"StartSession: problem_description of 2001 characters", start(startReq(func(r *assistv1.StartSessionRequest) { r.Customer.ProblemDescription = long(2001) })), invalid, "problem_description"},
		{"StartSession: problem_description with a NUL character", start(startReq(func(r *assistv1.StartSessionRequest) { r.Customer.ProblemDescription = "it\x00broke" })), invalid, "problem_description"},
		{"StartSession: undefined device_type", start(startReq(func(r *assistv1.StartSessionRequest) {
			r.Platform = &assistv1.ClientPlatform{DeviceType: 77}
		})), invalid, "device_type"},
		{"StartSession: user_agent with a NUL character", start(startReq(func(r *assistv1.StartSessionRequest) {
			r.Platform = &assistv1.ClientPlatform{UserAgent: "Mozilla\x00"}
		})), invalid, "user_agent"},
		{"StartSession: session_code not six digits", start(startReq(func(r *assistv1.StartSessionRequest) {
			r.Routing = &assistv1.StartSessionRequest_SessionCode{SessionCode: "12"}
		})), invalid, "session_code"},
		{"StartSession: session_code on a queue portal", start(startReq(func(r *assistv1.StartSessionRequest) {
			r.Routing = &assistv1.StartSessionRequest_SessionCode{SessionCode: "123456"}
		})), invalid, "session_code"},
		{"StartSession: advisor_id not a UUID", start(startReq(func(r *assistv1.StartSessionRequest) {
			r.Routing = &assistv1.StartSessionRequest_AdvisorId{AdvisorId: "alex"}
		})), invalid, "advisor_id"},
		{"StartSession: advisor_id on a queue portal", start(startReq(func(r *assistv1.StartSessionRequest) {
			r.Routing = &assistv1.StartSessionRequest_AdvisorId{AdvisorId: unknown}
		})), invalid, "advisor_id"},
		{"StartSession: request_id not a UUID", start(startReq(func(r *assistv1.StartSessionRequest) { r.RequestId = "retry-1" })), invalid, "request_id"},
		{"StartSession: larger than the size cap", start(startReq(func(r *assistv1.StartSessionRequest) {
			r.Customer.ProblemDescription = strings.Repeat("😀", 4000) // 16000 bytes
		})), exhausted, ""},
		{"Login: email too short", login("ab", "password"), invalid, "email"},
		{"Login: password empty", login(assisttest.AdvisorEmail, ""), invalid, "password"},
		{"Login: email with a NUL character", login("advisor\x00@demo.example", "password"), invalid, "email"},
		{"Login: wrong password", login(assisttest.AdvisorEmail, "wrong password"), connect.CodeUnauthenticated, ""},
	}

	db := e2eDB(t, env.DatabaseURL)
	before := e2eCountRows(t, db)
	for _, set := range []struct {
		token string
		cases []badinputCase
	}{{customer, customerCases}, {advisor, advisorCases}, {"", anonymousCases}} {
		clients := map[assisttest.Protocol]*assisttest.Clients{}
		for _, p := range assisttest.Protocols {
			clients[p] = env.Services(p, set.token)
		}
		for _, tc := range set.cases {
			for _, p := range assisttest.Protocols {
				what := fmt.Sprintf("%s over %s", tc.name, p)
				err := tc.call(ctx, clients[p])
				e2eWantCode(t, err, tc.code, what)
				if err != nil && !strings.Contains(err.Error(), tc.field) {
					t.Errorf("%s: the message %q does not name %q", what, err, tc.field)
				}
				if after := e2eCountRows(t, db); after != before {
					t.Fatalf("%s wrote to the database: rows %+v, were %+v", what, after, before)
				}
			}
		}
	}
	// The server is still fine, and the session unchanged.
	again, err := env.Services(assisttest.GRPC, advisor).Session.GetSession(ctx, &assistv1.GetSessionRequest{SessionId: sid})
	if err != nil {
		t.Fatal(err)
	}
	if again.GetSession().GetLastSeq() != lastSeq || again.GetSession().GetState() != assistv1.SessionState_SESSION_STATE_ACTIVE {
		t.Errorf("after the bad requests the session is %v, want it active at seq %d", again.GetSession(), lastSeq)
	}
}

// A bad request on a bidi Chat stream that is still replaying a long log
// ends that stream with the request's error, and nothing else: the server
// keeps serving (a write to the finished stream used to crash it).
func badinputBusyChat(t *testing.T, env *assisttest.Env, advisor string) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sid, customer := e2eActiveSession(t, env, advisor, "Bo")
	var wg sync.WaitGroup
	for i := range 4 {
		chat := env.Services(assisttest.Protocols[i%len(assisttest.Protocols)], customer).Chat
		wg.Go(func() {
			for j := range 100 {
				if _, err := e2eSendText(ctx, chat, sid, fmt.Sprintf("fill-%d-%d", i, j), fmt.Sprintf("filler %d %d", i, j)); err != nil {
					t.Errorf("fill the log: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	// The failing requests take about as long to fail as the replay takes
	// to start, so that the stream fails while the replay is written out.
	for round := range 30 {
		p := assisttest.Protocols[round%len(assisttest.Protocols)]
		err := badinputChat(ctx, env.Services(p, customer).Chat, badinputOpen(sid, 0), badinputOpen(sid, 0))
		e2eWantCode(t, err, connect.CodeInvalidArgument, fmt.Sprintf("round %d over %s: a second open while the replay runs", round, p))
	}
	if _, err := env.Services(assisttest.Connect, advisor).Session.GetSession(ctx, &assistv1.GetSessionRequest{SessionId: sid}); err != nil {
		t.Fatalf("the server stopped serving: %v", err)
	}
}
