package store

import (
	"context"
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
}

// BenchmarkEncodeUUID compares encoding a uuid.UUID query argument with
// and without registerUUID (run: go test -run '^$' -bench EncodeUUID ./server/internal/store/).
func BenchmarkEncodeUUID(b *testing.B) {
	for _, registered := range []bool{false, true} {
		b.Run(map[bool]string{false: "pgx-fallback", true: "registered"}[registered], func(b *testing.B) {
			m := pgtype.NewMap()
			if registered {
				registerUUID(m)
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
