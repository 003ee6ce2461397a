package reports_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assisttest"
	"github.com/assist-chat/assist/server/internal/pgtest"
	"github.com/assist-chat/assist/server/internal/reports"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// seedEnded inserts n ended sessions on the demo portal, led by the demo
// advisor, with customer names from name(i).
func seedEnded(ctx context.Context, t *testing.T, env *assisttest.Env, n int, name func(i int) string) {
	t.Helper()
	db, err := pgx.Connect(ctx, env.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	names := make([]string, n)
	for i := range names {
		names[i] = name(i)
	}
	if _, err := db.Exec(ctx, `
		WITH p AS (SELECT id, account_id FROM portals WHERE slug = $1),
		a AS (SELECT id FROM advisors WHERE email = $2),
		s AS (
			INSERT INTO sessions (account_id, portal_id, portal_mode, kind, state, customer_display_name, customer_email,
			                      advisor_id, create_time, pick_up_time, end_time, outcome, notes)
			SELECT p.account_id, p.id, 1, 1, 3, v.name, 'c' || v.i || '@example.com', a.id,
			       now() - interval '1 day' + v.i * interval '1 second',
			       now() - interval '1 day' + v.i * interval '1 second' + interval '30 seconds',
			       now() - interval '1 day' + v.i * interval '1 second' + interval '5 minutes', 1, 'notes ' || v.i
			FROM p, a, unnest($3::text[]) WITH ORDINALITY AS v(name, i)
			RETURNING id, advisor_id)
		INSERT INTO session_advisors (session_id, advisor_id, lead) SELECT id, advisor_id, true FROM s`,
		assisttest.PortalSlug, assisttest.AdvisorEmail, names); err != nil {
		t.Fatalf("seed sessions: %v", err)
	}
}

// A spreadsheet never runs a cell of the export as a formula: cells that
// start with =, +, -, @, tab or carriage return get a leading apostrophe;
// commas, quotes and line breaks are quoted (RFC 4180), so every cell
// reads back as written.
func TestExportCSVIsSpreadsheetSafe(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	env := assisttest.Start(t)
	names := []string{"=HYPERLINK(\"http://evil\")", "+33 6 12 34 56 78", "-2+3", "@SUM(A1:A9)", "\tTabbed", "Smith, \"Junior\"\nsecond line", "Plain Name"}
	seedEnded(ctx, t, env, len(names), func(i int) string { return names[i] })
	c := env.Services(assisttest.Connect, env.Login(t, assisttest.AdminEmail, assisttest.AdminPassword))
	stream, err := c.Report.ExportSessionReports(ctx, &assistv1.ExportSessionReportsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	var file bytes.Buffer
	for {
		res, err := stream.Receive()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		file.Write(res.GetCsv())
	}
	if !bytes.HasPrefix(file.Bytes(), []byte(strings.Join(reports.CSVHeader, ",")+"\r\n")) {
		t.Fatalf("the file should start with the header row and CRLF, got %q", file.String()[:min(200, file.Len())])
	}
	records, err := csv.NewReader(&file).ReadAll()
	if err != nil {
		t.Fatalf("the export is not valid CSV: %v", err)
	}
	if len(records) != len(names)+1 {
		t.Fatalf("%d records, want the header and %d rows", len(records), len(names))
	}
	col := slices.Index(reports.CSVHeader, "customer_name")
	var got []string
	for _, r := range records[1:] {
		if len(r) != len(reports.CSVHeader) {
			t.Errorf("row of %d cells, the header has %d", len(r), len(reports.CSVHeader))
		}
		got = append(got, r[col])
	}
	want := []string{"'=HYPERLINK(\"http://evil\")", "'+33 6 12 34 56 78", "'-2+3", "'@SUM(A1:A9)", "'\tTabbed", "Smith, \"Junior\"\nsecond line", "Plain Name"}
	slices.Reverse(want) // newest first; the seeds end in order
	if !slices.Equal(got, want) {
		t.Errorf("customer names read back as %q, want %q", got, want)
	}
}

func TestNeutraliseOnlyTouchesFormulaStarts(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"": "", "=1+1": "'=1+1", "+1": "'+1", "-1": "'-1", "@x": "'@x", "\tx": "'\tx", "\rx": "'\rx",
		"a=b": "a=b", "1-2": "1-2", "Ada": "Ada", "'quoted": "'quoted", "2026-11-25T10:00:00Z": "2026-11-25T10:00:00Z",
	} {
		if got := reports.Neutralise(in); got != want {
			t.Errorf("Neutralise(%q) = %q, want %q", in, got, want)
		}
	}
}

// Exporting 10,000 reports streams them in chunks, newest first, without
// holding them all: the heap stays within a bound far below what the
// reports would take at once, and does not grow from chunk to chunk. Not
// parallel: the heap is the whole process's.
func TestExportStreamsTenThousandRowsInFlatMemory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	env := assisttest.Start(t)
	const n = 10_000
	seedEnded(ctx, t, env, n, func(i int) string { return strings.Repeat("x", 200) + " customer" })
	c := env.Services(assisttest.GRPC, env.Login(t, assisttest.AdminEmail, assisttest.AdminPassword))

	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	base := heap()
	// Sample the live heap while the server works, not only between
	// chunks: a server that built every report before sending would peak
	// in between.
	var peak atomic.Uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if h := heap(); h > peak.Load() {
				peak.Store(h)
			}
		}
	}()
	stream, err := c.Report.ExportSessionReports(ctx, &assistv1.ExportSessionReportsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	var rows, chunks, bytesTotal int
	var samples []uint64
	for {
		res, err := stream.Receive()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		chunks++
		rows += int(res.GetRowCount())
		bytesTotal += len(res.GetCsv())
		if got := bytes.Count(res.GetCsv(), []byte("\r\n")); chunks > 1 && got != int(res.GetRowCount()) {
			t.Errorf("chunk %d holds %d lines but announces %d rows", chunks, got, res.GetRowCount())
		}
		samples = append(samples, heap())
	}
	close(done)
	<-sampled
	if rows != n {
		t.Fatalf("exported %d rows, want %d", rows, n)
	}
	if chunks < 10 {
		t.Errorf("the export came in %d chunks: want it streamed in many", chunks)
	}
	growth := int64(peak.Load()) - int64(base)
	t.Logf("10,000 rows, %d bytes of CSV in %d chunks; heap growth at peak %d KiB (base %d KiB)", bytesTotal, chunks, growth>>10, base>>10)
	// The whole CSV is about 4 MB and the reports as protos several times
	// that; a streamed export holds one batch of 500.
	const bound = 12 << 20
	if growth > bound {
		t.Errorf("heap grew by %d KiB during the export, want under %d KiB: the export must not hold every report", growth>>10, bound>>10)
	}
	// Flat: the last chunks cost no more than the first ones. Each window's
	// lowest sample is compared: a single sample may catch a batch in
	// flight (a spread of up to 3 MB on a busy machine), while an export
	// that kept its rows would raise every sample of the late window.
	if len(samples) >= 6 {
		third := len(samples) / 3
		early, late := slices.Min(samples[1:1+third]), slices.Min(samples[len(samples)-third:])
		if int64(late)-int64(early) > 2<<20 {
			t.Errorf("heap grew from %d KiB to %d KiB between early and late chunks: it must stay flat", early>>10, late>>10)
		}
	}
}
