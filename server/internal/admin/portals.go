package admin

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/store"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// NewPortal is a portal to create.
type NewPortal struct {
	Slug, DisplayName string
	Mode              assistv1.PortalMode
	AdvisorIDs        []string
}

func checkMode(m assistv1.PortalMode) error {
	if _, ok := assistv1.PortalMode_name[int32(m)]; !ok || m == assistv1.PortalMode_PORTAL_MODE_UNSPECIFIED {
		return failure.InvalidArgument("mode", "must be queue, code or web")
	}
	return nil
}

// setAdvisors makes ids the portal's advisors; each must belong to the
// account.
func (s *Service) setAdvisors(ctx context.Context, tx pgx.Tx, account, portal uuid.UUID, ids []uuid.UUID, replace bool) error {
	if len(ids) > 0 {
		found, err := s.store.Q.AdvisorIDsInAccount(ctx, tx, dbq.AdvisorIDsInAccountParams{AccountID: account, Ids: ids})
		if err != nil {
			return fmt.Errorf("check advisors: %w", err)
		}
		if len(found) != len(ids) {
			return failure.NotFound("advisor")
		}
	}
	if replace {
		if err := s.store.Q.PortalAdvisorDeleteAll(ctx, tx, portal); err != nil {
			return fmt.Errorf("clear portal advisors: %w", err)
		}
	}
	for _, id := range ids {
		if err := s.store.Q.PortalAdvisorInsert(ctx, tx, dbq.PortalAdvisorInsertParams{PortalID: portal, AdvisorID: id}); err != nil {
			return fmt.Errorf("add portal advisor: %w", err)
		}
	}
	return nil
}

// CreatePortal adds a portal to the admin's account.
func (s *Service) CreatePortal(ctx context.Context, p *auth.Principal, n NewPortal) (*assistv1.Portal, error) {
	if err := RequireAdmin(p); err != nil {
		return nil, err
	}
	if !slugPattern.MatchString(n.Slug) {
		return nil, failure.InvalidArgument("slug", "must be 1 to 63 lowercase letters, digits and dashes, starting with a letter or digit")
	}
	if err := checkName("display_name", n.DisplayName); err != nil {
		return nil, err
	}
	if err := checkMode(n.Mode); err != nil {
		return nil, err
	}
	ids, err := parseIDs("advisor_ids", n.AdvisorIDs)
	if err != nil {
		return nil, err
	}
	var portal dbq.Portal
	err = s.write(ctx, p, func(tx pgx.Tx) (change, error) {
		portal, err = s.store.Q.PortalInsert(ctx, tx, dbq.PortalInsertParams{
			AccountID: p.AccountID, Slug: n.Slug, DisplayName: n.DisplayName, Mode: int16(n.Mode),
		})
		if name, ok := uniqueViolation(err); ok && name == "portals_slug_key" {
			return change{}, failure.AlreadyExists("a portal with this slug already exists")
		}
		if err != nil {
			return change{}, fmt.Errorf("insert portal: %w", err)
		}
		if err := s.setAdvisors(ctx, tx, p.AccountID, portal.ID, ids, false); err != nil {
			return change{}, err
		}
		return change{"portal.create", "portal", portal.ID.String(),
			fmt.Sprintf("slug=%s display_name=%q mode=%s advisors=%d", portal.Slug, portal.DisplayName, n.Mode, len(ids))}, nil
	})
	if err != nil {
		return nil, err
	}
	return portalProto(portal, ids), nil
}

// ListPortals returns the account's portals by slug, with their advisors.
func (s *Service) ListPortals(ctx context.Context, p *auth.Principal) ([]*assistv1.Portal, error) {
	if err := RequireAdmin(p); err != nil {
		return nil, err
	}
	rows, err := s.store.Q.PortalListByAccount(ctx, s.store.Pool, p.AccountID)
	if err != nil {
		return nil, fmt.Errorf("list portals: %w", err)
	}
	ids := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	links, err := s.store.Q.PortalAdvisorsByPortals(ctx, s.store.Pool, ids)
	if err != nil {
		return nil, fmt.Errorf("list portal advisors: %w", err)
	}
	advisors := map[uuid.UUID][]uuid.UUID{}
	for _, l := range links {
		advisors[l.PortalID] = append(advisors[l.PortalID], l.AdvisorID)
	}
	out := make([]*assistv1.Portal, len(rows))
	for i, r := range rows {
		out[i] = portalProto(r, advisors[r.ID])
	}
	return out, nil
}

// PortalUpdate carries new values for the fields named in Paths.
type PortalUpdate struct {
	PortalID    string
	DisplayName string
	Mode        assistv1.PortalMode
	AdvisorIDs  []string
	Paths       []string
}

// UpdatePortal changes a portal of the admin's account.
func (s *Service) UpdatePortal(ctx context.Context, p *auth.Principal, u PortalUpdate) (*assistv1.Portal, error) {
	if err := RequireAdmin(p); err != nil {
		return nil, err
	}
	id, err := uuid.Parse(u.PortalID)
	if err != nil {
		return nil, failure.InvalidArgument("portal_id", "must be a UUID")
	}
	paths, err := maskPaths(u.Paths, "display_name", "mode", "advisor_ids")
	if err != nil {
		return nil, err
	}
	if paths["display_name"] {
		if err := checkName("display_name", u.DisplayName); err != nil {
			return nil, err
		}
	}
	if paths["mode"] {
		if err := checkMode(u.Mode); err != nil {
			return nil, err
		}
	}
	ids, err := parseIDs("advisor_ids", u.AdvisorIDs)
	if err != nil {
		return nil, err
	}
	var portal dbq.Portal
	var advisors []uuid.UUID
	err = s.write(ctx, p, func(tx pgx.Tx) (change, error) {
		cur, err := s.store.Q.PortalGetInAccountForUpdate(ctx, tx, dbq.PortalGetInAccountForUpdateParams{ID: id, AccountID: p.AccountID})
		if store.IsNotFound(err) {
			return change{}, failure.NotFound("portal")
		}
		if err != nil {
			return change{}, fmt.Errorf("load portal: %w", err)
		}
		next := dbq.PortalUpdateParams{ID: id, DisplayName: cur.DisplayName, Mode: cur.Mode}
		var details []string
		if paths["display_name"] {
			next.DisplayName = u.DisplayName
			details = append(details, fmt.Sprintf("display_name=%q", u.DisplayName))
		}
		if paths["mode"] {
			next.Mode = int16(u.Mode)
			details = append(details, fmt.Sprintf("mode=%s", u.Mode))
		}
		if portal, err = s.store.Q.PortalUpdate(ctx, tx, next); err != nil {
			return change{}, fmt.Errorf("update portal: %w", err)
		}
		if paths["advisor_ids"] {
			if err := s.setAdvisors(ctx, tx, p.AccountID, id, ids, true); err != nil {
				return change{}, err
			}
			details = append(details, fmt.Sprintf("advisors=%d", len(ids)))
		}
		if advisors, err = s.store.Q.PortalAdvisorIDs(ctx, tx, id); err != nil {
			return change{}, fmt.Errorf("list portal advisors: %w", err)
		}
		return change{"portal.update", "portal", id.String(), strings.Join(details, " ")}, nil
	})
	if err != nil {
		return nil, err
	}
	return portalProto(portal, advisors), nil
}
