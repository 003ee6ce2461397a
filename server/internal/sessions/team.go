package sessions

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/sessionlog"
	"github.com/assist-chat/assist/server/internal/store"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// Invite and Transfer change who serves an active session. Only its lead
// advisor may do either. Both signal the change (AccessChanged), so that
// open streams and the rights cached on every replica follow at once: an
// invited advisor may read and chat, a former lead may do neither.

// Invite adds another advisor of the account to the session: the invited
// advisor reads the log and chats, and the lead still leads.
func (s *Service) Invite(ctx context.Context, p *auth.Principal, sessionID, advisorID uuid.UUID) (*assistv1.Session, error) {
	if _, err := s.asActiveLead(ctx, p, sessionID, "invite advisors to"); err != nil {
		return nil, err
	}
	invited, err := s.colleague(ctx, p, advisorID)
	if err != nil {
		return nil, err
	}
	_, err = s.log.Write(ctx, func(tx *sessionlog.Tx) error {
		if err := s.stillLeads(ctx, tx, p, sessionID); err != nil {
			return err
		}
		added, err := s.store.Q.SessionAdvisorInvite(ctx, tx, dbq.SessionAdvisorInviteParams{SessionID: sessionID, AdvisorID: advisorID})
		if err != nil {
			return fmt.Errorf("invite advisor: %w", err)
		}
		if added == 0 {
			return failure.AlreadyExists("the advisor already takes part in the session")
		}
		tx.AdvisorJoined(advisorID, sessionID)
		return teamChanged(ctx, tx, p, sessionID, &assistv1.SessionEvent{
			Payload: &assistv1.SessionEvent_ParticipantJoined{ParticipantJoined: &assistv1.ParticipantJoined{Participant: advisorParticipant(invited)}},
		})
	})
	if err != nil {
		return nil, err
	}
	s.logger.Info("advisor invited", "session", sessionID, "advisor", p.AdvisorID, "invited", advisorID)
	return s.proto(ctx, sessionID)
}

// Transfer hands the session over to another advisor of the account, who
// leads it from then on (an invited advisor is promoted). The former lead
// leaves the session: their open streams on it end.
func (s *Service) Transfer(ctx context.Context, p *auth.Principal, sessionID, toAdvisorID uuid.UUID, reason string) (*assistv1.Session, error) {
	if !store.TextOK(reason) {
		return nil, failure.InvalidArgument("reason", "must not contain NUL characters")
	}
	if _, err := s.asActiveLead(ctx, p, sessionID, "transfer"); err != nil {
		return nil, err
	}
	if toAdvisorID == p.AdvisorID {
		return nil, failure.InvalidArgument("to_advisor_id", "you already lead the session: name another advisor")
	}
	to, err := s.colleague(ctx, p, toAdvisorID)
	if err != nil {
		return nil, err
	}
	_, err = s.log.Write(ctx, func(tx *sessionlog.Tx) error {
		_, err := s.store.Q.SessionTransfer(ctx, tx, dbq.SessionTransferParams{ID: sessionID, ToAdvisorID: toAdvisorID, FromAdvisorID: p.AdvisorID})
		if store.IsNotFound(err) {
			return failure.FailedPrecondition("the session is no longer yours to transfer: it ended, or was transferred meanwhile")
		}
		if err != nil {
			return fmt.Errorf("transfer session: %w", err)
		}
		if err := s.store.Q.SessionAdvisorDelete(ctx, tx, dbq.SessionAdvisorDeleteParams{SessionID: sessionID, AdvisorID: p.AdvisorID}); err != nil {
			return fmt.Errorf("remove the former lead: %w", err)
		}
		if err := s.store.Q.SessionAdvisorInsert(ctx, tx, dbq.SessionAdvisorInsertParams{SessionID: sessionID, AdvisorID: toAdvisorID, Lead: true}); err != nil {
			return fmt.Errorf("add the new lead: %w", err)
		}
		tx.AdvisorJoined(toAdvisorID, sessionID)
		return teamChanged(ctx, tx, p, sessionID, &assistv1.SessionEvent{
			Payload: &assistv1.SessionEvent_SessionTransferred{SessionTransferred: &assistv1.SessionTransferred{
				FromAdvisor: p.Participant(), ToAdvisor: advisorParticipant(to), Reason: reason,
			}},
		})
	})
	if err != nil {
		return nil, err
	}
	s.logger.Info("session transferred", "session", sessionID, "from", p.AdvisorID, "to", toAdvisorID)
	return s.proto(ctx, sessionID)
}

// Colleagues lists the other enabled advisors of p's account: whom p may
// invite or hand a session over to.
func (s *Service) Colleagues(ctx context.Context, p *auth.Principal) ([]*assistv1.Colleague, error) {
	if err := RequireAdvisor(p); err != nil {
		return nil, err
	}
	rows, err := s.store.Q.AdvisorListColleagues(ctx, s.store.Pool, dbq.AdvisorListColleaguesParams{AccountID: p.AccountID, AdvisorID: p.AdvisorID})
	if err != nil {
		return nil, fmt.Errorf("list colleagues: %w", err)
	}
	out := make([]*assistv1.Colleague, 0, len(rows))
	for _, r := range rows {
		out = append(out, &assistv1.Colleague{AdvisorId: r.ID.String(), DisplayName: r.DisplayName})
	}
	return out, nil
}

// teamChanged records, as p's, the event saying who now serves the
// session, and signals the change: open streams and cached rights follow.
func teamChanged(ctx context.Context, tx *sessionlog.Tx, p *auth.Principal, sessionID uuid.UUID, ev *assistv1.SessionEvent) error {
	ev.SessionId, ev.Author = sessionID.String(), p.Participant()
	if _, err := tx.Append(ctx, ev); err != nil {
		return err
	}
	tx.AccessChanged(sessionID)
	return nil
}

// asActiveLead checks that p leads the active session. The state comes
// first: the caller may read the session, so it is no secret to them.
func (s *Service) asActiveLead(ctx context.Context, p *auth.Principal, sessionID uuid.UUID, what string) (*Access, error) {
	if err := RequireAdvisor(p); err != nil {
		return nil, err
	}
	a, err := s.Load(ctx, p, sessionID)
	if err != nil {
		return nil, err
	}
	if err := active(a.Session); err != nil {
		return nil, err
	}
	if !a.Lead {
		return nil, failure.PermissionDenied("only the session's lead advisor may %s it", what)
	}
	return a, nil
}

// stillLeads locks the session and checks again, in the writing
// transaction, what asActiveLead checked before it.
func (s *Service) stillLeads(ctx context.Context, tx *sessionlog.Tx, p *auth.Principal, sessionID uuid.UUID) error {
	sess, err := s.store.Q.SessionGetForUpdate(ctx, tx, sessionID)
	if err != nil {
		return fmt.Errorf("lock session: %w", err)
	}
	if err := active(sess); err != nil {
		return err
	}
	if sess.AdvisorID == nil || *sess.AdvisorID != p.AdvisorID {
		return failure.PermissionDenied("the session was transferred meanwhile: only its lead advisor may change who serves it")
	}
	return nil
}

// active refuses a session that is waiting or ended.
func active(sess dbq.Session) error {
	switch sessionState(sess) {
	case assistv1.SessionState_SESSION_STATE_ACTIVE:
		return nil
	case assistv1.SessionState_SESSION_STATE_ENDED:
		return failure.FailedPrecondition("the session has ended")
	default:
		return failure.FailedPrecondition("the session is not active yet: an advisor must pick it up first")
	}
}

// colleague returns an enabled advisor of p's account; any other id is
// NotFound, so that ids of other accounts cannot be probed.
func (s *Service) colleague(ctx context.Context, p *auth.Principal, advisorID uuid.UUID) (dbq.Advisor, error) {
	adv, err := s.store.Q.AdvisorGet(ctx, s.store.Pool, advisorID)
	if store.IsNotFound(err) || err == nil && (adv.AccountID != p.AccountID || adv.Disabled) {
		return dbq.Advisor{}, failure.NotFound("advisor")
	}
	if err != nil {
		return dbq.Advisor{}, fmt.Errorf("load advisor: %w", err)
	}
	return adv, nil
}

// advisorParticipant is how an advisor appears in the log.
func advisorParticipant(adv dbq.Advisor) *assistv1.Participant {
	return &assistv1.Participant{Role: assistv1.ParticipantRole_PARTICIPANT_ROLE_ADVISOR, Id: adv.ID.String(), DisplayName: adv.DisplayName}
}
