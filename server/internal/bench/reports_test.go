package bench

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assisttest"
)

// reportSessions is how many ended sessions the report benchmark's account
// holds: a big account.
const reportSessions = 100_000

const (
	reportsAdminEmail    = "admin@reports.bench"
	reportsAdminPassword = "reports-bench-password"
)

// seedReports gives a "Reports bench" account 100,000 ended sessions over
// a year, on 4 portals, led by 20 advisors, each with a log of three events
// (joined, notice, ended), once per database.
func seedReports(ctx context.Context, b *testing.B, pool *pgxpool.Pool) {
	b.Helper()
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE a.name = 'Reports bench'`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	if n >= reportSessions {
		return
	}
	start := time.Now()
	hash, err := bcrypt.GenerateFromPassword([]byte(reportsAdminPassword), bcrypt.MinCost)
	if err != nil {
		b.Fatal(err)
	}
	event, err := proto.Marshal(&assistv1.SessionEvent{Seq: 3, CreateTime: timestamppb.Now(),
		Author:  &assistv1.Participant{Role: assistv1.ParticipantRole_PARTICIPANT_ROLE_ADVISOR, DisplayName: "Advisor 1"},
		Payload: &assistv1.SessionEvent_SessionEnded{SessionEnded: &assistv1.SessionEnded{Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED}}})
	if err != nil {
		b.Fatal(err)
	}
	for _, step := range []string{
		`INSERT INTO accounts (name) VALUES ('Reports bench')`,
		`INSERT INTO advisors (account_id, email, display_name, password_hash, report_access, admin)
		 SELECT id, '` + reportsAdminEmail + `', 'Bench admin', '` + string(hash) + `', true, true FROM accounts WHERE name = 'Reports bench'`,
		`INSERT INTO advisors (account_id, email, display_name, password_hash)
		 SELECT a.id, 'advisor' || g || '@reports.bench', 'Advisor ' || g, 'x' FROM accounts a, generate_series(1, 20) g WHERE a.name = 'Reports bench'`,
		`INSERT INTO portals (account_id, slug, display_name, mode)
		 SELECT a.id, 'reports-bench-' || g, 'Portal ' || g, 1 FROM accounts a, generate_series(1, 4) g WHERE a.name = 'Reports bench'`,
		fmt.Sprintf(`
		WITH acc AS (SELECT id FROM accounts WHERE name = 'Reports bench'),
		portals AS (SELECT array_agg(p.id ORDER BY p.slug) ids FROM portals p, acc WHERE p.account_id = acc.id),
		advs AS (SELECT array_agg(a.id ORDER BY a.email) ids FROM advisors a, acc WHERE a.account_id = acc.id AND NOT a.admin),
		firsts AS (SELECT '{Ada,Bob,Chloé,Dan,Eve,Farid,Gina,Hugo,Inès,Jon,Kim,Léa,Marc,Nora,Omar,Paul,Quinn,Rosa,Sam,Tom}'::text[] f),
		lasts AS (SELECT '{Martin,Bernard,Dubois,Thomas,Robert,Richard,Petit,Durand,Leroy,Moreau,Smith,Jones,Taylor,Brown,Wilson,Evans,Walker,Wright,Green,Hall}'::text[] l)
		INSERT INTO sessions (account_id, portal_id, portal_mode, kind, state, customer_display_name, customer_email,
		                      advisor_id, create_time, pick_up_time, end_time, outcome, notes, last_seq)
		SELECT acc.id, portals.ids[1 + g %% 4], 1, 1 + (g / 3) %% 3, 3,
		       firsts.f[1 + g %% 20] || ' ' || lasts.l[1 + (g / 20) %% 20] || ' ' || g,
		       'customer' || g || '@example' || (g %% 50) || '.com',
		       advs.ids[1 + (g * 7) %% 20],
		       now() - (g * interval '315 seconds') - interval '10 minutes',
		       now() - (g * interval '315 seconds') - interval '9 minutes',
		       now() - (g * interval '315 seconds'),
		       1 + g %% 3, 'notes', 3
		FROM acc, portals, advs, firsts, lasts, generate_series(1, %d) g`, reportSessions),
		`INSERT INTO session_advisors (session_id, advisor_id, lead, join_time)
		 SELECT s.id, s.advisor_id, true, s.pick_up_time FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE a.name = 'Reports bench'`,
	} {
		if _, err := pool.Exec(ctx, step); err != nil {
			b.Fatalf("seed reports: %v", err)
		}
	}
	if _, err := pool.Exec(ctx, `
		INSERT INTO session_events (session_id, seq, event, create_time)
		SELECT s.id, k, $1, s.end_time FROM sessions s JOIN accounts a ON a.id = s.account_id, generate_series(1, 3) k
		WHERE a.name = 'Reports bench'`, event); err != nil {
		b.Fatalf("seed report events: %v", err)
	}
	if _, err := pool.Exec(ctx, `ANALYZE sessions; ANALYZE session_advisors; ANALYZE session_events`); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d ended sessions in %v", reportSessions, time.Since(start).Round(time.Millisecond))
}

// BenchmarkReportPage is the latency of one page (50 reports) of
// ListSessionReports on an account with 100,000 ended sessions, through a
// real assistd over HTTP/2, for each filter an advisor uses.
func BenchmarkReportPage(b *testing.B) {
	ctx := context.Background()
	env := assisttest.StartOn(b, databaseURL) // applies the migrations
	pool, err := pgxpool.New(ctx, databaseURL)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	seedReports(ctx, b, pool)
	var portal, advisor string
	if err := pool.QueryRow(ctx, `SELECT p.id::text FROM portals p WHERE p.slug = 'reports-bench-2'`).Scan(&portal); err != nil {
		b.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT id::text FROM advisors WHERE email = 'advisor7@reports.bench'`).Scan(&advisor); err != nil {
		b.Fatal(err)
	}
	var oneSession string
	if err := pool.QueryRow(ctx, `SELECT s.id::text FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE a.name = 'Reports bench' ORDER BY s.end_time LIMIT 1`).Scan(&oneSession); err != nil {
		b.Fatal(err)
	}
	c := env.Services(assisttest.GRPC, env.Login(b, reportsAdminEmail, reportsAdminPassword))
	monthAgo := time.Now().Add(-30 * 24 * time.Hour)
	for _, tc := range []struct {
		name string
		req  *assistv1.ListSessionReportsRequest
	}{
		{"first-page", &assistv1.ListSessionReportsRequest{}},
		{"time-range", &assistv1.ListSessionReportsRequest{EndTimeFrom: timestamppb.New(monthAgo.Add(-7 * 24 * time.Hour)), EndTimeTo: timestamppb.New(monthAgo)}},
		{"portal", &assistv1.ListSessionReportsRequest{PortalId: portal}},
		{"advisor", &assistv1.ListSessionReportsRequest{AdvisorId: advisor}},
		{"outcome+kind", &assistv1.ListSessionReportsRequest{Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_UNRESOLVED, Kind: assistv1.SessionKind_SESSION_KIND_STANDARD}},
		{"search-name", &assistv1.ListSessionReportsRequest{Query: "Inès Walker"}},
		{"search-rare", &assistv1.ListSessionReportsRequest{Query: "customer4242@"}},
		{"session-id", &assistv1.ListSessionReportsRequest{SessionId: oneSession}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			res, err := c.Report.ListSessionReports(ctx, tc.req)
			if err != nil {
				b.Fatal(err)
			}
			if len(res.GetReports()) == 0 {
				b.Fatalf("%s: the page is empty, the benchmark measures nothing", tc.name)
			}
			// The second page too: keyset pages cost the same however deep.
			next := proto.CloneOf(tc.req)
			next.PageToken = res.GetNextPageToken()
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				req := tc.req
				if i%2 == 1 && next.PageToken != "" {
					req = next
				}
				t0 := time.Now()
				if _, err := c.Report.ListSessionReports(ctx, req); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
