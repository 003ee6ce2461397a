// Package sessions holds the rules of support sessions: starting one on a
// portal, the live queue, picking up, ending, and who may reach which
// session.
package sessions

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/sessionlog"
	"github.com/assist-chat/assist/server/internal/store"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// Service applies the session rules.
type Service struct {
	store  *store.Store
	log    *sessionlog.Log
	auth   *auth.Service
	logger *slog.Logger
	access *accessCache
	// presence marks advisors online while they watch the queue.
	presence *Presence
	// guesses counts wrong session codes per caller.
	guesses *codeGuesses
}

// NewService returns the session rules over the store and the log.
func NewService(s *store.Store, l *sessionlog.Log, a *auth.Service, logger *slog.Logger) *Service {
	svc := &Service{store: s, log: l, auth: a, logger: logger, access: newAccessCache(), presence: NewPresence(s), guesses: newCodeGuesses()}
	// Cached rights are forgotten on every replica as soon as they change.
	l.Hub().OnAccessChanged(svc.access.forgetSession)
	l.Hub().OnRevoked(svc.access.forgetCredential)
	return svc
}

var systemAuthor = &assistv1.Participant{Role: assistv1.ParticipantRole_PARTICIPANT_ROLE_SYSTEM, DisplayName: "Assist"}

// Start is a customer's request to start a session.
type Start struct {
	PortalSlug string
	Customer   *assistv1.CustomerInfo
	Platform   *assistv1.ClientPlatform
	// Routing fields; which one may be set depends on the portal's mode.
	SessionCode           string
	AdvisorID             string
	FirstAvailableAdvisor bool
	FastChat              bool
	// RequestID makes a retried start return the same session.
	RequestID string
	// Caller is the integrator starting the session for a customer, or nil
	// for a customer starting it anonymously.
	Caller *auth.Principal
	// ClientAddress is the caller's network address, for the limit on
	// wrong session codes.
	ClientAddress string
}

// StartSession starts a session for a customer and mints the customer's
// token, which reaches this session only.
func (s *Service) StartSession(ctx context.Context, req Start) (*assistv1.Session, string, error) {
	sess, token, err := s.startSession(ctx, req)
	if err != nil {
		return nil, "", err
	}
	return ToProto(sess, nil), token, nil
}

func (s *Service) startSession(ctx context.Context, req Start) (dbq.Session, string, error) {
	for _, f := range []struct{ field, value string }{
		{"customer.display_name", req.Customer.GetDisplayName()},
		{"customer.email", req.Customer.GetEmail()},
		{"customer.problem_description", req.Customer.GetProblemDescription()},
		{"platform.user_agent", req.Platform.GetUserAgent()},
	} {
		if !store.TextOK(f.value) {
			return dbq.Session{}, "", failure.InvalidArgument(f.field, "must not contain NUL characters")
		}
	}
	portal, err := s.store.Q.PortalGetBySlug(ctx, s.store.Pool, req.PortalSlug)
	if store.IsNotFound(err) {
		return dbq.Session{}, "", failure.NotFound("portal")
	}
	if err != nil {
		return dbq.Session{}, "", fmt.Errorf("load portal: %w", err)
	}
	if err := integratorMayStart(req.Caller, portal); err != nil {
		return dbq.Session{}, "", err
	}
	mode := assistv1.PortalMode(portal.Mode)
	if err := checkRouting(mode, req); err != nil {
		return dbq.Session{}, "", err
	}
	guesser := req.guesser()
	if mode == assistv1.PortalMode_PORTAL_MODE_CODE {
		if wait := s.guesses.wait(guesser); wait > 0 {
			return dbq.Session{}, "", failure.TooManyTries(wait, "too many wrong session codes from here; try again in %s, or ask your advisor to check the code", wait.Round(time.Second))
		}
	}
	account, err := s.store.Q.AccountGet(ctx, s.store.Pool, portal.AccountID)
	if err != nil {
		return dbq.Session{}, "", fmt.Errorf("load account: %w", err)
	}
	kind := assistv1.SessionKind_SESSION_KIND_STANDARD
	switch {
	case req.FastChat && !account.FastChatEnabled:
		return dbq.Session{}, "", failure.FailedPrecondition("FastChat is not enabled on this account")
	case req.FastChat:
		kind = assistv1.SessionKind_SESSION_KIND_FAST_CHAT
	case account.WebChatEnabled:
		kind = assistv1.SessionKind_SESSION_KIND_WEB_CHAT
	}
	var requestID *uuid.UUID
	if req.RequestID != "" {
		id, err := uuid.Parse(req.RequestID)
		if err != nil {
			return dbq.Session{}, "", failure.InvalidArgument("request_id", "must be a UUID")
		}
		requestID = &id
	}

	var sess dbq.Session
	var token string
	var wrongCode bool
	_, err = s.log.Write(ctx, func(tx *sessionlog.Tx) error {
		// started finds the session a retry's first attempt started.
		started := func() bool {
			if requestID == nil {
				return false
			}
			_, err := s.store.Q.SessionGetByStartRequest(ctx, tx, dbq.SessionGetByStartRequestParams{PortalID: portal.ID, StartRequestID: requestID})
			return err == nil
		}
		var to route
		switch mode {
		case assistv1.PortalMode_PORTAL_MODE_CODE:
			// A retry finds its session before the code, which its first
			// attempt used up.
			if started() {
				sess, token, err = s.retriedStart(ctx, tx, portal.ID, *requestID, req)
				return err
			}
			if to, err = s.useCode(ctx, tx, portal.ID, req.SessionCode); err != nil {
				// A concurrent twin of this retry may have used it first.
				if failure.IsKind(err, failure.KindNotFound) && started() {
					sess, token, err = s.retriedStart(ctx, tx, portal.ID, *requestID, req)
					return err
				}
				wrongCode = failure.IsKind(err, failure.KindNotFound)
				return err
			}
		case assistv1.PortalMode_PORTAL_MODE_WEB:
			// A retry keeps its advisor, online or not any more.
			if started() {
				sess, token, err = s.retriedStart(ctx, tx, portal.ID, *requestID, req)
				return err
			}
			if to, err = s.routeWeb(ctx, portal.ID, req); err != nil {
				return err
			}
		}
		sess, err = s.store.Q.SessionInsert(ctx, tx, dbq.SessionInsertParams{
			AccountID:           portal.AccountID,
			PortalID:            portal.ID,
			PortalMode:          portal.Mode,
			Kind:                int16(kind),
			State:               int16(assistv1.SessionState_SESSION_STATE_WAITING),
			CustomerDisplayName: req.Customer.GetDisplayName(),
			CustomerEmail:       req.Customer.GetEmail(),
			CustomerProblem:     req.Customer.GetProblemDescription(),
			CustomerDevice:      int16(req.Platform.GetDeviceType()),
			CustomerOs:          int16(req.Platform.GetOperatingSystem()),
			CustomerUserAgent:   req.Platform.GetUserAgent(),
			StartRequestID:      requestID,
			StartRequestHash:    requestHash(req),
			WaitingForAdvisorID: to.advisorID,
		})
		if store.IsNotFound(err) && requestID != nil {
			sess, token, err = s.retriedStart(ctx, tx, portal.ID, *requestID, req)
			return err
		}
		if err != nil {
			return fmt.Errorf("insert session: %w", err)
		}
		token, err = s.auth.MintSessionToken(ctx, tx, auth.KindCustomer, sess.AccountID, sess.ID)
		if err != nil {
			return err
		}
		customer := &assistv1.Participant{Role: assistv1.ParticipantRole_PARTICIPANT_ROLE_CUSTOMER, DisplayName: sess.CustomerDisplayName}
		waiting := &assistv1.SystemNotice{
			Code: assistv1.SystemNoticeCode_SYSTEM_NOTICE_CODE_WAITING_FOR_ADVISOR,
			Text: "Please wait, an advisor will be with you shortly.",
		}
		if to.advisorID != nil {
			waiting.Text = fmt.Sprintf("Please wait, %s will be with you shortly.", to.advisorName)
			waiting.Subject = &assistv1.Participant{
				Role: assistv1.ParticipantRole_PARTICIPANT_ROLE_ADVISOR, Id: to.advisorID.String(), DisplayName: to.advisorName,
			}
		}
		for _, ev := range []*assistv1.SessionEvent{
			{Author: customer, Payload: &assistv1.SessionEvent_ParticipantJoined{ParticipantJoined: &assistv1.ParticipantJoined{Participant: customer}}},
			{Author: systemAuthor, Payload: &assistv1.SessionEvent_SystemNotice{SystemNotice: waiting}},
		} {
			ev.SessionId = sess.ID.String()
			if _, err := tx.Append(ctx, ev); err != nil {
				return err
			}
		}
		tx.QueueChanged(portal.ID, sess.ID)
		return nil
	})
	if wrongCode {
		s.guesses.missed(guesser)
	}
	if err != nil {
		return dbq.Session{}, "", err
	}
	sess, err = s.store.Q.SessionGet(ctx, s.store.Pool, sess.ID)
	if err != nil {
		return dbq.Session{}, "", fmt.Errorf("reload session: %w", err)
	}
	s.logger.Info("session started", "session", sess.ID, "portal", portal.Slug, "kind", kind)
	return sess, token, nil
}

// guesser is who a wrong session code is counted against: the API key of
// an integrator (whose server's address many customers share), else the
// client's address.
func (req Start) guesser() string {
	if req.Caller != nil {
		return "credential:" + req.Caller.CredentialKey()
	}
	return "address:" + req.ClientAddress
}

// retriedStart answers a StartSession whose request_id already started a
// session: the same session, with a new customer token (the first is stored
// hashed only, and its response may have been lost). The tokens minted for
// earlier attempts are revoked, so a request_id never yields more than one
// working token. A reuse with other details, or after the session ended, is
// refused.
func (s *Service) retriedStart(ctx context.Context, tx *sessionlog.Tx, portalID, requestID uuid.UUID, req Start) (dbq.Session, string, error) {
	sess, err := s.store.Q.SessionGetByStartRequest(ctx, tx, dbq.SessionGetByStartRequestParams{PortalID: portalID, StartRequestID: &requestID})
	if err != nil {
		return dbq.Session{}, "", fmt.Errorf("load retried session: %w", err)
	}
	if !bytes.Equal(sess.StartRequestHash, requestHash(req)) {
		return dbq.Session{}, "", failure.AlreadyExists("request_id was already used to start a session with other details; use a new request_id")
	}
	if sessionState(sess) == assistv1.SessionState_SESSION_STATE_ENDED {
		return dbq.Session{}, "", failure.FailedPrecondition("the session started with this request_id has ended; start a new one with a new request_id")
	}
	if err := s.store.Q.AccessTokenRevokeBySession(ctx, tx, dbq.AccessTokenRevokeBySessionParams{SessionID: &sess.ID, Kind: int16(auth.KindCustomer)}); err != nil {
		return dbq.Session{}, "", fmt.Errorf("revoke earlier tokens: %w", err)
	}
	tx.CredentialRevoked(auth.SessionCredentialKey(sess.ID))
	token, err := s.auth.MintSessionToken(ctx, tx, auth.KindCustomer, sess.AccountID, sess.ID)
	return sess, token, err
}

// requestHash fingerprints what a StartSession asks for, so that a
// request_id reused for another request is recognised.
func requestHash(req Start) []byte {
	h := sha256.New()
	for _, f := range []string{
		req.PortalSlug, req.Customer.GetDisplayName(), req.Customer.GetEmail(), req.Customer.GetProblemDescription(),
		req.Platform.GetDeviceType().String(), req.Platform.GetOperatingSystem().String(),
		req.SessionCode, req.AdvisorID, fmt.Sprint(req.FirstAvailableAdvisor), fmt.Sprint(req.FastChat),
	} {
		_, _ = fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return h.Sum(nil)
}

// GetPortal describes a portal to anonymous customers.
func (s *Service) GetPortal(ctx context.Context, slug string) (*assistv1.PublicPortal, error) {
	portal, err := s.store.Q.PortalGetBySlug(ctx, s.store.Pool, slug)
	if store.IsNotFound(err) {
		return nil, failure.NotFound("portal")
	}
	if err != nil {
		return nil, fmt.Errorf("load portal: %w", err)
	}
	account, err := s.store.Q.AccountGet(ctx, s.store.Pool, portal.AccountID)
	if err != nil {
		return nil, fmt.Errorf("load account: %w", err)
	}
	out := &assistv1.PublicPortal{
		Slug:            portal.Slug,
		DisplayName:     portal.DisplayName,
		Mode:            assistv1.PortalMode(portal.Mode),
		WebChatEnabled:  account.WebChatEnabled,
		FastChatEnabled: account.FastChatEnabled,
	}
	if out.Mode == assistv1.PortalMode_PORTAL_MODE_WEB {
		if out.OnlineAdvisors, err = s.onlineAdvisors(ctx, portal.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// PickUp assigns a waiting session to the advisor. Exactly one advisor wins
// a race: the claim is one conditional UPDATE.
func (s *Service) PickUp(ctx context.Context, p *auth.Principal, sessionID uuid.UUID) (*assistv1.Session, error) {
	if err := RequireAdvisor(p); err != nil {
		return nil, err
	}
	// Not Load: an advisor of the portal who lost the race (the session is
	// no longer waiting, so no longer readable) is told FailedPrecondition
	// below, like one who raced, rather than NotFound.
	a, err := s.rights(ctx, p, sessionID)
	if err != nil {
		return nil, err
	}
	if !a.PortalAdvisor || !waitsFor(a.Session, p.AdvisorID) {
		return nil, failure.NotFound("session")
	}
	var sess dbq.Session
	_, err = s.log.Write(ctx, func(tx *sessionlog.Tx) error {
		kind := a.Session.Kind
		sess, err = s.store.Q.SessionPickUp(ctx, tx, dbq.SessionPickUpParams{ID: sessionID, AdvisorID: &p.AdvisorID, Kind: kind})
		if store.IsNotFound(err) {
			return failure.FailedPrecondition("the session is no longer waiting: another advisor picked it up, or it ended")
		}
		if err != nil {
			return fmt.Errorf("pick up: %w", err)
		}
		if err := s.store.Q.SessionAdvisorInsert(ctx, tx, dbq.SessionAdvisorInsertParams{SessionID: sessionID, AdvisorID: p.AdvisorID, Lead: true}); err != nil {
			return fmt.Errorf("add advisor: %w", err)
		}
		advisor := p.Participant()
		events := []*assistv1.SessionEvent{
			{Author: advisor, Payload: &assistv1.SessionEvent_ParticipantJoined{ParticipantJoined: &assistv1.ParticipantJoined{Participant: advisor}}},
			{Author: advisor, Payload: &assistv1.SessionEvent_StateChanged{StateChanged: &assistv1.StateChanged{
				FromState: assistv1.SessionState_SESSION_STATE_WAITING,
				ToState:   assistv1.SessionState_SESSION_STATE_ACTIVE,
				Kind:      assistv1.SessionKind(kind),
			}}},
		}
		// With web chat enabled, the session starts as a web chat as soon as
		// the customer and the advisor are connected.
		if assistv1.SessionKind(kind) == assistv1.SessionKind_SESSION_KIND_WEB_CHAT {
			events = append(events, &assistv1.SessionEvent{Author: systemAuthor, Payload: &assistv1.SessionEvent_SystemNotice{SystemNotice: &assistv1.SystemNotice{
				Code: assistv1.SystemNoticeCode_SYSTEM_NOTICE_CODE_WEB_CHAT_STARTED,
				Text: "The web chat has started.",
			}}})
		}
		for _, ev := range events {
			ev.SessionId = sessionID.String()
			if _, err := tx.Append(ctx, ev); err != nil {
				return err
			}
		}
		tx.QueueChanged(sess.PortalID, sessionID)
		// The other advisors of the portal could read the waiting session:
		// their open streams on it end now.
		tx.AccessChanged(sessionID)
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.logger.Info("session picked up", "session", sessionID, "advisor", p.AdvisorID)
	return s.proto(ctx, sessionID)
}

// End ends the session with an outcome: a SessionEnded event closes the
// log and every stream of the session finishes after delivering it.
// Ending an ended session returns it unchanged.
func (s *Service) End(ctx context.Context, p *auth.Principal, sessionID uuid.UUID, outcome assistv1.SessionOutcome, notes string) (*assistv1.Session, error) {
	if err := RequireAdvisor(p); err != nil {
		return nil, err
	}
	if !store.TextOK(notes) {
		return nil, failure.InvalidArgument("notes", "must not contain NUL characters")
	}
	a, err := s.Load(ctx, p, sessionID)
	if err != nil {
		return nil, err
	}
	waiting := sessionState(a.Session) == assistv1.SessionState_SESSION_STATE_WAITING
	if !a.Lead && !(waiting && a.PortalAdvisor) && sessionState(a.Session) != assistv1.SessionState_SESSION_STATE_ENDED {
		return nil, failure.PermissionDenied("only the session's lead advisor may end it")
	}
	_, err = s.log.Write(ctx, func(tx *sessionlog.Tx) error {
		sess, err := s.store.Q.SessionEnd(ctx, tx, dbq.SessionEndParams{ID: sessionID, Outcome: int16(outcome), Notes: notes})
		if store.IsNotFound(err) {
			return nil // already ended
		}
		if err != nil {
			return fmt.Errorf("end session: %w", err)
		}
		_, err = tx.Append(ctx, &assistv1.SessionEvent{
			SessionId: sessionID.String(),
			Author:    p.Participant(),
			Payload:   &assistv1.SessionEvent_SessionEnded{SessionEnded: &assistv1.SessionEnded{Outcome: outcome}},
		})
		if err != nil {
			return err
		}
		tx.QueueChanged(sess.PortalID, sessionID)
		tx.AccessChanged(sessionID)
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.logger.Info("session ended", "session", sessionID, "advisor", p.AdvisorID, "outcome", outcome)
	return s.proto(ctx, sessionID)
}

// Get returns a session the caller may read.
func (s *Service) Get(ctx context.Context, p *auth.Principal, sessionID uuid.UUID) (*assistv1.Session, error) {
	if _, err := s.Load(ctx, p, sessionID); err != nil {
		return nil, err
	}
	return s.proto(ctx, sessionID)
}

func (s *Service) proto(ctx context.Context, sessionID uuid.UUID) (*assistv1.Session, error) {
	sess, err := s.store.Q.SessionGet(ctx, s.store.Pool, sessionID)
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	return s.toProto(ctx, sess)
}

func (s *Service) toProto(ctx context.Context, sess dbq.Session) (*assistv1.Session, error) {
	parts, err := s.store.Q.SessionAdvisorList(ctx, s.store.Pool, sess.ID)
	if err != nil {
		return nil, fmt.Errorf("load participants: %w", err)
	}
	var invited []uuid.UUID
	for _, part := range parts {
		if !part.Lead {
			invited = append(invited, part.AdvisorID)
		}
	}
	return ToProto(sess, invited), nil
}

// List returns a page of the advisor's sessions, newest first.
func (s *Service) List(ctx context.Context, p *auth.Principal, pageSize int32, pageToken string, state assistv1.SessionState) ([]*assistv1.Session, string, error) {
	if err := RequireAdvisor(p); err != nil {
		return nil, "", err
	}
	if pageSize == 0 {
		pageSize = 50
	}
	params := dbq.SessionListByAdvisorParams{AdvisorID: p.AdvisorID, State: int16(state), PageLimit: pageSize + 1}
	if pageToken != "" {
		t, id, err := decodePageToken(pageToken)
		if err != nil {
			return nil, "", failure.InvalidArgument("page_token", "is not a token from a previous page")
		}
		params.BeforeCreateTime, params.BeforeID = &t, id
	}
	rows, err := s.store.Q.SessionListByAdvisor(ctx, s.store.Pool, params)
	if err != nil {
		return nil, "", fmt.Errorf("list sessions: %w", err)
	}
	var next string
	if len(rows) > int(pageSize) {
		rows = rows[:pageSize]
		last := rows[len(rows)-1]
		next = encodePageToken(last.CreateTime, last.ID)
	}
	// One query for the whole page's invited advisors, not one per session.
	ids := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	invited, err := s.store.Q.SessionInvitedAdvisors(ctx, s.store.Pool, ids)
	if err != nil {
		return nil, "", fmt.Errorf("load participants: %w", err)
	}
	bySession := map[uuid.UUID][]uuid.UUID{}
	for _, inv := range invited {
		bySession[inv.SessionID] = append(bySession[inv.SessionID], inv.AdvisorID)
	}
	out := make([]*assistv1.Session, 0, len(rows))
	for _, r := range rows {
		out = append(out, ToProto(r, bySession[r.ID]))
	}
	return out, next, nil
}

func encodePageToken(t time.Time, id uuid.UUID) string {
	b := binary.BigEndian.AppendUint64(nil, uint64(t.UnixMicro()))
	b = append(b, id[:]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageToken(tok string) (time.Time, uuid.UUID, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 24 {
		return time.Time{}, uuid.Nil, fmt.Errorf("bad page token")
	}
	id, _ := uuid.FromBytes(b[8:])
	return time.UnixMicro(int64(binary.BigEndian.Uint64(b[:8]))), id, nil
}

// QueueSnapshotLimit bounds the sessions a queue snapshot lists, so that
// it stays far below clients' message size limits however long the queue.
const QueueSnapshotLimit = 500

// WatchQueue sends the waiting sessions of the advisor's portals: a
// snapshot, then each session that joins or leaves, until ctx ends. Each
// change reads only the sessions that changed.
func (s *Service) WatchQueue(ctx context.Context, p *auth.Principal, portalIDs []uuid.UUID, send func(*assistv1.WatchQueueResponse) error) error {
	if err := RequireAdvisor(p); err != nil {
		return err
	}
	served, err := s.store.Q.PortalIDsByAdvisor(ctx, s.store.Pool, p.AdvisorID)
	if err != nil {
		return fmt.Errorf("load portals: %w", err)
	}
	if len(portalIDs) == 0 {
		portalIDs = served
	}
	for _, id := range portalIDs {
		if !slices.Contains(served, id) {
			return failure.NotFound("portal")
		}
	}
	// Watch before the snapshot, so no change between the two is missed.
	watch := s.log.Hub().WatchQueues(p.AdvisorID, portalIDs...)
	defer watch.Close()
	// An advisor is online, for web-mode portals, while they watch.
	leave, err := s.presence.Join(ctx, p.AdvisorID)
	if err != nil {
		return err
	}
	defer leave()

	waiting, err := s.store.Q.SessionListWaiting(ctx, s.store.Pool, dbq.SessionListWaitingParams{PortalIds: portalIDs, AdvisorID: p.AdvisorID, PageLimit: QueueSnapshotLimit})
	if err != nil {
		return fmt.Errorf("list queue: %w", err)
	}
	total, err := s.store.Q.SessionCountWaiting(ctx, s.store.Pool, dbq.SessionCountWaitingParams{PortalIds: portalIDs, AdvisorID: p.AdvisorID})
	if err != nil {
		return fmt.Errorf("count queue: %w", err)
	}
	// shown: the sessions the watcher was told are waiting.
	shown := map[uuid.UUID]bool{}
	snapshot := &assistv1.QueueSnapshot{TotalWaiting: int32(max(total, int64(len(waiting))))}
	for _, w := range waiting {
		shown[w.ID] = true
		snapshot.Sessions = append(snapshot.Sessions, ToProto(w, nil))
	}
	if err := send(&assistv1.WatchQueueResponse{Change: &assistv1.WatchQueueResponse_Snapshot{Snapshot: snapshot}}); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-watch.Ready():
		}
		if err := s.sendJoined(ctx, p, watch.DrainJoined(), send); err != nil {
			return err
		}
		changed, all := watch.Drain()
		if all {
			// Anything may have changed: the head of the queue, and every
			// session shown, are read again.
			head, err := s.store.Q.SessionListWaiting(ctx, s.store.Pool, dbq.SessionListWaitingParams{PortalIds: portalIDs, AdvisorID: p.AdvisorID, PageLimit: QueueSnapshotLimit})
			if err != nil {
				return fmt.Errorf("list queue: %w", err)
			}
			changed = changed[:0]
			for _, w := range head {
				changed = append(changed, w.ID)
			}
			for id := range shown {
				changed = append(changed, id)
			}
		}
		if err := s.sendQueueChanges(ctx, p.AdvisorID, portalIDs, changed, shown, send); err != nil {
			return err
		}
	}
}

// sendJoined tells the watcher about the sessions a colleague brought them
// into, that they still take part in.
func (s *Service) sendJoined(ctx context.Context, p *auth.Principal, joined []uuid.UUID, send func(*assistv1.WatchQueueResponse) error) error {
	for _, id := range joined {
		a, err := s.rights(ctx, p, id)
		if failure.IsKind(err, failure.KindNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		// Invited then removed, or the session ended meanwhile: nothing
		// to join.
		if !a.Write || sessionState(a.Session) != assistv1.SessionState_SESSION_STATE_ACTIVE {
			continue
		}
		sess, err := s.toProto(ctx, a.Session)
		if err != nil {
			return err
		}
		if err := send(&assistv1.WatchQueueResponse{Change: &assistv1.WatchQueueResponse_Joined{Joined: sess}}); err != nil {
			return err
		}
	}
	return nil
}

// sendQueueChanges reads the changed sessions and tells the watcher which
// joined and which left its queues.
func (s *Service) sendQueueChanges(ctx context.Context, advisorID uuid.UUID, portalIDs, changed []uuid.UUID, shown map[uuid.UUID]bool, send func(*assistv1.WatchQueueResponse) error) error {
	if len(changed) == 0 {
		return nil
	}
	slices.SortFunc(changed, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	rows, err := s.store.Q.SessionGetMany(ctx, s.store.Pool, slices.Compact(changed))
	if err != nil {
		return fmt.Errorf("read queue changes: %w", err)
	}
	slices.SortFunc(rows, func(a, b dbq.Session) int { return a.CreateTime.Compare(b.CreateTime) })
	for _, sess := range rows {
		waiting := sessionState(sess) == assistv1.SessionState_SESSION_STATE_WAITING && slices.Contains(portalIDs, sess.PortalID) &&
			waitsFor(sess, advisorID)
		switch {
		case waiting && !shown[sess.ID]:
			shown[sess.ID] = true
			if err := send(&assistv1.WatchQueueResponse{Change: &assistv1.WatchQueueResponse_Added{Added: ToProto(sess, nil)}}); err != nil {
				return err
			}
		case !waiting && shown[sess.ID]:
			delete(shown, sess.ID)
			removal := &assistv1.QueueRemoval{SessionId: sess.ID.String(), State: sessionState(sess)}
			if sess.AdvisorID != nil {
				removal.AdvisorId = sess.AdvisorID.String()
			}
			if err := send(&assistv1.WatchQueueResponse{Change: &assistv1.WatchQueueResponse_Removed{Removed: removal}}); err != nil {
				return err
			}
		}
	}
	return nil
}
