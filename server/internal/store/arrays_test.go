package store

import (
	"bytes"
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/assist-chat/assist/server/internal/pgtest"
)

func TestIDAndEventArraysReachTheDatabaseIntact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, err := Connect(ctx, pgtest.NewDatabase(t), "assistd-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	ids := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	var texts []string
	if err := conn.QueryRow(ctx, "SELECT array_agg(x::text ORDER BY o) FROM unnest($1::uuid[]) WITH ORDINALITY AS t(x, o)", ids).Scan(&texts); err != nil {
		t.Fatal(err)
	}
	for i := range ids {
		if texts[i] != ids[i].String() {
			t.Fatalf("ids arrived as %v, want %v", texts, ids)
		}
	}
	events := [][]byte{[]byte("first"), nil, {}, bytes.Repeat([]byte{0, 0xff}, 600)}
	var lengths []*int32
	if err := conn.QueryRow(ctx, "SELECT array_agg(length(x) ORDER BY o) FROM unnest($1::bytea[]) WITH ORDINALITY AS t(x, o)", events).Scan(&lengths); err != nil {
		t.Fatal(err)
	}
	if len(lengths) != 4 || *lengths[0] != 5 || lengths[1] != nil || *lengths[2] != 0 || *lengths[3] != 1200 {
		t.Fatalf("events arrived with lengths %v, want 5, NULL, 0, 1200", lengths)
	}
	var back [][]byte
	if err := conn.QueryRow(ctx, "SELECT $1::bytea[]", events).Scan(&back); err != nil || len(back) != 4 || !bytes.Equal(back[3], events[3]) || back[1] != nil {
		t.Fatalf("events round trip: %v, %v", back, err)
	}
	var nullIDs, nullEvents bool
	if err := conn.QueryRow(ctx, "SELECT $1::uuid[] IS NULL, $2::bytea[] IS NULL", []uuid.UUID(nil), [][]byte(nil)).Scan(&nullIDs, &nullEvents); err != nil || !nullIDs || !nullEvents {
		t.Fatalf("nil slices: NULL %v and %v (%v), want NULL both", nullIDs, nullEvents, err)
	}
}

// Encoding an array costs a few allocations, not several per element (the
// reflection pgx falls back to).
func TestEncodingArraysAllocatesPerArrayNotPerElement(t *testing.T) {
	m := pgtype.NewMap()
	registerTypes(m)
	ids := make([]uuid.UUID, 50)
	events := make([][]byte, 50)
	for i := range ids {
		ids[i], events[i] = uuid.New(), []byte("an event")
	}
	buf := make([]byte, 0, 8192)
	for _, c := range []struct {
		oid   uint32
		value any
	}{{pgtype.UUIDArrayOID, ids}, {pgtype.ByteaArrayOID, events}} {
		allocs := testing.AllocsPerRun(20, func() {
			if _, err := m.Encode(c.oid, pgtype.BinaryFormatCode, c.value, buf[:0]); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 5 {
			t.Errorf("encoding %T of 50: %.0f allocations, want at most 5", c.value, allocs)
		}
	}
}
