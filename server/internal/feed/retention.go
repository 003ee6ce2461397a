package feed

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/assist-chat/assist/server/internal/store"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// retentionLockKey serialises retention runs across replicas.
const retentionLockKey = 7411_0007

// retentionBatch bounds the sessions one retention transaction clears.
const retentionBatch = 200

// Retention deletes chat logs older than their account keeps them.
type Retention struct {
	store  *store.Store
	logger *slog.Logger
	// Interval between runs. Default 1h.
	Interval time.Duration
}

// NewRetention returns the retention job.
func NewRetention(s *store.Store, logger *slog.Logger) *Retention {
	return &Retention{store: s, logger: logger, Interval: time.Hour}
}

// Run runs the job every Interval until ctx ends, starting at once.
func (r *Retention) Run(ctx context.Context) {
	for {
		if _, err := r.RunOnce(ctx); err != nil && ctx.Err() == nil {
			r.logger.Warn("log retention failed; retrying at the next run", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(r.Interval):
		}
	}
}

// RunOnce deletes every expired log and returns how many sessions lost
// theirs. Several replicas may run it at once: an advisory lock lets one
// work and the others skip.
func (r *Retention) RunOnce(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := r.batch(ctx)
		total += n
		if err != nil || n < retentionBatch {
			if total > 0 {
				r.logger.Info("chat logs deleted by retention", "sessions", total)
			}
			return total, err
		}
	}
}

func (r *Retention) batch(ctx context.Context) (int, error) {
	n := 0
	err := r.store.InTx(ctx, func(tx pgx.Tx) error {
		var got bool
		if err := tx.QueryRow(ctx, "SELECT pg_try_advisory_xact_lock($1)", int64(retentionLockKey)).Scan(&got); err != nil {
			return err
		}
		if !got {
			return nil // another replica is on it
		}
		rows, err := r.store.Q.RetentionExpiredSessions(ctx, tx, retentionBatch)
		if err != nil {
			return fmt.Errorf("find expired logs: %w", err)
		}
		if len(rows) == 0 {
			return nil
		}
		ids := make([]uuid.UUID, len(rows))
		for i, row := range rows {
			ids[i] = row.ID
		}
		// Readers whose cursor is below the last position deleted would
		// miss events: they are refused (OutOfRange) from now on.
		maxes, err := r.store.Q.RetentionMaxPositions(ctx, tx, ids)
		if err != nil {
			return fmt.Errorf("find deleted positions: %w", err)
		}
		for _, m := range maxes {
			if err := r.store.Q.RetentionRaiseTrimmed(ctx, tx, dbq.RetentionRaiseTrimmedParams{AccountID: m.AccountID, TrimmedPos: m.MaxPos}); err != nil {
				return fmt.Errorf("raise trimmed position: %w", err)
			}
		}
		if _, err := r.store.Q.RetentionDeleteEvents(ctx, tx, ids); err != nil {
			return fmt.Errorf("delete logs: %w", err)
		}
		if err := r.store.Q.RetentionDeleteDeliveries(ctx, tx, ids); err != nil {
			return fmt.Errorf("delete webhook deliveries: %w", err)
		}
		if err := r.store.Q.RetentionMarkDeleted(ctx, tx, ids); err != nil {
			return fmt.Errorf("mark logs deleted: %w", err)
		}
		n = len(ids)
		return nil
	})
	return n, err
}

// SetDays sets how many days accountID keeps chat logs after a session
// ends (0: forever). The admin RPC that edits account settings calls it.
func SetDays(ctx context.Context, s *store.Store, accountID uuid.UUID, days int32) error {
	return s.Q.AccountSetRetention(ctx, s.Pool, dbq.AccountSetRetentionParams{ID: accountID, ChatLogRetentionDays: days})
}
