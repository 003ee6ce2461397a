// Package demo seeds the demo account that `make run` shows a newcomer:
// an admin, two advisors, a queue-mode portal named "demo", and a
// code-mode and a web-mode portal ("demo-code", "demo-web").
package demo

import (
	"context"
	"fmt"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/google/uuid"
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
	CodePortalSlug   = "demo-code"
	WebPortalSlug    = "demo-web"
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
			return seedRoutedPortals(ctx, s, tx, p.AccountID)
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
		return seedRoutedPortals(ctx, s, tx, account.ID)
	})
	return portal, err
}

// seedRoutedPortals adds the code-mode and web-mode portals, served by the
// two advisors, to a demo account that lacks them (one seeded before they
// existed, too).
func seedRoutedPortals(ctx context.Context, s *store.Store, tx pgx.Tx, accountID uuid.UUID) error {
	for _, p := range []struct {
		slug, name string
		mode       assistv1.PortalMode
	}{
		{CodePortalSlug, "Demo support (session code)", assistv1.PortalMode_PORTAL_MODE_CODE},
		{WebPortalSlug, "Demo support (pick an advisor)", assistv1.PortalMode_PORTAL_MODE_WEB},
	} {
		if _, err := s.Q.PortalGetBySlug(ctx, tx, p.slug); !store.IsNotFound(err) {
			if err != nil {
				return err
			}
			continue
		}
		portal, err := s.Q.PortalInsert(ctx, tx, dbq.PortalInsertParams{AccountID: accountID, Slug: p.slug, DisplayName: p.name, Mode: int16(p.mode)})
		if err != nil {
			return fmt.Errorf("seed portal %s: %w", p.slug, err)
		}
		for _, email := range []string{AdvisorEmail, Advisor2Email} {
			adv, err := s.Q.AdvisorGetByEmail(ctx, tx, email)
			if store.IsNotFound(err) {
				continue
			}
			if err != nil {
				return err
			}
			if err := s.Q.PortalAdvisorInsert(ctx, tx, dbq.PortalAdvisorInsertParams{PortalID: portal.ID, AdvisorID: adv.ID}); err != nil {
				return err
			}
		}
	}
	return nil
}
