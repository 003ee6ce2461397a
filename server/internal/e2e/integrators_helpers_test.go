package e2e

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/gen/go/assist/v1/assistv1connect"
	"github.com/assist-chat/assist/server/internal/assistd"
	"github.com/assist-chat/assist/server/internal/assisttest"
	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/demo"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// intFast makes webhook retries and idle stream polls quick, and lets
// webhooks reach the test's loopback receivers.
func intFast(c *assistd.Config) {
	c.Integrations.WebhooksAllowPrivate = true
	c.Integrations.WebhookRetrySchedule = []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}
	c.Integrations.FeedPollInterval = 500 * time.Millisecond
}

// intDemoAccount is the demo account's id.
func intDemoAccount(t *testing.T, env *assisttest.Env) uuid.UUID {
	t.Helper()
	s := env.Server.Store()
	a, err := s.Q.AccountGetByName(context.Background(), s.Pool, demo.AccountName)
	if err != nil {
		t.Fatalf("load the demo account: %v", err)
	}
	return a.ID
}

// intAPIKey creates an API key directly in the store (the admin RPC that
// creates keys is another piece of work) and returns its secret.
func intAPIKey(t *testing.T, env *assisttest.Env, accountID uuid.UUID, scopes ...assistv1.ApiKeyScope) string {
	t.Helper()
	s := env.Server.Store()
	secret, _, err := auth.NewService(s, bcrypt.MinCost).CreateAPIKey(context.Background(), s.Pool, accountID, "test key", scopes)
	if err != nil {
		t.Fatalf("create API key: %v", err)
	}
	return secret
}

// intOtherAccount is a second account with a queue portal and an admin.
type intOtherAccount struct {
	ID         uuid.UUID
	PortalSlug string
	AdminToken string
}

func intNewAccount(t *testing.T, env *assisttest.Env) intOtherAccount {
	t.Helper()
	ctx := context.Background()
	s := env.Server.Store()
	suffix := uuid.NewString()[:8]
	acc, err := s.Q.AccountInsert(ctx, s.Pool, "Other "+suffix)
	if err != nil {
		t.Fatal(err)
	}
	portal, err := s.Q.PortalInsert(ctx, s.Pool, dbq.PortalInsertParams{
		AccountID: acc.ID, Slug: "other-" + suffix, DisplayName: "Other", Mode: int16(assistv1.PortalMode_PORTAL_MODE_QUEUE),
	})
	if err != nil {
		t.Fatal(err)
	}
	hash, err := auth.HashPassword("other-admin-password", bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	email := "admin-" + suffix + "@other.example"
	adv, err := s.Q.AdvisorInsert(ctx, s.Pool, dbq.AdvisorInsertParams{
		AccountID: acc.ID, Email: email, DisplayName: "Other admin", PasswordHash: hash, ReportAccess: true, Admin: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Q.PortalAdvisorInsert(ctx, s.Pool, dbq.PortalAdvisorInsertParams{PortalID: portal.ID, AdvisorID: adv.ID}); err != nil {
		t.Fatal(err)
	}
	return intOtherAccount{ID: acc.ID, PortalSlug: portal.Slug, AdminToken: env.Login(t, email, "other-admin-password")}
}

func intEvents(env *assisttest.Env, p assisttest.Protocol, token string) assistv1connect.EventServiceClient {
	return assistv1connect.NewEventServiceClient(env.Client(p, token))
}

func intHooks(env *assisttest.Env, token string) assistv1connect.WebhookServiceClient {
	return assistv1connect.NewWebhookServiceClient(env.Client(assisttest.Connect, token))
}

// intFirstAccountEvent opens the account stream and returns its first
// event, or the error that ends it first.
func intFirstAccountEvent(ctx context.Context, c assistv1connect.EventServiceClient, req *assistv1.StreamAccountEventsRequest) (*assistv1.AccountEvent, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	stream, err := c.StreamAccountEvents(ctx, req)
	if err != nil {
		return nil, err
	}
	defer stream.Close()
	res, err := stream.Receive()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("stream ended cleanly without an event")
	}
	if err != nil {
		return nil, err
	}
	return res.GetEvent(), nil
}

// intStartWithKey starts a session on slug with an API key.
func intStartWithKey(ctx context.Context, env *assisttest.Env, key, slug, name string) (*assistv1.StartSessionResponse, error) {
	return env.Services(assisttest.Connect, key).Portal.StartSession(ctx, &assistv1.StartSessionRequest{
		PortalSlug: slug, Customer: &assistv1.CustomerInfo{DisplayName: name}, RequestId: uuid.NewString(),
	})
}
