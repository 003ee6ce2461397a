// Package accounts holds the rules of an account's settings: who may read
// and change them, and which values are allowed.
package accounts

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/durationpb"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/store"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// Languages are the languages an account's notices exist in.
var Languages = []string{"en", "fr"}

// Service applies the account rules.
type Service struct{ store *store.Store }

// NewService returns the account rules over the store.
func NewService(s *store.Store) *Service { return &Service{store: s} }

// RequireAdmin fails unless p is an admin advisor.
func RequireAdmin(p *auth.Principal) error {
	if p == nil {
		return failure.Unauthenticated("missing credentials")
	}
	if p.Kind != auth.KindAdvisor || !p.Admin {
		return failure.PermissionDenied("only the account's admins may do this")
	}
	return nil
}

// Settings returns the caller's account settings.
func (s *Service) Settings(ctx context.Context, p *auth.Principal) (*assistv1.AccountSettings, error) {
	if err := RequireAdmin(p); err != nil {
		return nil, err
	}
	a, err := s.store.Q.AccountGet(ctx, s.store.Pool, p.AccountID)
	if err != nil {
		return nil, fmt.Errorf("load account: %w", err)
	}
	return toProto(a), nil
}

// UpdateSettings changes the fields named by paths and returns the
// settings after the change. A bad value or path changes nothing.
func (s *Service) UpdateSettings(ctx context.Context, p *auth.Principal, in *assistv1.AccountSettings, paths []string) (*assistv1.AccountSettings, error) {
	if err := RequireAdmin(p); err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, failure.InvalidArgument("update_mask", "must name at least one field")
	}
	a, err := s.store.Q.AccountGet(ctx, s.store.Pool, p.AccountID)
	if err != nil {
		return nil, fmt.Errorf("load account: %w", err)
	}
	u := dbq.AccountSettingsUpdateParams{
		ID: a.ID, WebChatEnabled: a.WebChatEnabled, UpgradeHandoff: a.UpgradeHandoff,
		OpenerLifetimeSeconds: a.OpenerLifetimeSeconds, SessionCodeLifetimeSeconds: a.SessionCodeLifetimeSeconds,
		MaxLiveSessionCodes: a.MaxLiveSessionCodes, FastChatEnabled: a.FastChatEnabled, Language: a.Language,
		ChatLogRetentionDays: a.ChatLogRetentionDays,
	}
	for _, path := range paths {
		switch path {
		case "web_chat_enabled":
			u.WebChatEnabled = in.GetWebChatEnabled()
		case "fast_chat_enabled":
			u.FastChatEnabled = in.GetFastChatEnabled()
		case "upgrade_handoff":
			if in.GetUpgradeHandoff() == assistv1.UpgradeHandoff_UPGRADE_HANDOFF_UNSPECIFIED {
				return nil, failure.InvalidArgument("settings.upgrade_handoff", "must be set when update_mask names it")
			}
			u.UpgradeHandoff = int16(in.GetUpgradeHandoff())
		case "opener_lifetime":
			sec, err := seconds("settings.opener_lifetime", in.GetOpenerLifetime(), time.Minute, time.Hour)
			if err != nil {
				return nil, err
			}
			u.OpenerLifetimeSeconds = sec
		case "session_code_lifetime":
			sec, err := seconds("settings.session_code_lifetime", in.GetSessionCodeLifetime(), time.Minute, 24*time.Hour)
			if err != nil {
				return nil, err
			}
			u.SessionCodeLifetimeSeconds = sec
		case "max_live_session_codes_per_advisor":
			n := in.GetMaxLiveSessionCodesPerAdvisor()
			if n < 1 || n > 100 {
				return nil, failure.InvalidArgument("settings.max_live_session_codes_per_advisor", "must be between 1 and 100")
			}
			u.MaxLiveSessionCodes = n
		case "language":
			if !slices.Contains(Languages, in.GetLanguage()) {
				return nil, failure.InvalidArgument("settings.language", "must be one of %v", Languages)
			}
			u.Language = in.GetLanguage()
		case "chat_log_retention_days":
			days := in.GetChatLogRetentionDays()
			if days < 0 || days > 36500 {
				return nil, failure.InvalidArgument("settings.chat_log_retention_days", "must be between 0 (keep forever) and 36500")
			}
			u.ChatLogRetentionDays = days
		default:
			return nil, failure.InvalidArgument("update_mask", "unknown path %q", path)
		}
	}
	// The change and its audit entry commit together, as AdminService's
	// other changes do.
	err = s.store.InTx(ctx, func(tx pgx.Tx) error {
		a, err = s.store.Q.AccountSettingsUpdate(ctx, tx, u)
		if err != nil {
			return fmt.Errorf("update account: %w", err)
		}
		actor := p.AdvisorID
		_, err = s.store.Q.AuditInsert(ctx, tx, dbq.AuditInsertParams{
			AccountID: p.AccountID, ActorAdvisorID: &actor, ActorDisplayName: p.DisplayName,
			Action: "account.settings.update", TargetType: "account", TargetID: p.AccountID.String(),
			Details: settingsDetails(toProto(a), paths),
		})
		if err != nil {
			return fmt.Errorf("record audit event: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return toProto(a), nil
}

// settingsDetails says which settings changed, with their new values.
func settingsDetails(now *assistv1.AccountSettings, paths []string) string {
	var out []string
	for _, path := range paths {
		var v any
		switch path {
		case "web_chat_enabled":
			v = now.GetWebChatEnabled()
		case "upgrade_handoff":
			v = now.GetUpgradeHandoff()
		case "opener_lifetime":
			v = now.GetOpenerLifetime().AsDuration()
		case "session_code_lifetime":
			v = now.GetSessionCodeLifetime().AsDuration()
		case "max_live_session_codes_per_advisor":
			v = now.GetMaxLiveSessionCodesPerAdvisor()
		case "fast_chat_enabled":
			v = now.GetFastChatEnabled()
		case "language":
			v = now.GetLanguage()
		case "chat_log_retention_days":
			v = now.GetChatLogRetentionDays()
		}
		out = append(out, fmt.Sprintf("%s=%v", path, v))
	}
	return strings.Join(out, " ")
}

func seconds(field string, d *durationpb.Duration, lo, hi time.Duration) (int32, error) {
	if d == nil {
		return 0, failure.InvalidArgument(field, "must be set when update_mask names it")
	}
	if err := d.CheckValid(); err != nil {
		return 0, failure.InvalidArgument(field, "is not a valid duration")
	}
	v := d.AsDuration()
	if v < lo || v > hi || v%time.Second != 0 {
		return 0, failure.InvalidArgument(field, "must be whole seconds between %s and %s", lo, hi)
	}
	return int32(v / time.Second), nil
}

func toProto(a dbq.Account) *assistv1.AccountSettings {
	return &assistv1.AccountSettings{
		WebChatEnabled:                a.WebChatEnabled,
		UpgradeHandoff:                assistv1.UpgradeHandoff(a.UpgradeHandoff),
		OpenerLifetime:                durationpb.New(time.Duration(a.OpenerLifetimeSeconds) * time.Second),
		SessionCodeLifetime:           durationpb.New(time.Duration(a.SessionCodeLifetimeSeconds) * time.Second),
		MaxLiveSessionCodesPerAdvisor: a.MaxLiveSessionCodes,
		FastChatEnabled:               a.FastChatEnabled,
		Language:                      a.Language,
		ChatLogRetentionDays:          a.ChatLogRetentionDays,
	}
}
