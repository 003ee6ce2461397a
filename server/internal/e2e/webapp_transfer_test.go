package e2e

import (
	"context"
	"slices"
	"testing"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assisttest"
)

// From the console, the lead invites a colleague whose console is already
// open: the customer sees them join, and the colleague's console shows the
// chat at once, without a reload, marked new, with a notice saying who
// invited them (English and French) and none of the lead's actions, only
// who leads. Then the lead hands the session over with a reason: the
// customer sees who handed it to whom and why, the former lead's console
// says so calmly with no error, and the new lead's console says who handed
// them the chat, offers the lead's actions, and chats with the customer.
func TestBrowserLeadInvitesAColleagueThenTransfersTheSessionFromTheConsole(t *testing.T) {
	t.Parallel()
	root := browserRepoRoot(t)
	webappRequire(t, root)
	env := assisttest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), webappDriverTimeout)
	defer cancel()

	// Bea, a new advisor of the demo account who serves its portal.
	const email, password, name = "bea@demo.example", "bea's first password", "Bea Transfer"
	admin := env.Services(assisttest.Connect, env.Login(t, assisttest.AdminEmail, assisttest.AdminPassword)).Admin
	created, err := admin.CreateAdvisor(ctx, &assistv1.CreateAdvisorRequest{Email: email, DisplayName: name, Password: password})
	if err != nil {
		t.Fatalf("create advisor %s: %v", name, err)
	}
	portals, err := admin.ListPortals(ctx, &assistv1.ListPortalsRequest{})
	if err != nil {
		t.Fatalf("list portals: %v", err)
	}
	i := slices.IndexFunc(portals.GetPortals(), func(p *assistv1.Portal) bool { return p.GetSlug() == assisttest.PortalSlug })
	if i < 0 {
		t.Fatalf("no portal %q in %v", assisttest.PortalSlug, portals.GetPortals())
	}
	demo := portals.GetPortals()[i]
	if _, err := admin.UpdatePortal(ctx, &assistv1.UpdatePortalRequest{
		PortalId: demo.GetId(), AdvisorIds: append(demo.GetAdvisorIds(), created.GetAdvisor().GetId()), UpdateMask: reportsMask("advisor_ids"),
	}); err != nil {
		t.Fatalf("let %s serve the demo portal: %v", name, err)
	}

	webappDrive(t, root, "transfer", map[string]any{
		"api": env.URL, "customer": env.URL, "customerName": "Tom Transfer",
		"colleague": map[string]string{"email": email, "password": password, "name": name},
	})
}
