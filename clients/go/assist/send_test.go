package assist_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect/v2"

	"github.com/assist-chat/assist/clients/go/assist"
	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
)

// sentIDs records the client message ids a fake Send received.
type sentIDs struct {
	mu  sync.Mutex
	ids []string
}

func (s *sentIDs) add(req *assistv1.SendRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids = append(s.ids, req.GetMessage().GetClientMessageId())
}

func (s *sentIDs) get() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ids...)
}

func assertOneID(t *testing.T, ids []string, attempts int) {
	t.Helper()
	if len(ids) != attempts {
		t.Fatalf("server saw %d attempts, want %d", len(ids), attempts)
	}
	if ids[0] == "" {
		t.Fatal("the message was sent without a client message id")
	}
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("a retry changed the client message id: %q", ids)
		}
	}
}

func TestSendMessageRetriesTransientFailuresWithTheSameClientMessageID(t *testing.T) {
	t.Parallel()
	for _, p := range protocols {
		t.Run(p.String(), func(t *testing.T) {
			var seen sentIDs
			url := startFake(t, &fakeChat{send: func(n int, _ context.Context, req *assistv1.SendRequest) (*assistv1.SendResponse, error) {
				seen.add(req)
				if n < 3 {
					return nil, connect.NewError(connect.CodeUnavailable, "restarting")
				}
				return &assistv1.SendResponse{Event: message(7, req.GetMessage().GetClientMessageId(), req.GetMessage().GetText())}, nil
			}})
			c := assist.New(url, assist.WithProtocol(p), fastRetry)
			ev, err := c.SendMessage(testContext(t), sessionID, "hello")
			if err != nil {
				t.Fatalf("SendMessage: %v", err)
			}
			if ev.GetSeq() != 7 {
				t.Fatalf("got seq %d, want the stored event's 7", ev.GetSeq())
			}
			assertOneID(t, seen.get(), 3)
		})
	}
}

func TestSendMessageRetriesAnAttemptThatTimedOut(t *testing.T) {
	t.Parallel()
	for _, p := range protocols {
		t.Run(p.String(), func(t *testing.T) {
			var seen sentIDs
			url := startFake(t, &fakeChat{send: func(n int, ctx context.Context, req *assistv1.SendRequest) (*assistv1.SendResponse, error) {
				seen.add(req)
				if n == 1 {
					<-ctx.Done() // a server that stopped answering
					return nil, ctx.Err()
				}
				return &assistv1.SendResponse{Event: message(3, req.GetMessage().GetClientMessageId(), req.GetMessage().GetText())}, nil
			}})
			c := assist.New(url, assist.WithProtocol(p), assist.WithRetry(assist.RetryPolicy{
				InitialBackoff: time.Millisecond, AttemptTimeout: 200 * time.Millisecond,
			}))
			ev, err := c.SendMessageWithID(testContext(t), sessionID, "m-1", "hello")
			if err != nil {
				t.Fatalf("SendMessageWithID: %v", err)
			}
			if ev.GetSeq() != 3 {
				t.Fatalf("got seq %d, want 3", ev.GetSeq())
			}
			// At least one retry after the attempt that timed out (more if a
			// loaded machine made a retry time out too), all with one id.
			ids := seen.get()
			assertOneID(t, ids, max(2, len(ids)))
			if ids[0] != "m-1" {
				t.Fatalf("sent id %q, want the caller's m-1", ids[0])
			}
		})
	}
}

func TestSendMessageReturnsTheServersRefusalAtOnce(t *testing.T) {
	t.Parallel()
	codes := []connect.Code{
		connect.CodeInvalidArgument, connect.CodeNotFound, connect.CodePermissionDenied,
		connect.CodeUnauthenticated, connect.CodeFailedPrecondition, connect.CodeAlreadyExists,
		connect.CodeResourceExhausted,
		// Sent by the server, these are its verdict, not a broken transport.
		connect.CodeInternal, connect.CodeUnknown,
	}
	for _, p := range protocols {
		for _, code := range codes {
			t.Run(p.String()+"/"+code.String(), func(t *testing.T) {
				f := &fakeChat{send: func(int, context.Context, *assistv1.SendRequest) (*assistv1.SendResponse, error) {
					return nil, connect.NewError(code, "no")
				}}
				c := assist.New(startFake(t, f), assist.WithProtocol(p), fastRetry)
				_, err := c.SendMessage(testContext(t), sessionID, "hello")
				if got := connect.CodeOf(err); got != code {
					t.Fatalf("got %v (%v), want %v", got, err, code)
				}
				if n := f.calls(&f.sends); n != 1 {
					t.Fatalf("the server was called %d times, want once", n)
				}
			})
		}
	}
}

func TestSendMessageGivesUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	f := &fakeChat{send: func(int, context.Context, *assistv1.SendRequest) (*assistv1.SendResponse, error) {
		return nil, connect.NewError(connect.CodeUnavailable, "down")
	}}
	c := assist.New(startFake(t, f), assist.WithRetry(assist.RetryPolicy{InitialBackoff: time.Millisecond, MaxAttempts: 3}))
	_, err := c.SendMessage(testContext(t), sessionID, "hello")
	if connect.CodeOf(err) != connect.CodeUnavailable {
		t.Fatalf("got %v, want Unavailable", err)
	}
	if n := f.calls(&f.sends); n != 3 {
		t.Fatalf("%d attempts, want 3", n)
	}
}

func TestSendMessageStopsRetryingWhenTheContextEnds(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(testContext(t))
	f := &fakeChat{send: func(n int, _ context.Context, _ *assistv1.SendRequest) (*assistv1.SendResponse, error) {
		if n == 2 {
			cancel()
		}
		return nil, connect.NewError(connect.CodeUnavailable, "down")
	}}
	c := assist.New(startFake(t, f), fastRetry)
	_, err := c.SendMessage(ctx, sessionID, "hello")
	if !errors.Is(err, context.Canceled) || connect.CodeOf(err) != connect.CodeCanceled {
		t.Fatalf("got %v (code %v), want context.Canceled", err, connect.CodeOf(err))
	}
	if n := f.calls(&f.sends); n != 2 {
		t.Fatalf("%d attempts after the context ended, want 2", n)
	}
}
