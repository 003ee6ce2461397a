package store

import (
	"context"
	"sync"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// StoredEvents is a page of one session's stored events: each event's seq
// and its bytes as stored (a binary SessionEvent), all in one block of
// memory. A replay reads a thousand events a page, and scanning each into
// a row of its own (dbq.SessionEvent) cost four allocations an event,
// columns the replay never reads, and the garbage collector's time.
type StoredEvents struct {
	seqs []int64
	ends []int // event i is data[ends[i-1]:ends[i]]
	data []byte
}

// Len is how many events the page holds.
func (p *StoredEvents) Len() int { return len(p.seqs) }

// Seq is event i's seq.
func (p *StoredEvents) Seq(i int) int64 { return p.seqs[i] }

// Event is event i's bytes as stored, valid until the page is read into
// again or released.
func (p *StoredEvents) Event(i int) []byte {
	start := 0
	if i > 0 {
		start = p.ends[i-1]
	}
	return p.data[start:p.ends[i]]
}

// maxPooledPage bounds the memory a released page keeps for the next
// replay: a page of unusually large events goes to the garbage collector.
const maxPooledPage = 1 << 20

var pages = sync.Pool{New: func() any { return new(StoredEvents) }}

// NewStoredEvents returns an empty page, from a pool; Release gives it back.
func NewStoredEvents() *StoredEvents { return pages.Get().(*StoredEvents) }

// Release returns the page to the pool; it must not be used afterwards.
func (p *StoredEvents) Release() {
	if cap(p.data) > maxPooledPage {
		return
	}
	p.seqs, p.ends, p.data = p.seqs[:0], p.ends[:0], p.data[:0]
	pages.Put(p)
}

// eventsAfter is EventListAfter (queries/events.sql) reduced to what a
// replay sends. It is written here rather than generated because its rows
// are copied from the driver's buffer (pgtype.DriverBytes), which sqlc's
// code does not do.
const eventsAfter = `SELECT seq, event FROM session_events
WHERE session_id = $1 AND seq > $2
ORDER BY seq
LIMIT $3`

// ReadEventsAfter reads into page, replacing what it held, the stored
// events of sessionID with seq > afterSeq, up to limit, in seq order.
func (s *Store) ReadEventsAfter(ctx context.Context, sessionID uuid.UUID, afterSeq int64, limit int32, page *StoredEvents) error {
	page.seqs, page.ends, page.data = page.seqs[:0], page.ends[:0], page.data[:0]
	rows, err := s.Pool.Query(ctx, eventsAfter, sessionID, afterSeq, limit)
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		seq   int64
		event pgtype.DriverBytes // the driver's buffer, valid until Next
		dest  = []any{&seq, &event}
	)
	for rows.Next() {
		// One dest for every row: Scan's variadic slice escapes, and
		// would be allocated again for each of a page's thousand rows.
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		page.seqs = append(page.seqs, seq)
		page.data = append(page.data, event...)
		page.ends = append(page.ends, len(page.data))
	}
	return rows.Err()
}
