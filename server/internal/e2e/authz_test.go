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
	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assisttest"
)

// authzCall is one RPC aimed at a session; streams count as answered once
// their first message (or error) arrives.
type authzCall struct {
	name string
	call func(ctx context.Context, c *assisttest.Clients, sessionID string) error
}

// authzChatCalls are the ChatService RPCs, which customers and advisors
// both make on a session.
var authzChatCalls = []authzCall{
	{"ChatService.Subscribe", func(ctx context.Context, c *assisttest.Clients, sid string) error {
		return e2eSubscribeFirstError(ctx, c.Chat, &assistv1.SubscribeRequest{SessionId: sid})
	}},
	{"ChatService.Subscribe(after_seq)", func(ctx context.Context, c *assisttest.Clients, sid string) error {
		return e2eSubscribeFirstError(ctx, c.Chat, &assistv1.SubscribeRequest{SessionId: sid, AfterSeq: 1})
	}},
	{"ChatService.Chat(open)", func(ctx context.Context, c *assisttest.Clients, sid string) error {
		return e2eChatOpenFirstError(ctx, c.Chat, &assistv1.ChatRequest{Action: &assistv1.ChatRequest_Open{Open: &assistv1.ChatOpen{SessionId: sid}}})
	}},
	{"ChatService.Send(message)", func(ctx context.Context, c *assisttest.Clients, sid string) error {
		_, err := e2eSendText(ctx, c.Chat, sid, "authz-"+uuid.NewString(), "may I?")
		return err
	}},
	{"ChatService.Send(typing)", func(ctx context.Context, c *assisttest.Clients, sid string) error {
		_, err := c.Chat.Send(ctx, &assistv1.SendRequest{SessionId: sid, Content: &assistv1.SendRequest_Typing{Typing: &assistv1.ChatTyping{Active: true}}})
		return err
	}},
	{"ChatService.GetTranscript", func(ctx context.Context, c *assisttest.Clients, sid string) error {
		_, err := c.Chat.GetTranscript(ctx, &assistv1.GetTranscriptRequest{SessionId: sid})
		return err
	}},
}

// authzReadCalls are the ChatService RPCs that only read.
var authzReadCalls = []string{"ChatService.Subscribe", "ChatService.Subscribe(after_seq)", "ChatService.Chat(open)", "ChatService.GetTranscript"}

// authzAdvisorSessionCalls are the SessionService RPCs aimed at a session.
// EndSession sends the one outcome that is valid for any session.
var authzAdvisorSessionCalls = []authzCall{
	{"SessionService.GetSession", func(ctx context.Context, c *assisttest.Clients, sid string) error {
		_, err := c.Session.GetSession(ctx, &assistv1.GetSessionRequest{SessionId: sid})
		return err
	}},
	{"SessionService.PickUpSession", func(ctx context.Context, c *assisttest.Clients, sid string) error {
		_, err := c.Session.PickUpSession(ctx, &assistv1.PickUpSessionRequest{SessionId: sid})
		return err
	}},
	{"SessionService.EndSession", func(ctx context.Context, c *assisttest.Clients, sid string) error {
		_, err := c.Session.EndSession(ctx, &assistv1.EndSessionRequest{SessionId: sid, Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_UNKNOWN})
		return err
	}},
	// The advisor named is unknown: the caller's rights are checked first
	// (transfer_invite_test.go covers real colleagues).
	{"SessionService.TransferSession", func(ctx context.Context, c *assisttest.Clients, sid string) error {
		_, err := c.Session.TransferSession(ctx, &assistv1.TransferSessionRequest{SessionId: sid, ToAdvisorId: uuid.NewString()})
		return err
	}},
	{"SessionService.InviteAdvisor", func(ctx context.Context, c *assisttest.Clients, sid string) error {
		_, err := c.Session.InviteAdvisor(ctx, &assistv1.InviteAdvisorRequest{SessionId: sid, AdvisorId: uuid.NewString()})
		return err
	}},
}

// authzAccountCalls are the RPCs that name no session.
var authzAccountCalls = []authzCall{
	{"SessionService.WatchQueue", func(ctx context.Context, c *assisttest.Clients, _ string) error {
		stream, err := c.Session.WatchQueue(ctx, &assistv1.WatchQueueRequest{})
		if err != nil {
			return err
		}
		defer stream.Close()
		_, err = stream.Receive()
		return err
	}},
	{"SessionService.ListSessions", func(ctx context.Context, c *assisttest.Clients, _ string) error {
		_, err := c.Session.ListSessions(ctx, &assistv1.ListSessionsRequest{})
		return err
	}},
	{"SessionService.ListColleagues", func(ctx context.Context, c *assisttest.Clients, _ string) error {
		_, err := c.Session.ListColleagues(ctx, &assistv1.ListColleaguesRequest{})
		return err
	}},
	{"SessionService.ListServedPortals", func(ctx context.Context, c *assisttest.Clients, _ string) error {
		_, err := c.Session.ListServedPortals(ctx, &assistv1.ListServedPortalsRequest{})
		return err
	}},
	{"SessionService.RevokeSessionCode", func(ctx context.Context, c *assisttest.Clients, _ string) error {
		_, err := c.Session.RevokeSessionCode(ctx, &assistv1.RevokeSessionCodeRequest{PortalId: uuid.NewString(), Code: "123456"})
		return err
	}},
	{"SessionService.ListSessionCodes", func(ctx context.Context, c *assisttest.Clients, _ string) error {
		_, err := c.Session.ListSessionCodes(ctx, &assistv1.ListSessionCodesRequest{})
		return err
	}},
	// An unknown portal: the caller is checked first (routing_test.go
	// covers real code-mode portals).
	{"SessionService.CreateSessionCode", func(ctx context.Context, c *assisttest.Clients, _ string) error {
		_, err := c.Session.CreateSessionCode(ctx, &assistv1.CreateSessionCodeRequest{PortalId: uuid.NewString()})
		return err
	}},
	{"AuthService.Logout", func(ctx context.Context, c *assisttest.Clients, _ string) error {
		_, err := c.Auth.Logout(ctx, &assistv1.LogoutRequest{})
		return err
	}},
}

func authzAll(sets ...[]authzCall) []authzCall {
	var all []authzCall
	for _, s := range sets {
		all = append(all, s...)
	}
	return all
}

// authzFixture is an account's worth of sessions and callers.
type authzFixture struct {
	env *assisttest.Env
	// active is led by advisor; customer is its customer.
	active, customer string
	// other is another active session of the same account, led by advisor.
	other, otherCustomer string
	// waiting waits in the demo portal's queue.
	waiting, waitingCustomer string
	advisor, advisor2        string // advisor tokens
	advisor2ID               string
	// foreign* belong to another account with its own portal and advisor.
	foreignAdvisor, foreignWaiting, foreignCustomer, foreignPortalID string
	demoPortalID                                                     string
}

const (
	authzForeignEmail    = "olga@other.example"
	authzForeignPassword = "other-advisor-password"
	authzForeignSlug     = "other"
)

func authzSetup(ctx context.Context, t *testing.T) *authzFixture {
	t.Helper()
	env := assisttest.Start(t)
	f := &authzFixture{env: env}
	f.advisor = env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	f.active, f.customer = e2eActiveSession(t, env, f.advisor, "Ada")
	f.other, f.otherCustomer = e2eActiveSession(t, env, f.advisor, "Otto")
	waiting, waitingCustomer := env.StartSession(t, "Wendy")
	f.waiting, f.waitingCustomer, f.demoPortalID = waiting.GetId(), waitingCustomer, waiting.GetPortalId()
	login, err := env.Services(assisttest.Connect, "").Auth.Login(ctx, &assistv1.LoginRequest{Email: assisttest.Advisor2Email, Password: assisttest.Advisor2Password})
	if err != nil {
		t.Fatal(err)
	}
	f.advisor2, f.advisor2ID = login.GetAccessToken(), login.GetAdvisor().GetId()

	// Another account, created in the database: the API has no way yet.
	hash, err := bcrypt.GenerateFromPassword([]byte(authzForeignPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	db := e2eDB(t, env.DatabaseURL)
	if _, err := db.Exec(ctx, `
		WITH acc AS (INSERT INTO accounts (name) VALUES ('Other') RETURNING id),
		adv AS (INSERT INTO advisors (account_id, email, display_name, password_hash)
		        SELECT id, $1, 'Olga (other account)', $2 FROM acc RETURNING id),
		portal AS (INSERT INTO portals (account_id, slug, display_name, mode)
		           SELECT id, $3, 'Other support', $4 FROM acc RETURNING id)
		INSERT INTO portal_advisors (portal_id, advisor_id) SELECT portal.id, adv.id FROM portal, adv`,
		authzForeignEmail, string(hash), authzForeignSlug, int16(assistv1.PortalMode_PORTAL_MODE_QUEUE)); err != nil {
		t.Fatalf("create the other account: %v", err)
	}
	f.foreignAdvisor = env.Login(t, authzForeignEmail, authzForeignPassword)
	res, err := env.Services(assisttest.Connect, "").Portal.StartSession(ctx, &assistv1.StartSessionRequest{
		PortalSlug: authzForeignSlug, Customer: &assistv1.CustomerInfo{DisplayName: "Frank"}})
	if err != nil {
		t.Fatalf("start a session on the other account: %v", err)
	}
	f.foreignWaiting, f.foreignCustomer, f.foreignPortalID = res.GetSession().GetId(), res.GetCustomerToken(), res.GetSession().GetPortalId()
	return f
}

// authzOK expects a call to succeed.
const authzOK connect.Code = 0

// authzExpect runs calls as token on sessionID over every protocol and
// expects code (or success) from each.
func authzExpect(ctx context.Context, t *testing.T, env *assisttest.Env, who, token, sessionID string, calls []authzCall, want connect.Code) {
	t.Helper()
	for _, p := range assisttest.Protocols {
		c := env.Services(p, token)
		for _, call := range calls {
			err := call.call(ctx, c, sessionID)
			what := fmt.Sprintf("%s: %s over %s", who, call.name, p)
			if want == authzOK {
				if err != nil {
					t.Errorf("%s: %v, want success", what, err)
				}
				continue
			}
			e2eWantCode(t, err, want, what)
		}
	}
}

func authzOnly(calls []authzCall, names ...string) []authzCall {
	var out []authzCall
	for _, c := range calls {
		for _, n := range names {
			if c.name == n {
				out = append(out, c)
			}
		}
	}
	return out
}

func authzExcept(calls []authzCall, names ...string) []authzCall {
	var out []authzCall
next:
	for _, c := range calls {
		for _, n := range names {
			if c.name == n {
				continue next
			}
		}
		out = append(out, c)
	}
	return out
}

// TestAuthorization proves who may call what, on one account's worth of
// sessions and callers plus a second account.
func TestAuthorization(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	f := authzSetup(ctx, t)
	for name, behaviour := range map[string]func(*testing.T, *authzFixture){
		"EveryRPCRejectsAMissingBadOrRevokedToken":               authzTokens,
		"CustomerTokenReachesOnlyItsOwnSession":                  authzCustomer,
		"AdvisorReachesOnlySessionsOfTheirAccountTheyTakePartIn": authzAdvisor,
		"UnimplementedRPCsAnswerUnimplemented":                   authzUnimplemented,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			behaviour(t, f)
		})
	}
}

// Every RPC that needs a caller, streams and replays included, refuses a
// call without a token, with a token that is not one, and with a token
// revoked by Logout: Unauthenticated, before anything else is looked at.
func authzTokens(t *testing.T, f *authzFixture) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	env, sid := f.env, f.active
	revoked := env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	if _, err := env.Services(assisttest.Connect, revoked).Auth.Logout(ctx, &assistv1.LogoutRequest{}); err != nil {
		t.Fatalf("logout: %v", err)
	}
	calls := authzAll(authzChatCalls, authzAdvisorSessionCalls, authzAccountCalls)
	for _, tc := range []struct{ who, token string }{
		{"no token", ""},
		{"a garbage token", "not-a-token"},
		{"an unknown advisor-looking token", "ast_adv_" + strings.Repeat("A", 43)},
		{"an unknown customer-looking token", "ast_cus_" + strings.Repeat("B", 43)},
		{"an oversized token", "ast_adv_" + strings.Repeat("C", 4000)},
		{"a token revoked by Logout", revoked},
	} {
		authzExpect(ctx, t, env, tc.who, tc.token, sid, calls, connect.CodeUnauthenticated)
		// On an unknown session too: authentication comes first.
		authzExpect(ctx, t, env, tc.who+" (unknown session)", tc.token, uuid.NewString(), authzAll(authzChatCalls, authzAdvisorSessionCalls), connect.CodeUnauthenticated)
	}
}

// A customer token reaches its own session only: any other session — of
// the same account, of another account, or none at all — is NotFound with
// the same message, on streams and unary calls alike; advisor RPCs are
// PermissionDenied.
func authzCustomer(t *testing.T, f *authzFixture) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	env := f.env

	// Its own session works, reading and chatting.
	authzExpect(ctx, t, env, "customer on its session", f.customer, f.active, authzChatCalls, authzOK)

	for _, target := range []struct{ what, sid string }{
		{"another session of the account", f.other},
		{"a waiting session of the account", f.waiting},
		{"a session of another account", f.foreignWaiting},
		{"an unknown session", uuid.NewString()},
	} {
		authzExpect(ctx, t, env, "customer on "+target.what, f.customer, target.sid, authzChatCalls, connect.CodeNotFound)
	}
	// NotFound says the same whether the session exists or not, so ids
	// cannot be probed.
	c := env.Services(assisttest.Connect, f.customer)
	_, theirs := c.Chat.GetTranscript(ctx, &assistv1.GetTranscriptRequest{SessionId: f.other})
	_, none := c.Chat.GetTranscript(ctx, &assistv1.GetTranscriptRequest{SessionId: uuid.NewString()})
	if theirs == nil || none == nil || theirs.Error() != none.Error() {
		t.Errorf("someone else's session answers %v, an unknown one %v: they must read the same", theirs, none)
	}
	// The foreign customer cannot reach into this account either.
	authzExpect(ctx, t, env, "foreign customer", f.foreignCustomer, f.active, authzChatCalls, connect.CodeNotFound)

	// Advisor RPCs, even on its own session.
	authzExpect(ctx, t, env, "customer", f.customer, f.active, authzAll(authzAdvisorSessionCalls, authzAccountCalls), connect.CodePermissionDenied)
	authzExpect(ctx, t, env, "customer of the waiting session", f.waitingCustomer, f.waiting, authzAdvisorSessionCalls, connect.CodePermissionDenied)
}

// An advisor reaches the sessions of their account that they take part in,
// plus the waiting sessions of their portals (to read, pick up or end,
// not to chat); anything else is NotFound, like a session that does not
// exist. An invited advisor may chat but not end the session.
func authzAdvisor(t *testing.T, f *authzFixture) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	env := f.env
	chatWrites := []string{"ChatService.Send(message)", "ChatService.Send(typing)"}

	// The lead reaches their session.
	authzExpect(ctx, t, env, "lead advisor", f.advisor, f.active, authzAll(authzChatCalls, authzOnly(authzAdvisorSessionCalls, "SessionService.GetSession")), authzOK)

	// advisor2 serves the portal but takes no part in the active session.
	authzExpect(ctx, t, env, "advisor not taking part", f.advisor2, f.active,
		authzAll(authzChatCalls, authzExcept(authzAdvisorSessionCalls, "SessionService.PickUpSession")), connect.CodeNotFound)
	// Picking it up is too late, as for a loser of the race.
	authzExpect(ctx, t, env, "advisor not taking part", f.advisor2, f.active,
		authzOnly(authzAdvisorSessionCalls, "SessionService.PickUpSession"), connect.CodeFailedPrecondition)

	// A waiting session of advisor2's portal: readable, not writable.
	authzExpect(ctx, t, env, "portal advisor on a waiting session", f.advisor2, f.waiting,
		authzAll(authzOnly(authzChatCalls, authzReadCalls...), authzOnly(authzAdvisorSessionCalls, "SessionService.GetSession")), authzOK)
	authzExpect(ctx, t, env, "portal advisor on a waiting session", f.advisor2, f.waiting, authzOnly(authzChatCalls, chatWrites...), connect.CodePermissionDenied)
	// On the bidi stream, the open succeeds and the first message is refused.
	stream, err := env.Services(assisttest.GRPC, f.advisor2).Chat.Chat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	if err := stream.Send(&assistv1.ChatRequest{Action: &assistv1.ChatRequest_Open{Open: &assistv1.ChatOpen{SessionId: f.waiting}}}); err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&assistv1.ChatRequest{Action: &assistv1.ChatRequest_Send{Send: &assistv1.ChatSend{ClientMessageId: "too-early", Text: "hello?"}}}); err != nil {
		t.Fatal(err)
	}
	for {
		res, err := stream.Receive()
		if err == nil {
			err = e2eRejection(res)
		}
		if err != nil {
			e2eWantCode(t, err, connect.CodePermissionDenied, "portal advisor chatting on the bidi stream of a waiting session")
			break
		}
	}

	// Another account's advisor reaches nothing here, not even the queue.
	for _, sid := range []string{f.active, f.waiting} {
		authzExpect(ctx, t, env, "foreign advisor", f.foreignAdvisor, sid, authzAll(authzChatCalls, authzAdvisorSessionCalls), connect.CodeNotFound)
	}
	authzExpect(ctx, t, env, "advisor on another account's waiting session", f.advisor, f.foreignWaiting, authzAll(authzChatCalls, authzAdvisorSessionCalls), connect.CodeNotFound)
	_, err = authzWatchQueueFirst(ctx, env.Services(assisttest.Connect, f.foreignAdvisor), f.demoPortalID)
	e2eWantCode(t, err, connect.CodeNotFound, "foreign advisor watching the demo portal's queue")
	snap, err := authzWatchQueueFirst(ctx, env.Services(assisttest.Connect, f.foreignAdvisor), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := snap.GetSnapshot().GetSessions(); len(got) != 1 || got[0].GetId() != f.foreignWaiting {
		t.Errorf("foreign advisor's queue shows %v, want only their own waiting session", got)
	}
	_, err = authzWatchQueueFirst(ctx, env.Services(assisttest.Connect, f.advisor), f.foreignPortalID)
	e2eWantCode(t, err, connect.CodeNotFound, "advisor watching another account's portal")

	// ListSessions lists what the advisor takes part in, nothing else.
	listed := func(token string) map[string]bool {
		res, err := env.Services(assisttest.GRPC, token).Session.ListSessions(ctx, &assistv1.ListSessionsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, s := range res.GetSessions() {
			ids[s.GetId()] = true
		}
		return ids
	}
	if got := listed(f.advisor); !got[f.active] || !got[f.other] || got[f.waiting] || got[f.foreignWaiting] {
		t.Errorf("lead advisor lists %v, want %s and %s only", got, f.active, f.other)
	}
	if got := listed(f.advisor2); len(got) != 0 {
		t.Errorf("advisor2 takes part in nothing but lists %v", got)
	}
	if got := listed(f.foreignAdvisor); len(got) != 0 {
		t.Errorf("foreign advisor lists %v", got)
	}

	// An invited advisor takes part: may read and chat, may not end the
	// session, transfer it or invite others.
	if _, err := env.Services(assisttest.Connect, f.advisor).Session.InviteAdvisor(ctx, &assistv1.InviteAdvisorRequest{SessionId: f.other, AdvisorId: f.advisor2ID}); err != nil {
		t.Fatalf("the lead inviting advisor2: %v", err)
	}
	authzExpect(ctx, t, env, "invited advisor", f.advisor2, f.other, authzAll(authzChatCalls, authzOnly(authzAdvisorSessionCalls, "SessionService.GetSession")), authzOK)
	authzExpect(ctx, t, env, "invited advisor", f.advisor2, f.other,
		authzOnly(authzAdvisorSessionCalls, "SessionService.EndSession", "SessionService.TransferSession", "SessionService.InviteAdvisor"), connect.CodePermissionDenied)
	got, err := env.Services(assisttest.Connect, f.advisor2).Session.GetSession(ctx, &assistv1.GetSessionRequest{SessionId: f.other})
	if err != nil {
		t.Fatal(err)
	}
	if ids := got.GetSession().GetInvitedAdvisorIds(); len(ids) != 1 || ids[0] != f.advisor2ID {
		t.Errorf("invited advisors are %v, want [%s]", ids, f.advisor2ID)
	}

	// Last, as it changes the fixture: a portal advisor may end a waiting
	// session, and the lead their own.
	// Once ended, it is no longer waiting: advisor2, who took no part in it,
	// no longer reaches it.
	if _, err := env.Services(assisttest.GRPC, f.advisor2).Session.EndSession(ctx, &assistv1.EndSessionRequest{
		SessionId: f.waiting, Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_UNKNOWN}); err != nil {
		t.Errorf("portal advisor ending a waiting session: %v", err)
	}
	authzExpect(ctx, t, env, "portal advisor after ending a waiting session", f.advisor2, f.waiting,
		authzAll(authzOnly(authzChatCalls, authzReadCalls...), authzOnly(authzAdvisorSessionCalls, "SessionService.GetSession")), connect.CodeNotFound)
	authzExpect(ctx, t, env, "lead ending their session", f.advisor, f.other, authzOnly(authzAdvisorSessionCalls, "SessionService.EndSession"), authzOK)
}

func authzWatchQueueFirst(ctx context.Context, c *assisttest.Clients, portalID string) (*assistv1.WatchQueueResponse, error) {
	req := &assistv1.WatchQueueRequest{}
	if portalID != "" {
		req.PortalIds = []string{portalID}
	}
	stream, err := c.Session.WatchQueue(ctx, req)
	if err != nil {
		return nil, err
	}
	defer stream.Close()
	return stream.Receive()
}

// authzImplemented lists the RPCs this server implements. Every other RPC
// of the contract must answer Unimplemented; add an RPC here (and to the
// matrices above) when it is implemented.
var authzImplemented = map[string]bool{
	"/assist.v1.PortalService/GetQueuePosition": true,
	"/assist.v1.AuthService/Login":              true,
	"/assist.v1.AuthService/Logout":             true,
	"/assist.v1.PortalService/GetPortal":        true,
	"/assist.v1.PortalService/StartSession":     true,
	"/assist.v1.ChatService/Chat":               true,
	"/assist.v1.ChatService/Subscribe":          true,
	"/assist.v1.ChatService/Send":               true,
	"/assist.v1.ChatService/GetTranscript":      true,
	"/assist.v1.SessionService/WatchQueue":      true,
	"/assist.v1.SessionService/PickUpSession":   true,
	"/assist.v1.SessionService/GetSession":      true,
	"/assist.v1.SessionService/ListSessions":    true,
	"/assist.v1.SessionService/EndSession":      true,
	// Who serves a session (transfer_invite_test.go).
	"/assist.v1.SessionService/TransferSession": true,
	"/assist.v1.SessionService/InviteAdvisor":   true,
	"/assist.v1.SessionService/ListColleagues":  true,
	// Code and web mode (routing_test.go).
	"/assist.v1.SessionService/CreateSessionCode": true,
	"/assist.v1.SessionService/ListSessionCodes":  true,
	"/assist.v1.SessionService/ListServedPortals": true,
	"/assist.v1.SessionService/RevokeSessionCode": true,
	// Reports and administration (reports_test.go, admin_test.go).
	"/assist.v1.ReportService/ListSessionReports":      true,
	"/assist.v1.ReportService/GetSessionReport":        true,
	"/assist.v1.ReportService/ExportSessionReports":    true,
	"/assist.v1.ReportService/ListReportFilterOptions": true,
	"/assist.v1.AdminService/CreateAdvisor":            true,
	"/assist.v1.AdminService/ListAdvisors":             true,
	"/assist.v1.AdminService/UpdateAdvisor":            true,
	"/assist.v1.AdminService/CreatePortal":             true,
	"/assist.v1.AdminService/ListPortals":              true,
	"/assist.v1.AdminService/UpdatePortal":             true,
	"/assist.v1.AdminService/CreateApiKey":             true,
	"/assist.v1.AdminService/ListApiKeys":              true,
	"/assist.v1.AdminService/RevokeApiKey":             true,
	"/assist.v1.AdminService/ListAuditEvents":          true,
	"/assist.v1.SessionService/WatchAdvisor":           true,
	// Upgrade (upgrade_test.go proves their rules and authorization).
	"/assist.v1.SessionService/UpgradeSession":           true,
	"/assist.v1.CustomerAppService/RedeemOpener":         true,
	"/assist.v1.CustomerAppService/RespondToScreenShare": true,
	"/assist.v1.AdminService/GetAccountSettings":         true,
	"/assist.v1.AdminService/UpdateAccountSettings":      true,
}

// authzAnonymous lists the RPCs anyone may call.
var authzAnonymous = map[string]bool{
	"/assist.v1.AuthService/Login":               true,
	"/assist.v1.PortalService/GetPortal":         true,
	"/assist.v1.PortalService/StartSession":      true,
	"/assist.v1.CustomerAppService/RedeemOpener": true,
}

// authzValidRequest returns a request that passes validation for an
// unimplemented RPC, so that the answer is about the RPC and not the
// request; nil means an empty request is valid.
func authzValidRequest(procedure string) proto.Message {
	id, other := uuid.NewString(), uuid.NewString()
	switch procedure {
	case "/assist.v1.PortalService/GetPortal":
		return &assistv1.GetPortalRequest{PortalSlug: assisttest.PortalSlug}
	case "/assist.v1.CustomerAppService/RedeemOpener":
		return &assistv1.RedeemOpenerRequest{OpenerToken: "opener"}
	case "/assist.v1.CustomerAppService/RespondToScreenShare":
		return &assistv1.RespondToScreenShareRequest{SessionId: id, Accepted: true}
	case "/assist.v1.ReportService/GetSessionReport":
		return &assistv1.GetSessionReportRequest{SessionId: id}
	case "/assist.v1.AdminService/UpdateAccountSettings":
		return &assistv1.UpdateAccountSettingsRequest{
			Settings: &assistv1.AccountSettings{
				UpgradeHandoff:                assistv1.UpgradeHandoff_UPGRADE_HANDOFF_TRANSFER_TO_APP,
				OpenerLifetime:                durationpb.New(10 * time.Minute),
				SessionCodeLifetime:           durationpb.New(20 * time.Minute),
				MaxLiveSessionCodesPerAdvisor: 10,
			},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"web_chat_enabled"}},
		}
	case "/assist.v1.AdminService/CreateAdvisor":
		return &assistv1.CreateAdvisorRequest{Email: "new@demo.example", DisplayName: "New", Password: "a long enough password"}
	case "/assist.v1.AdminService/UpdateAdvisor":
		return &assistv1.UpdateAdvisorRequest{AdvisorId: id, DisplayName: "Renamed", UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}}}
	case "/assist.v1.AdminService/CreatePortal":
		return &assistv1.CreatePortalRequest{Slug: "new-portal", DisplayName: "New", Mode: assistv1.PortalMode_PORTAL_MODE_QUEUE}
	case "/assist.v1.AdminService/CreateApiKey":
		return &assistv1.CreateApiKeyRequest{Name: "key", Scopes: []assistv1.ApiKeyScope{assistv1.ApiKeyScope_API_KEY_SCOPE_SESSIONS_READ}}
	case "/assist.v1.AdminService/RevokeApiKey":
		return &assistv1.RevokeApiKeyRequest{ApiKeyId: id}
	case "/assist.v1.SessionService/CreateSessionCode":
		return &assistv1.CreateSessionCodeRequest{PortalId: id}
	case "/assist.v1.SessionService/UpgradeSession":
		return &assistv1.UpgradeSessionRequest{SessionId: id}
	case "/assist.v1.SessionService/TransferSession":
		return &assistv1.TransferSessionRequest{SessionId: id, ToAdvisorId: other}
	case "/assist.v1.SessionService/InviteAdvisor":
		return &assistv1.InviteAdvisorRequest{SessionId: id, AdvisorId: other}
	}
	return nil
}

// authzInvoke calls any RPC of the contract with a valid request, and
// returns the error it ends with (nil if a response arrives).
func authzInvoke(ctx context.Context, client *connect.Client, md protoreflect.MethodDescriptor) error {
	spec := connect.Spec{Schema: md, Procedure: fmt.Sprintf("/%s/%s", md.Parent().FullName(), md.Name())}
	if md.IsStreamingClient() {
		spec.StreamType |= connect.StreamTypeClient
	}
	if md.IsStreamingServer() {
		spec.StreamType |= connect.StreamTypeServer
	}
	var req proto.Message = dynamicpb.NewMessage(md.Input())
	if valid := authzValidRequest(spec.Procedure); valid != nil {
		if valid.ProtoReflect().Descriptor().FullName() != md.Input().FullName() {
			return fmt.Errorf("test bug: %s takes %s, not %T", spec.Procedure, md.Input().FullName(), valid)
		}
		req = valid
	}
	res := dynamicpb.NewMessage(md.Output())
	var stream connect.ClientStream
	var err error
	switch spec.StreamType {
	case connect.StreamTypeUnary:
		return client.CallUnary(ctx, spec, req, res)
	case connect.StreamTypeServer:
		stream, err = client.CallServerStream(ctx, spec, req)
		if err != nil {
			return err
		}
	default:
		stream, err = client.CallClientStream(ctx, spec)
		if err != nil {
			return err
		}
		if err := stream.Send(req); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if err := stream.CloseSend(); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
	}
	defer stream.Close()
	err = stream.Receive(res)
	if errors.Is(err, io.EOF) {
		return errors.New("stream ended without an answer")
	}
	return err
}

// Every RPC of the contract that the server does not implement yet answers
// Unimplemented to an authenticated caller, and Unauthenticated to an
// anonymous one unless anyone may call it.
func authzUnimplemented(t *testing.T, f *authzFixture) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	env, advisor, customer := f.env, f.advisor, f.customer
	var rpcs, unimplemented int
	for _, file := range []protoreflect.FileDescriptor{
		assistv1.File_assist_v1_auth_service_proto, assistv1.File_assist_v1_portal_service_proto,
		assistv1.File_assist_v1_chat_service_proto, assistv1.File_assist_v1_session_service_proto,
		assistv1.File_assist_v1_customer_app_service_proto, assistv1.File_assist_v1_report_service_proto,
		assistv1.File_assist_v1_admin_service_proto,
	} {
		for i := range file.Services().Len() {
			methods := file.Services().Get(i).Methods()
			for j := range methods.Len() {
				md := methods.Get(j)
				procedure := fmt.Sprintf("/%s/%s", md.Parent().FullName(), md.Name())
				rpcs++
				if authzImplemented[procedure] {
					continue
				}
				unimplemented++
				p := assisttest.Protocols[unimplemented%len(assisttest.Protocols)]
				for who, token := range map[string]string{"advisor": advisor, "customer": customer} {
					err := authzInvoke(ctx, env.Client(p, token), md)
					e2eWantCode(t, err, connect.CodeUnimplemented, fmt.Sprintf("%s as %s over %s", procedure, who, p))
				}
				want := connect.CodeUnauthenticated
				if authzAnonymous[procedure] {
					want = connect.CodeUnimplemented
				}
				e2eWantCode(t, authzInvoke(ctx, env.Client(p, ""), md), want, fmt.Sprintf("%s anonymously over %s", procedure, p))
			}
		}
	}
	if rpcs == 0 {
		t.Fatal("found no RPC: is the contract loaded?")
	}
	t.Logf("%d RPCs, %d not implemented", rpcs, unimplemented)
}
