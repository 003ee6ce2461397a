package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// Pipeline sends several statements, the transaction's BEGIN and COMMIT
// included, in one round trip. Every statement sent on its own costs a
// round trip: a write and a read on both sides, which on a busy 2-core
// machine cost more than the statements themselves.
//
// The generated queries (dbq) run against a DBTX; a pipeline offers two:
// Queue, on which a query is only recorded, and, once Send has run the
// recorded statements, Results, on which the same queries, called again in
// the same order with the same arguments, read their results.
//
//	p := store.NewPipeline()
//	p.Begin()
//	q.SessionLockForAppend(ctx, p.Queue(), ids) // recorded
//	q.EventListByClientMessageIDs(ctx, p.Queue(), keys)
//	res, err := conn.Send(ctx, p)
//	rows, err := q.SessionLockForAppend(ctx, res, ids) // read
//	prior, err := q.EventListByClientMessageIDs(ctx, res, keys)
//	err = res.Close()
type Pipeline struct {
	batch pgx.Batch
}

// NewPipeline returns an empty pipeline.
func NewPipeline() *Pipeline { return &Pipeline{} }

// Begin records BEGIN: the statements after it run in a transaction that
// stays open after Send until a later pipeline's Commit.
func (p *Pipeline) Begin() { p.batch.Queue("begin") }

// GenericIndexPlans are the settings of the connections that run the hot
// paths (Store.Appends, the feed sequencer's), whose statements take
// arrays. PostgreSQL cannot size
// an array when it weighs a cached generic plan, so by default it plans
// every execution anew, which took 30% of its CPU under a chat load;
// generic plans are kept instead. A generic plan is kept until the table's
// statistics next change (autovacuum looks once a minute): one made while
// a table was nearly empty would scan it whole while it grows, so these
// plans avoid sequential scans. The statements they run look rows up by
// index, whatever the values; statements whose plan depends on the values
// must not run under them.
var GenericIndexPlans = map[string]string{"plan_cache_mode": "force_generic_plan", "enable_seqscan": "off"}

// Commit records COMMIT.
func (p *Pipeline) Commit() { p.batch.Queue("commit") }

// Queue is the DBTX on which queries are recorded. What they return is
// meaningless: results come from Results after Send.
func (p *Pipeline) Queue() dbq.DBTX { return queue{p} }

type queue struct{ p *Pipeline }

func (q queue) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	q.p.batch.Queue(sql, args...)
	return pgconn.CommandTag{}, nil
}

func (q queue) Query(_ context.Context, sql string, args ...any) (pgx.Rows, error) {
	q.p.batch.Queue(sql, args...)
	return nil, errQueued
}

func (q queue) QueryRow(_ context.Context, sql string, args ...any) pgx.Row {
	q.p.batch.Queue(sql, args...)
	return queuedRow{}
}

// errQueued is what a query recorded on a pipeline returns.
var errQueued = errors.New("recorded on a pipeline; read the result after Send")

type queuedRow struct{}

func (queuedRow) Scan(...any) error { return errQueued }

// PipeConn is a pooled connection for pipelines. A transaction left open
// (an error between a pipeline's Begin and Commit) is rolled back by
// Release, or the connection is discarded.
type PipeConn struct {
	conn *pgxpool.Conn
}

// Acquire takes a connection from the pool for pipelines; Release gives
// it back.
func (d *DB) Acquire(ctx context.Context) (*PipeConn, error) {
	c, err := d.pool.Acquire(ctx)
	if err != nil {
		return nil, Translate(err)
	}
	return &PipeConn{conn: c}, nil
}

// Send runs the pipeline's statements in one round trip. The results must
// be read in order, then closed, before the connection is used again.
func (c *PipeConn) Send(ctx context.Context, p *Pipeline) *Results {
	return &Results{br: c.conn.SendBatch(ctx, &p.batch)}
}

// Release ends a transaction left open, then gives the connection back.
func (c *PipeConn) Release(ctx context.Context) {
	if c.conn.Conn().PgConn().TxStatus() != 'I' {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_, _ = c.conn.Exec(rctx, "rollback")
		cancel()
	}
	c.conn.Release() // a connection still in a transaction is destroyed
}

// Results reads a sent pipeline's results, each through the query that
// recorded it (see Pipeline). Errors are translated (see Translate).
type Results struct {
	br pgx.BatchResults
}

// Begin reads BEGIN's result.
func (r *Results) Begin() error { return r.expect("BEGIN") }

// Commit reads COMMIT's result: nil only if the transaction committed.
func (r *Results) Commit() error { return r.expect("COMMIT") }

func (r *Results) expect(tag string) error {
	got, err := r.br.Exec()
	if err != nil {
		return Translate(err)
	}
	if got.String() != tag {
		return fmt.Errorf("%s answered %q", tag, got.String())
	}
	return nil
}

// Exec reads the next statement's result.
func (r *Results) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	tag, err := r.br.Exec()
	return tag, Translate(err)
}

// Query reads the next query's rows.
func (r *Results) Query(context.Context, string, ...any) (pgx.Rows, error) {
	rows, err := r.br.Query()
	if err != nil {
		return nil, Translate(err)
	}
	return translatedRows{rows}, nil
}

// QueryRow reads the next query's row.
func (r *Results) QueryRow(context.Context, string, ...any) pgx.Row {
	return translatedRow{r.br.QueryRow()}
}

// Close reads what is left and reports the first error.
func (r *Results) Close() error { return Translate(r.br.Close()) }
