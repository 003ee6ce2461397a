package e2e

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assisttest"
)

// An admin (who has report access) opens Reports in the console: the
// account's ended sessions, newest first, a page at a time; filters by
// date, text, outcome, advisor and portal; opens a report and reads its
// customer, advisors, timeline, notes and chat log (saved as .txt), or the
// notice that retention deleted it; exports the filtered reports as CSV,
// and cancels a slow export; all in English and French, with no serious axe violation. An advisor
// without report access sees no Reports tab, and one who reaches it anyway
// is told plainly that the server refused.
func TestBrowserAdminReadsFiltersAndExportsSessionReports(t *testing.T) {
	t.Parallel()
	root := browserRepoRoot(t)
	webappRequire(t, root)
	env := assisttest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), webappDriverTimeout)
	defer cancel()

	alex := webappReportsLogin(ctx, t, env, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	sam := webappReportsLogin(ctx, t, env, assisttest.Advisor2Email, assisttest.Advisor2Password)
	admin := env.Services(assisttest.Connect, env.Login(t, assisttest.AdminEmail, assisttest.AdminPassword)).Admin

	// Three sessions of today through the API, with chat logs, ending in
	// this order: Camille (Alex, resolved), Dominique (Sam, unresolved),
	// Eve (Alex, who invited Sam; unknown).
	type ended struct {
		id, name, email string
		lead            *assistv1.LoginResponse
		invite          *assistv1.LoginResponse
		said            []string // customer, advisor, customer, ...
		outcome         assistv1.SessionOutcome
		notes           string
	}
	sessions := []*ended{
		{name: "Camille Report", email: "camille@example.com", lead: alex,
			said:    []string{"My printer prints only blank pages.", "Let us check the ink cartridges.", "The cartridge was empty, thanks!"},
			outcome: assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED, notes: "Cartridge replaced."},
		{name: "Dominique Report", email: "dominique@example.org", lead: sam,
			said:    []string{"My invoice is wrong.", "I will ask the billing team."},
			outcome: assistv1.SessionOutcome_SESSION_OUTCOME_UNRESOLVED, notes: "Call back tomorrow."},
		{name: "Eve Report", email: "eve@example.net", lead: alex, invite: sam,
			said:    []string{"Hello?", "Hello Eve, a colleague joins us."},
			outcome: assistv1.SessionOutcome_SESSION_OUTCOME_UNKNOWN},
	}
	for _, s := range sessions {
		res, err := env.Services(assisttest.Connect, "").Portal.StartSession(ctx, &assistv1.StartSessionRequest{
			PortalSlug: assisttest.PortalSlug, RequestId: uuid.NewString(),
			Customer: &assistv1.CustomerInfo{DisplayName: s.name, Email: s.email, ProblemDescription: s.said[0]},
			Platform: &assistv1.ClientPlatform{DeviceType: assistv1.DeviceType_DEVICE_TYPE_DESKTOP, OperatingSystem: assistv1.OperatingSystem_OPERATING_SYSTEM_WINDOWS},
		})
		if err != nil {
			t.Fatalf("start %s's session: %v", s.name, err)
		}
		s.id = res.GetSession().GetId()
		customer := env.Services(assisttest.Connect, res.GetCustomerToken()).Chat
		lead := env.Services(assisttest.Connect, s.lead.GetAccessToken())
		if _, err := lead.Session.PickUpSession(ctx, &assistv1.PickUpSessionRequest{SessionId: s.id}); err != nil {
			t.Fatalf("pick up %s's session: %v", s.name, err)
		}
		if s.invite != nil {
			if _, err := lead.Session.InviteAdvisor(ctx, &assistv1.InviteAdvisorRequest{SessionId: s.id, AdvisorId: s.invite.GetAdvisor().GetId()}); err != nil {
				t.Fatalf("invite into %s's session: %v", s.name, err)
			}
		}
		for i, text := range s.said {
			chat := customer
			if i%2 == 1 {
				chat = lead.Chat
			}
			if _, err := e2eSendText(ctx, chat, s.id, fmt.Sprintf("m%d", i), text); err != nil {
				t.Fatalf("send %q: %v", text, err)
			}
		}
		if _, err := lead.Session.EndSession(ctx, &assistv1.EndSessionRequest{SessionId: s.id, Outcome: s.outcome, Notes: s.notes}); err != nil {
			t.Fatalf("end %s's session: %v", s.name, err)
		}
	}

	// Thirty older sessions, written straight to the database (no chat
	// log): half on a second portal, and one whose log retention deleted.
	billing, err := admin.CreatePortal(ctx, &assistv1.CreatePortalRequest{Slug: "billing", DisplayName: "Billing desk", Mode: assistv1.PortalMode_PORTAL_MODE_QUEUE})
	if err != nil {
		t.Fatalf("create the billing portal: %v", err)
	}
	db := e2eDB(t, env.DatabaseURL)
	var account, demo uuid.UUID
	if err := db.QueryRow(ctx, `SELECT account_id, id FROM portals WHERE slug = $1`, assisttest.PortalSlug).Scan(&account, &demo); err != nil {
		t.Fatal(err)
	}
	alexID, samID := uuid.MustParse(alex.GetAdvisor().GetId()), uuid.MustParse(sam.GetAdvisor().GetId())
	base := time.Now().AddDate(0, 0, -8).Truncate(time.Second)
	var seeds []reportsSeed
	for i := range 30 {
		s := reportsSeed{id: uuid.New(), portal: demo, name: fmt.Sprintf("Archive customer %02d", i), email: fmt.Sprintf("archive%02d@example.com", i),
			kind: assistv1.SessionKind_SESSION_KIND_WEB_CHAT, outcome: assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED,
			end: base.Add(time.Duration(i) * time.Minute), advisor: &alexID}
		if i%2 == 1 {
			s.portal, s.advisor = uuid.MustParse(billing.GetPortal().GetId()), &samID
		}
		seeds = append(seeds, s)
	}
	reportsInsert(ctx, t, db, account, seeds)
	deleted := seeds[7]
	if _, err := db.Exec(ctx, `UPDATE sessions SET log_delete_time = $2 WHERE id = $1`, deleted.id, base.Add(24*time.Hour)); err != nil {
		t.Fatalf("mark a log deleted: %v", err)
	}

	// The consoles reach assistd through a proxy that can hold its
	// answers back: a slow export, to cancel.
	proxy := assisttest.NewProxy(t, env.Server.Addr())
	control := webappControl(t, map[string]func() error{
		"/hold":    func() error { proxy.HoldResponses(); return nil },
		"/release": func() error { proxy.ReleaseResponses(); return nil },
	})
	res := webappDrive(t, root, "reports", map[string]any{
		"api": proxy.URL(), "customer": env.URL, "control": control,
		"email": assisttest.AdminEmail, "password": assisttest.AdminPassword,
		"noAccess":  map[string]string{"email": assisttest.AdvisorEmail, "password": assisttest.AdvisorPassword},
		"total":     len(sessions) + len(seeds),
		"customers": []string{sessions[2].name, sessions[1].name, sessions[0].name},
		"alex":      alex.GetAdvisor().GetDisplayName(), "sam": sam.GetAdvisor().GetDisplayName(),
		"camille": map[string]any{"name": sessions[0].name, "email": sessions[0].email, "said": sessions[0].said, "notes": sessions[0].notes},
		"deleted": deleted.name,
		"portal":  "Billing desk",
		"billing": len(seeds) / 2,
	})

	// The saved chat log has every message, in order.
	text, err := os.ReadFile(res["transcript"])
	if err != nil {
		t.Fatalf("the saved chat log: %v", err)
	}
	last := -1
	for _, want := range append([]string{"Chat log: " + sessions[0].name}, sessions[0].said...) {
		i := strings.Index(string(text), want)
		if i <= last {
			t.Fatalf("the saved chat log lacks %q, or has it out of order:\n%s", want, text)
		}
		last = i
	}

	// The CSV has the header and exactly today's three sessions, newest
	// first.
	raw, err := os.ReadFile(res["csv"])
	if err != nil {
		t.Fatalf("the exported CSV: %v", err)
	}
	records, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if err != nil {
		t.Fatalf("the exported CSV does not parse: %v\n%s", err, raw)
	}
	if len(records) != 1+len(sessions) {
		t.Fatalf("the CSV has %d records, want the header and %d rows:\n%s", len(records), len(sessions), raw)
	}
	header := records[0]
	for _, col := range []string{"session_id", "portal", "outcome", "customer_name", "customer_email", "lead_advisor", "wait_seconds", "handle_seconds", "notes"} {
		if !slices.Contains(header, col) {
			t.Fatalf("the CSV header lacks %q: %v", col, header)
		}
	}
	for i, want := range []*ended{sessions[2], sessions[1], sessions[0]} {
		row := records[1+i]
		if row[slices.Index(header, "session_id")] != want.id || row[slices.Index(header, "customer_name")] != want.name ||
			row[slices.Index(header, "notes")] != want.notes {
			t.Fatalf("CSV row %d is %v, want %s's session %s (notes %q)", i+1, row, want.name, want.id, want.notes)
		}
	}
}

func webappReportsLogin(ctx context.Context, t *testing.T, env *assisttest.Env, email, password string) *assistv1.LoginResponse {
	t.Helper()
	res, err := env.Services(assisttest.Connect, "").Auth.Login(ctx, &assistv1.LoginRequest{Email: email, Password: password})
	if err != nil {
		t.Fatalf("login %s: %v", email, err)
	}
	return res
}
