package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assisttest"
)

// adminCalls are the AdminService RPCs of this server's administration,
// each with a valid request aimed at the account's own things.
func adminCalls(advisorID, portalID, keyID string) []authzCall {
	return []authzCall{
		{"AdminService.CreateAdvisor", func(ctx context.Context, c *assisttest.Clients, _ string) error {
			_, err := c.Admin.CreateAdvisor(ctx, &assistv1.CreateAdvisorRequest{Email: uuid.NewString()[:8] + "@demo.example", DisplayName: "New", Password: "a long enough password"})
			return err
		}},
		{"AdminService.ListAdvisors", func(ctx context.Context, c *assisttest.Clients, _ string) error {
			_, err := c.Admin.ListAdvisors(ctx, &assistv1.ListAdvisorsRequest{})
			return err
		}},
		{"AdminService.UpdateAdvisor", func(ctx context.Context, c *assisttest.Clients, _ string) error {
			_, err := c.Admin.UpdateAdvisor(ctx, &assistv1.UpdateAdvisorRequest{AdvisorId: advisorID, DisplayName: "Sam (renamed)", UpdateMask: reportsMask("display_name")})
			return err
		}},
		{"AdminService.CreatePortal", func(ctx context.Context, c *assisttest.Clients, _ string) error {
			_, err := c.Admin.CreatePortal(ctx, &assistv1.CreatePortalRequest{Slug: "p-" + uuid.NewString()[:8], DisplayName: "New", Mode: assistv1.PortalMode_PORTAL_MODE_QUEUE})
			return err
		}},
		{"AdminService.ListPortals", func(ctx context.Context, c *assisttest.Clients, _ string) error {
			_, err := c.Admin.ListPortals(ctx, &assistv1.ListPortalsRequest{})
			return err
		}},
		{"AdminService.UpdatePortal", func(ctx context.Context, c *assisttest.Clients, _ string) error {
			_, err := c.Admin.UpdatePortal(ctx, &assistv1.UpdatePortalRequest{PortalId: portalID, DisplayName: "Demo support", UpdateMask: reportsMask("display_name")})
			return err
		}},
		{"AdminService.CreateApiKey", func(ctx context.Context, c *assisttest.Clients, _ string) error {
			_, err := c.Admin.CreateApiKey(ctx, &assistv1.CreateApiKeyRequest{Name: "k", Scopes: []assistv1.ApiKeyScope{assistv1.ApiKeyScope_API_KEY_SCOPE_SESSIONS_READ}})
			return err
		}},
		{"AdminService.ListApiKeys", func(ctx context.Context, c *assisttest.Clients, _ string) error {
			_, err := c.Admin.ListApiKeys(ctx, &assistv1.ListApiKeysRequest{})
			return err
		}},
		{"AdminService.RevokeApiKey", func(ctx context.Context, c *assisttest.Clients, _ string) error {
			_, err := c.Admin.RevokeApiKey(ctx, &assistv1.RevokeApiKeyRequest{ApiKeyId: keyID})
			return err
		}},
		{"AdminService.ListAuditEvents", func(ctx context.Context, c *assisttest.Clients, _ string) error {
			_, err := c.Admin.ListAuditEvents(ctx, &assistv1.ListAuditEventsRequest{})
			return err
		}},
	}
}

// Administration is for the account's admins: everyone else is refused,
// API keys whatever their scopes, and another account's admin finds none
// of this account's advisors, portals or keys.
func TestOnlyTheAccountsAdminsAdministerIt(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	f := reportsSetup(ctx, t)
	env := f.env
	// A key only the revocation calls aim at.
	target, err := env.Services(assisttest.Connect, f.admin).Admin.CreateApiKey(ctx, &assistv1.CreateApiKeyRequest{Name: "target", Scopes: []assistv1.ApiKeyScope{assistv1.ApiKeyScope_API_KEY_SCOPE_SESSIONS_READ}})
	if err != nil {
		t.Fatal(err)
	}
	keyID := target.GetApiKey().GetId()
	calls := adminCalls(f.advisor2ID, f.portalID, keyID)
	allScopes, err := env.Services(assisttest.Connect, f.admin).Admin.CreateApiKey(ctx, &assistv1.CreateApiKeyRequest{Name: "everything", Scopes: []assistv1.ApiKeyScope{
		assistv1.ApiKeyScope_API_KEY_SCOPE_SESSIONS_WRITE, assistv1.ApiKeyScope_API_KEY_SCOPE_SESSIONS_READ, assistv1.ApiKeyScope_API_KEY_SCOPE_REPORTS_READ}})
	if err != nil {
		t.Fatal(err)
	}
	// An advisor with report access is no admin.
	if _, err := env.Services(assisttest.Connect, f.admin).Admin.UpdateAdvisor(ctx, &assistv1.UpdateAdvisorRequest{
		AdvisorId: f.advisorID, ReportAccess: true, UpdateMask: reportsMask("report_access")}); err != nil {
		t.Fatal(err)
	}

	authzExpect(ctx, t, env, "no credentials", "", "", calls, connect.CodeUnauthenticated)
	authzExpect(ctx, t, env, "a customer", f.endedCustomer, "", calls, connect.CodePermissionDenied)
	authzExpect(ctx, t, env, "a customer app", f.app, "", calls, connect.CodePermissionDenied)
	authzExpect(ctx, t, env, "an advisor", f.advisor2, "", calls, connect.CodePermissionDenied)
	authzExpect(ctx, t, env, "an advisor with report access", f.advisor, "", calls, connect.CodePermissionDenied)
	for scope, key := range f.keys {
		authzExpect(ctx, t, env, "API key with "+scope.String(), key, "", calls, connect.CodePermissionDenied)
	}
	authzExpect(ctx, t, env, "API key with every scope", allScopes.GetSecret(), "", calls, connect.CodePermissionDenied)
	authzExpect(ctx, t, env, "the admin", f.admin, "", calls, authzOK)

	// Another account's admin: this account's ids do not exist.
	authzExpect(ctx, t, env, "another account's admin", f.foreignAdmin, "",
		authzOnly(calls, "AdminService.UpdateAdvisor", "AdminService.UpdatePortal", "AdminService.RevokeApiKey"), connect.CodeNotFound)
	foreign := env.Services(assisttest.Connect, f.foreignAdmin).Admin
	advs, err := foreign.ListAdvisors(ctx, &assistv1.ListAdvisorsRequest{})
	if err != nil || len(advs.GetAdvisors()) != 1 || advs.GetAdvisors()[0].GetEmail() != authzForeignEmail {
		t.Errorf("another account's admin lists advisors %v (%v), want only their own", advs.GetAdvisors(), err)
	}
	portals, err := foreign.ListPortals(ctx, &assistv1.ListPortalsRequest{})
	if err != nil || len(portals.GetPortals()) != 1 || portals.GetPortals()[0].GetSlug() != authzForeignSlug {
		t.Errorf("another account's admin lists portals %v (%v), want only their own", portals.GetPortals(), err)
	}
	fk, err := foreign.ListApiKeys(ctx, &assistv1.ListApiKeysRequest{})
	if err != nil || len(fk.GetApiKeys()) != 0 {
		t.Errorf("another account's admin lists keys %v (%v), want none", fk.GetApiKeys(), err)
	}
	audit, err := foreign.ListAuditEvents(ctx, &assistv1.ListAuditEventsRequest{})
	if err != nil || len(audit.GetEvents()) != 0 {
		t.Errorf("another account's admin reads audit events %v (%v), want none", audit.GetEvents(), err)
	}
	// Nor may they put this account's advisor on their portal.
	_, err = foreign.CreatePortal(ctx, &assistv1.CreatePortalRequest{Slug: "poach", DisplayName: "Poach", Mode: assistv1.PortalMode_PORTAL_MODE_QUEUE, AdvisorIds: []string{f.advisorID}})
	e2eWantCode(t, err, connect.CodeNotFound, "another account's advisor on a new portal")
}

// adminCounts counts the rows administration writes.
func adminCounts(ctx context.Context, t *testing.T, db *pgx.Conn) [5]int64 {
	t.Helper()
	var c [5]int64
	if err := db.QueryRow(ctx, `SELECT (SELECT count(*) FROM advisors), (SELECT count(*) FROM portals),
		(SELECT count(*) FROM portal_advisors), (SELECT count(*) FROM api_keys), (SELECT count(*) FROM audit_events)`).Scan(&c[0], &c[1], &c[2], &c[3], &c[4]); err != nil {
		t.Fatal(err)
	}
	return c
}

// An admin creates, lists and changes advisors, portals and keys; bad
// input is refused naming the field and writes nothing; every change is
// in the audit log with who made it, newest first, page by page.
func TestAdminManagesTheAccountAndEveryChangeIsAudited(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	env := assisttest.Start(t)
	login, err := env.Services(assisttest.Connect, "").Auth.Login(ctx, &assistv1.LoginRequest{Email: assisttest.AdminEmail, Password: assisttest.AdminPassword})
	if err != nil {
		t.Fatal(err)
	}
	adminID := login.GetAdvisor().GetId()
	c := env.Services(assisttest.GRPC, login.GetAccessToken()).Admin
	db := e2eDB(t, env.DatabaseURL)

	// Advisors.
	created, err := c.CreateAdvisor(ctx, &assistv1.CreateAdvisorRequest{Email: "nina@demo.example", DisplayName: "Nina", Password: "nina's first password", ReportAccess: true})
	if err != nil {
		t.Fatal(err)
	}
	nina := created.GetAdvisor()
	if nina.GetEmail() != "nina@demo.example" || nina.GetDisplayName() != "Nina" || !nina.GetReportAccess() || nina.GetAdmin() || nina.GetDisabled() {
		t.Errorf("created advisor %v", nina)
	}
	ninaToken := env.Login(t, "nina@demo.example", "nina's first password") // the initial password works
	upd, err := c.UpdateAdvisor(ctx, &assistv1.UpdateAdvisorRequest{AdvisorId: nina.GetId(), DisplayName: "Nina R.", Admin: true, UpdateMask: reportsMask("display_name", "admin")})
	if err != nil {
		t.Fatal(err)
	}
	if upd.GetAdvisor().GetDisplayName() != "Nina R." || !upd.GetAdvisor().GetAdmin() || !upd.GetAdvisor().GetReportAccess() {
		t.Errorf("updated advisor %v: want the new name and admin, report access untouched", upd.GetAdvisor())
	}
	list, err := c.ListAdvisors(ctx, &assistv1.ListAdvisorsRequest{})
	if err != nil || len(list.GetAdvisors()) != 4 {
		t.Fatalf("list advisors: %v, %d", err, len(list.GetAdvisors()))
	}
	// Nina, now admin, sees the account.
	if _, err := env.Services(assisttest.Connect, ninaToken).Admin.ListPortals(ctx, &assistv1.ListPortalsRequest{}); err != nil {
		t.Errorf("an advisor just made admin: %v", err)
	}

	// Portals.
	portal, err := c.CreatePortal(ctx, &assistv1.CreatePortalRequest{Slug: "billing", DisplayName: "Billing", Mode: assistv1.PortalMode_PORTAL_MODE_QUEUE, AdvisorIds: []string{nina.GetId()}})
	if err != nil {
		t.Fatal(err)
	}
	if p := portal.GetPortal(); p.GetSlug() != "billing" || len(p.GetAdvisorIds()) != 1 || p.GetAdvisorIds()[0] != nina.GetId() {
		t.Errorf("created portal %v", p)
	}
	pu, err := c.UpdatePortal(ctx, &assistv1.UpdatePortalRequest{PortalId: portal.GetPortal().GetId(), DisplayName: "Billing desk",
		AdvisorIds: []string{adminID, nina.GetId()}, UpdateMask: reportsMask("display_name", "advisor_ids")})
	if err != nil {
		t.Fatal(err)
	}
	if p := pu.GetPortal(); p.GetDisplayName() != "Billing desk" || len(p.GetAdvisorIds()) != 2 || p.GetMode() != assistv1.PortalMode_PORTAL_MODE_QUEUE {
		t.Errorf("updated portal %v", p)
	}
	// Customers reach the new portal.
	if _, err := env.Services(assisttest.Connect, "").Portal.StartSession(ctx, &assistv1.StartSessionRequest{PortalSlug: "billing", Customer: &assistv1.CustomerInfo{DisplayName: "Bill"}}); err != nil {
		t.Errorf("start a session on the new portal: %v", err)
	}
	portals, err := c.ListPortals(ctx, &assistv1.ListPortalsRequest{})
	var slugs []string
	for _, p := range portals.GetPortals() {
		slugs = append(slugs, p.GetSlug())
	}
	if want := []string{"billing", "demo", "demo-code", "demo-web"}; err != nil || !slices.Equal(slugs, want) {
		t.Errorf("list portals: %v %v, want %v", err, slugs, want)
	}

	// API keys: the secret once, the prefix in lists, last use recorded.
	key, err := c.CreateApiKey(ctx, &assistv1.CreateApiKeyRequest{Name: "CRM", Scopes: []assistv1.ApiKeyScope{assistv1.ApiKeyScope_API_KEY_SCOPE_REPORTS_READ}})
	if err != nil {
		t.Fatal(err)
	}
	secret := key.GetSecret()
	if !strings.HasPrefix(secret, "ast_key_") || !strings.HasPrefix(secret, key.GetApiKey().GetPrefix()) || len(key.GetApiKey().GetPrefix()) >= len(secret)/2 {
		t.Errorf("secret %q with prefix %q: want ast_key_… starting with a short prefix", secret, key.GetApiKey().GetPrefix())
	}
	var stored []byte
	if err := db.QueryRow(ctx, `SELECT secret_hash FROM api_keys WHERE id = $1`, key.GetApiKey().GetId()).Scan(&stored); err != nil || strings.Contains(string(stored), secret) {
		t.Errorf("the secret must be stored hashed: %v", err)
	}
	keys, err := c.ListApiKeys(ctx, &assistv1.ListApiKeysRequest{})
	if err != nil || len(keys.GetApiKeys()) != 1 || keys.GetApiKeys()[0].GetLastUseTime() != nil {
		t.Fatalf("list keys before use: %v %v", err, keys.GetApiKeys())
	}
	before := time.Now().Add(-time.Second)
	if _, err := env.Services(assisttest.Connect, secret).Report.ListSessionReports(ctx, &assistv1.ListSessionReportsRequest{}); err != nil {
		t.Fatalf("use the key: %v", err)
	}
	keys, err = c.ListApiKeys(ctx, &assistv1.ListApiKeysRequest{})
	if err != nil {
		t.Fatal(err)
	}
	k := keys.GetApiKeys()[0]
	if k.GetLastUseTime() == nil || k.GetLastUseTime().AsTime().Before(before) || k.GetName() != "CRM" || k.GetCreateTime() == nil || k.GetRevokeTime() != nil {
		t.Errorf("listed key after use: %v; want its last use time set", k)
	}
	for range 2 { // revoking twice is harmless, and audited once
		rev, err := c.RevokeApiKey(ctx, &assistv1.RevokeApiKeyRequest{ApiKeyId: k.GetId()})
		if err != nil || rev.GetApiKey().GetRevokeTime() == nil {
			t.Fatalf("revoke: %v %v", err, rev)
		}
	}
	_, err = env.Services(assisttest.Connect, secret).Report.ListSessionReports(ctx, &assistv1.ListSessionReportsRequest{})
	e2eWantCode(t, err, connect.CodeUnauthenticated, "a revoked key's next call")

	// Bad input: InvalidArgument naming the field, nothing written.
	counts := adminCounts(ctx, t, db)
	for _, tc := range []struct {
		field string
		call  func() error
	}{
		{"email", func() error {
			_, err := c.CreateAdvisor(ctx, &assistv1.CreateAdvisorRequest{Email: "not an e-mail", DisplayName: "X", Password: "long enough password"})
			return err
		}},
		{"password", func() error {
			_, err := c.CreateAdvisor(ctx, &assistv1.CreateAdvisorRequest{Email: "x@demo.example", DisplayName: "X", Password: "short"})
			return err
		}},
		{"display_name", func() error {
			_, err := c.CreateAdvisor(ctx, &assistv1.CreateAdvisorRequest{Email: "x@demo.example", DisplayName: "   ", Password: "long enough password"})
			return err
		}},
		{"update_mask", func() error {
			_, err := c.UpdateAdvisor(ctx, &assistv1.UpdateAdvisorRequest{AdvisorId: nina.GetId(), DisplayName: "Y", UpdateMask: reportsMask("email")})
			return err
		}},
		{"display_name", func() error {
			_, err := c.UpdateAdvisor(ctx, &assistv1.UpdateAdvisorRequest{AdvisorId: nina.GetId(), UpdateMask: reportsMask("display_name")})
			return err
		}},
		{"password", func() error {
			_, err := c.UpdateAdvisor(ctx, &assistv1.UpdateAdvisorRequest{AdvisorId: nina.GetId(), Password: "short", UpdateMask: reportsMask("password")})
			return err
		}},
		{"slug", func() error {
			_, err := c.CreatePortal(ctx, &assistv1.CreatePortalRequest{Slug: "Not A Slug", DisplayName: "X", Mode: assistv1.PortalMode_PORTAL_MODE_QUEUE})
			return err
		}},
		{"mode", func() error {
			_, err := c.CreatePortal(ctx, &assistv1.CreatePortalRequest{Slug: "x", DisplayName: "X"})
			return err
		}},
		{"advisor_ids", func() error {
			_, err := c.CreatePortal(ctx, &assistv1.CreatePortalRequest{Slug: "x", DisplayName: "X", Mode: assistv1.PortalMode_PORTAL_MODE_QUEUE, AdvisorIds: []string{"nope"}})
			return err
		}},
		{"mode", func() error {
			_, err := c.UpdatePortal(ctx, &assistv1.UpdatePortalRequest{PortalId: portal.GetPortal().GetId(), UpdateMask: reportsMask("mode")})
			return err
		}},
		{"name", func() error {
			_, err := c.CreateApiKey(ctx, &assistv1.CreateApiKeyRequest{Scopes: []assistv1.ApiKeyScope{assistv1.ApiKeyScope_API_KEY_SCOPE_SESSIONS_READ}})
			return err
		}},
		{"scopes", func() error {
			_, err := c.CreateApiKey(ctx, &assistv1.CreateApiKeyRequest{Name: "no scope"})
			return err
		}},
		{"api_key_id", func() error {
			_, err := c.RevokeApiKey(ctx, &assistv1.RevokeApiKeyRequest{ApiKeyId: "nope"})
			return err
		}},
		{"page_token", func() error {
			_, err := c.ListAuditEvents(ctx, &assistv1.ListAuditEventsRequest{PageToken: "garbage"})
			return err
		}},
	} {
		err := tc.call()
		e2eWantCode(t, err, connect.CodeInvalidArgument, "bad "+tc.field)
		if err != nil && !strings.Contains(err.Error(), tc.field) {
			t.Errorf("the error %q should name %s", err, tc.field)
		}
	}
	// Taken names, unknown ids, the last admin: their codes, nothing written.
	_, err = c.CreateAdvisor(ctx, &assistv1.CreateAdvisorRequest{Email: "NINA@demo.example", DisplayName: "Twin", Password: "long enough password"})
	e2eWantCode(t, err, connect.CodeAlreadyExists, "an e-mail in use (any case)")
	_, err = c.CreatePortal(ctx, &assistv1.CreatePortalRequest{Slug: "billing", DisplayName: "Twin", Mode: assistv1.PortalMode_PORTAL_MODE_QUEUE})
	e2eWantCode(t, err, connect.CodeAlreadyExists, "a slug in use")
	_, err = c.UpdateAdvisor(ctx, &assistv1.UpdateAdvisorRequest{AdvisorId: uuid.NewString(), DisplayName: "Ghost", UpdateMask: reportsMask("display_name")})
	e2eWantCode(t, err, connect.CodeNotFound, "an unknown advisor")
	_, err = c.UpdatePortal(ctx, &assistv1.UpdatePortalRequest{PortalId: portal.GetPortal().GetId(), AdvisorIds: []string{uuid.NewString()}, UpdateMask: reportsMask("advisor_ids")})
	e2eWantCode(t, err, connect.CodeNotFound, "an unknown advisor on a portal")
	_, err = c.RevokeApiKey(ctx, &assistv1.RevokeApiKeyRequest{ApiKeyId: uuid.NewString()})
	e2eWantCode(t, err, connect.CodeNotFound, "an unknown key")
	if got := adminCounts(ctx, t, db); got != counts {
		t.Errorf("refused requests wrote rows (advisors, portals, portal advisors, keys, audit events): before %v, after %v", counts, got)
	}
	if _, err := c.UpdateAdvisor(ctx, &assistv1.UpdateAdvisorRequest{AdvisorId: nina.GetId(), Admin: false, UpdateMask: reportsMask("admin")}); err != nil {
		t.Fatal(err) // the demo admin remains
	}
	_, err = c.UpdateAdvisor(ctx, &assistv1.UpdateAdvisorRequest{AdvisorId: adminID, Admin: false, UpdateMask: reportsMask("admin")})
	e2eWantCode(t, err, connect.CodeFailedPrecondition, "removing the last admin")
	_, err = c.UpdateAdvisor(ctx, &assistv1.UpdateAdvisorRequest{AdvisorId: adminID, Disabled: true, UpdateMask: reportsMask("disabled")})
	e2eWantCode(t, err, connect.CodeFailedPrecondition, "disabling the last admin")

	// A settings change is audited too, with its new value; a refused one
	// is not.
	_, err = c.UpdateAccountSettings(ctx, &assistv1.UpdateAccountSettingsRequest{
		Settings: &assistv1.AccountSettings{MaxLiveSessionCodesPerAdvisor: 500}, UpdateMask: reportsMask("max_live_session_codes_per_advisor"),
	})
	e2eWantField(t, err, "max_live_session_codes_per_advisor", "a bound on live codes out of range")
	if _, err := c.UpdateAccountSettings(ctx, &assistv1.UpdateAccountSettingsRequest{
		Settings: &assistv1.AccountSettings{FastChatEnabled: false}, UpdateMask: reportsMask("fast_chat_enabled"),
	}); err != nil {
		t.Fatal(err)
	}

	// The audit log: every change, newest first, who did it, page by page.
	var actions, settingsDetails []string
	req := &assistv1.ListAuditEventsRequest{PageSize: 2}
	for {
		res, err := c.ListAuditEvents(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range res.GetEvents() {
			actions = append(actions, e.GetAction())
			if e.GetAction() == "account.settings.update" {
				settingsDetails = append(settingsDetails, e.GetDetails())
			}
			if e.GetActor().GetId() != adminID || e.GetCreateTime() == nil || e.GetTargetId() == "" {
				t.Errorf("audit event %v: want the admin as actor, a time and a target", e)
			}
			if strings.Contains(e.GetDetails(), "password") && e.GetAction() == "advisor.create" || strings.Contains(e.GetDetails(), secret) {
				t.Errorf("audit event %v reveals a secret", e)
			}
		}
		if res.GetNextPageToken() == "" {
			break
		}
		req.PageToken = res.GetNextPageToken()
	}
	want := []string{"account.settings.update", "advisor.update", "api_key.revoke", "api_key.create", "portal.update", "portal.create", "advisor.update", "advisor.create"}
	if strings.Join(actions, ",") != strings.Join(want, ",") {
		t.Errorf("audit log %v, want %v", actions, want)
	}
	if len(settingsDetails) != 1 || settingsDetails[0] != "fast_chat_enabled=false" {
		t.Errorf("the settings change is audited as %q, want fast_chat_enabled=false", settingsDetails)
	}
}

// Disabling an advisor stops them at once: their tokens are revoked in the
// same transaction (recorded in the database) and the next call with any
// of them is refused, as is logging in again.
func TestDisabledAdvisorIsRefusedAtOnce(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	env := assisttest.Start(t)
	admin := env.Services(assisttest.Connect, env.Login(t, assisttest.AdminEmail, assisttest.AdminPassword)).Admin
	login, err := env.Services(assisttest.Connect, "").Auth.Login(ctx, &assistv1.LoginRequest{Email: assisttest.Advisor2Email, Password: assisttest.Advisor2Password})
	if err != nil {
		t.Fatal(err)
	}
	samID := login.GetAdvisor().GetId()
	tokens := []string{login.GetAccessToken(), env.Login(t, assisttest.Advisor2Email, assisttest.Advisor2Password)}
	for _, tok := range tokens {
		if _, err := env.Services(assisttest.Connect, tok).Session.ListSessions(ctx, &assistv1.ListSessionsRequest{}); err != nil {
			t.Fatalf("before: %v", err)
		}
	}
	res, err := admin.UpdateAdvisor(ctx, &assistv1.UpdateAdvisorRequest{AdvisorId: samID, Disabled: true, UpdateMask: reportsMask("disabled")})
	if err != nil || !res.GetAdvisor().GetDisabled() {
		t.Fatalf("disable: %v %v", err, res)
	}
	for _, p := range assisttest.Protocols {
		for _, tok := range tokens {
			_, err := env.Services(p, tok).Session.ListSessions(ctx, &assistv1.ListSessionsRequest{})
			e2eWantCode(t, err, connect.CodeUnauthenticated, "a disabled advisor's token over "+string(p))
		}
	}
	_, err = env.Services(assisttest.Connect, "").Auth.Login(ctx, &assistv1.LoginRequest{Email: assisttest.Advisor2Email, Password: assisttest.Advisor2Password})
	e2eWantCode(t, err, connect.CodeUnauthenticated, "a disabled advisor logging in")
	var live int
	if err := e2eDB(t, env.DatabaseURL).QueryRow(ctx, `SELECT count(*) FROM access_tokens WHERE advisor_id = $1 AND revoke_time IS NULL`, samID).Scan(&live); err != nil || live != 0 {
		t.Errorf("a disabled advisor keeps %d unrevoked tokens (%v), want 0", live, err)
	}
	// Enabled again, they log in anew; the old tokens stay revoked.
	if _, err := admin.UpdateAdvisor(ctx, &assistv1.UpdateAdvisorRequest{AdvisorId: samID, Disabled: false, UpdateMask: reportsMask("disabled")}); err != nil {
		t.Fatal(err)
	}
	_, err = env.Services(assisttest.Connect, tokens[0]).Session.ListSessions(ctx, &assistv1.ListSessionsRequest{})
	e2eWantCode(t, err, connect.CodeUnauthenticated, "an old token after re-enabling")
	env.Login(t, assisttest.Advisor2Email, assisttest.Advisor2Password)
}

// Streams opened before a change of access end at once, not at the
// periodic check (an hour away here): a disabled advisor's queue stream, a
// revoked API key's session stream.
func TestDisablingAndRevokingEndOpenStreams(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	env := assisttest.Start(t, assisttest.WithCredentialCheckInterval(time.Hour))
	admin := env.Services(assisttest.Connect, env.Login(t, assisttest.AdminEmail, assisttest.AdminPassword)).Admin
	login, err := env.Services(assisttest.Connect, "").Auth.Login(ctx, &assistv1.LoginRequest{Email: assisttest.Advisor2Email, Password: assisttest.Advisor2Password})
	if err != nil {
		t.Fatal(err)
	}
	key, err := admin.CreateApiKey(ctx, &assistv1.CreateApiKeyRequest{Name: "reader", Scopes: []assistv1.ApiKeyScope{assistv1.ApiKeyScope_API_KEY_SCOPE_SESSIONS_READ}})
	if err != nil {
		t.Fatal(err)
	}
	sid, _, _ := env.ActiveSession(t)

	queue, err := env.Services(assisttest.GRPC, login.GetAccessToken()).Session.WatchQueue(ctx, &assistv1.WatchQueueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	defer queue.Close()
	if _, err := queue.Receive(); err != nil { // the snapshot: open
		t.Fatal(err)
	}
	sub, err := env.Services(assisttest.GRPC, key.GetSecret()).Chat.Subscribe(ctx, &assistv1.SubscribeRequest{SessionId: sid})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if _, err := sub.Receive(); err != nil { // the first stored event: open
		t.Fatal(err)
	}

	if _, err := admin.UpdateAdvisor(ctx, &assistv1.UpdateAdvisorRequest{AdvisorId: login.GetAdvisor().GetId(), Disabled: true, UpdateMask: reportsMask("disabled")}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RevokeApiKey(ctx, &assistv1.RevokeApiKeyRequest{ApiKeyId: key.GetApiKey().GetId()}); err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := queue.Receive(); err != nil {
			e2eWantCode(t, err, connect.CodeUnauthenticated, "the disabled advisor's WatchQueue")
			break
		}
	}
	for {
		if _, err := sub.Receive(); err != nil {
			e2eWantCode(t, err, connect.CodeUnauthenticated, "the revoked key's Subscribe")
			break
		}
	}
}
