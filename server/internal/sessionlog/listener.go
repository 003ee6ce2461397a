package sessionlog

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/assist-chat/assist/server/internal/store"
)

// ListenerApplicationName is the application_name of the LISTEN
// connection, so operators (and tests) can find it in pg_stat_activity.
const ListenerApplicationName = "assistd-listener"

// Listen keeps a LISTEN connection open and turns other replicas'
// notifications into hub wake-ups until ctx ends. After every (re)connect it
// wakes every local subscriber, which re-reads the table from its cursor:
// whatever was committed while the connection was down is not lost.
// ready, if not nil, is closed once the first LISTEN is in place.
func (l *Log) Listen(ctx context.Context, ready chan<- struct{}) error {
	backoff := 50 * time.Millisecond
	first := true
	for {
		err := l.listenOnce(ctx, func() {
			backoff = 50 * time.Millisecond
			if first {
				first = false
				if ready != nil {
					close(ready)
				}
			} else {
				l.logger.Info("log listener reconnected; subscribers re-read from their cursors")
			}
			l.hub.WakeAll()
		})
		if ctx.Err() != nil {
			return ErrListenerStopped
		}
		l.logger.Warn("log listener lost its connection; reconnecting", "error", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return ErrListenerStopped
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

func (l *Log) listenOnce(ctx context.Context, onListening func()) error {
	conn, err := store.Connect(ctx, l.store.URL, ListenerApplicationName, nil)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	onListening()
	for {
		// Wait in slices and ping in between: a connection that died
		// without a word (no RST) would otherwise block this wait forever
		// while the replica silently misses events. A wait that times out
		// leaves a pgx connection usable.
		wait, cancel := context.WithTimeout(ctx, listenerPingInterval)
		n, err := conn.WaitForNotification(wait)
		cancel()
		switch {
		case err == nil:
			l.dispatch(n.Payload)
		case ctx.Err() == nil && (pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded)):
			ping, cancel := context.WithTimeout(ctx, listenerPingInterval)
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

// listenerPingInterval bounds how long a dead LISTEN connection can go
// unnoticed.
const listenerPingInterval = 15 * time.Second

// dispatch handles one notification from another replica.
func (l *Log) dispatch(payload string) {
	n, err := parseNotification(payload)
	if err != nil {
		l.logger.Warn("ignoring a malformed notification", "payload", payload)
		return
	}
	if n.replica == l.replica {
		return // local subscribers already have it
	}
	for _, a := range n.appended {
		l.hub.Wake(a.session, a.seq)
	}
	if n.typing != nil {
		l.hub.Publish(n.typing)
	}
	l.deliverLocally(nil, n)
}
