package sessions

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/store"
)

// PortalName is the name customers see for a portal.
func (s *Service) PortalName(ctx context.Context, portalID uuid.UUID) (string, error) {
	p, err := s.store.Q.PortalGet(ctx, s.store.Pool, portalID)
	if store.IsNotFound(err) {
		return "", failure.NotFound("portal")
	}
	if err != nil {
		return "", fmt.Errorf("load portal: %w", err)
	}
	return p.DisplayName, nil
}
