package chat

import (
	"context"
	"sync"

	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/sessionlog"
	"github.com/assist-chat/assist/server/internal/sessions"
)

// Cursor is a session and the last seq its reader has.
type Cursor struct {
	SessionID uuid.UUID
	AfterSeq  int64
}

// AdvisorWatch is what an advisor's console follows on one stream.
type AdvisorWatch struct {
	// Queue: stream the queue's snapshot and changes.
	Queue bool
	// Portals whose queue to watch; empty for all the advisor serves.
	Portals []uuid.UUID
	// Sessions to follow, each from its cursor.
	Sessions []Cursor
}

// AdvisorStream is where WatchAdvisor writes. Send may hold messages
// back until Flush, which ends each run of messages at hand together.
type AdvisorStream interface {
	Send(*assistv1.WatchAdvisorResponse) error
	Flush() error
}

// WatchAdvisor follows the queue and several session logs on one stream,
// for browsers that cannot afford a connection per session. Each session
// is authorized exactly as Subscribe authorizes it, before anything is
// sent; then opened runs, and the queue and every log are read at once,
// their messages serialized into send. It returns when ctx ends or one of
// them fails; a session that ends simply stops sending.
func (s *Service) WatchAdvisor(ctx context.Context, p *auth.Principal, w AdvisorWatch, opened func() error, out AdvisorStream) error {
	if err := sessions.RequireAdvisor(p); err != nil {
		return err
	}
	var follow []Cursor
	for i, c := range w.Sessions {
		for _, prev := range w.Sessions[:i] {
			if prev.SessionID == c.SessionID {
				return failure.InvalidArgument("sessions", "lists session %s twice", c.SessionID)
			}
		}
		a, err := s.sessions.Load(ctx, p, c.SessionID)
		if err != nil {
			return err
		}
		if c.AfterSeq > a.Session.LastSeq {
			return failure.InvalidArgument("sessions.after_seq", "is beyond the end of the log of session %s (last seq %d)", c.SessionID, a.Session.LastSeq)
		}
		if assistv1.SessionState(a.Session.State) == assistv1.SessionState_SESSION_STATE_ENDED && c.AfterSeq == a.Session.LastSeq {
			continue // the reader has everything, SessionEnded included
		}
		follow = append(follow, c)
	}
	if err := opened(); err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex // one send at a time; every sender is done before we return
	serialized := func(res *assistv1.WatchAdvisorResponse) error {
		mu.Lock()
		defer mu.Unlock()
		return out.Send(res)
	}
	flush := func() error {
		mu.Lock()
		defer mu.Unlock()
		return out.Flush()
	}

	errs := make(chan error, len(follow)+1)
	var wg sync.WaitGroup
	run := func(fn func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(); err != nil {
				errs <- err
			}
		}()
	}
	if w.Queue {
		run(func() error {
			return s.sessions.WatchQueue(ctx, p, w.Portals, func(q *assistv1.WatchQueueResponse) error {
				if err := serialized(&assistv1.WatchAdvisorResponse{Kind: &assistv1.WatchAdvisorResponse_Queue{Queue: q}}); err != nil {
					return err
				}
				return flush()
			})
		})
	}
	for _, c := range follow {
		run(func() error {
			return s.log.Subscribe(ctx, c.SessionID, c.AfterSeq, sessionlog.ReaderFuncs{
				SendFunc: func(ev *assistv1.SessionEvent) error {
					return serialized(&assistv1.WatchAdvisorResponse{Kind: &assistv1.WatchAdvisorResponse_Event{Event: ev}})
				},
				FlushFunc: flush,
			})
		})
	}
	var err error
	select {
	case err = <-errs:
	case <-ctx.Done():
		err = ctx.Err()
	}
	cancel()
	wg.Wait()
	return err
}
