package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect/v2"

	"github.com/assist-chat/assist/clients/go/assist"
	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assisttest"
	"github.com/assist-chat/assist/server/internal/auth"
)

type feedKey struct {
	session string
	seq     int64
}

// intStoredEvents lists every stored event of the account's sessions.
func intStoredEvents(t *testing.T, env *assisttest.Env) map[feedKey]bool {
	t.Helper()
	rows, err := env.Server.Store().Pool.Query(context.Background(), "SELECT session_id::text, seq FROM session_events")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[feedKey]bool{}
	for rows.Next() {
		var k feedKey
		if err := rows.Scan(&k.session, &k.seq); err != nil {
			t.Fatal(err)
		}
		out[k] = true
	}
	return out
}

// checkFeed checks what a consumer got: positions 1..n each once, every
// stored event exactly once, each session's events in seq order.
func checkFeed(t *testing.T, who string, got []*assistv1.AccountEvent, stored map[feedKey]bool) {
	t.Helper()
	seen := map[feedKey]bool{}
	lastSeq := map[string]int64{}
	for i, ev := range got {
		if ev.GetPosition() != int64(i+1) {
			t.Fatalf("%s: event %d has position %d, want %d (a gap or a duplicate)", who, i, ev.GetPosition(), i+1)
		}
		k := feedKey{ev.GetEvent().GetSessionId(), ev.GetEvent().GetSeq()}
		if seen[k] {
			t.Fatalf("%s: event %v delivered twice", who, k)
		}
		seen[k] = true
		if k.seq <= lastSeq[k.session] {
			t.Fatalf("%s: session %s's seq %d came after seq %d", who, k.session, k.seq, lastSeq[k.session])
		}
		lastSeq[k.session] = k.seq
	}
	for k := range stored {
		if !seen[k] {
			t.Errorf("%s: stored event %v never delivered", who, k)
		}
	}
	if len(seen) != len(stored) {
		t.Errorf("%s: %d events delivered, %d stored", who, len(seen), len(stored))
	}
}

// While 300 messages flow in 20 sessions, a consumer whose stream is cut
// again and again resumes from its last position each time and ends with
// every event of the account once, in one order; so does the client
// library's FollowAccount through a proxy that drops its connections.
func TestAccountStreamResumesAfterCutsWithNothingMissedOrDoubled(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t, intFast)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	key := intAPIKey(t, env, intDemoAccount(t, env), assistv1.ApiKeyScope_API_KEY_SCOPE_SESSIONS_READ)
	advisorToken := env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword)

	const sessions, perSession = 20, 15
	type chat struct{ id, token string }
	chats := make([]chat, sessions)
	for i := range chats {
		chats[i].id, chats[i].token = e2eActiveSession(t, env, advisorToken, fmt.Sprintf("Customer %d", i))
	}

	// Consumer 1: raw RPC, cut every 37 events.
	var mu sync.Mutex
	var raw []*assistv1.AccountEvent
	rawCursor := func() int64 {
		mu.Lock()
		defer mu.Unlock()
		if len(raw) == 0 {
			return 0
		}
		return raw[len(raw)-1].GetPosition()
	}
	stop := make(chan struct{})
	cuts := 0
	rawDone := make(chan error, 1)
	rctx, rcancel := context.WithCancel(ctx)
	go func() {
		events := intEvents(env, assisttest.GRPC, key)
		for {
			select {
			case <-stop:
				rawDone <- nil
				return
			default:
			}
			sctx, scancel := context.WithCancel(rctx)
			stream, err := events.StreamAccountEvents(sctx, &assistv1.StreamAccountEventsRequest{AfterPosition: rawCursor()})
			if err != nil {
				scancel()
				rawDone <- err
				return
			}
			n := 0
			for n < 37 {
				res, err := stream.Receive()
				if err != nil {
					if rctx.Err() != nil {
						scancel()
						rawDone <- nil
						return
					}
					if errors.Is(err, io.EOF) || connect.CodeOf(err) == connect.CodeCanceled {
						break
					}
					scancel()
					rawDone <- err
					return
				}
				mu.Lock()
				raw = append(raw, res.GetEvent())
				mu.Unlock()
				n++
				select {
				case <-stop:
					n = 37
				default:
				}
			}
			stream.Close()
			scancel()
			cuts++
		}
	}()

	// Consumer 2: the client library through a proxy that drops every
	// connection now and then.
	proxy := assisttest.NewProxy(t, env.Server.Addr())
	follower := assist.New(proxy.URL(), assist.WithToken(key), assist.WithProtocol(assist.GRPC),
		assist.WithRetry(assist.RetryPolicy{InitialBackoff: 5 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}))
	var followed []*assistv1.AccountEvent
	var fmu sync.Mutex
	fctx, fcancel := context.WithCancel(ctx)
	followDone := make(chan error, 1)
	go func() {
		followDone <- follower.FollowAccount(fctx, 0, func(ev *assistv1.AccountEvent) error {
			fmu.Lock()
			followed = append(followed, ev)
			fmu.Unlock()
			return nil
		})
	}()

	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, sessions)
	for i, c := range chats {
		wg.Add(1)
		go func() {
			defer wg.Done()
			chatClient := env.Services(assisttest.Connect, c.token).Chat
			for j := range perSession {
				if _, err := e2eSendText(ctx, chatClient, c.id, fmt.Sprintf("m-%d-%d", i, j), fmt.Sprintf("message %d of %d", j, i)); err != nil {
					errs <- err
					return
				}
				if j%5 == 4 {
					proxy.DropAll()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("send: %v", err)
	}
	t.Logf("300 messages sent in %v", time.Since(start))
	stored := intStoredEvents(t, env)
	want := int64(len(stored))
	deadline := time.Now().Add(60 * time.Second)
	for {
		fmu.Lock()
		nf := len(followed)
		fmu.Unlock()
		if rawCursor() >= want && int64(nf) >= want {
			t.Logf("both consumers caught up %v after the last send", time.Since(deadline.Add(-60*time.Second)))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60s the cut consumer is at position %d and FollowAccount at %d, want %d", rawCursor(), nf, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	rcancel()
	fcancel()
	if err := <-rawDone; err != nil {
		t.Fatalf("the cut consumer failed: %v", err)
	}
	if err := <-followDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("FollowAccount returned %v, want context.Canceled", err)
	}
	if cuts < 5 {
		t.Errorf("the stream was cut %d times, want at least 5 for the test to mean something", cuts)
	}
	if want < sessions*perSession {
		t.Fatalf("%d events stored, want at least %d", want, sessions*perSession)
	}
	mu.Lock()
	checkFeed(t, "cut consumer", raw[:want], stored)
	mu.Unlock()
	fmu.Lock()
	checkFeed(t, "FollowAccount", followed[:want], stored)
	fmu.Unlock()
	t.Logf("%d events, %d cuts, proxy accepted %d connections", want, cuts, proxy.Accepted())
}

// A cursor beyond the account's last position is refused rather than
// waited on; the types filter keeps the account-wide positions.
func TestAccountStreamRefusesCursorsBeyondTheEndAndFiltersTypes(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t, intFast)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key := intAPIKey(t, env, intDemoAccount(t, env), assistv1.ApiKeyScope_API_KEY_SCOPE_SESSIONS_READ)
	sid, customerToken, _ := env.ActiveSession(t)
	if _, err := e2eSendText(ctx, env.Services(assisttest.Connect, customerToken).Chat, sid, "m1", "hello"); err != nil {
		t.Fatal(err)
	}
	events := intEvents(env, assisttest.Connect, key)
	ev, err := intFirstAccountEvent(ctx, events, &assistv1.StreamAccountEventsRequest{Types: []assistv1.AccountEventType{assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_MESSAGE}})
	if err != nil {
		t.Fatal(err)
	}
	if ev.GetType() != assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_MESSAGE || ev.GetEvent().GetMessage().GetText() != "hello" || ev.GetPosition() < 2 {
		t.Fatalf("first MESSAGE event: %v, want the message \"hello\" at its account-wide position", ev)
	}
	first, err := intFirstAccountEvent(ctx, events, &assistv1.StreamAccountEventsRequest{})
	if err != nil || first.GetType() != assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_SESSION_STARTED || first.GetPosition() != 1 || first.GetPortalId() == "" {
		t.Fatalf("first event: %v (%v), want SESSION_STARTED at position 1 with its portal", first, err)
	}
	_, err = intFirstAccountEvent(ctx, events, &assistv1.StreamAccountEventsRequest{AfterPosition: 1_000_000})
	e2eWantCode(t, err, connect.CodeInvalidArgument, "a cursor beyond the end")
}

// Revoking an API key ends the account streams it opened.
func TestRevokingAnAPIKeyEndsItsAccountStream(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t, intFast, assisttest.WithCredentialCheckInterval(50*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key := intAPIKey(t, env, intDemoAccount(t, env), assistv1.ApiKeyScope_API_KEY_SCOPE_SESSIONS_READ)
	env.StartSession(t, "Ada")
	stream, err := intEvents(env, assisttest.Connect, key).StreamAccountEvents(ctx, &assistv1.StreamAccountEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	if _, err := stream.Receive(); err != nil {
		t.Fatalf("first event: %v", err)
	}
	if _, err := env.Server.Store().Pool.Exec(ctx, "UPDATE api_keys SET revoke_time = now() WHERE secret_hash = $1", auth.HashSecret(key)); err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := stream.Receive(); err != nil {
			e2eWantCode(t, err, connect.CodeUnauthenticated, "the account stream after its key was revoked")
			return
		}
	}
}
