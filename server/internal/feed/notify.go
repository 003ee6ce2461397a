package feed

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/assist-chat/assist/server/internal/store"
)

// notifyChannel carries "<account id>" each time the sequencer commits new
// positions for that account, to every replica.
const notifyChannel = "assist_feed"

// ListenerApplicationName names the feed's LISTEN connection in
// pg_stat_activity.
const ListenerApplicationName = "assistd-feed-listener"

// Notifier wakes the local readers of an account's feed. Like the session
// hub it is only a hint: readers re-read the table, and poll it now and
// then, so a lost wake-up delays an event but never loses it.
type Notifier struct {
	mu      sync.Mutex
	waiters map[uuid.UUID]map[chan struct{}]struct{}
	// also hears every account with new positions (the webhook dispatcher).
	also []func(accountID uuid.UUID)
}

// NewNotifier returns a notifier with no readers.
func NewNotifier() *Notifier {
	return &Notifier{waiters: map[uuid.UUID]map[chan struct{}]struct{}{}}
}

// OnNewPositions registers fn to hear of every account with new positions
// (uuid.Nil: any account). fn must not block.
func (n *Notifier) OnNewPositions(fn func(accountID uuid.UUID)) {
	n.mu.Lock()
	n.also = append(n.also, fn)
	n.mu.Unlock()
}

// watch returns a channel signalled when accountID's feed may have grown.
func (n *Notifier) watch(accountID uuid.UUID) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	n.mu.Lock()
	set := n.waiters[accountID]
	if set == nil {
		set = map[chan struct{}]struct{}{}
		n.waiters[accountID] = set
	}
	set[ch] = struct{}{}
	n.mu.Unlock()
	return ch, func() {
		n.mu.Lock()
		delete(set, ch)
		if len(set) == 0 {
			delete(n.waiters, accountID)
		}
		n.mu.Unlock()
	}
}

// Notify wakes accountID's readers (uuid.Nil: every reader).
func (n *Notifier) Notify(accountID uuid.UUID) {
	n.mu.Lock()
	also := n.also
	for id, set := range n.waiters {
		if accountID != uuid.Nil && id != accountID {
			continue
		}
		for ch := range set {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
	n.mu.Unlock()
	for _, fn := range also {
		fn(accountID)
	}
}

// Listen turns other replicas' sequencer commits into local wake-ups until
// ctx ends, reconnecting as needed; after each (re)connect every reader
// re-reads, so nothing committed while it was down is missed.
func (n *Notifier) Listen(ctx context.Context, databaseURL string, logger *slog.Logger) {
	backoff := 50 * time.Millisecond
	for {
		err := n.listenOnce(ctx, databaseURL, func() {
			backoff = 50 * time.Millisecond
			n.Notify(uuid.Nil)
		})
		if ctx.Err() != nil {
			return
		}
		logger.Warn("feed listener lost its connection; reconnecting", "error", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

func (n *Notifier) listenOnce(ctx context.Context, databaseURL string, onListening func()) error {
	conn, err := store.Connect(ctx, databaseURL, ListenerApplicationName, nil)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	onListening()
	for {
		wait, cancel := context.WithTimeout(ctx, 15*time.Second)
		msg, err := conn.WaitForNotification(wait)
		cancel()
		switch {
		case err == nil:
			for _, part := range strings.Split(msg.Payload, ",") {
				if id, err := uuid.Parse(part); err == nil {
					n.Notify(id)
				}
			}
		case ctx.Err() == nil && (pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded)):
			ping, cancel := context.WithTimeout(ctx, 15*time.Second)
			err = conn.Ping(ping)
			cancel()
			if err != nil {
				return err
			}
		default:
			return err
		}
	}
}
