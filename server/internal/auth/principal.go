// Package auth knows who is calling: it mints and resolves opaque bearer
// tokens, checks advisor passwords, and decides what a caller may reach.
package auth

import (
	"context"
	"time"

	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
)

// Kind is what sort of caller a Principal is.
type Kind int16

// The values are stored in access_tokens.kind: never renumber them.
const (
	KindAdvisor     Kind = 1
	KindCustomer    Kind = 2
	KindCustomerApp Kind = 3
	KindIntegration Kind = 4
)

func (k Kind) String() string {
	switch k {
	case KindAdvisor:
		return "advisor"
	case KindCustomer:
		return "customer"
	case KindCustomerApp:
		return "customer_app"
	case KindIntegration:
		return "integration"
	}
	return "unknown"
}

// Principal is an authenticated caller.
type Principal struct {
	Kind      Kind
	AccountID uuid.UUID
	// AdvisorID is set for advisors.
	AdvisorID uuid.UUID
	// SessionID is the one session a customer or customer app reaches.
	SessionID uuid.UUID
	// APIKeyID and Scopes are set for integrations.
	APIKeyID     uuid.UUID
	Scopes       []assistv1.ApiKeyScope
	DisplayName  string
	ReportAccess bool
	Admin        bool
	// TokenHash identifies the credential, so that Logout can revoke it.
	TokenHash []byte
	// ExpireTime is when the credential stops working by itself; zero for
	// API keys, which work until revoked.
	ExpireTime time.Time
}

// Participant is how the principal appears as the author of log events.
func (p *Principal) Participant() *assistv1.Participant {
	switch p.Kind {
	case KindAdvisor:
		return &assistv1.Participant{Role: assistv1.ParticipantRole_PARTICIPANT_ROLE_ADVISOR, Id: p.AdvisorID.String(), DisplayName: p.DisplayName}
	case KindCustomer:
		return &assistv1.Participant{Role: assistv1.ParticipantRole_PARTICIPANT_ROLE_CUSTOMER, DisplayName: p.DisplayName}
	case KindCustomerApp:
		return &assistv1.Participant{Role: assistv1.ParticipantRole_PARTICIPANT_ROLE_CUSTOMER_APP, DisplayName: p.DisplayName}
	case KindIntegration:
		return &assistv1.Participant{Role: assistv1.ParticipantRole_PARTICIPANT_ROLE_INTEGRATION, Id: p.APIKeyID.String(), DisplayName: p.DisplayName}
	}
	return &assistv1.Participant{}
}

// CredentialKey names what a revocation of p's credential reaches: every
// token of an advisor (a disabled advisor), of a session (customer and app
// tokens), or one API key. Streams watch it to end when it is revoked.
func (p *Principal) CredentialKey() string {
	switch p.Kind {
	case KindAdvisor:
		return AdvisorCredentialKey(p.AdvisorID)
	case KindCustomer, KindCustomerApp:
		return SessionCredentialKey(p.SessionID)
	case KindIntegration:
		return APIKeyCredentialKey(p.APIKeyID)
	}
	return "none"
}

// AdvisorCredentialKey names every token of one advisor.
func AdvisorCredentialKey(id uuid.UUID) string { return "adv-" + id.String() }

// SessionCredentialKey names every customer and app token of one session.
func SessionCredentialKey(id uuid.UUID) string { return "ses-" + id.String() }

// APIKeyCredentialKey names one API key.
func APIKeyCredentialKey(id uuid.UUID) string { return "key-" + id.String() }

// HasScope reports whether an integration's key carries scope.
func (p *Principal) HasScope(scope assistv1.ApiKeyScope) bool {
	for _, s := range p.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the caller, or nil for an anonymous call.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
