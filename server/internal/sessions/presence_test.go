package sessions

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/assist-chat/assist/server/internal/pgtest"
	"github.com/assist-chat/assist/server/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// An advisor stays online while their replica refreshes the watch, past
// the rows' lifetime; leaving takes them offline at once; rows a dead
// replica left behind are cleared.
func TestPresenceOutlivesItsLifetimeWhileRefreshed(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, pgtest.NewDatabase(t), 4, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var advisor uuid.UUID
	err = s.Pool.QueryRow(ctx, `
		WITH acc AS (INSERT INTO accounts (name) VALUES ('Presence') RETURNING id)
		INSERT INTO advisors (account_id, email, display_name, password_hash)
		SELECT id, 'p@example.com', 'P', 'none' FROM acc RETURNING id`).Scan(&advisor)
	if err != nil {
		t.Fatal(err)
	}
	// A watch left by a replica that died.
	if _, err := s.Pool.Exec(ctx, `INSERT INTO advisor_presence VALUES ($1, $2, now() - interval '1 second')`, uuid.New(), advisor); err != nil {
		t.Fatal(err)
	}
	online := func() (live, all int) {
		t.Helper()
		if err := s.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE expire_time > now()), count(*) FROM advisor_presence`).Scan(&live, &all); err != nil {
			t.Fatal(err)
		}
		return live, all
	}

	pr := NewPresence(s)
	pr.ttl, pr.refresh = time.Second, 100*time.Millisecond
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); pr.Run(runCtx) }()
	defer func() { stop(); <-done }()

	leave, err := pr.Join(ctx, advisor)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * pr.ttl)
	if live, all := online(); live != 1 || all != 1 {
		t.Errorf("after three lifetimes: %d live watches of %d, want the refreshed one only", live, all)
	}
	// A row lost meanwhile (expired while the database was out of reach)
	// comes back with the next refresh.
	if _, err := s.Pool.Exec(ctx, `DELETE FROM advisor_presence`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * pr.refresh)
	if live, _ := online(); live != 1 {
		t.Errorf("after a lost row and a refresh: %d live watches, want 1", live)
	}
	leave()
	if _, all := online(); all != 0 {
		t.Errorf("after leaving: %d watches, want none", all)
	}
}
