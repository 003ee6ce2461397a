package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assisttest"
	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/sessionlog"
	"github.com/assist-chat/assist/server/internal/store"
)

// reportsFixture is an account with an ended session, every kind of
// caller, and a second account with its own admin.
type reportsFixture struct {
	env                      *assisttest.Env
	admin, advisor, advisor2 string // tokens: admin (report access), Alex and Sam (none)
	adminID, advisorID       string
	advisor2ID, portalID     string
	ended, endedCustomer     string
	app                      string                          // a customer app token of the ended session
	keys                     map[assistv1.ApiKeyScope]string // one key per scope
	foreignAdmin             string
	foreignEnded             string
}

func reportsSetup(ctx context.Context, t *testing.T) *reportsFixture {
	t.Helper()
	env := assisttest.Start(t)
	f := &reportsFixture{env: env, keys: map[assistv1.ApiKeyScope]string{}}
	anon := env.Services(assisttest.Connect, "").Auth
	for _, a := range []struct {
		email, password string
		token, id       *string
	}{
		{assisttest.AdminEmail, assisttest.AdminPassword, &f.admin, &f.adminID},
		{assisttest.AdvisorEmail, assisttest.AdvisorPassword, &f.advisor, &f.advisorID},
		{assisttest.Advisor2Email, assisttest.Advisor2Password, &f.advisor2, &f.advisor2ID},
	} {
		res, err := anon.Login(ctx, &assistv1.LoginRequest{Email: a.email, Password: a.password})
		if err != nil {
			t.Fatalf("login %s: %v", a.email, err)
		}
		*a.token, *a.id = res.GetAccessToken(), res.GetAdvisor().GetId()
	}
	f.ended, f.endedCustomer = e2eActiveSession(t, env, f.advisor, "Ended Ed")
	res, err := env.Services(assisttest.Connect, f.advisor).Session.EndSession(ctx, &assistv1.EndSessionRequest{
		SessionId: f.ended, Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED})
	if err != nil {
		t.Fatalf("end session: %v", err)
	}
	f.portalID = res.GetSession().GetPortalId()
	for _, scope := range []assistv1.ApiKeyScope{
		assistv1.ApiKeyScope_API_KEY_SCOPE_SESSIONS_WRITE, assistv1.ApiKeyScope_API_KEY_SCOPE_SESSIONS_READ, assistv1.ApiKeyScope_API_KEY_SCOPE_REPORTS_READ,
	} {
		k, err := env.Services(assisttest.Connect, f.admin).Admin.CreateApiKey(ctx, &assistv1.CreateApiKeyRequest{Name: scope.String(), Scopes: []assistv1.ApiKeyScope{scope}})
		if err != nil {
			t.Fatalf("create API key: %v", err)
		}
		f.keys[scope] = k.GetSecret()
	}
	f.foreignAdmin, f.foreignEnded = reportsForeignAccount(ctx, t, env)
	// A customer app token, minted as RedeemOpener will (not implemented yet).
	st, err := store.Open(ctx, env.DatabaseURL, 2, assisttest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sess, err := env.Services(assisttest.Connect, f.admin).Report.GetSessionReport(ctx, &assistv1.GetSessionReportRequest{SessionId: f.ended})
	if err != nil {
		t.Fatal(err)
	}
	f.app, err = auth.NewService(st, bcrypt.MinCost).MintSessionToken(ctx, st.Pool, auth.KindCustomerApp,
		uuid.MustParse(sess.GetReport().GetSession().GetAccountId()), uuid.MustParse(f.ended))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// reportsForeignAccount creates another account (in the database: no RPC
// creates accounts) whose admin has report access, with one ended session.
func reportsForeignAccount(ctx context.Context, t *testing.T, env *assisttest.Env) (adminToken, endedSession string) {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(authzForeignPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	db := e2eDB(t, env.DatabaseURL)
	if _, err := db.Exec(ctx, `
		WITH acc AS (INSERT INTO accounts (name) VALUES ('Other') RETURNING id),
		adv AS (INSERT INTO advisors (account_id, email, display_name, password_hash, report_access, admin)
		        SELECT id, $1, 'Olga (other account)', $2, true, true FROM acc RETURNING id),
		portal AS (INSERT INTO portals (account_id, slug, display_name, mode)
		           SELECT id, $3, 'Other support', $4 FROM acc RETURNING id)
		INSERT INTO portal_advisors (portal_id, advisor_id) SELECT portal.id, adv.id FROM portal, adv`,
		authzForeignEmail, string(hash), authzForeignSlug, int16(assistv1.PortalMode_PORTAL_MODE_QUEUE)); err != nil {
		t.Fatalf("create the other account: %v", err)
	}
	adminToken = env.Login(t, authzForeignEmail, authzForeignPassword)
	res, err := env.Services(assisttest.Connect, "").Portal.StartSession(ctx, &assistv1.StartSessionRequest{
		PortalSlug: authzForeignSlug, Customer: &assistv1.CustomerInfo{DisplayName: "Frank", Email: "frank@other.example"}})
	if err != nil {
		t.Fatalf("start a session on the other account: %v", err)
	}
	endedSession = res.GetSession().GetId()
	if _, err := env.Services(assisttest.Connect, adminToken).Session.EndSession(ctx, &assistv1.EndSessionRequest{
		SessionId: endedSession, Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_UNKNOWN}); err != nil {
		t.Fatalf("end the other account's session: %v", err)
	}
	return adminToken, endedSession
}

// reportsExportAll runs ExportSessionReports and returns the concatenated
// CSV and the row count the chunks announce.
func reportsExportAll(ctx context.Context, c *assisttest.Clients, req *assistv1.ExportSessionReportsRequest) (string, int, error) {
	stream, err := c.Report.ExportSessionReports(ctx, req)
	if err != nil {
		return "", 0, err
	}
	defer stream.Close()
	var b strings.Builder
	rows := 0
	for {
		res, err := stream.Receive()
		if errors.Is(err, io.EOF) {
			return b.String(), rows, nil
		}
		if err != nil {
			return b.String(), rows, err
		}
		b.Write(res.GetCsv())
		rows += int(res.GetRowCount())
	}
}

// reportCalls are the ReportService RPCs aimed at a session (the list and
// the export filter on it).
var reportCalls = []authzCall{
	{"ReportService.ListSessionReports", func(ctx context.Context, c *assisttest.Clients, sid string) error {
		_, err := c.Report.ListSessionReports(ctx, &assistv1.ListSessionReportsRequest{SessionId: sid})
		return err
	}},
	{"ReportService.GetSessionReport", func(ctx context.Context, c *assisttest.Clients, sid string) error {
		_, err := c.Report.GetSessionReport(ctx, &assistv1.GetSessionReportRequest{SessionId: sid})
		return err
	}},
	{"ReportService.ExportSessionReports", func(ctx context.Context, c *assisttest.Clients, sid string) error {
		_, _, err := reportsExportAll(ctx, c, &assistv1.ExportSessionReportsRequest{SessionId: sid})
		return err
	}},
	{"ReportService.ListReportFilterOptions", func(ctx context.Context, c *assisttest.Clients, _ string) error {
		_, err := c.Report.ListReportFilterOptions(ctx, &assistv1.ListReportFilterOptionsRequest{})
		return err
	}},
}

// A report reader who is not an admin can name, in the filters, every
// portal and every advisor of the account, disabled ones included, and
// nothing of another account.
func TestReportFilterOptionsNameTheAccountsPortalsAndAdvisors(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	env := assisttest.Start(t)
	adminToken := env.Login(t, assisttest.AdminEmail, assisttest.AdminPassword)
	admin := env.Services(assisttest.Connect, adminToken).Admin
	advisors, err := admin.ListAdvisors(ctx, &assistv1.ListAdvisorsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	byEmail := map[string]*assistv1.Advisor{}
	for _, a := range advisors.GetAdvisors() {
		byEmail[a.GetEmail()] = a
	}
	// advisor gets report access without being an admin; advisor2 leaves.
	reader, gone := byEmail[assisttest.AdvisorEmail], byEmail[assisttest.Advisor2Email]
	if _, err := admin.UpdateAdvisor(ctx, &assistv1.UpdateAdvisorRequest{AdvisorId: reader.GetId(), ReportAccess: true, UpdateMask: reportsMask("report_access")}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.UpdateAdvisor(ctx, &assistv1.UpdateAdvisorRequest{AdvisorId: gone.GetId(), Disabled: true, UpdateMask: reportsMask("disabled")}); err != nil {
		t.Fatal(err)
	}
	token := env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	res, err := env.Services(assisttest.GRPCWeb, token).Report.ListReportFilterOptions(ctx, &assistv1.ListReportFilterOptionsRequest{})
	if err != nil {
		t.Fatalf("a report reader who is not an admin: %v", err)
	}
	var slugs []string
	for _, p := range res.GetPortals() {
		slugs = append(slugs, p.GetSlug())
	}
	slices.Sort(slugs)
	if want := []string{"demo", "demo-code", "demo-web"}; !slices.Equal(slugs, want) {
		t.Errorf("portals %v, want %v", slugs, want)
	}
	disabled := map[string]bool{}
	for _, a := range res.GetAdvisors() {
		disabled[a.GetAdvisorId()] = a.GetDisabled()
	}
	if len(disabled) != 3 || !disabled[gone.GetId()] || disabled[reader.GetId()] {
		t.Errorf("advisors %v, want the account's three, %s disabled", res.GetAdvisors(), gone.GetId())
	}
}

// Reports are for advisors with report access, admins and API keys with
// REPORTS_READ, of their own account; everyone else is refused on every
// report RPC, the export stream included, and another account's session
// does not exist for them.
func TestOnlyReportReadersOfTheAccountReadReports(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	f := reportsSetup(ctx, t)
	env := f.env
	revokedKey := f.keys[assistv1.ApiKeyScope_API_KEY_SCOPE_REPORTS_READ]

	authzExpect(ctx, t, env, "no credentials", "", f.ended, reportCalls, connect.CodeUnauthenticated)
	authzExpect(ctx, t, env, "garbage token", "ast_key_"+strings.Repeat("x", 43), f.ended, reportCalls, connect.CodeUnauthenticated)
	authzExpect(ctx, t, env, "the session's own customer", f.endedCustomer, f.ended, reportCalls, connect.CodePermissionDenied)
	authzExpect(ctx, t, env, "the session's customer app", f.app, f.ended, reportCalls, connect.CodePermissionDenied)
	authzExpect(ctx, t, env, "the lead advisor without report access", f.advisor, f.ended, reportCalls, connect.CodePermissionDenied)
	authzExpect(ctx, t, env, "an advisor without report access", f.advisor2, f.ended, reportCalls, connect.CodePermissionDenied)
	authzExpect(ctx, t, env, "API key with SESSIONS_WRITE only", f.keys[assistv1.ApiKeyScope_API_KEY_SCOPE_SESSIONS_WRITE], f.ended, reportCalls, connect.CodePermissionDenied)
	authzExpect(ctx, t, env, "API key with SESSIONS_READ only", f.keys[assistv1.ApiKeyScope_API_KEY_SCOPE_SESSIONS_READ], f.ended, reportCalls, connect.CodePermissionDenied)

	authzExpect(ctx, t, env, "admin", f.admin, f.ended, reportCalls, authzOK)
	authzExpect(ctx, t, env, "API key with REPORTS_READ", f.keys[assistv1.ApiKeyScope_API_KEY_SCOPE_REPORTS_READ], f.ended, reportCalls, authzOK)

	// Granting report access takes effect on the next call.
	admin := env.Services(assisttest.Connect, f.admin).Admin
	if _, err := admin.UpdateAdvisor(ctx, &assistv1.UpdateAdvisorRequest{AdvisorId: f.advisor2ID, ReportAccess: true,
		UpdateMask: reportsMask("report_access")}); err != nil {
		t.Fatal(err)
	}
	authzExpect(ctx, t, env, "an advisor just given report access", f.advisor2, f.ended, reportCalls, authzOK)

	// Another account's reader: our session is NotFound, like an unknown
	// one, and never listed or exported.
	foreign := env.Services(assisttest.GRPC, f.foreignAdmin)
	_, err := foreign.Report.GetSessionReport(ctx, &assistv1.GetSessionReportRequest{SessionId: f.ended})
	e2eWantCode(t, err, connect.CodeNotFound, "another account's admin reading our report")
	_, errUnknown := foreign.Report.GetSessionReport(ctx, &assistv1.GetSessionReportRequest{SessionId: uuid.NewString()})
	if err == nil || errUnknown == nil || err.Error() != errUnknown.Error() {
		t.Errorf("another account's session answers %v, an unknown one %v: they must read the same", err, errUnknown)
	}
	authzExpect(ctx, t, env, "our admin on another account's session", f.admin, f.foreignEnded,
		authzOnly(reportCalls, "ReportService.GetSessionReport"), connect.CodeNotFound)
	for who, token := range map[string]string{"foreign admin": f.foreignAdmin, "our admin": f.admin} {
		c := env.Services(assisttest.Connect, token)
		list, err := c.Report.ListSessionReports(ctx, &assistv1.ListSessionReportsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		csv, _, err := reportsExportAll(ctx, c, &assistv1.ExportSessionReportsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		want, notWant := f.ended, f.foreignEnded
		if who == "foreign admin" {
			want, notWant = f.foreignEnded, f.ended
		}
		if len(list.GetReports()) != 1 || list.GetReports()[0].GetSession().GetId() != want {
			t.Errorf("%s lists %d reports, want only %s", who, len(list.GetReports()), want)
		}
		if !strings.Contains(csv, want) || strings.Contains(csv, notWant) {
			t.Errorf("%s exports %q, want %s and not %s", who, csv, want, notWant)
		}
		// Filtering on the other account's session finds nothing.
		other, err := c.Report.ListSessionReports(ctx, &assistv1.ListSessionReportsRequest{SessionId: notWant})
		if err != nil || len(other.GetReports()) != 0 {
			t.Errorf("%s filtering on the other account's session: %v, %d reports; want none", who, err, len(other.GetReports()))
		}
	}

	// A revoked key is refused on the next call.
	keys, err := admin.ListApiKeys(ctx, &assistv1.ListApiKeysRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys.GetApiKeys() {
		if slices.Contains(k.GetScopes(), assistv1.ApiKeyScope_API_KEY_SCOPE_REPORTS_READ) {
			if _, err := admin.RevokeApiKey(ctx, &assistv1.RevokeApiKeyRequest{ApiKeyId: k.GetId()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	authzExpect(ctx, t, env, "a revoked API key", revokedKey, f.ended, reportCalls, connect.CodeUnauthenticated)
}

func reportsMask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

// reportsSeed is an ended session to insert directly, for lists and
// filters: creating hundreds through the API would only slow the test.
type reportsSeed struct {
	id                  uuid.UUID
	portal              uuid.UUID
	name, email         string
	kind                assistv1.SessionKind
	outcome             assistv1.SessionOutcome
	end                 time.Time
	advisor             *uuid.UUID
	invited             *uuid.UUID
	created, pickedUpAt time.Time
}

// reportsInsert writes seeds as ended sessions of account.
func reportsInsert(ctx context.Context, t *testing.T, db *pgx.Conn, account uuid.UUID, seeds []reportsSeed) {
	t.Helper()
	rows := make([][]any, len(seeds))
	var sa [][]any
	for i, s := range seeds {
		created, picked := s.created, s.pickedUpAt
		if created.IsZero() {
			created = s.end.Add(-10 * time.Minute)
		}
		if picked.IsZero() {
			picked = created.Add(time.Minute)
		}
		rows[i] = []any{s.id, account, s.portal, int16(1), int16(s.kind), int16(3), s.name, s.email, s.advisor, created, picked, s.end, int16(s.outcome)}
		if s.advisor != nil {
			sa = append(sa, []any{s.id, *s.advisor, true})
		}
		if s.invited != nil {
			sa = append(sa, []any{s.id, *s.invited, false})
		}
	}
	if _, err := db.CopyFrom(ctx, pgx.Identifier{"sessions"},
		[]string{"id", "account_id", "portal_id", "portal_mode", "kind", "state", "customer_display_name", "customer_email", "advisor_id", "create_time", "pick_up_time", "end_time", "outcome"},
		pgx.CopyFromRows(rows)); err != nil {
		t.Fatalf("insert sessions: %v", err)
	}
	if _, err := db.CopyFrom(ctx, pgx.Identifier{"session_advisors"}, []string{"session_id", "advisor_id", "lead"}, pgx.CopyFromRows(sa)); err != nil {
		t.Fatalf("insert session advisors: %v", err)
	}
}

// reportsIDs lists every report matching req, page by page, failing on a
// report seen twice.
func reportsIDs(ctx context.Context, t *testing.T, c *assisttest.Clients, req *assistv1.ListSessionReportsRequest) []string {
	t.Helper()
	req = proto.CloneOf(req)
	var ids []string
	seen := map[string]bool{}
	var lastEnd time.Time
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("more than 1000 pages: the pagination loops")
		}
		res, err := c.Report.ListSessionReports(ctx, req)
		if err != nil {
			t.Fatalf("list reports (page %d): %v", pages, err)
		}
		for _, r := range res.GetReports() {
			id := r.GetSession().GetId()
			if seen[id] {
				t.Errorf("report %s listed twice", id)
			}
			seen[id] = true
			ids = append(ids, id)
			end := r.GetEndTime().AsTime()
			if !lastEnd.IsZero() && end.After(lastEnd) {
				t.Errorf("report %s ended at %v, after the previous one (%v): want newest first", id, end, lastEnd)
			}
			lastEnd = end
		}
		if res.GetNextPageToken() == "" {
			return ids
		}
		req.PageToken = res.GetNextPageToken()
	}
}

// Paging through 250 reports, a few per page, visits each exactly once,
// newest first, even where many sessions ended at the same instant.
func TestReportPagesVisitEachSessionOnce(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	env := assisttest.Start(t)
	admin := env.Login(t, assisttest.AdminEmail, assisttest.AdminPassword)
	db := e2eDB(t, env.DatabaseURL)
	var account, portal uuid.UUID
	if err := db.QueryRow(ctx, `SELECT account_id, id FROM portals WHERE slug = $1`, assisttest.PortalSlug).Scan(&account, &portal); err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	var seeds []reportsSeed
	for i := range 250 {
		// Ten sessions share each end time: the id breaks the tie.
		seeds = append(seeds, reportsSeed{id: uuid.New(), portal: portal, name: fmt.Sprintf("Customer %03d", i),
			kind: assistv1.SessionKind_SESSION_KIND_WEB_CHAT, outcome: assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED,
			end: base.Add(time.Duration(i/10) * time.Second)})
	}
	reportsInsert(ctx, t, db, account, seeds)
	c := env.Services(assisttest.Connect, admin)
	for _, size := range []int32{7, 100} {
		ids := reportsIDs(ctx, t, c, &assistv1.ListSessionReportsRequest{PageSize: size})
		if len(ids) != 250 {
			t.Errorf("page size %d: listed %d reports, want each of the 250 once", size, len(ids))
		}
	}
	// A page token is bound to its filter, and garbage is refused.
	first, err := c.Report.ListSessionReports(ctx, &assistv1.ListSessionReportsRequest{PageSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Report.ListSessionReports(ctx, &assistv1.ListSessionReportsRequest{PageSize: 5, PageToken: first.GetNextPageToken(), Query: "Customer"})
	e2eWantCode(t, err, connect.CodeInvalidArgument, "a page token used with another filter")
	if err != nil && !strings.Contains(err.Error(), "page_token") {
		t.Errorf("the error %v should name page_token", err)
	}
	_, err = c.Report.ListSessionReports(ctx, &assistv1.ListSessionReportsRequest{PageToken: "bm90IGEgdG9rZW4"})
	e2eWantCode(t, err, connect.CodeInvalidArgument, "a forged page token")
}

// Each filter selects exactly the matching reports: time range, portal,
// advisor (lead or invited), outcome, kind, a text in the customer's name
// or e-mail (any case, LIKE's wildcards taken literally), a session id.
func TestReportFiltersSelectTheMatchingSessions(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	env := assisttest.Start(t)
	adminToken := env.Login(t, assisttest.AdminEmail, assisttest.AdminPassword)
	c := env.Services(assisttest.Connect, adminToken)
	db := e2eDB(t, env.DatabaseURL)
	var account, portalA uuid.UUID
	if err := db.QueryRow(ctx, `SELECT account_id, id FROM portals WHERE slug = $1`, assisttest.PortalSlug).Scan(&account, &portalA); err != nil {
		t.Fatal(err)
	}
	advisors, err := c.Admin.ListAdvisors(ctx, &assistv1.ListAdvisorsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var alex, sam uuid.UUID
	for _, a := range advisors.GetAdvisors() {
		switch a.GetEmail() {
		case assisttest.AdvisorEmail:
			alex = uuid.MustParse(a.GetId())
		case assisttest.Advisor2Email:
			sam = uuid.MustParse(a.GetId())
		}
	}
	pb, err := c.Admin.CreatePortal(ctx, &assistv1.CreatePortalRequest{Slug: "second", DisplayName: "Second", Mode: assistv1.PortalMode_PORTAL_MODE_QUEUE})
	if err != nil {
		t.Fatal(err)
	}
	portalB := uuid.MustParse(pb.GetPortal().GetId())

	base := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	names := []string{"Alice Martin", "Bob Stone", "Chloé Dupont", "Dan 100% Sure", "Eve_Under", "alice cooper"}
	var seeds []reportsSeed
	for i := range 60 {
		s := reportsSeed{
			id: uuid.New(), portal: portalA, name: names[i%len(names)],
			email:   fmt.Sprintf("user%d@example.com", i),
			kind:    []assistv1.SessionKind{assistv1.SessionKind_SESSION_KIND_WEB_CHAT, assistv1.SessionKind_SESSION_KIND_FAST_CHAT, assistv1.SessionKind_SESSION_KIND_STANDARD}[i%3],
			outcome: []assistv1.SessionOutcome{assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED, assistv1.SessionOutcome_SESSION_OUTCOME_UNRESOLVED, assistv1.SessionOutcome_SESSION_OUTCOME_UNKNOWN, assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED}[i%4],
			end:     base.Add(time.Duration(i) * 30 * time.Minute),
		}
		if i%5 == 0 {
			s.portal = portalB
		}
		if i%2 == 0 {
			s.advisor = &alex
		} else {
			s.advisor = &sam
		}
		if i%7 == 0 && i%2 == 1 {
			s.invited = &alex
		}
		if i == 13 {
			s.email = "VIP.Customer@Example.org"
		}
		seeds = append(seeds, s)
	}
	reportsInsert(ctx, t, db, account, seeds)

	from, to := base.Add(10*30*time.Minute), base.Add(20*30*time.Minute)
	cases := []struct {
		name  string
		req   *assistv1.ListSessionReportsRequest
		match func(reportsSeed) bool
	}{
		{"time range", &assistv1.ListSessionReportsRequest{EndTimeFrom: timestamppb.New(from), EndTimeTo: timestamppb.New(to)},
			func(s reportsSeed) bool { return !s.end.Before(from) && s.end.Before(to) }},
		{"portal", &assistv1.ListSessionReportsRequest{PortalId: portalB.String()}, func(s reportsSeed) bool { return s.portal == portalB }},
		{"advisor (lead or invited)", &assistv1.ListSessionReportsRequest{AdvisorId: alex.String()},
			func(s reportsSeed) bool { return *s.advisor == alex || (s.invited != nil && *s.invited == alex) }},
		{"outcome", &assistv1.ListSessionReportsRequest{Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_UNRESOLVED},
			func(s reportsSeed) bool { return s.outcome == assistv1.SessionOutcome_SESSION_OUTCOME_UNRESOLVED }},
		{"kind", &assistv1.ListSessionReportsRequest{Kind: assistv1.SessionKind_SESSION_KIND_FAST_CHAT},
			func(s reportsSeed) bool { return s.kind == assistv1.SessionKind_SESSION_KIND_FAST_CHAT }},
		{"name, any case", &assistv1.ListSessionReportsRequest{Query: "ALICE"},
			func(s reportsSeed) bool { return strings.Contains(strings.ToLower(s.name), "alice") }},
		{"accented name", &assistv1.ListSessionReportsRequest{Query: "chloé"}, func(s reportsSeed) bool { return s.name == "Chloé Dupont" }},
		{"e-mail", &assistv1.ListSessionReportsRequest{Query: "vip.customer@example"}, func(s reportsSeed) bool { return s.email == "VIP.Customer@Example.org" }},
		{"percent taken literally", &assistv1.ListSessionReportsRequest{Query: "100%"}, func(s reportsSeed) bool { return strings.Contains(s.name, "100%") }},
		{"underscore taken literally", &assistv1.ListSessionReportsRequest{Query: "e_u"}, func(s reportsSeed) bool { return s.name == "Eve_Under" }},
		{"session id alone", &assistv1.ListSessionReportsRequest{SessionId: seeds[17].id.String()}, func(s reportsSeed) bool { return s.id == seeds[17].id }},
		{"filters combined", &assistv1.ListSessionReportsRequest{PortalId: portalA.String(), Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED, AdvisorId: sam.String()},
			func(s reportsSeed) bool {
				return s.portal == portalA && s.outcome == assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED && *s.advisor == sam
			}},
		{"no match", &assistv1.ListSessionReportsRequest{Query: "nobody by that name"}, func(reportsSeed) bool { return false }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var want []string
			for _, s := range seeds {
				if tc.match(s) {
					want = append(want, s.id.String())
				}
			}
			tc.req.PageSize = 4
			got := reportsIDs(ctx, t, c, tc.req)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("listed %d reports %v, want %d: %v", len(got), got, len(want), want)
			}
			// The export applies the same filter.
			exp := &assistv1.ExportSessionReportsRequest{
				EndTimeFrom: tc.req.EndTimeFrom, EndTimeTo: tc.req.EndTimeTo, PortalId: tc.req.PortalId, AdvisorId: tc.req.AdvisorId,
				Outcome: tc.req.Outcome, Kind: tc.req.Kind, Query: tc.req.Query, SessionId: tc.req.SessionId,
			}
			_, rows, err := reportsExportAll(ctx, c, exp)
			if err != nil || rows != len(want) {
				t.Errorf("export: %v, %d rows; want %d", err, rows, len(want))
			}
		})
	}
	// Bad filters are refused, naming the field.
	for field, req := range map[string]*assistv1.ListSessionReportsRequest{
		"portal_id":   {PortalId: "not-a-uuid"},
		"end_time_to": {EndTimeFrom: timestamppb.New(to), EndTimeTo: timestamppb.New(from)},
		"query":       {Query: "nul\x00"},
		"outcome":     {Outcome: 42},
	} {
		_, err := c.Report.ListSessionReports(ctx, req)
		e2eWantCode(t, err, connect.CodeInvalidArgument, "filter on "+field)
		if err != nil && !strings.Contains(err.Error(), field) {
			t.Errorf("error %v should name %s", err, field)
		}
	}
}

// The report of a session says who took part and how, who the customer
// is, when each step happened, how long the customer waited and was
// helped, the outcome and notes, and the whole log in order — the same log
// every other surface reads. The upgrade steps are appended through the
// session log directly: the upgrade RPCs are other work.
func TestSessionReportTellsTheWholeSession(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	env := assisttest.Start(t)
	adminToken := env.Login(t, assisttest.AdminEmail, assisttest.AdminPassword)
	admin := env.Services(assisttest.Connect, adminToken)
	login, err := env.Services(assisttest.Connect, "").Auth.Login(ctx, &assistv1.LoginRequest{Email: assisttest.AdvisorEmail, Password: assisttest.AdvisorPassword})
	if err != nil {
		t.Fatal(err)
	}
	alexToken, alexID := login.GetAccessToken(), login.GetAdvisor().GetId()
	alex := env.Services(assisttest.Connect, alexToken)
	advs, err := admin.Admin.ListAdvisors(ctx, &assistv1.ListAdvisorsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var samID, adminID string
	for _, a := range advs.GetAdvisors() {
		switch a.GetEmail() {
		case assisttest.Advisor2Email:
			samID = a.GetId()
		case assisttest.AdminEmail:
			adminID = a.GetId()
		}
	}

	platform := &assistv1.ClientPlatform{DeviceType: assistv1.DeviceType_DEVICE_TYPE_DESKTOP, OperatingSystem: assistv1.OperatingSystem_OPERATING_SYSTEM_WINDOWS, UserAgent: "Mozilla/5.0 (Windows NT 10.0)"}
	customer := &assistv1.CustomerInfo{DisplayName: "Ada Lovelace", Email: "ada@example.com", ProblemDescription: "The printer prints nothing"}
	started, err := env.Services(assisttest.Connect, "").Portal.StartSession(ctx, &assistv1.StartSessionRequest{
		PortalSlug: assisttest.PortalSlug, Customer: customer, Platform: platform, RequestId: uuid.NewString()})
	if err != nil {
		t.Fatal(err)
	}
	sid := started.GetSession().GetId()
	cust := env.Services(assisttest.Connect, started.GetCustomerToken())
	time.Sleep(20 * time.Millisecond) // a measurable wait
	if _, err := alex.Session.PickUpSession(ctx, &assistv1.PickUpSessionRequest{SessionId: sid}); err != nil {
		t.Fatal(err)
	}
	if _, err := e2eSendText(ctx, cust.Chat, sid, "c1", "Hello, my printer is broken"); err != nil {
		t.Fatal(err)
	}
	if _, err := e2eSendText(ctx, alex.Chat, sid, "a1", "Let me look at your screen"); err != nil {
		t.Fatal(err)
	}

	// Sam is invited, and the admin led the session before Alex: made in
	// the database and the log, as inviting and transferring are other work.
	db := e2eDB(t, env.DatabaseURL)
	if _, err := db.Exec(ctx, `INSERT INTO session_advisors (session_id, advisor_id, lead) VALUES ($1, $2, false)`, sid, samID); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, env.DatabaseURL, 2, assisttest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	l := sessionlog.New(st, sessionlog.NewHub(), assisttest.Logger())
	alexP := &assistv1.Participant{Role: assistv1.ParticipantRole_PARTICIPANT_ROLE_ADVISOR, Id: alexID, DisplayName: "Alex (advisor)"}
	appP := &assistv1.Participant{Role: assistv1.ParticipantRole_PARTICIPANT_ROLE_CUSTOMER_APP, DisplayName: "Ada Lovelace"}
	steps := []*assistv1.SessionEvent{
		{Author: alexP, Payload: &assistv1.SessionEvent_SessionTransferred{SessionTransferred: &assistv1.SessionTransferred{
			FromAdvisor: &assistv1.Participant{Role: assistv1.ParticipantRole_PARTICIPANT_ROLE_ADVISOR, Id: adminID, DisplayName: "Demo Admin"}, ToAdvisor: alexP, Reason: "printer expert"}}},
		{Author: alexP, Payload: &assistv1.SessionEvent_UpgradeOffered{UpgradeOffered: &assistv1.UpgradeOffered{OpenerUrl: "https://example.test/o/1", TargetPlatform: platform}}},
		{Author: appP, Payload: &assistv1.SessionEvent_OpenerRedeemed{OpenerRedeemed: &assistv1.OpenerRedeemed{AppPlatform: platform}}},
		{Author: appP, Payload: &assistv1.SessionEvent_ScreenShareAnswered{ScreenShareAnswered: &assistv1.ScreenShareAnswered{Accepted: true}}},
	}
	stepTimes := make([]*timestamppb.Timestamp, len(steps))
	for i, ev := range steps {
		ev.SessionId = sid
		stored, err := l.Write(ctx, func(tx *sessionlog.Tx) error {
			_, err := tx.Append(ctx, ev)
			return err
		})
		if err != nil {
			t.Fatalf("append %T: %v", ev.GetPayload(), err)
		}
		stepTimes[i] = stored[0].GetCreateTime()
	}
	if _, err := e2eSendText(ctx, cust.Chat, sid, "c2", "=cmd|' /C calc'!A0"); err != nil {
		t.Fatal(err)
	}
	ended, err := alex.Session.EndSession(ctx, &assistv1.EndSessionRequest{SessionId: sid, Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED, Notes: "Driver reinstalled"})
	if err != nil {
		t.Fatal(err)
	}

	res, err := admin.Report.GetSessionReport(ctx, &assistv1.GetSessionReportRequest{SessionId: sid})
	if err != nil {
		t.Fatal(err)
	}
	r := res.GetReport()
	s := r.GetSession()
	check := func(what string, got, want any) {
		t.Helper()
		if !reportsEqual(got, want) {
			t.Errorf("%s: got %v, want %v", what, got, want)
		}
	}
	check("session id", s.GetId(), sid)
	check("state", s.GetState(), assistv1.SessionState_SESSION_STATE_ENDED)
	check("kind", s.GetKind(), assistv1.SessionKind_SESSION_KIND_WEB_CHAT)
	check("customer", s.GetCustomer(), customer)
	check("customer platform", s.GetCustomerPlatform(), platform)
	check("lead advisor", s.GetAdvisorId(), alexID)
	check("invited advisors", s.GetInvitedAdvisorIds(), []string{samID})
	check("outcome", s.GetOutcome(), assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED)
	check("notes", r.GetNotes(), "Driver reinstalled")
	check("portal slug", r.GetPortalSlug(), assisttest.PortalSlug)
	var roles []string
	for _, p := range r.GetParticipants() {
		roles = append(roles, p.GetAdvisor().GetId()+"="+p.GetRole().String())
	}
	check("advisors and roles", roles, []string{
		alexID + "=SESSION_ADVISOR_ROLE_LEAD", samID + "=SESSION_ADVISOR_ROLE_INVITED", adminID + "=SESSION_ADVISOR_ROLE_EARLIER_LEAD"})
	check("advisors, lead first", len(r.GetAdvisors()) == 3 && r.GetAdvisors()[0].GetId() == alexID, true)
	check("queue time", r.GetQueueTime().AsTime(), started.GetSession().GetCreateTime().AsTime())
	check("pick-up time", r.GetPickUpTime().AsTime(), ended.GetSession().GetPickUpTime().AsTime())
	check("upgrade offer time", r.GetUpgradeOfferTime().AsTime(), stepTimes[1].AsTime())
	check("opener redeem time", r.GetOpenerRedeemTime().AsTime(), stepTimes[2].AsTime())
	check("screen share answer time", r.GetScreenShareAnswerTime().AsTime(), stepTimes[3].AsTime())
	check("screen share accepted", r.GetScreenShareAccepted(), true)
	check("end time", r.GetEndTime().AsTime(), ended.GetSession().GetEndTime().AsTime())
	wait := ended.GetSession().GetPickUpTime().AsTime().Sub(started.GetSession().GetCreateTime().AsTime())
	handle := ended.GetSession().GetEndTime().AsTime().Sub(ended.GetSession().GetPickUpTime().AsTime())
	check("wait duration", r.GetWaitDuration().AsDuration(), wait)
	check("handle duration", r.GetHandleDuration().AsDuration(), handle)
	if wait < 20*time.Millisecond {
		t.Errorf("wait duration %v, want at least the 20ms the customer waited", wait)
	}
	// The chat log is the session log: what the transcript shows, in order.
	tr, err := cust.Chat.GetTranscript(ctx, &assistv1.GetTranscriptRequest{SessionId: sid})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.GetChatLog()) != len(tr.GetEvents()) || len(r.GetChatLog()) == 0 {
		t.Fatalf("chat log has %d events, the transcript %d", len(r.GetChatLog()), len(tr.GetEvents()))
	}
	var texts []string
	for i, ev := range r.GetChatLog() {
		if !proto.Equal(ev, tr.GetEvents()[i]) {
			t.Errorf("chat log event %d differs from the transcript's: %v vs %v", i, ev, tr.GetEvents()[i])
		}
		if ev.GetSeq() != int64(i+1) {
			t.Errorf("chat log event %d has seq %d, want %d", i, ev.GetSeq(), i+1)
		}
		if m := ev.GetMessage(); m != nil {
			texts = append(texts, m.GetText())
		}
	}
	check("messages in order", texts, []string{"Hello, my printer is broken", "Let me look at your screen", "=cmd|' /C calc'!A0"})
	if r.GetChatLog()[len(r.GetChatLog())-1].GetSessionEnded() == nil {
		t.Error("the chat log's last event should be the end")
	}

	// The list shows the same report without the log.
	list, err := admin.Report.ListSessionReports(ctx, &assistv1.ListSessionReportsRequest{SessionId: sid})
	if err != nil || len(list.GetReports()) != 1 {
		t.Fatalf("list by session id: %v, %d reports", err, len(list.GetReports()))
	}
	listed := list.GetReports()[0]
	if len(listed.GetChatLog()) != 0 {
		t.Error("listed reports carry no chat log")
	}
	want := proto.CloneOf(r)
	want.ChatLog = nil
	if !proto.Equal(listed, want) {
		t.Errorf("listed report differs from GetSessionReport's:\n got %v\nwant %v", listed, want)
	}

	// A session that has not ended has no report yet.
	live, _ := env.StartSession(t, "Still waiting")
	_, err = admin.Report.GetSessionReport(ctx, &assistv1.GetSessionReportRequest{SessionId: live.GetId()})
	e2eWantCode(t, err, connect.CodeFailedPrecondition, "report of a session still waiting")
}

func reportsEqual(got, want any) bool {
	if g, ok := got.(proto.Message); ok {
		w, ok := want.(proto.Message)
		return ok && proto.Equal(g, w)
	}
	if g, ok := got.(time.Time); ok {
		return g.Equal(want.(time.Time))
	}
	return fmt.Sprint(got) == fmt.Sprint(want)
}
