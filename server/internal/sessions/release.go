package sessions

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/sessionlog"
	"github.com/assist-chat/assist/server/internal/store"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// A code- or web-mode session waits for one advisor. If that advisor goes
// offline (their console closed, their replica gone) and stays offline for
// a grace period, the customer would wait for nobody: the session goes
// back to its portal's queue, for any advisor of the portal, and the
// customer is told. The grace lets a console reload or reconnect.

// DefaultReleaseGrace is how long a routed session's advisor may stay
// offline before the session goes back to the queue.
const DefaultReleaseGrace = 2 * time.Minute

// RunRelease sends routed sessions whose advisor stayed offline for grace
// back to their portal's queue, checking every interval, until ctx ends.
// Every replica may run it: the release is a conditional update.
func (s *Service) RunRelease(ctx context.Context, grace, interval time.Duration) {
	// offlineSince: when this replica first saw each session's advisor
	// offline; an advisor back online clears it.
	offlineSince := map[uuid.UUID]time.Time{}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rows, err := s.store.Q.SessionListWaitingForOfflineAdvisors(ctx, s.store.Pool)
		if err != nil {
			continue // the database is away; the next tick tries again
		}
		now := time.Now()
		seen := make(map[uuid.UUID]bool, len(rows))
		for _, r := range rows {
			seen[r.ID] = true
			since, ok := offlineSince[r.ID]
			if !ok {
				offlineSince[r.ID] = now
				continue
			}
			if now.Sub(since) < grace {
				continue
			}
			if err := s.releaseToQueue(ctx, r.ID, r.AdvisorID); err != nil {
				s.logger.Warn("could not send a session back to its queue", "session", r.ID, "error", err)
				continue
			}
			delete(offlineSince, r.ID)
		}
		for id := range offlineSince {
			if !seen[id] {
				delete(offlineSince, id) // picked up, ended, or its advisor is back
			}
		}
	}
}

// releaseToQueue sends one session back to its portal's queue, if its
// advisor is still offline and it still waits.
func (s *Service) releaseToQueue(ctx context.Context, sessionID, advisorID uuid.UUID) error {
	advisor, err := s.store.Q.AdvisorGet(ctx, s.store.Pool, advisorID)
	if err != nil {
		return fmt.Errorf("load advisor: %w", err)
	}
	_, err = s.log.Write(ctx, func(tx *sessionlog.Tx) error {
		sess, err := s.store.Q.SessionReleaseToQueue(ctx, tx, dbq.SessionReleaseToQueueParams{ID: sessionID, AdvisorID: advisorID})
		if store.IsNotFound(err) {
			return nil // picked up meanwhile, or the advisor came back
		}
		if err != nil {
			return fmt.Errorf("release session: %w", err)
		}
		_, err = tx.Append(ctx, &assistv1.SessionEvent{
			SessionId: sessionID.String(),
			Author:    systemAuthor,
			Payload: &assistv1.SessionEvent_SystemNotice{SystemNotice: &assistv1.SystemNotice{
				Code: assistv1.SystemNoticeCode_SYSTEM_NOTICE_CODE_BACK_IN_QUEUE,
				Text: fmt.Sprintf("%s is not available any more; the next available advisor will take your chat.", advisor.DisplayName),
				Subject: &assistv1.Participant{
					Role: assistv1.ParticipantRole_PARTICIPANT_ROLE_ADVISOR, Id: advisorID.String(), DisplayName: advisor.DisplayName,
				},
			}},
		})
		if err != nil {
			return err
		}
		// The portal's other advisors may now see and take it.
		tx.QueueChanged(sess.PortalID, sessionID)
		tx.AccessChanged(sessionID)
		s.logger.Info("session back in its portal's queue", "session", sessionID, "advisor", advisorID)
		return nil
	})
	return err
}
