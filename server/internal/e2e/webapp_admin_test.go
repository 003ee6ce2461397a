package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"connectrpc.com/connect/v2"
	"google.golang.org/protobuf/proto"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assisttest"
)

// The demo admin runs the account from the console's Administration tab:
// adds an advisor (after the server's messages beside the e-mail and
// password fields), who can then log in; adds a code-mode portal they
// serve; changes one setting, and only that one; creates an API key whose
// secret, shown once, works for a call its scope allows, then revokes it
// and it stops working; disables the advisor, whose login then fails; and
// reads it all in the audit log. A plain advisor sees no Administration
// tab, and one who reaches it anyway is refused plainly. English and
// French; axe-core finds no serious violation on the new screens.
func TestBrowserAdminManagesAdvisorsPortalsSettingsAndKeysFromTheConsole(t *testing.T) {
	t.Parallel()
	root := browserRepoRoot(t)
	webappRequire(t, root)
	env := assisttest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), webappDriverTimeout)
	defer cancel()
	admin := env.Services(assisttest.Connect, env.Login(t, assisttest.AdminEmail, assisttest.AdminPassword)).Admin
	before, err := admin.GetAccountSettings(ctx, &assistv1.GetAccountSettingsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	const (
		email, password = "nina.admin-test@demo.example", "nina's first password"
		name, renamed   = "Nina Admintest", "Nina A."
		slug, portal    = "code-desk", "Code desk"
		keyName         = "CRM test"
	)
	maxCodes := before.GetSettings().GetMaxLiveSessionCodesPerAdvisor()%100 + 1

	login := func() error {
		_, err := env.Services(assisttest.Connect, "").Auth.Login(ctx, &assistv1.LoginRequest{Email: email, Password: password})
		return err
	}
	reports := func(secret string) error {
		_, err := env.Services(assisttest.Connect, secret).Report.ListSessionReports(ctx, &assistv1.ListSessionReportsRequest{})
		return err
	}
	control := webappControlWithBody(t, map[string]func(string) error{
		"/new-advisor-logs-in": func(string) error { return login() },
		"/new-advisor-refused": func(string) error {
			return webappWantCode(login(), connect.CodeUnauthenticated, "the disabled advisor's login")
		},
		"/key-works": reports, // the key reads reports, its one scope
		"/key-refused": func(secret string) error {
			return webappWantCode(reports(secret), connect.CodeUnauthenticated, "a call with the revoked key")
		},
	})
	webappDrive(t, root, "admin", map[string]any{
		"api": env.URL, "customer": env.URL, "control": control,
		"email": assisttest.AdminEmail, "password": assisttest.AdminPassword,
		"plain":      map[string]string{"email": assisttest.AdvisorEmail, "password": assisttest.AdvisorPassword},
		"newAdvisor": map[string]string{"email": email, "password": password, "name": name, "renamed": renamed},
		"portal":     map[string]string{"slug": slug, "name": portal},
		"keyName":    keyName, "maxCodes": maxCodes,
	})

	// What the console did, read back through the API.
	advisors, err := admin.ListAdvisors(ctx, &assistv1.ListAdvisorsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(advisors.GetAdvisors(), func(a *assistv1.Advisor) bool { return a.GetEmail() == email })
	if i < 0 {
		t.Fatalf("no advisor %s after the console added them: %v", email, advisors.GetAdvisors())
	}
	nina := advisors.GetAdvisors()[i]
	if nina.GetDisplayName() != renamed || !nina.GetReportAccess() || nina.GetAdmin() || !nina.GetDisabled() {
		t.Errorf("the advisor after the console: %v; want renamed %q, report access, not admin, disabled", nina, renamed)
	}
	portals, err := admin.ListPortals(ctx, &assistv1.ListPortalsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	j := slices.IndexFunc(portals.GetPortals(), func(p *assistv1.Portal) bool { return p.GetSlug() == slug })
	if j < 0 {
		t.Fatalf("no portal %q after the console added it", slug)
	}
	if p := portals.GetPortals()[j]; p.GetDisplayName() != portal || p.GetMode() != assistv1.PortalMode_PORTAL_MODE_CODE || !slices.Equal(p.GetAdvisorIds(), []string{nina.GetId()}) {
		t.Errorf("the portal after the console: %v; want %q in code mode served by %s only", p, portal, nina.GetId())
	}
	after, err := admin.GetAccountSettings(ctx, &assistv1.GetAccountSettingsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	want := before.GetSettings()
	want.MaxLiveSessionCodesPerAdvisor = maxCodes
	if got := after.GetSettings(); !proto.Equal(got, want) {
		t.Errorf("settings after the console changed one:\n got %v\nwant %v", got, want)
	}
}

// webappWantCode is nil when err carries code, and says what came instead.
func webappWantCode(err error, code connect.Code, what string) error {
	if connect.CodeOf(err) != code {
		if err == nil {
			return errors.New(what + ": succeeded, want " + code.String())
		}
		return fmt.Errorf("%s: %v, want %s", what, err, code)
	}
	return nil
}
