package pgtest_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/assist-chat/assist/server/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestParallelTestsGetIsolatedDatabases(t *testing.T) {
	var (
		mu    sync.Mutex
		names []string
	)
	t.Run("group", func(t *testing.T) {
		for _, value := range []string{"a", "b"} {
			t.Run(value, func(t *testing.T) {
				t.Parallel()
				began := time.Now()
				url := pgtest.NewDatabase(t)
				t.Logf("NewDatabase took %v", time.Since(began))
				conn := connect(t, url)

				// In a shared database the second CREATE TABLE would fail, or
				// the SELECT would see the other test's row.
				if _, err := conn.Exec(t.Context(), "create table item (value text)"); err != nil {
					t.Fatal(err)
				}
				if _, err := conn.Exec(t.Context(), "insert into item values ($1)", value); err != nil {
					t.Fatal(err)
				}
				var values []string
				if err := conn.QueryRow(t.Context(), "select array_agg(value) from item").Scan(&values); err != nil {
					t.Fatal(err)
				}
				if len(values) != 1 || values[0] != value {
					t.Errorf("item holds %q, want only %q", values, value)
				}

				var name string
				if err := conn.QueryRow(t.Context(), "select current_database()").Scan(&name); err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				names = append(names, name)
				mu.Unlock()
			})
		}
	})

	if len(names) != 2 || names[0] == names[1] {
		t.Fatalf("databases = %q, want two different ones", names)
	}
	var left int
	err := connect(t, pgtest.NewDatabase(t)).QueryRow(t.Context(),
		"select count(*) from pg_database where datname = any($1)", names).Scan(&left)
	if err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d of %q left after their tests ended, want them dropped", left, names)
	}
}

func TestDatabaseIsDroppedWithOpenConnections(t *testing.T) {
	// The connection stays open past the subtest: cleanup must still drop
	// the database (WITH (FORCE)) rather than fail.
	var conn *pgx.Conn
	t.Run("leaky", func(t *testing.T) {
		var err error
		conn, err = pgx.Connect(context.Background(), pgtest.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
	})
	defer conn.Close(context.Background())
	if err := conn.Ping(t.Context()); err == nil {
		t.Fatal("connection to the dropped database still works")
	}
}
