package sessions

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// QueuePosition is where a waiting session stands in its portal's queue:
// position 1 is picked up next; 0 once it no longer waits.
type QueuePosition struct {
	Position, Waiting int32
}

// QueuePosition tells a caller who may read the session where it stands.
func (s *Service) QueuePosition(ctx context.Context, p *auth.Principal, sessionID uuid.UUID) (QueuePosition, error) {
	a, err := s.Load(ctx, p, sessionID)
	if err != nil {
		return QueuePosition{}, err
	}
	sess := a.Session
	var ahead, waiting int64
	if sess.WaitingForAdvisorID != nil {
		// The session waits in its advisor's own queue.
		row, err := s.store.Q.SessionQueuePositionForAdvisor(ctx, s.store.Pool, dbq.SessionQueuePositionForAdvisorParams{CreateTime: sess.CreateTime, ID: sess.ID, AdvisorID: sess.WaitingForAdvisorID})
		if err != nil {
			return QueuePosition{}, fmt.Errorf("queue position: %w", err)
		}
		ahead, waiting = row.Ahead, row.Waiting
	} else {
		row, err := s.store.Q.SessionQueuePosition(ctx, s.store.Pool, dbq.SessionQueuePositionParams{CreateTime: sess.CreateTime, ID: sess.ID, PortalID: sess.PortalID})
		if err != nil {
			return QueuePosition{}, fmt.Errorf("queue position: %w", err)
		}
		ahead, waiting = row.Ahead, row.Waiting
	}
	q := QueuePosition{Waiting: int32(waiting)}
	if sessionState(sess) == assistv1.SessionState_SESSION_STATE_WAITING {
		q.Position = int32(ahead) + 1
	}
	return q, nil
}
