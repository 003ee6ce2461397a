package e2e

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect/v2"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assisttest"
	"github.com/assist-chat/assist/server/internal/auth"
)

// Every integrator RPC answers each kind of caller with its documented
// code: API keys reach what their scopes allow on their own account only,
// webhooks are for admins, and nobody sees another account.
func TestIntegratorRPCsAnswerEachCallerWithTheDocumentedCode(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t, intFast)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	demoID := intDemoAccount(t, env)
	sid, customerToken, advisorToken := env.ActiveSession(t)
	adminToken := env.Login(t, assisttest.AdminEmail, assisttest.AdminPassword)
	var (
		read     = assistv1.ApiKeyScope_API_KEY_SCOPE_SESSIONS_READ
		write    = assistv1.ApiKeyScope_API_KEY_SCOPE_SESSIONS_WRITE
		reports  = assistv1.ApiKeyScope_API_KEY_SCOPE_REPORTS_READ
		readKey  = intAPIKey(t, env, demoID, read)
		writeKey = intAPIKey(t, env, demoID, write)
		repKey   = intAPIKey(t, env, demoID, reports)
		noScope  = intAPIKey(t, env, demoID)
		revoked  = intAPIKey(t, env, demoID, read, write)
	)
	if _, err := env.Server.Store().Pool.Exec(ctx, "UPDATE api_keys SET revoke_time = now() WHERE secret_hash = $1", auth.HashSecret(revoked)); err != nil {
		t.Fatal(err)
	}
	other := intNewAccount(t, env)
	otherKey := intAPIKey(t, env, other.ID, read, write)
	// The other account has a session of its own, started with its key.
	otherStart, err := intStartWithKey(ctx, env, otherKey, other.PortalSlug, "Olga")
	if err != nil {
		t.Fatalf("another account's key starting a session on its own portal: %v", err)
	}

	ok := connect.Code(0)
	callers := []struct {
		name  string
		token string
		// want codes per RPC family
		stream, webhook, start, getSession connect.Code
	}{
		{"no credentials", "", connect.CodeUnauthenticated, connect.CodeUnauthenticated, ok, connect.CodeUnauthenticated},
		{"customer", customerToken, connect.CodePermissionDenied, connect.CodePermissionDenied, ok, connect.CodePermissionDenied},
		{"advisor", advisorToken, connect.CodePermissionDenied, connect.CodePermissionDenied, ok, ok},
		{"admin", adminToken, ok, ok, ok, connect.CodeNotFound},
		{"key with SESSIONS_READ", readKey, ok, connect.CodePermissionDenied, connect.CodePermissionDenied, ok},
		{"key with SESSIONS_WRITE", writeKey, connect.CodePermissionDenied, connect.CodePermissionDenied, ok, connect.CodePermissionDenied},
		{"key with REPORTS_READ", repKey, connect.CodePermissionDenied, connect.CodePermissionDenied, connect.CodePermissionDenied, connect.CodePermissionDenied},
		{"key without scopes", noScope, connect.CodePermissionDenied, connect.CodePermissionDenied, connect.CodePermissionDenied, connect.CodePermissionDenied},
		{"revoked key", revoked, connect.CodeUnauthenticated, connect.CodeUnauthenticated, connect.CodeUnauthenticated, connect.CodeUnauthenticated},
		{"another account's key", otherKey, ok, connect.CodePermissionDenied, connect.CodePermissionDenied, connect.CodeNotFound},
		{"another account's admin", other.AdminToken, ok, ok, ok, connect.CodeNotFound},
	}
	check := func(t *testing.T, what string, err error, want connect.Code) {
		t.Helper()
		if want == ok {
			if err != nil {
				t.Errorf("%s: %v, want success", what, err)
			}
			return
		}
		e2eWantCode(t, err, want, what)
	}
	for _, c := range callers {
		t.Run(c.name, func(t *testing.T) {
			for _, p := range assisttest.Protocols {
				ev, err := intFirstAccountEvent(ctx, intEvents(env, p, c.token), &assistv1.StreamAccountEventsRequest{})
				check(t, "StreamAccountEvents over "+string(p), err, c.stream)
				// Nobody sees another account's events.
				wantSession := map[string]string{otherKey: otherStart.GetSession().GetId(), other.AdminToken: otherStart.GetSession().GetId()}[c.token]
				if err == nil && wantSession != "" && ev.GetEvent().GetSessionId() != wantSession {
					t.Errorf("StreamAccountEvents over %s: first event belongs to session %s, want the caller's own account's session %s", p, ev.GetEvent().GetSessionId(), wantSession)
				}
				if err == nil && wantSession == "" && ev.GetEvent().GetSessionId() == otherStart.GetSession().GetId() {
					t.Errorf("StreamAccountEvents over %s: the demo account saw another account's session", p)
				}
			}

			hooks := intHooks(env, c.token)
			created, err := hooks.CreateWebhookEndpoint(ctx, &assistv1.CreateWebhookEndpointRequest{Url: "http://127.0.0.1:9/hook"})
			check(t, "CreateWebhookEndpoint", err, c.webhook)
			if err == nil {
				if _, err := hooks.DeleteWebhookEndpoint(ctx, &assistv1.DeleteWebhookEndpointRequest{EndpointId: created.GetEndpoint().GetId()}); err != nil {
					t.Errorf("DeleteWebhookEndpoint of the caller's own endpoint: %v", err)
				}
			}
			_, err = hooks.ListWebhookEndpoints(ctx, &assistv1.ListWebhookEndpointsRequest{})
			check(t, "ListWebhookEndpoints", err, c.webhook)

			_, err = env.Services(assisttest.Connect, c.token).Portal.StartSession(ctx, &assistv1.StartSessionRequest{
				PortalSlug: assisttest.PortalSlug, Customer: &assistv1.CustomerInfo{DisplayName: "Via " + c.name},
			})
			check(t, "StartSession on the demo portal", err, c.start)

			_, err = env.Services(assisttest.Connect, c.token).Session.GetSession(ctx, &assistv1.GetSessionRequest{SessionId: sid})
			check(t, "GetSession", err, c.getSession)
		})
	}

	// A key with SESSIONS_READ follows a session's log; without it, it is
	// refused.
	if err := e2eSubscribeFirstError(ctx, env.Services(assisttest.Connect, readKey).Chat, &assistv1.SubscribeRequest{SessionId: sid}); err != nil {
		t.Errorf("Subscribe with SESSIONS_READ: %v, want the log", err)
	}
	e2eWantCode(t, e2eSubscribeFirstError(ctx, env.Services(assisttest.Connect, writeKey).Chat, &assistv1.SubscribeRequest{SessionId: sid}), connect.CodePermissionDenied, "Subscribe with SESSIONS_WRITE only")
	if _, err := env.Services(assisttest.Connect, readKey).Chat.GetTranscript(ctx, &assistv1.GetTranscriptRequest{SessionId: sid}); err != nil {
		t.Errorf("GetTranscript with SESSIONS_READ: %v", err)
	}

	// An admin's endpoint is out of reach of another account's admin.
	created, err := intHooks(env, adminToken).CreateWebhookEndpoint(ctx, &assistv1.CreateWebhookEndpointRequest{Url: "http://127.0.0.1:9/hook"})
	if err != nil {
		t.Fatal(err)
	}
	otherHooks := intHooks(env, other.AdminToken)
	list, err := otherHooks.ListWebhookEndpoints(ctx, &assistv1.ListWebhookEndpointsRequest{})
	if err != nil || len(list.GetEndpoints()) != 0 {
		t.Errorf("another account's admin lists %v (%v), want no endpoint", list.GetEndpoints(), err)
	}
	id := created.GetEndpoint().GetId()
	_, err = otherHooks.UpdateWebhookEndpoint(ctx, &assistv1.UpdateWebhookEndpointRequest{EndpointId: id, Disabled: new(true)})
	e2eWantCode(t, err, connect.CodeNotFound, "UpdateWebhookEndpoint of another account's endpoint")
	_, err = otherHooks.RotateWebhookSecret(ctx, &assistv1.RotateWebhookSecretRequest{EndpointId: id})
	e2eWantCode(t, err, connect.CodeNotFound, "RotateWebhookSecret of another account's endpoint")
	_, err = otherHooks.ListWebhookDeliveries(ctx, &assistv1.ListWebhookDeliveriesRequest{EndpointId: id})
	e2eWantCode(t, err, connect.CodeNotFound, "ListWebhookDeliveries of another account's endpoint")
	_, err = otherHooks.DeleteWebhookEndpoint(ctx, &assistv1.DeleteWebhookEndpointRequest{EndpointId: id})
	e2eWantCode(t, err, connect.CodeNotFound, "DeleteWebhookEndpoint of another account's endpoint")
	_, err = intHooks(env, readKey).ReplayWebhookDelivery(ctx, &assistv1.ReplayWebhookDeliveryRequest{DeliveryId: "1"})
	e2eWantCode(t, err, connect.CodePermissionDenied, "ReplayWebhookDelivery with an API key")
	_, err = otherHooks.ReplayWebhookDelivery(ctx, &assistv1.ReplayWebhookDeliveryRequest{DeliveryId: "1"})
	e2eWantCode(t, err, connect.CodeNotFound, "ReplayWebhookDelivery of another account's delivery")
}

// A session an integrator starts is an ordinary customer session of its
// account: it waits in the portal's queue and its customer token works.
func TestAPIKeyWithSessionsWriteStartsSessionsOnItsAccountsPortals(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t, intFast)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key := intAPIKey(t, env, intDemoAccount(t, env), assistv1.ApiKeyScope_API_KEY_SCOPE_SESSIONS_WRITE)
	res, err := intStartWithKey(ctx, env, key, assisttest.PortalSlug, "Grace")
	if err != nil {
		t.Fatalf("StartSession with a SESSIONS_WRITE key: %v", err)
	}
	if res.GetSession().GetState() != assistv1.SessionState_SESSION_STATE_WAITING || res.GetCustomerToken() == "" {
		t.Fatalf("session %v, token %q: want a waiting session and a customer token", res.GetSession(), res.GetCustomerToken())
	}
	if _, err := e2eSendText(ctx, env.Services(assisttest.Connect, res.GetCustomerToken()).Chat, res.GetSession().GetId(), "m1", "hello"); err != nil {
		t.Fatalf("the customer token of an integrator's session cannot chat: %v", err)
	}
	_, err = env.Services(assisttest.Connect, "ast_key_forged-forged-forged-forged").Portal.StartSession(ctx, &assistv1.StartSessionRequest{
		PortalSlug: assisttest.PortalSlug, Customer: &assistv1.CustomerInfo{DisplayName: "x"}})
	e2eWantCode(t, err, connect.CodeUnauthenticated, "StartSession with an unknown API key")
}
