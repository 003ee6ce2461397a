package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/protobuf/types/known/timestamppb"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/store"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// Token prefixes tell a leaked secret's kind at a glance (and to secret
// scanners); the random part carries 256 bits.
const (
	prefixAdvisor     = "ast_adv_"
	prefixCustomer    = "ast_cus_"
	prefixCustomerApp = "ast_app_"
	prefixAPIKey      = "ast_key_"
)

// Lifetimes of the tokens minted here.
const (
	AdvisorTokenLifetime  = 12 * time.Hour
	CustomerTokenLifetime = 7 * 24 * time.Hour // long enough to save the chat history after the end
)

// DefaultPasswordCost is bcrypt's work factor for stored passwords: it
// balances login latency against offline guessing.
const DefaultPasswordCost = 11

func newSecret(prefix string) (secret string, hash []byte) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	secret = prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, HashSecret(secret)
}

// HashSecret is how token and API key secrets are stored: random secrets
// need no slow hash, only one that cannot be reversed.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// HashPassword hashes an advisor's password for storage with bcrypt's
// work factor cost (0: DefaultPasswordCost).
func HashPassword(password string, cost int) (string, error) {
	if cost == 0 {
		cost = DefaultPasswordCost
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", err
	}
	return string(h), nil
}

// Service mints, resolves and revokes credentials.
type Service struct {
	store *store.Store
	now   func() time.Time
	// dummyHash makes a login for an unknown e-mail cost as much as a wrong
	// password, so timing does not reveal which e-mails exist.
	dummyHash func() []byte
	// Revoked, if set, is told the credential key of every credential
	// revoked here, after the revocation is stored, so that open streams
	// holding it end at once on every replica.
	Revoked func(ctx context.Context, credentialKey string) error
	cache   *principalCache
}

// NewService returns the credential service. passwordCost is the bcrypt
// work factor of stored passwords (0: DefaultPasswordCost).
func NewService(s *store.Store, passwordCost int) *Service {
	if passwordCost == 0 {
		passwordCost = DefaultPasswordCost
	}
	return &Service{store: s, now: time.Now, cache: newPrincipalCache(DefaultCacheTTL), dummyHash: sync.OnceValue(func() []byte {
		h, _ := bcrypt.GenerateFromPassword([]byte("dummy password"), passwordCost)
		return h
	})}
}

// Login checks an advisor's password and mints an advisor token.
func (s *Service) Login(ctx context.Context, email, password string) (token string, expire time.Time, advisor *assistv1.Advisor, err error) {
	if !store.TextOK(email) {
		return "", time.Time{}, nil, failure.InvalidArgument("email", "must not contain NUL characters")
	}
	row, err := s.store.Q.AdvisorGetByEmail(ctx, s.store.Pool, email)
	if store.IsNotFound(err) {
		_ = bcrypt.CompareHashAndPassword(s.dummyHash(), []byte(password))
		return "", time.Time{}, nil, failure.Unauthenticated("wrong e-mail or password")
	}
	if err != nil {
		return "", time.Time{}, nil, err
	}
	if bcrypt.CompareHashAndPassword([]byte(row.PasswordHash), []byte(password)) != nil || row.Disabled {
		return "", time.Time{}, nil, failure.Unauthenticated("wrong e-mail or password")
	}
	expire = s.now().Add(AdvisorTokenLifetime)
	token, hash := newSecret(prefixAdvisor)
	err = s.store.Q.AccessTokenInsert(ctx, s.store.Pool, dbq.AccessTokenInsertParams{
		TokenHash: hash, Kind: int16(KindAdvisor), AccountID: row.AccountID,
		AdvisorID: &row.ID, ExpireTime: expire,
	})
	if err != nil {
		return "", time.Time{}, nil, err
	}
	return token, expire, AdvisorProto(row), nil
}

// AdvisorProto is an advisor as the contract shows it (no password hash).
func AdvisorProto(a dbq.Advisor) *assistv1.Advisor {
	return &assistv1.Advisor{
		Id: a.ID.String(), AccountId: a.AccountID.String(), Email: a.Email,
		DisplayName: a.DisplayName, ReportAccess: a.ReportAccess, Admin: a.Admin,
		Disabled: a.Disabled, CreateTime: timestamppb.New(a.CreateTime),
	}
}

// MintSessionToken creates a customer or customer-app token reaching one
// session only. db may be a transaction, so the token exists only if the
// session does.
func (s *Service) MintSessionToken(ctx context.Context, db dbq.DBTX, kind Kind, accountID, sessionID uuid.UUID) (string, error) {
	prefix := prefixCustomer
	if kind == KindCustomerApp {
		prefix = prefixCustomerApp
	}
	token, hash := newSecret(prefix)
	err := s.store.Q.AccessTokenInsert(ctx, db, dbq.AccessTokenInsertParams{
		TokenHash: hash, Kind: int16(kind), AccountID: accountID,
		SessionID: &sessionID, ExpireTime: s.now().Add(CustomerTokenLifetime),
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// Revoke revokes the token that authenticated p.
func (s *Service) Revoke(ctx context.Context, p *Principal) error {
	if p == nil || p.Kind != KindAdvisor {
		return failure.PermissionDenied("only advisor tokens can be logged out")
	}
	if err := s.store.Q.AccessTokenRevoke(ctx, s.store.Pool, p.TokenHash); err != nil {
		return err
	}
	return s.announceRevoked(ctx, p.CredentialKey())
}

// announceRevoked tells open streams that a credential was revoked.
func (s *Service) announceRevoked(ctx context.Context, key string) error {
	if s.Revoked == nil {
		return nil
	}
	return s.Revoked(ctx, key)
}

// StillValid returns Unauthenticated once p's credential is revoked or
// expired, or its advisor disabled: long-lived streams call it now and then,
// so that a logout also closes what was opened before it.
func (s *Service) StillValid(ctx context.Context, p *Principal) error {
	if p.Kind == KindIntegration {
		_, err := s.store.Q.ApiKeyGetBySecret(ctx, s.store.Pool, p.TokenHash)
		if store.IsNotFound(err) {
			return failure.Unauthenticated("API key revoked")
		}
		return err
	}
	tok, err := s.store.Q.AccessTokenGet(ctx, s.store.Pool, p.TokenHash)
	if store.IsNotFound(err) {
		return failure.Unauthenticated("token revoked or expired")
	}
	if err != nil {
		return err
	}
	if tok.AdvisorID != nil {
		adv, err := s.store.Q.AdvisorGet(ctx, s.store.Pool, *tok.AdvisorID)
		if err != nil {
			return err
		}
		if adv.Disabled {
			return failure.Unauthenticated("advisor disabled")
		}
	}
	return nil
}

// Resolve turns a bearer secret into the caller it authenticates. A
// credential resolved in the last DefaultCacheTTL is not looked up again,
// unless Forget was told it changed.
func (s *Service) Resolve(ctx context.Context, secret string) (*Principal, error) {
	if len(secret) < len(prefixAdvisor)+1 || len(secret) > 200 {
		return nil, failure.Unauthenticated("invalid token")
	}
	hash := HashSecret(secret)
	now := s.now()
	if p := s.cache.get(hash, now); p != nil {
		return p, nil
	}
	gen := s.cache.generation()
	p, err := s.resolve(ctx, secret, hash)
	if err != nil {
		return nil, err
	}
	s.cache.put(p, now, gen)
	return p, nil
}

func (s *Service) resolve(ctx context.Context, secret string, hash []byte) (*Principal, error) {
	if strings.HasPrefix(secret, prefixAPIKey) {
		key, err := s.store.Q.ApiKeyGetBySecret(ctx, s.store.Pool, hash)
		if store.IsNotFound(err) {
			return nil, failure.Unauthenticated("invalid or revoked API key")
		}
		if err != nil {
			return nil, fmt.Errorf("resolve API key: %w", err)
		}
		s.touchAPIKey(ctx, key.ID)
		p := &Principal{Kind: KindIntegration, AccountID: key.AccountID, APIKeyID: key.ID, DisplayName: key.Name, TokenHash: hash}
		for _, sc := range key.Scopes {
			p.Scopes = append(p.Scopes, assistv1.ApiKeyScope(sc))
		}
		return p, nil
	}
	tok, err := s.store.Q.AccessTokenResolve(ctx, s.store.Pool, hash)
	if store.IsNotFound(err) {
		return nil, failure.Unauthenticated("invalid, expired or revoked token")
	}
	if err != nil {
		return nil, fmt.Errorf("resolve token: %w", err)
	}
	p := &Principal{Kind: Kind(tok.Kind), AccountID: tok.AccountID, TokenHash: hash, ExpireTime: tok.ExpireTime}
	switch {
	case p.Kind == KindAdvisor && tok.AdvisorID != nil && tok.AdvisorName != nil:
		if *tok.Disabled {
			return nil, failure.Unauthenticated("advisor disabled")
		}
		p.AdvisorID, p.DisplayName, p.ReportAccess, p.Admin = *tok.AdvisorID, *tok.AdvisorName, *tok.ReportAccess, *tok.Admin
	case (p.Kind == KindCustomer || p.Kind == KindCustomerApp) && tok.SessionID != nil && tok.CustomerDisplayName != nil:
		p.SessionID, p.DisplayName = *tok.SessionID, *tok.CustomerDisplayName
	default:
		return nil, failure.Unauthenticated("invalid token")
	}
	return p, nil
}
