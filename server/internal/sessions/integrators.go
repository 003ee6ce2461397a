package sessions

import (
	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// integratorMayStart lets an API key start sessions only with the
// SESSIONS_WRITE scope and only on its own account's portals (portals are
// public, so another account's is PermissionDenied, not hidden). Anonymous
// callers (customers) pass.
func integratorMayStart(p *auth.Principal, portal dbq.Portal) error {
	if p == nil || p.Kind != auth.KindIntegration {
		return nil
	}
	if !p.HasScope(assistv1.ApiKeyScope_API_KEY_SCOPE_SESSIONS_WRITE) {
		return failure.PermissionDenied("the API key lacks the API_KEY_SCOPE_SESSIONS_WRITE scope")
	}
	if portal.AccountID != p.AccountID {
		return failure.PermissionDenied("the portal belongs to another account than the API key")
	}
	return nil
}

// integratorMayRead refuses API keys without the SESSIONS_READ scope
// before any session is looked at.
func integratorMayRead(p *auth.Principal) error {
	if p.Kind == auth.KindIntegration && !p.HasScope(assistv1.ApiKeyScope_API_KEY_SCOPE_SESSIONS_READ) {
		return failure.PermissionDenied("the API key lacks the API_KEY_SCOPE_SESSIONS_READ scope")
	}
	return nil
}

// RequireAdvisorOrReader fails unless p is an advisor or an API key with
// the SESSIONS_READ scope.
func RequireAdvisorOrReader(p *auth.Principal) error {
	if p != nil && p.Kind == auth.KindIntegration {
		return integratorMayRead(p)
	}
	return RequireAdvisor(p)
}
