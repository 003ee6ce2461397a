package e2e

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/gen/go/assist/v1/assistv1connect"
	"github.com/assist-chat/assist/server/internal/assisttest"
)

// transferCast is who takes part in a transfer or an invitation: the lead
// who picked the session up, two other advisors of the account who serve
// its portal but take no part in it yet, and the session's customer.
type transferCast struct {
	env                *assisttest.Env
	db                 *pgx.Conn
	lead, other, third pickupAdvisor
	sid, customer      string
}

func transferSetup(ctx context.Context, t *testing.T) *transferCast {
	t.Helper()
	env := assisttest.Start(t)
	c := &transferCast{
		env:   env,
		db:    e2eDB(t, env.DatabaseURL),
		lead:  pickupLogin(ctx, t, env, assisttest.AdvisorEmail, assisttest.AdvisorPassword),
		other: pickupLogin(ctx, t, env, assisttest.Advisor2Email, assisttest.Advisor2Password),
		third: pickupLogin(ctx, t, env, assisttest.AdminEmail, assisttest.AdminPassword),
	}
	c.sid, c.customer = e2eActiveSession(t, env, c.lead.token, "Ada")
	return c
}

// as is every service, over Connect, as the holder of token.
func (c *transferCast) as(token string) *assisttest.Clients {
	return c.env.Services(assisttest.Connect, token)
}

func (c *transferCast) invite(ctx context.Context, token, sid, advisorID string) (*assistv1.Session, error) {
	res, err := c.as(token).Session.InviteAdvisor(ctx, &assistv1.InviteAdvisorRequest{SessionId: sid, AdvisorId: advisorID})
	return res.GetSession(), err
}

func (c *transferCast) transfer(ctx context.Context, token, sid, toAdvisorID, reason string) (*assistv1.Session, error) {
	res, err := c.as(token).Session.TransferSession(ctx, &assistv1.TransferSessionRequest{SessionId: sid, ToAdvisorId: toAdvisorID, Reason: reason})
	return res.GetSession(), err
}

// get reads the session as the advisor with token, failing the test if
// they cannot.
func (c *transferCast) get(ctx context.Context, t *testing.T, token, sid string) *assistv1.Session {
	t.Helper()
	res, err := c.as(token).Session.GetSession(ctx, &assistv1.GetSessionRequest{SessionId: sid})
	if err != nil {
		t.Fatalf("get session %s: %v", sid, err)
	}
	return res.GetSession()
}

// follow subscribes to the whole log of sid as token, over protocol p; the
// stream closes with the test.
func (c *transferCast) follow(ctx context.Context, t *testing.T, p assisttest.Protocol, token, sid string) assistv1connect.ChatServiceSubscribeClientStream {
	t.Helper()
	stream, err := c.env.Services(p, token).Chat.Subscribe(ctx, &assistv1.SubscribeRequest{SessionId: sid, AfterSeq: 0})
	if err != nil {
		t.Fatalf("subscribe to %s: %v", sid, err)
	}
	t.Cleanup(func() { _ = stream.Close() })
	return stream
}

// anotherActiveSession is a second active session led by the lead.
func (c *transferCast) anotherActiveSession(t *testing.T, customerName string) string {
	t.Helper()
	sid, _ := e2eActiveSession(t, c.env, c.lead.token, customerName)
	return sid
}

// endedSession is a session the lead picked up and ended.
func (c *transferCast) endedSession(ctx context.Context, t *testing.T) string {
	t.Helper()
	sid := c.anotherActiveSession(t, "Ed")
	if _, err := c.as(c.lead.token).Session.EndSession(ctx, &assistv1.EndSessionRequest{SessionId: sid, Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED}); err != nil {
		t.Fatalf("end session: %v", err)
	}
	return sid
}

// foreignAdvisor creates an advisor of another account, in the
// database (the API cannot create accounts), and returns their id.
func (c *transferCast) foreignAdvisor(ctx context.Context, t *testing.T) string {
	t.Helper()
	var id string
	err := c.db.QueryRow(ctx, `
		WITH acc AS (INSERT INTO accounts (name) VALUES ('Other') RETURNING id)
		INSERT INTO advisors (account_id, email, display_name, password_hash)
		SELECT id, $1, 'Olga (other account)', 'no login' FROM acc RETURNING id::text`,
		"olga-"+uuid.NewString()+"@other.example").Scan(&id)
	if err != nil {
		t.Fatalf("create an advisor of another account: %v", err)
	}
	return id
}

// wantLeadAndInvitee checks that the session is still led by the lead,
// with the other advisor as its one invitee.
func (c *transferCast) wantLeadAndInvitee(ctx context.Context, t *testing.T) {
	t.Helper()
	if got := c.get(ctx, t, c.lead.token, c.sid); got.GetAdvisorId() != c.lead.id || !slices.Equal(got.GetInvitedAdvisorIds(), []string{c.other.id}) {
		t.Errorf("after the refusals the session has lead %s and invitees %v, want lead %s and invitees [%s]",
			got.GetAdvisorId(), got.GetInvitedAdvisorIds(), c.lead.id, c.other.id)
	}
}

// transferRefused expects call to fail with one of wants (any error if
// none is given) and to write nothing.
func transferRefused(t *testing.T, c *transferCast, what string, call func() error, wants ...connect.Code) {
	t.Helper()
	before := e2eCountRows(t, c.db)
	err := call()
	switch {
	case err == nil:
		t.Errorf("%s: succeeded, want it refused with %v", what, wants)
	case len(wants) > 0 && !slices.Contains(wants, connect.CodeOf(err)):
		t.Errorf("%s: got %v (%v), want %v", what, connect.CodeOf(err), err, wants)
	}
	e2eAssertNoLeak(t, err)
	if after := e2eCountRows(t, c.db); after != before {
		t.Errorf("%s wrote rows: %+v → %+v", what, before, after)
	}
}

func transferJoinOf(advisorID string) func(*assistv1.SessionEvent) bool {
	return func(ev *assistv1.SessionEvent) bool {
		p := ev.GetParticipantJoined().GetParticipant()
		return p.GetRole() == assistv1.ParticipantRole_PARTICIPANT_ROLE_ADVISOR && p.GetId() == advisorID
	}
}

func transferIsTransfer(ev *assistv1.SessionEvent) bool { return ev.GetSessionTransferred() != nil }

func transferIsAdvisor(p *assistv1.Participant, id string) bool {
	return p.GetRole() == assistv1.ParticipantRole_PARTICIPANT_ROLE_ADVISOR && p.GetId() == id
}

// The lead invites another advisor of the account: the session keeps its
// lead and lists the invitee, the customer sees them join, and the invitee
// reads the whole log and chats, but may neither end the session nor
// invite anyone.
func TestInviteAdvisorLetsTheInviteeReadAndChatButNotLead(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := transferSetup(ctx, t)
	customerLog := c.follow(ctx, t, assisttest.Connect, c.customer, c.sid)

	sess, err := c.invite(ctx, c.lead.token, c.sid, c.other.id)
	if err != nil {
		t.Fatalf("the lead inviting an advisor of the account: %v", err)
	}
	if sess.GetAdvisorId() != c.lead.id || !slices.Equal(sess.GetInvitedAdvisorIds(), []string{c.other.id}) {
		t.Errorf("after the invitation the session has lead %s and invitees %v, want lead %s and invitees [%s]",
			sess.GetAdvisorId(), sess.GetInvitedAdvisorIds(), c.lead.id, c.other.id)
	}
	receiveUntil(t, customerLog, transferJoinOf(c.other.id))

	// The invitee reads the session and its whole log, their own arrival
	// included.
	if got := c.get(ctx, t, c.other.token, c.sid); got.GetAdvisorId() != c.lead.id || !slices.Contains(got.GetInvitedAdvisorIds(), c.other.id) {
		t.Errorf("the invitee reads lead %s and invitees %v", got.GetAdvisorId(), got.GetInvitedAdvisorIds())
	}
	receiveUntil(t, c.follow(ctx, t, assisttest.GRPC, c.other.token, c.sid), transferJoinOf(c.other.id))

	// The invitee chats, and the customer reads it from them.
	sent, err := e2eSendText(ctx, c.as(c.other.token).Chat, c.sid, "invitee-1", "Hello, I am joining to help")
	if err != nil {
		t.Fatalf("the invitee sending a message: %v", err)
	}
	if !transferIsAdvisor(sent.GetAuthor(), c.other.id) {
		t.Errorf("the invitee's message is authored by %v", sent.GetAuthor())
	}
	got := receiveUntil(t, customerLog, isText("Hello, I am joining to help"))
	if author := got[len(got)-1].GetAuthor(); !transferIsAdvisor(author, c.other.id) {
		t.Errorf("the customer sees the invitee's message authored by %v", author)
	}

	// Leading stays the lead's.
	transferRefused(t, c, "the invitee ending the session", func() error {
		_, err := c.as(c.other.token).Session.EndSession(ctx, &assistv1.EndSessionRequest{SessionId: c.sid, Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED})
		return err
	}, connect.CodePermissionDenied)
	transferRefused(t, c, "the invitee inviting another advisor", func() error {
		_, err := c.invite(ctx, c.other.token, c.sid, c.third.id)
		return err
	}, connect.CodePermissionDenied)
	if got := c.get(ctx, t, c.lead.token, c.sid); got.GetState() != assistv1.SessionState_SESSION_STATE_ACTIVE || got.GetAdvisorId() != c.lead.id {
		t.Errorf("after the invitee's refused calls the session is %v led by %s, want active and led by %s", got.GetState(), got.GetAdvisorId(), c.lead.id)
	}
}

// Only the lead invites, only into an active session, only an advisor of
// the account who takes no part yet; every refusal writes nothing and
// leaves the session as it was.
func TestInviteAdvisorIsRefusedUnlessTheLeadInvitesANewcomerOfTheAccountToAnActiveSession(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := transferSetup(ctx, t)
	invite := func(token, sid, advisorID string) func() error {
		return func() error {
			_, err := c.invite(ctx, token, sid, advisorID)
			return err
		}
	}

	transferRefused(t, c, "the customer inviting", invite(c.customer, c.sid, c.other.id))
	// An advisor who takes no part may not read the session: NotFound, as
	// for any session one may not read, so that ids cannot be probed.
	transferRefused(t, c, "an advisor outside the session inviting", invite(c.third.token, c.sid, c.other.id), connect.CodeNotFound)

	transferRefused(t, c, "inviting an unknown advisor", invite(c.lead.token, c.sid, uuid.NewString()), connect.CodeNotFound)
	transferRefused(t, c, "inviting an advisor of another account", invite(c.lead.token, c.sid, c.foreignAdvisor(ctx, t)), connect.CodeNotFound)
	transferRefused(t, c, "inviting a malformed advisor id", invite(c.lead.token, c.sid, "not-a-uuid"), connect.CodeInvalidArgument)

	transferRefused(t, c, "the lead inviting himself", invite(c.lead.token, c.sid, c.lead.id), connect.CodeAlreadyExists)
	if _, err := c.invite(ctx, c.lead.token, c.sid, c.other.id); err != nil {
		t.Fatalf("the first invitation: %v", err)
	}
	transferRefused(t, c, "inviting an advisor a second time", invite(c.lead.token, c.sid, c.other.id), connect.CodeAlreadyExists)

	waiting, _ := c.env.StartSession(t, "Walt")
	transferRefused(t, c, "inviting into a waiting session", invite(c.lead.token, waiting.GetId(), c.other.id), connect.CodeFailedPrecondition)
	transferRefused(t, c, "inviting into an ended session", invite(c.lead.token, c.endedSession(ctx, t), c.other.id), connect.CodeFailedPrecondition)

	c.wantLeadAndInvitee(ctx, t)
}

// A transfer hands the lead over: the customer's log records who handed
// it to whom and why, the new lead chats and ends the session, and the
// old lead loses it at once: reads and sends are NotFound, and the streams
// they had open on it end within seconds, over every protocol.
func TestTransferSessionHandsTheLeadOverAndTheOldLeadLosesAccess(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := transferSetup(ctx, t)
	customerLog := c.follow(ctx, t, assisttest.Connect, c.customer, c.sid)
	const reason = "Billing question: Bea knows the invoices"

	// The old lead follows the session on every protocol; the first
	// replayed event proves each stream open before the transfer.
	oldLeadStreams := map[assisttest.Protocol]assistv1connect.ChatServiceSubscribeClientStream{}
	for _, p := range assisttest.Protocols {
		stream := c.follow(ctx, t, p, c.lead.token, c.sid)
		if _, err := stream.Receive(); err != nil {
			t.Fatalf("the old lead's stream over %s: %v", p, err)
		}
		oldLeadStreams[p] = stream
	}

	sess, err := c.transfer(ctx, c.lead.token, c.sid, c.other.id, reason)
	if err != nil {
		t.Fatalf("the lead transferring the session: %v", err)
	}
	if sess.GetAdvisorId() != c.other.id || sess.GetState() != assistv1.SessionState_SESSION_STATE_ACTIVE {
		t.Errorf("after the transfer the session is %v led by %s, want active and led by %s", sess.GetState(), sess.GetAdvisorId(), c.other.id)
	}
	if invited := sess.GetInvitedAdvisorIds(); slices.Contains(invited, c.lead.id) || slices.Contains(invited, c.other.id) {
		t.Errorf("after the transfer the invitees are %v: neither the old lead %s nor the new one %s belongs there", invited, c.lead.id, c.other.id)
	}

	// The old lead's streams end, whatever the code.
	ended := make(chan error, len(oldLeadStreams))
	for _, stream := range oldLeadStreams {
		go func() { ended <- e2eStreamEnd(stream.Receive) }()
	}
	endWait := time.After(5 * time.Second)
	for range oldLeadStreams {
		select {
		case err := <-ended:
			if errors.Is(err, io.EOF) {
				t.Errorf("an old lead's stream ended cleanly, as if the session had ended; want an error")
			}
		case <-endWait:
			t.Fatal("an old lead's Subscribe stream was still open 5 s after the transfer")
		}
	}

	// The customer's log records the transfer.
	got := receiveUntil(t, customerLog, transferIsTransfer)
	tr := got[len(got)-1].GetSessionTransferred()
	if !transferIsAdvisor(tr.GetFromAdvisor(), c.lead.id) || !transferIsAdvisor(tr.GetToAdvisor(), c.other.id) || tr.GetReason() != reason {
		t.Errorf("the log records the transfer as %v, want from advisor %s to advisor %s because %q", tr, c.lead.id, c.other.id, reason)
	}

	// The old lead reaches the session no more, as if it did not exist.
	_, err = c.as(c.lead.token).Session.GetSession(ctx, &assistv1.GetSessionRequest{SessionId: c.sid})
	e2eWantCode(t, err, connect.CodeNotFound, "the old lead reading the session")
	_, err = e2eSendText(ctx, c.as(c.lead.token).Chat, c.sid, "old-lead-1", "still there?")
	e2eWantCode(t, err, connect.CodeNotFound, "the old lead sending a message")
	transferRefused(t, c, "the old lead handing the session on again", func() error {
		_, err := c.transfer(ctx, c.lead.token, c.sid, c.third.id, "one more time")
		return err
	}, connect.CodeNotFound)

	// The new lead reads the log, transfer included, chats with the
	// customer and ends the session.
	receiveUntil(t, c.follow(ctx, t, assisttest.GRPC, c.other.token, c.sid), transferIsTransfer)
	if _, err := e2eSendText(ctx, c.as(c.other.token).Chat, c.sid, "new-lead-1", "Hi, Bea here, I can help with billing"); err != nil {
		t.Fatalf("the new lead sending a message: %v", err)
	}
	got = receiveUntil(t, customerLog, isText("Hi, Bea here, I can help with billing"))
	if author := got[len(got)-1].GetAuthor(); !transferIsAdvisor(author, c.other.id) {
		t.Errorf("the customer sees the new lead's message authored by %v", author)
	}
	if _, err := e2eSendText(ctx, c.as(c.customer).Chat, c.sid, "customer-1", "Great, thanks"); err != nil {
		t.Errorf("the customer sending after the transfer: %v", err)
	}
	end, err := c.as(c.other.token).Session.EndSession(ctx, &assistv1.EndSessionRequest{SessionId: c.sid, Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED})
	if err != nil {
		t.Fatalf("the new lead ending the session: %v", err)
	}
	if end.GetSession().GetState() != assistv1.SessionState_SESSION_STATE_ENDED {
		t.Errorf("after the new lead's EndSession the session is %v", end.GetSession().GetState())
	}
}

// An invited advisor can take the session over: they become the lead and
// leave the invitees.
func TestTransferSessionToAnInvitedAdvisorMakesThemTheLead(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := transferSetup(ctx, t)
	if _, err := c.invite(ctx, c.lead.token, c.sid, c.other.id); err != nil {
		t.Fatalf("invite: %v", err)
	}

	sess, err := c.transfer(ctx, c.lead.token, c.sid, c.other.id, "over to you")
	if err != nil {
		t.Fatalf("transferring to the invited advisor: %v", err)
	}
	if sess.GetAdvisorId() != c.other.id || slices.Contains(sess.GetInvitedAdvisorIds(), c.other.id) {
		t.Errorf("after the transfer the session has lead %s and invitees %v, want lead %s, no longer invited", sess.GetAdvisorId(), sess.GetInvitedAdvisorIds(), c.other.id)
	}
	if got := c.get(ctx, t, c.other.token, c.sid); got.GetAdvisorId() != c.other.id || slices.Contains(got.GetInvitedAdvisorIds(), c.other.id) {
		t.Errorf("the new lead reads lead %s and invitees %v", got.GetAdvisorId(), got.GetInvitedAdvisorIds())
	}
	// Leading is theirs now: inviting and ending work.
	if _, err := c.invite(ctx, c.other.token, c.sid, c.third.id); err != nil {
		t.Errorf("the new lead inviting an advisor: %v", err)
	}
	if _, err := c.as(c.other.token).Session.EndSession(ctx, &assistv1.EndSessionRequest{SessionId: c.sid, Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED}); err != nil {
		t.Errorf("the new lead ending the session: %v", err)
	}
}

// Only the lead transfers, only an active session, only to another
// advisor of the account; every refusal writes nothing and leaves the
// session as it was.
func TestTransferSessionIsRefusedUnlessTheLeadHandsAnActiveSessionToAnotherAdvisorOfTheAccount(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := transferSetup(ctx, t)
	if _, err := c.invite(ctx, c.lead.token, c.sid, c.other.id); err != nil {
		t.Fatalf("invite: %v", err)
	}
	transfer := func(token, sid, toAdvisorID string) func() error {
		return func() error {
			_, err := c.transfer(ctx, token, sid, toAdvisorID, "refused")
			return err
		}
	}

	transferRefused(t, c, "the customer transferring", transfer(c.customer, c.sid, c.other.id))
	transferRefused(t, c, "the invited advisor transferring", transfer(c.other.token, c.sid, c.third.id), connect.CodePermissionDenied)
	// As for invitations, an outsider is told NotFound.
	transferRefused(t, c, "an advisor outside the session transferring", transfer(c.third.token, c.sid, c.third.id), connect.CodeNotFound)

	transferRefused(t, c, "transferring to an unknown advisor", transfer(c.lead.token, c.sid, uuid.NewString()), connect.CodeNotFound)
	transferRefused(t, c, "transferring to an advisor of another account", transfer(c.lead.token, c.sid, c.foreignAdvisor(ctx, t)), connect.CodeNotFound)
	transferRefused(t, c, "transferring to a malformed advisor id", transfer(c.lead.token, c.sid, "not-a-uuid"), connect.CodeInvalidArgument)
	transferRefused(t, c, "the lead transferring to himself", transfer(c.lead.token, c.sid, c.lead.id), connect.CodeInvalidArgument)

	waiting, _ := c.env.StartSession(t, "Walt")
	transferRefused(t, c, "transferring a waiting session", transfer(c.lead.token, waiting.GetId(), c.other.id), connect.CodeFailedPrecondition)
	transferRefused(t, c, "transferring an ended session", transfer(c.lead.token, c.endedSession(ctx, t), c.other.id), connect.CodeFailedPrecondition)

	c.wantLeadAndInvitee(ctx, t)
}

// An advisor's colleagues are the other enabled advisors of the account:
// never themselves, nobody of another account, and nobody disabled.
func TestListColleaguesListsTheOtherEnabledAdvisorsOfTheAccount(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := transferSetup(ctx, t)
	c.foreignAdvisor(ctx, t)
	ids := func() []string {
		t.Helper()
		res, err := c.as(c.lead.token).Session.ListColleagues(ctx, &assistv1.ListColleaguesRequest{})
		if err != nil {
			t.Fatalf("list colleagues: %v", err)
		}
		var out []string
		for _, col := range res.GetColleagues() {
			if col.GetDisplayName() == "" {
				t.Errorf("colleague %s has no display name", col.GetAdvisorId())
			}
			out = append(out, col.GetAdvisorId())
		}
		slices.Sort(out)
		return out
	}
	want := []string{c.other.id, c.third.id}
	slices.Sort(want)
	if got := ids(); !slices.Equal(got, want) {
		t.Fatalf("the lead's colleagues are %v, want the two other advisors of the account %v", got, want)
	}
	if _, err := c.db.Exec(ctx, `UPDATE advisors SET disabled = true WHERE id = $1`, c.other.id); err != nil {
		t.Fatal(err)
	}
	if got := ids(); !slices.Equal(got, []string{c.third.id}) {
		t.Errorf("after disabling %s the colleagues are %v, want only %s", c.other.id, got, c.third.id)
	}
}

// A colleague's console learns at once, on its queue watch, about the
// session it was invited into or handed, even through another replica;
// the lead's own watch is told nothing.
func TestConsolesHearOfTheSessionsColleaguesBringThemInto(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := transferSetup(ctx, t)
	other := assisttest.StartOn(t, c.env.DatabaseURL)

	watch := func(env *assisttest.Env, token string) assistv1connect.SessionServiceWatchAdvisorClientStream {
		t.Helper()
		stream, err := env.Services(assisttest.GRPC, token).Session.WatchAdvisor(ctx, &assistv1.WatchAdvisorRequest{WatchQueue: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = stream.Close() })
		return stream
	}
	// joined waits for the next session a watch is told it joined,
	// skipping queue snapshots and changes.
	joined := func(stream assistv1connect.SessionServiceWatchAdvisorClientStream) *assistv1.Session {
		t.Helper()
		for {
			res, err := stream.Receive()
			if err != nil {
				t.Fatalf("watch ended: %v", err)
			}
			if s := res.GetQueue().GetJoined(); s != nil {
				return s
			}
		}
	}
	opened := func(stream assistv1connect.SessionServiceWatchAdvisorClientStream) {
		t.Helper()
		for {
			res, err := stream.Receive()
			if err != nil {
				t.Fatalf("watch ended: %v", err)
			}
			if res.GetQueue().GetSnapshot() != nil {
				return
			}
		}
	}
	invitee := watch(other, c.other.token)
	heir := watch(c.env, c.third.token)
	lead := watch(c.env, c.lead.token)
	opened(invitee)
	opened(heir)
	opened(lead)

	if _, err := c.invite(ctx, c.lead.token, c.sid, c.other.id); err != nil {
		t.Fatal(err)
	}
	if s := joined(invitee); s.GetId() != c.sid || !slices.Contains(s.GetInvitedAdvisorIds(), c.other.id) {
		t.Errorf("the invitee was told of %v, want session %s with them invited", s, c.sid)
	}
	if _, err := c.transfer(ctx, c.lead.token, c.sid, c.third.id, "night shift"); err != nil {
		t.Fatal(err)
	}
	if s := joined(heir); s.GetId() != c.sid || s.GetAdvisorId() != c.third.id {
		t.Errorf("the new lead was told of %v, want session %s led by them", s, c.sid)
	}
	// The former lead's watch carries no join: close it and read what it
	// had received.
	_ = lead.Close()
	for {
		res, err := lead.Receive()
		if err != nil {
			break
		}
		if s := res.GetQueue().GetJoined(); s != nil {
			t.Errorf("the former lead was told they joined %s", s.GetId())
		}
	}
}
