package feed

import (
	"bytes"
	"container/heap"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/store"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// The sequencer. Chat writes lock only their session's row; giving them an
// account-wide position inside the writing transaction would serialise
// every write of an account on one row. Instead, after commit, one leader
// among the replicas (the holder of a PostgreSQL advisory lock, on its own
// connection) reads what each session's log gained since it last looked
// (sessions.last_seq against feed_sessions.fed_seq: a session's seqs commit
// in order, so everything up to a committed last_seq is readable) and
// appends it to account_feed with the account's next positions, in its own
// transaction. An event that commits late simply gets a later position;
// positions are contiguous and commit in order, so a reader that reads
// "after my cursor" never skips one.
const (
	sequencerLockKey = 7411_0006
	// maxSessionsPerCycle and maxEventsPerSession bound one transaction.
	maxSessionsPerCycle = 500
	maxEventsPerSession = 200
	// maxHints bounds what a follower (or a busy leader) remembers; past
	// it, the next cycle sweeps every session instead.
	maxHints = 10_000
	// SequencerApplicationName names the leader's connection.
	SequencerApplicationName = "assistd-sequencer"
)

// Sequenced is one event given its account position, as the outbox sees
// it inside the sequencing transaction. It keeps the event as stored:
// most accounts have no webhook, and decoding every event only to drop
// it was a fifth of the sequencer's garbage under load.
type Sequenced struct {
	AccountID uuid.UUID
	SessionID uuid.UUID
	PortalID  uuid.UUID
	Position  int64
	// Stored is the session event as the session log stores it.
	Stored []byte
}

// AccountEvent decodes the event as the account stream and webhooks
// carry it.
func (s Sequenced) AccountEvent() (*assistv1.AccountEvent, error) {
	return decodeAccountEvent(s.Position, s.PortalID, s.Stored)
}

// decodeAccountEvent is a stored session event at its account position.
func decodeAccountEvent(pos int64, portal uuid.UUID, stored []byte) (*assistv1.AccountEvent, error) {
	ev := new(assistv1.SessionEvent)
	if err := proto.Unmarshal(stored, ev); err != nil {
		return nil, fmt.Errorf("decode feed event %d: %w", pos, err)
	}
	return &assistv1.AccountEvent{Position: pos, Type: TypeOf(ev), PortalId: portal.String(), Event: ev}, nil
}

// Outbox records what must follow from newly sequenced events, in the
// sequencing transaction (the webhook deliveries).
type Outbox func(ctx context.Context, tx pgx.Tx, events []Sequenced) error

// Sequencer assigns account positions. Run it on every replica: one leads,
// the others wait to take over.
type Sequencer struct {
	store    *store.Store
	notifier *Notifier
	outbox   Outbox
	logger   *slog.Logger
	// SweepInterval is how often the leader re-checks the open and
	// recently ended sessions without a hint. It is a last-resort safety
	// net: every commit hints the leader (locally, or through LISTEN from
	// another replica), and a lost LISTEN, a new leader or too many hints
	// sweep at once. The sweep reads every open session (20-40 ms of the
	// database's CPU with 20,000 of them), so it is what an idle server's
	// database mostly does. Default 30s.
	SweepInterval time.Duration
	// RetryInterval is how often a follower tries to become the leader.
	// Default 1s.
	RetryInterval time.Duration
	// CycleSpacing is the least time between two cycles: under load, a
	// cycle then sequences the events of many commits in one transaction
	// instead of one transaction per commit, and at a low rate the leader
	// runs a cycle at most 20 times a second. Default 50ms.
	CycleSpacing time.Duration

	wake  chan struct{}
	mu    sync.Mutex
	hints map[uuid.UUID]struct{}
	// sweep: look at every session; recent: at open and recently ended
	// ones (the periodic safety net, cheap on a big account).
	sweep, recent bool
}

// NewSequencer returns a sequencer; outbox may be nil.
func NewSequencer(s *store.Store, n *Notifier, outbox Outbox, logger *slog.Logger) *Sequencer {
	return &Sequencer{
		store: s, notifier: n, outbox: outbox, logger: logger,
		SweepInterval: 30 * time.Second, RetryInterval: time.Second, CycleSpacing: 50 * time.Millisecond,
		wake: make(chan struct{}, 1), hints: map[uuid.UUID]struct{}{}, sweep: true,
	}
}

// Hint says sessionID's log grew (uuid.Nil: anything may have). It never
// blocks: the session hub calls it after every commit.
func (s *Sequencer) Hint(sessionID uuid.UUID) {
	s.mu.Lock()
	if sessionID == uuid.Nil || len(s.hints) >= maxHints {
		clear(s.hints)
		s.sweep = true
	} else {
		s.hints[sessionID] = struct{}{}
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run competes for leadership and sequences while leading, until ctx ends.
func (s *Sequencer) Run(ctx context.Context) {
	for ctx.Err() == nil {
		err := s.lead(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.logger.Warn("feed sequencer stopped; retrying", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.RetryInterval):
		}
	}
}

// lead waits for the advisory lock on its own connection, then sequences
// until the connection fails or ctx ends. Losing the connection releases
// the lock, so another replica takes over.
func (s *Sequencer) lead(ctx context.Context) error {
	// Its statements take arrays and look rows up by index whatever the
	// values (see store.GenericIndexPlans).
	conn, err := store.Connect(ctx, s.store.URL, SequencerApplicationName, store.GenericIndexPlans)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	for {
		var leader bool
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", int64(sequencerLockKey)).Scan(&leader); err != nil {
			return err
		}
		if leader {
			break
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(s.RetryInterval):
		}
		// Followers forget their hints: the leader will sweep anyway.
		s.mu.Lock()
		clear(s.hints)
		s.mu.Unlock()
	}
	s.logger.Info("feed sequencer leading")
	s.Hint(uuid.Nil)
	sweep := time.NewTicker(s.SweepInterval)
	defer sweep.Stop()
	var last time.Time
	more := false
	for {
		// A backlog is worked through at once; new work waits for the
		// spacing.
		if wait := s.CycleSpacing - time.Since(last); wait > 0 && !more {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
		}
		last = time.Now()
		var err error
		more, err = s.cycle(ctx, conn)
		if err != nil {
			return err
		}
		if more {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-sweep.C:
			s.mu.Lock()
			s.recent = true
			s.mu.Unlock()
		}
	}
}

// dirtySession is a session whose log grew past fed.
type dirtySession struct {
	id, account, portal uuid.UUID
	fed, last, to       int64
}

// cycle sequences one batch; more reports that work is left.
func (s *Sequencer) cycle(ctx context.Context, conn *pgx.Conn) (more bool, err error) {
	s.mu.Lock()
	hints := make([]uuid.UUID, 0, len(s.hints))
	for id := range s.hints {
		hints = append(hints, id)
	}
	clear(s.hints)
	sweep, recent := s.sweep, s.recent
	s.sweep, s.recent = false, false
	s.mu.Unlock()
	requeue := func() {
		s.mu.Lock()
		s.sweep = s.sweep || sweep
		s.recent = s.recent || recent
		for _, id := range hints {
			s.hints[id] = struct{}{}
		}
		s.mu.Unlock()
	}

	var sequenced []Sequenced
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var dirty []dirtySession
		switch {
		case sweep:
			rows, err := s.store.Q.FeedDirtySessions(ctx, tx, maxSessionsPerCycle)
			if err != nil {
				return fmt.Errorf("find sessions to sequence: %w", err)
			}
			for _, r := range rows {
				dirty = append(dirty, dirtySession{id: r.ID, account: r.AccountID, portal: r.PortalID, fed: r.FedSeq, last: r.LastSeq})
			}
			if len(rows) == maxSessionsPerCycle {
				more = true
				s.mu.Lock()
				s.sweep = true
				s.mu.Unlock()
			}
		case recent:
			rows, err := s.store.Q.FeedDirtySessionsRecent(ctx, tx, maxSessionsPerCycle)
			if err != nil {
				return fmt.Errorf("find sessions to sequence: %w", err)
			}
			for _, r := range rows {
				dirty = append(dirty, dirtySession{id: r.ID, account: r.AccountID, portal: r.PortalID, fed: r.FedSeq, last: r.LastSeq})
			}
			if len(rows) == maxSessionsPerCycle {
				more = true
				s.mu.Lock()
				s.recent = true
				s.mu.Unlock()
			}
		case len(hints) > 0:
			rows, err := s.store.Q.FeedDirtySessionsByID(ctx, tx, hints)
			if err != nil {
				return fmt.Errorf("find sessions to sequence: %w", err)
			}
			for _, r := range rows {
				dirty = append(dirty, dirtySession{id: r.ID, account: r.AccountID, portal: r.PortalID, fed: r.FedSeq, last: r.LastSeq})
			}
		}
		if len(dirty) == 0 {
			return nil
		}
		var ranges dbq.FeedEventsInRangesParams
		for i := range dirty {
			d := &dirty[i]
			d.to = min(d.last, d.fed+maxEventsPerSession)
			if d.to < d.last {
				more = true
				s.mu.Lock()
				s.hints[d.id] = struct{}{}
				s.mu.Unlock()
			}
			ranges.SessionIds = append(ranges.SessionIds, d.id)
			ranges.FromSeqs = append(ranges.FromSeqs, d.fed)
			ranges.ToSeqs = append(ranges.ToSeqs, d.to)
		}
		rows, err := s.store.Q.FeedEventsInRanges(ctx, tx, ranges)
		if err != nil {
			return fmt.Errorf("read events to sequence: %w", err)
		}
		sequenced, err = s.assign(ctx, tx, dirty, rows)
		return err
	})
	if err != nil {
		requeue()
		return false, err
	}
	accounts := map[uuid.UUID]bool{}
	for _, e := range sequenced {
		accounts[e.AccountID] = true
	}
	for a := range accounts {
		s.notifier.Notify(a)
	}
	return more, nil
}

// assign orders the events (each session's in seq order, sessions merged by
// time), gives them positions and stores everything in tx.
func (s *Sequencer) assign(ctx context.Context, tx pgx.Tx, dirty []dirtySession, rows []dbq.FeedEventsInRangesRow) ([]Sequenced, error) {
	bySession := map[uuid.UUID]*dirtySession{}
	for i := range dirty {
		bySession[dirty[i].id] = &dirty[i]
	}
	merged := mergeByTime(rows)

	accountSet := map[uuid.UUID]bool{}
	for _, d := range dirty {
		accountSet[d.account] = true
	}
	accountIDs := make([]uuid.UUID, 0, len(accountSet))
	for a := range accountSet {
		accountIDs = append(accountIDs, a)
	}
	slices.SortFunc(accountIDs, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	if err := s.store.Q.FeedAccountsEnsure(ctx, tx, accountIDs); err != nil {
		return nil, fmt.Errorf("ensure feed accounts: %w", err)
	}
	locked, err := s.store.Q.FeedAccountsLock(ctx, tx, accountIDs)
	if err != nil {
		return nil, fmt.Errorf("lock feed accounts: %w", err)
	}
	last := map[uuid.UUID]int64{}
	for _, l := range locked {
		last[l.AccountID] = l.LastPos
	}

	var ins dbq.FeedInsertBatchParams
	out := make([]Sequenced, 0, len(merged))
	for _, r := range merged {
		d := bySession[r.SessionID]
		last[d.account]++
		pos := last[d.account]
		ins.AccountIds = append(ins.AccountIds, d.account)
		ins.Positions = append(ins.Positions, pos)
		ins.SessionIds = append(ins.SessionIds, r.SessionID)
		ins.Seqs = append(ins.Seqs, r.Seq)
		out = append(out, Sequenced{AccountID: d.account, SessionID: r.SessionID, PortalID: d.portal, Position: pos, Stored: r.Event})
	}
	if len(ins.Positions) > 0 {
		if err := s.store.Q.FeedInsertBatch(ctx, tx, ins); err != nil {
			return nil, fmt.Errorf("insert feed: %w", err)
		}
	}
	var lp dbq.FeedAccountsSetLastPosParams
	for _, a := range accountIDs {
		lp.AccountIds = append(lp.AccountIds, a)
		lp.LastPos = append(lp.LastPos, last[a])
	}
	if err := s.store.Q.FeedAccountsSetLastPos(ctx, tx, lp); err != nil {
		return nil, fmt.Errorf("advance feed accounts: %w", err)
	}
	// Every range read is done, even if some events vanished meanwhile
	// (retention of an ended session): they are not coming back.
	var adv dbq.FeedSessionsAdvanceParams
	for _, d := range dirty {
		adv.SessionIds = append(adv.SessionIds, d.id)
		adv.FedSeqs = append(adv.FedSeqs, d.to)
	}
	if err := s.store.Q.FeedSessionsAdvance(ctx, tx, adv); err != nil {
		return nil, fmt.Errorf("advance sessions: %w", err)
	}
	if s.outbox != nil && len(out) > 0 {
		if err := s.outbox(ctx, tx, out); err != nil {
			return nil, fmt.Errorf("outbox: %w", err)
		}
	}
	if len(out) > 0 {
		ids := make([]string, 0, len(accountIDs))
		for _, a := range accountIDs {
			ids = append(ids, a.String())
		}
		// NOTIFY payloads stop at 8000 bytes: 200 account ids per notice.
		for chunk := range slices.Chunk(ids, 200) {
			if _, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", notifyChannel, strings.Join(chunk, ",")); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// mergeByTime merges per-session runs (rows come ordered by session, then
// seq) into one sequence by creation time, keeping each session's seq order
// even if clocks of different replicas disagree.
func mergeByTime(rows []dbq.FeedEventsInRangesRow) []dbq.FeedEventsInRangesRow {
	var h runHeap
	for i := 0; i < len(rows); {
		j := i + 1
		for j < len(rows) && rows[j].SessionID == rows[i].SessionID {
			j++
		}
		h = append(h, rows[i:j])
		i = j
	}
	heap.Init(&h)
	out := make([]dbq.FeedEventsInRangesRow, 0, len(rows))
	for h.Len() > 0 {
		run := h[0]
		out = append(out, run[0])
		if len(run) == 1 {
			heap.Pop(&h)
		} else {
			h[0] = run[1:]
			heap.Fix(&h, 0)
		}
	}
	return out
}

type runHeap [][]dbq.FeedEventsInRangesRow

func (h runHeap) Len() int { return len(h) }
func (h runHeap) Less(i, j int) bool {
	a, b := h[i][0], h[j][0]
	if c := a.CreateTime.Compare(b.CreateTime); c != 0 {
		return c < 0
	}
	return bytes.Compare(a.SessionID[:], b.SessionID[:]) < 0 // as PostgreSQL orders uuids
}
func (h runHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)   { *h = append(*h, x.([]dbq.FeedEventsInRangesRow)) }
func (h *runHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
