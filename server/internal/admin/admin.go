// Package admin holds the rules of account administration: advisors,
// portals and API keys, changed by the account's admins only, each change
// recorded in the account's audit log in the same transaction.
package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/store"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// Service applies the administration rules.
type Service struct {
	store        *store.Store
	passwordCost int
	logger       *slog.Logger
	// Revoked, if set, is told the credential key of every credential
	// revoked here (a disabled advisor, a revoked API key) after the
	// change is stored, so that open streams holding it end at once.
	Revoked func(ctx context.Context, credentialKey string) error
}

// announceRevoked ends the open streams of a revoked credential. The
// revocation is stored already: a failure here only delays the end of
// those streams to their periodic check, so it is logged, not returned.
func (s *Service) announceRevoked(ctx context.Context, key string) {
	if s.Revoked == nil {
		return
	}
	if err := s.Revoked(ctx, key); err != nil {
		s.logger.Warn("could not signal a revoked credential; its streams end at their next check", "credential", key, "error", err)
	}
}

// NewService returns the administration rules. passwordCost is bcrypt's
// work factor for the passwords it sets (0: auth.DefaultPasswordCost).
func NewService(s *store.Store, passwordCost int, logger *slog.Logger) *Service {
	return &Service{store: s, passwordCost: passwordCost, logger: logger}
}

// RequireAdmin fails unless p is an admin advisor: API keys, customers and
// other advisors are PermissionDenied.
func RequireAdmin(p *auth.Principal) error {
	if p == nil {
		return failure.Unauthenticated("missing credentials")
	}
	if p.Kind != auth.KindAdvisor || !p.Admin {
		return failure.PermissionDenied("only the account's admins may do this")
	}
	return nil
}

// change is one audit entry.
type change struct {
	action, targetType, targetID, details string
}

// write runs fn in a transaction that holds the account's row lock, and
// records the audit entry fn returns in it: a change and its entry commit
// together or not at all. An entry without an action means fn changed
// nothing.
func (s *Service) write(ctx context.Context, p *auth.Principal, fn func(tx pgx.Tx) (change, error)) error {
	return s.store.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := s.store.Q.AdminAccountLock(ctx, tx, p.AccountID); err != nil {
			return fmt.Errorf("lock account: %w", err)
		}
		c, err := fn(tx)
		if err != nil || c.action == "" {
			return err
		}
		actor := p.AdvisorID
		_, err = s.store.Q.AuditInsert(ctx, tx, dbq.AuditInsertParams{
			AccountID: p.AccountID, ActorAdvisorID: &actor, ActorDisplayName: p.DisplayName,
			Action: c.action, TargetType: c.targetType, TargetID: c.targetID, Details: c.details,
		})
		if err != nil {
			return fmt.Errorf("record audit event: %w", err)
		}
		s.logger.InfoContext(ctx, "admin change", "account", p.AccountID, "actor", p.AdvisorID, "action", c.action, "target", c.targetID)
		return nil
	})
}

// uniqueViolation returns the constraint name of a unique violation.
func uniqueViolation(err error) (string, bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return pe.ConstraintName, true
	}
	return "", false
}

// checkText refuses strings a text column cannot hold.
func checkText(fields ...[2]string) error {
	for _, f := range fields {
		if !store.TextOK(f[1]) {
			return failure.InvalidArgument(f[0], "must not contain NUL characters")
		}
	}
	return nil
}

// checkName refuses a blank or oversized display name.
func checkName(field, name string) error {
	if strings.TrimSpace(name) == "" {
		return failure.InvalidArgument(field, "must not be blank")
	}
	if len([]rune(name)) > 100 {
		return failure.InvalidArgument(field, "must be at most 100 characters")
	}
	return checkText([2]string{field, name})
}

// checkIDs parses ids, naming field in the error.
func parseIDs(field string, ids []string) ([]uuid.UUID, error) {
	out := make([]uuid.UUID, 0, len(ids))
	seen := map[uuid.UUID]bool{}
	for _, s := range ids {
		id, err := uuid.Parse(s)
		if err != nil {
			return nil, failure.InvalidArgument(field, "must hold UUIDs")
		}
		if seen[id] {
			return nil, failure.InvalidArgument(field, "must not repeat an id")
		}
		seen[id] = true
		out = append(out, id)
	}
	return out, nil
}

// maskPaths returns the update mask's paths, refusing unknown ones and an
// empty mask.
func maskPaths(paths []string, allowed ...string) (map[string]bool, error) {
	if len(paths) == 0 {
		return nil, failure.InvalidArgument("update_mask", "must name at least one field")
	}
	out := map[string]bool{}
	for _, p := range paths {
		ok := false
		for _, a := range allowed {
			if p == a {
				ok = true
			}
		}
		if !ok {
			return nil, failure.InvalidArgument("update_mask", "unknown field %q (allowed: %s)", p, strings.Join(allowed, ", "))
		}
		out[p] = true
	}
	return out, nil
}

// ListAuditEvents returns a page of the account's audit log, newest first.
func (s *Service) ListAuditEvents(ctx context.Context, p *auth.Principal, pageSize int32, pageToken string) ([]*assistv1.AuditEvent, string, error) {
	if err := RequireAdmin(p); err != nil {
		return nil, "", err
	}
	if pageSize <= 0 {
		pageSize = 50
	}
	var before int64
	if pageToken != "" {
		b, err := decodeAuditToken(pageToken)
		if err != nil {
			return nil, "", err
		}
		before = b
	}
	rows, err := s.store.Q.AuditList(ctx, s.store.Pool, dbq.AuditListParams{AccountID: p.AccountID, BeforeID: before, PageLimit: pageSize + 1})
	if err != nil {
		return nil, "", fmt.Errorf("list audit events: %w", err)
	}
	var next string
	if len(rows) > int(pageSize) {
		rows = rows[:pageSize]
		next = encodeAuditToken(rows[len(rows)-1].ID)
	}
	out := make([]*assistv1.AuditEvent, len(rows))
	for i, r := range rows {
		out[i] = auditProto(r)
	}
	return out, next, nil
}
