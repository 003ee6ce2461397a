package reports

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/auth"
)

// FilterOptions lists the account's portals and advisors, disabled ones
// included, for the report filters: a report reader may not be an admin,
// who alone lists them through AdminService.
func (s *Service) FilterOptions(ctx context.Context, p *auth.Principal) ([]*assistv1.ReportPortal, []*assistv1.ReportAdvisor, error) {
	if err := Authorize(p); err != nil {
		return nil, nil, err
	}
	portals, err := s.store.Q.PortalListByAccount(ctx, s.store.Pool, p.AccountID)
	if err != nil {
		return nil, nil, fmt.Errorf("list portals: %w", err)
	}
	advisors, err := s.store.Q.AdvisorListByAccount(ctx, s.store.Pool, p.AccountID)
	if err != nil {
		return nil, nil, fmt.Errorf("list advisors: %w", err)
	}
	outPortals := make([]*assistv1.ReportPortal, 0, len(portals))
	for _, r := range portals {
		outPortals = append(outPortals, &assistv1.ReportPortal{PortalId: r.ID.String(), Slug: r.Slug, DisplayName: r.DisplayName})
	}
	outAdvisors := make([]*assistv1.ReportAdvisor, 0, len(advisors))
	for _, r := range advisors {
		outAdvisors = append(outAdvisors, &assistv1.ReportAdvisor{AdvisorId: r.ID.String(), DisplayName: r.DisplayName, Disabled: r.Disabled})
	}
	slices.SortFunc(outPortals, func(a, b *assistv1.ReportPortal) int {
		return cmp.Compare(strings.ToLower(a.DisplayName), strings.ToLower(b.DisplayName))
	})
	slices.SortFunc(outAdvisors, func(a, b *assistv1.ReportAdvisor) int {
		return cmp.Compare(strings.ToLower(a.DisplayName), strings.ToLower(b.DisplayName))
	})
	return outPortals, outAdvisors, nil
}
