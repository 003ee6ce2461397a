package admin

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/store"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// NewAdvisor is an advisor to create.
type NewAdvisor struct {
	Email, DisplayName, Password string
	ReportAccess, Admin          bool
}

// CreateAdvisor adds an advisor to the admin's account with an initial
// password (stored with bcrypt).
func (s *Service) CreateAdvisor(ctx context.Context, p *auth.Principal, n NewAdvisor) (*assistv1.Advisor, error) {
	if err := RequireAdmin(p); err != nil {
		return nil, err
	}
	n.Email = strings.TrimSpace(n.Email)
	if n.Email == "" || !strings.Contains(n.Email, "@") {
		return nil, failure.InvalidArgument("email", "must be an e-mail address")
	}
	if err := checkText([2]string{"email", n.Email}, [2]string{"password", n.Password}); err != nil {
		return nil, err
	}
	if err := checkName("display_name", n.DisplayName); err != nil {
		return nil, err
	}
	if err := checkPassword(n.Password); err != nil {
		return nil, err
	}
	hash, err := auth.HashPassword(n.Password, s.passwordCost)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	var adv dbq.Advisor
	err = s.write(ctx, p, func(tx pgx.Tx) (change, error) {
		adv, err = s.store.Q.AdvisorInsert(ctx, tx, dbq.AdvisorInsertParams{
			AccountID: p.AccountID, Email: n.Email, DisplayName: n.DisplayName,
			PasswordHash: hash, ReportAccess: n.ReportAccess, Admin: n.Admin,
		})
		if name, ok := uniqueViolation(err); ok && name == "advisors_email_key" {
			return change{}, failure.AlreadyExists("an advisor with this e-mail address already exists")
		}
		if err != nil {
			return change{}, fmt.Errorf("insert advisor: %w", err)
		}
		return change{"advisor.create", "advisor", adv.ID.String(),
			fmt.Sprintf("email=%s display_name=%q report_access=%t admin=%t", adv.Email, adv.DisplayName, adv.ReportAccess, adv.Admin)}, nil
	})
	if err != nil {
		return nil, err
	}
	return advisorProto(adv), nil
}

func checkPassword(pw string) error {
	if n := len([]rune(pw)); n < 10 || n > 256 {
		return failure.InvalidArgument("password", "must be 10 to 256 characters")
	}
	return nil
}

// ListAdvisors returns the account's advisors by e-mail.
func (s *Service) ListAdvisors(ctx context.Context, p *auth.Principal) ([]*assistv1.Advisor, error) {
	if err := RequireAdmin(p); err != nil {
		return nil, err
	}
	rows, err := s.store.Q.AdvisorListByAccount(ctx, s.store.Pool, p.AccountID)
	if err != nil {
		return nil, fmt.Errorf("list advisors: %w", err)
	}
	out := make([]*assistv1.Advisor, len(rows))
	for i, r := range rows {
		out[i] = advisorProto(r)
	}
	return out, nil
}

// AdvisorUpdate carries new values for the fields named in Paths.
type AdvisorUpdate struct {
	AdvisorID                     string
	DisplayName, Password         string
	ReportAccess, Admin, Disabled bool
	Paths                         []string
}

// UpdateAdvisor changes an advisor of the admin's account. Disabling an
// advisor revokes all their tokens in the same transaction, so no new call
// gets through, and then ends their open streams on every replica. The
// account always keeps one admin who can log in.
func (s *Service) UpdateAdvisor(ctx context.Context, p *auth.Principal, u AdvisorUpdate) (*assistv1.Advisor, error) {
	if err := RequireAdmin(p); err != nil {
		return nil, err
	}
	id, err := uuid.Parse(u.AdvisorID)
	if err != nil {
		return nil, failure.InvalidArgument("advisor_id", "must be a UUID")
	}
	paths, err := maskPaths(u.Paths, "display_name", "report_access", "admin", "disabled", "password")
	if err != nil {
		return nil, err
	}
	if paths["display_name"] {
		if err := checkName("display_name", u.DisplayName); err != nil {
			return nil, err
		}
	}
	var hash string
	if paths["password"] {
		if err := checkText([2]string{"password", u.Password}); err != nil {
			return nil, err
		}
		if err := checkPassword(u.Password); err != nil {
			return nil, err
		}
		if hash, err = auth.HashPassword(u.Password, s.passwordCost); err != nil {
			return nil, fmt.Errorf("hash password: %w", err)
		}
	}
	var adv dbq.Advisor
	err = s.write(ctx, p, func(tx pgx.Tx) (change, error) {
		cur, err := s.store.Q.AdvisorGetInAccountForUpdate(ctx, tx, dbq.AdvisorGetInAccountForUpdateParams{ID: id, AccountID: p.AccountID})
		if store.IsNotFound(err) {
			return change{}, failure.NotFound("advisor")
		}
		if err != nil {
			return change{}, fmt.Errorf("load advisor: %w", err)
		}
		next := dbq.AdvisorUpdateParams{ID: id, DisplayName: cur.DisplayName, ReportAccess: cur.ReportAccess,
			Admin: cur.Admin, Disabled: cur.Disabled, PasswordHash: cur.PasswordHash}
		var details []string
		if paths["display_name"] {
			next.DisplayName = u.DisplayName
			details = append(details, fmt.Sprintf("display_name=%q", u.DisplayName))
		}
		if paths["report_access"] {
			next.ReportAccess = u.ReportAccess
			details = append(details, fmt.Sprintf("report_access=%t", u.ReportAccess))
		}
		if paths["admin"] {
			next.Admin = u.Admin
			details = append(details, fmt.Sprintf("admin=%t", u.Admin))
		}
		if paths["disabled"] {
			next.Disabled = u.Disabled
			details = append(details, fmt.Sprintf("disabled=%t", u.Disabled))
		}
		if paths["password"] {
			next.PasswordHash = hash
			details = append(details, "password changed")
		}
		if cur.Admin && !cur.Disabled && (!next.Admin || next.Disabled) {
			others, err := s.store.Q.AdvisorCountOtherActiveAdmins(ctx, tx, dbq.AdvisorCountOtherActiveAdminsParams{AccountID: p.AccountID, ID: id})
			if err != nil {
				return change{}, fmt.Errorf("count admins: %w", err)
			}
			if others == 0 {
				return change{}, failure.FailedPrecondition("this is the account's last admin: make another advisor admin first")
			}
		}
		adv, err = s.store.Q.AdvisorUpdate(ctx, tx, next)
		if err != nil {
			return change{}, fmt.Errorf("update advisor: %w", err)
		}
		if next.Disabled && !cur.Disabled {
			n, err := s.store.Q.AccessTokenRevokeByAdvisor(ctx, tx, &id)
			if err != nil {
				return change{}, fmt.Errorf("revoke tokens: %w", err)
			}
			details = append(details, fmt.Sprintf("%d tokens revoked", n))
		}
		return change{"advisor.update", "advisor", id.String(), strings.Join(details, " ")}, nil
	})
	if err != nil {
		return nil, err
	}
	// Disabled: the advisor's streams end. Any other change (report
	// access, admin, name): their resolved credentials are read again.
	s.announceRevoked(ctx, auth.AdvisorCredentialKey(id))
	return advisorProto(adv), nil
}
