package store

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/google/uuid"

	"github.com/assist-chat/assist/server/internal/pgtest"
)

// A page of stored events costs the same allocations whatever its number
// of rows, and holds each row's exact bytes: a replay reads pages of a
// thousand events, and an allocation per row was a third of the server's
// garbage during replays (Scan's variadic slice, and an error target in
// Translate even without an error).
// Not parallel: AllocsPerRun counts the whole process's allocations.
func TestReadingAPageAllocatesPerPageNotPerRow(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, pgtest.NewDatabase(t), 2, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	session := uuid.New()
	if _, err := s.Pool.Exec(ctx, `INSERT INTO session_events (session_id, seq, event)
		SELECT $1, g, convert_to('event ' || g, 'UTF8') FROM generate_series(1, 1000) AS g`, session); err != nil {
		t.Fatal(err)
	}
	page := NewStoredEvents()
	defer page.Release()
	read := func(limit int32) float64 {
		return testing.AllocsPerRun(20, func() {
			if err := s.ReadEventsAfter(ctx, session, 0, limit, page); err != nil {
				t.Fatal(err)
			}
		})
	}
	few, many := read(10), read(1000)
	if page.Len() != 1000 || page.Seq(0) != 1 || page.Seq(999) != 1000 ||
		!bytes.Equal(page.Event(0), []byte("event 1")) || !bytes.Equal(page.Event(999), []byte("event 1000")) {
		t.Fatalf("page of %d events, first %d %q; want 1,000 from seq 1", page.Len(), page.Seq(0), page.Event(0))
	}
	if many-few > 10 {
		t.Errorf("reading 1,000 rows took %.0f allocations and 10 rows %.0f: want the same, give or take", many, few)
	}
	if allocs := testing.AllocsPerRun(100, func() { _ = Translate(nil) }); allocs != 0 {
		t.Errorf("Translate(nil) allocates %.0f times, want none", allocs)
	}
}
