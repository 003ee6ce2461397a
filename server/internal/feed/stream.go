package feed

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/store"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// pageSize is how many feed entries one read returns.
const pageSize = 500

// Service streams account feeds to their readers.
type Service struct {
	store    *store.Store
	notifier *Notifier
	// PollInterval is how often an idle stream re-reads the table even
	// without a wake-up. Default 5s.
	PollInterval time.Duration
}

// NewService returns the feed's reading side.
func NewService(s *store.Store, n *Notifier) *Service {
	return &Service{store: s, notifier: n, PollInterval: 5 * time.Second}
}

// StreamRequest says where a stream starts and what it carries.
type StreamRequest struct {
	AfterPosition       int64
	FromOldestAvailable bool
	// Types filters the events sent (empty: all).
	Types []assistv1.AccountEventType
}

// Authorize allows the account's admins and API keys with the
// SESSIONS_READ scope.
func Authorize(p *auth.Principal) error {
	switch {
	case p == nil:
		return failure.Unauthenticated("missing credentials")
	case p.Kind == auth.KindIntegration && p.HasScope(assistv1.ApiKeyScope_API_KEY_SCOPE_SESSIONS_READ):
		return nil
	case p.Kind == auth.KindIntegration:
		return failure.PermissionDenied("the API key lacks the API_KEY_SCOPE_SESSIONS_READ scope")
	case p.Kind == auth.KindAdvisor && p.Admin:
		return nil
	}
	return failure.PermissionDenied("only the account's admins and API keys with API_KEY_SCOPE_SESSIONS_READ may stream the account's events")
}

// Stream sends the account's events after the cursor, first the stored
// ones then new ones as they are sequenced, with no gap and no duplicate,
// until ctx ends.
func (s *Service) Stream(ctx context.Context, p *auth.Principal, req StreamRequest, send func(*assistv1.AccountEvent) error) error {
	if err := Authorize(p); err != nil {
		return err
	}
	if req.AfterPosition < 0 {
		return failure.InvalidArgument("after_position", "must not be negative")
	}
	// Watch before the first read, so nothing sequenced in between waits
	// for the next poll.
	wake, stop := s.notifier.watch(p.AccountID)
	defer stop()

	head, err := s.store.Q.FeedAccountGet(ctx, s.store.Pool, p.AccountID)
	if err != nil && !store.IsNotFound(err) {
		return fmt.Errorf("read feed head: %w", err)
	}
	cursor := req.AfterPosition
	if req.FromOldestAvailable {
		cursor = head.TrimmedPos
	}
	if cursor > head.LastPos {
		return failure.InvalidArgument("after_position", "is beyond the account's last position %d", head.LastPos)
	}
	poll := time.NewTicker(s.PollInterval)
	defer poll.Stop()
	for {
		rows, err := s.store.Q.FeedListAfter(ctx, s.store.Pool, dbq.FeedListAfterParams{AccountID: p.AccountID, AfterPos: cursor, MaxRows: pageSize})
		if err != nil {
			return fmt.Errorf("read feed: %w", err)
		}
		if len(rows) > 0 && rows[0].TrimmedPos > cursor || len(rows) == 0 && cursor < head.TrimmedPos {
			trimmed := head.TrimmedPos
			if len(rows) > 0 {
				trimmed = rows[0].TrimmedPos
			}
			return failure.OutOfRange("the account's log retention deleted events after position %d; resume from position %d (or set from_oldest_available)", cursor, trimmed)
		}
		for _, r := range rows {
			cursor = r.Pos
			ev, err := decodeAccountEvent(r.Pos, r.PortalID, r.Event)
			if err != nil {
				return err
			}
			if len(req.Types) > 0 && !slices.Contains(req.Types, ev.Type) {
				continue
			}
			if err := send(ev); err != nil {
				return err
			}
		}
		if len(rows) == pageSize {
			continue
		}
		head.TrimmedPos = 0 // checked against each page from now on
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		case <-poll.C:
		}
	}
}

// LastPosition is the account's last sequenced position (0 if none).
func (s *Service) LastPosition(ctx context.Context, accountID uuid.UUID) (int64, error) {
	head, err := s.store.Q.FeedAccountGet(ctx, s.store.Pool, accountID)
	if store.IsNotFound(err) {
		return 0, nil
	}
	return head.LastPos, err
}
