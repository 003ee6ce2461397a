package sessions

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/store"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// Access is what a caller may do with one session. Every session RPC,
// streams and replays included, goes through Load, the one place that
// decides it.
type Access struct {
	Session dbq.Session
	// Read: may see the session and its log.
	Read bool
	// Write: may chat in it.
	Write bool
	// Lead: the session's leading advisor.
	Lead bool
	// PortalAdvisor: an advisor serving the session's portal.
	PortalAdvisor bool
}

func sessionState(s dbq.Session) assistv1.SessionState { return assistv1.SessionState(s.State) }

// Load returns the session with the caller's rights on it. A session the
// caller may not read is NotFound, exactly like one that does not exist, so
// that ids cannot be probed.
func (s *Service) Load(ctx context.Context, p *auth.Principal, sessionID uuid.UUID) (*Access, error) {
	a, err := s.rights(ctx, p, sessionID)
	if err != nil {
		return nil, err
	}
	if !a.Read {
		return nil, failure.NotFound("session")
	}
	return a, nil
}

// rights computes the caller's rights on a session of its account, without
// requiring any: PickUp needs them for a session the caller can no longer
// read. Sessions of other accounts are NotFound.
func (s *Service) rights(ctx context.Context, p *auth.Principal, sessionID uuid.UUID) (*Access, error) {
	if p == nil {
		return nil, failure.Unauthenticated("missing credentials")
	}
	if err := integratorMayRead(p); err != nil {
		return nil, err
	}
	row, err := s.store.Q.SessionAccessGet(ctx, s.store.Pool, dbq.SessionAccessGetParams{ID: sessionID, AdvisorID: p.AdvisorID})
	if store.IsNotFound(err) {
		return nil, failure.NotFound("session")
	}
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	sess := row.Session
	a := &Access{Session: sess}
	if sess.AccountID != p.AccountID {
		return nil, failure.NotFound("session")
	}
	switch p.Kind {
	case auth.KindCustomer, auth.KindCustomerApp:
		a.Read = p.SessionID == sess.ID
		a.Write = a.Read
	case auth.KindAdvisor:
		if row.ParticipantLead != nil {
			a.Read, a.Write, a.Lead = true, true, *row.ParticipantLead
		}
		a.PortalAdvisor = row.ServesPortal
		// A waiting session is visible to the advisors who may pick it up:
		// those of its portal, or the one it waits for.
		if a.PortalAdvisor && sessionState(sess) == assistv1.SessionState_SESSION_STATE_WAITING && waitsFor(sess, p.AdvisorID) {
			a.Read = true
		}
	case auth.KindIntegration:
		a.Read = p.HasScope(assistv1.ApiKeyScope_API_KEY_SCOPE_SESSIONS_READ)
	}
	return a, nil
}

// waitsFor tells whether a waiting session may go to the advisor: any
// advisor of its portal in queue mode, else only the one it was sent to.
func waitsFor(sess dbq.Session, advisorID uuid.UUID) bool {
	return sess.WaitingForAdvisorID == nil || *sess.WaitingForAdvisorID == advisorID
}

// RequireAdvisor fails unless p is an advisor.
func RequireAdvisor(p *auth.Principal) error {
	if p == nil {
		return failure.Unauthenticated("missing credentials")
	}
	if p.Kind != auth.KindAdvisor {
		return failure.PermissionDenied("only advisors may do this")
	}
	return nil
}
