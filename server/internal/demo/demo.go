// Package demo seeds the demo account that `make run` shows a newcomer:
// an admin, an advisor and a queue-mode portal named "demo".
package demo

import (
	"context"
	"fmt"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/jackc/pgx/v5"

	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/store"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// The demo's fixed credentials: printed at start, and meant for a local
// trial only (assistd seeds them only when asked to).
const (
	AccountName      = "Demo"
	PortalSlug       = "demo"
	AdminEmail       = "admin@demo.example"
	AdminPassword    = "demo-admin-password"
	AdvisorEmail     = "advisor@demo.example"
	AdvisorPassword  = "demo-advisor-password"
	Advisor2Email    = "advisor2@demo.example"
	Advisor2Password = "demo-advisor2-password"
)

// Seed creates the demo account if it does not exist yet; running it again
// changes nothing. It returns the demo portal. passwordCost is the bcrypt
// work factor (0: the default).
func Seed(ctx context.Context, s *store.Store, passwordCost int) (dbq.Portal, error) {
	var portal dbq.Portal
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		// Serialise concurrent first starts of several replicas.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(7411)"); err != nil {
			return err
		}
		p, err := s.Q.PortalGetBySlug(ctx, tx, PortalSlug)
		if err == nil {
			portal = p
			return nil
		}
		if !store.IsNotFound(err) {
			return err
		}
		account, err := s.Q.AccountInsert(ctx, tx, AccountName)
		if err != nil {
			return err
		}
		portal, err = s.Q.PortalInsert(ctx, tx, dbq.PortalInsertParams{
			AccountID: account.ID, Slug: PortalSlug, DisplayName: "Demo support",
			Mode: int16(assistv1.PortalMode_PORTAL_MODE_QUEUE),
		})
		if err != nil {
			return err
		}
		for _, a := range []struct {
			email, name, password string
			admin                 bool
		}{
			{AdminEmail, "Demo Admin", AdminPassword, true},
			{AdvisorEmail, "Alex (advisor)", AdvisorPassword, false},
			{Advisor2Email, "Sam (advisor)", Advisor2Password, false},
		} {
			hash, err := auth.HashPassword(a.password, passwordCost)
			if err != nil {
				return err
			}
			adv, err := s.Q.AdvisorInsert(ctx, tx, dbq.AdvisorInsertParams{
				AccountID: account.ID, Email: a.email, DisplayName: a.name,
				PasswordHash: hash, ReportAccess: a.admin, Admin: a.admin,
			})
			if err != nil {
				return fmt.Errorf("seed advisor %s: %w", a.email, err)
			}
			if err := s.Q.PortalAdvisorInsert(ctx, tx, dbq.PortalAdvisorInsertParams{PortalID: portal.ID, AdvisorID: adv.ID}); err != nil {
				return err
			}
		}
		return nil
	})
	return portal, err
}
