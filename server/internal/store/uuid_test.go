package store

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/assist-chat/assist/server/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestUUIDArgumentsReachTheDatabaseIntact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(ctx, pgtest.NewDatabase(t), 2, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id := uuid.New()
	var text string
	if err := s.Pool.QueryRow(ctx, "SELECT $1::uuid::text", id).Scan(&text); err != nil || text != id.String() {
		t.Fatalf("uuid.UUID argument: got %q, %v; want %q", text, err, id)
	}
	if err := s.Pool.QueryRow(ctx, "SELECT $1::uuid::text", &id).Scan(&text); err != nil || text != id.String() {
		t.Fatalf("*uuid.UUID argument: got %q, %v; want %q", text, err, id)
	}
	var isNull bool
	if err := s.Pool.QueryRow(ctx, "SELECT $1::uuid IS NULL", (*uuid.UUID)(nil)).Scan(&isNull); err != nil || !isNull {
		t.Fatalf("nil *uuid.UUID argument: got null=%v, %v; want NULL", isNull, err)
	}
	ids := []uuid.UUID{uuid.New(), uuid.New()}
	var texts []string
	if err := s.Pool.QueryRow(ctx, "SELECT array_agg(x::text ORDER BY o) FROM unnest($1::uuid[]) WITH ORDINALITY AS t(x, o)", ids).Scan(&texts); err != nil ||
		len(texts) != 2 || texts[0] != ids[0].String() || texts[1] != ids[1].String() {
		t.Fatalf("[]uuid.UUID argument: got %q, %v; want %v", texts, err, ids)
	}
	var back uuid.UUID
	if err := s.Pool.QueryRow(ctx, "SELECT $1::uuid", id).Scan(&back); err != nil || back != id {
		t.Fatalf("round trip: got %v, %v; want %v", back, err, id)
	}
	backPtr := &uuid.UUID{}
	if err := s.Pool.QueryRow(ctx, "SELECT NULL::uuid").Scan(&backPtr); err != nil || backPtr != nil {
		t.Fatalf("NULL into *uuid.UUID: got %v, %v; want nil", backPtr, err)
	}
	if err := s.Pool.QueryRow(ctx, "SELECT $1::uuid", id).Scan(&backPtr); err != nil || backPtr == nil || *backPtr != id {
		t.Fatalf("round trip through *uuid.UUID: got %v, %v; want %v", backPtr, err, id)
	}
	var backs []uuid.UUID
	if err := s.Pool.QueryRow(ctx, "SELECT $1::uuid[]", ids).Scan(&backs); err != nil || len(backs) != 2 || backs[0] != ids[0] || backs[1] != ids[1] {
		t.Fatalf("[]uuid.UUID round trip: got %v, %v; want %v", backs, err, ids)
	}
}

// A scanned id is copied from the wire, not formatted as text and parsed
// back through database/sql's Scanner (one allocation and a parse per id).
func TestScanningAUUIDAllocatesNothing(t *testing.T) {
	m := pgtype.NewMap()
	registerTypes(m)
	id := uuid.New()
	var got uuid.UUID
	plan := m.PlanScan(pgtype.UUIDOID, pgtype.BinaryFormatCode, &got)
	allocs := testing.AllocsPerRun(100, func() {
		if err := plan.Scan(id[:], &got); err != nil {
			t.Fatal(err)
		}
	})
	if got != id || allocs != 0 {
		t.Fatalf("scan: got %v with %.0f allocations; want %v with none", got, allocs, id)
	}
}

// BenchmarkEncodeUUID compares encoding a uuid.UUID query argument with
// and without registerTypes (run: go test -run '^$' -bench EncodeUUID ./server/internal/store/).
func BenchmarkEncodeUUID(b *testing.B) {
	for _, registered := range []bool{false, true} {
		b.Run(map[bool]string{false: "pgx-fallback", true: "registered"}[registered], func(b *testing.B) {
			m := pgtype.NewMap()
			if registered {
				registerTypes(m)
			}
			id := uuid.New()
			buf := make([]byte, 0, 64)
			b.ReportAllocs()
			for b.Loop() {
				out, err := m.Encode(pgtype.UUIDOID, pgtype.BinaryFormatCode, id, buf[:0])
				if err != nil || len(out) != 16 {
					b.Fatalf("encode: %d bytes, %v; want 16 bytes", len(out), err)
				}
			}
		})
	}
}

// Connections of their own (listeners, the feed sequencer) encode and scan
// ids as the pool's do: without that, pgx encoded each uuid.UUID argument
// as text after failing to as binary, building an error each time (the
// feed sequencer's share of assistd's allocations under load).
func TestDedicatedConnectionsHandleUUIDsAsThePoolDoes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, err := Connect(ctx, pgtest.NewDatabase(t), "assistd-test", GenericIndexPlans)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var id uuid.UUID
	if plan := conn.TypeMap().PlanEncode(pgtype.UUIDOID, pgtype.BinaryFormatCode, id); fmt.Sprintf("%T", plan) != "*store.uuidEncodePlan" {
		t.Errorf("uuid.UUID arguments encode through %T, want the registered plan", plan)
	}
	if plan := conn.TypeMap().PlanScan(pgtype.UUIDOID, pgtype.BinaryFormatCode, &id); fmt.Sprintf("%T", plan) != "store.scanBinaryUUID" {
		t.Errorf("uuid columns scan through %T, want the registered plan", plan)
	}
	ids := []uuid.UUID{uuid.New(), uuid.New()}
	var back []uuid.UUID
	var app, planMode string
	if err := conn.QueryRow(ctx, "SELECT $1::uuid[], current_setting('application_name'), current_setting('plan_cache_mode')", ids).Scan(&back, &app, &planMode); err != nil {
		t.Fatal(err)
	}
	if len(back) != 2 || back[0] != ids[0] || back[1] != ids[1] || app != "assistd-test" || planMode != "force_generic_plan" {
		t.Fatalf("got ids %v, application %q, plan_cache_mode %q; want %v, assistd-test, force_generic_plan", back, app, planMode, ids)
	}
}
