package e2e

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"github.com/assist-chat/assist/clients/go/assist"
	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assisttest"
)

// These tests run the Go client library (clients/go/assist) against real
// servers, through a proxy that drops connections, to prove what apps and
// integrators rely on: nothing lost, nothing stored or delivered twice.

// clientFastRetry keeps reconnects quick; the logic is the default one.
var clientFastRetry = assist.WithRetry(assist.RetryPolicy{InitialBackoff: 5 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})

func clientProtocol(p assisttest.Protocol) assist.Protocol {
	switch p {
	case assisttest.GRPC:
		return assist.GRPC
	case assisttest.GRPCWeb:
		return assist.GRPCWeb
	default:
		return assist.Connect
	}
}

// A Follow that loses its connection, and cannot reconnect while messages
// are sent, resumes from its cursor: it delivers every stored event once,
// in order, and the server replays exactly what was missed.
func TestClientFollowResumesFromItsCursorAfterAnOutage(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	for _, p := range assisttest.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			proxy := assisttest.NewProxy(t, env.Server.Addr())
			sid, customerToken, advisorToken := env.ActiveSession(t)
			var rec clientRecorder
			follower := assist.New(proxy.URL(), assist.WithToken(customerToken), assist.WithProtocol(clientProtocol(p)),
				clientFastRetry, assist.WithInterceptors(rec.intercept))
			advisor := assist.New(env.URL, assist.WithToken(advisorToken), assist.WithProtocol(clientProtocol(p)))

			var got clientEventLog
			followed := make(chan error, 1)
			go func() {
				followed <- follower.Follow(ctx, sid, 0, func(ev *assistv1.SessionEvent) error {
					got.add(ev)
					return nil
				})
			}()
			var texts []string
			send := func(text string) {
				t.Helper()
				if _, err := advisor.SendMessage(ctx, sid, text); err != nil {
					t.Fatalf("send %q: %v", text, err)
				}
				texts = append(texts, text)
			}

			for i := 1; i <= 3; i++ {
				send(fmt.Sprintf("before the outage %d", i))
			}
			got.await(t, ctx, clientIsText("before the outage 3"))
			proxy.Pause()
			proxy.DropAll()
			for i := 1; i <= 3; i++ {
				send(fmt.Sprintf("during the outage %d", i))
			}
			proxy.Resume()
			send("after the outage")
			clientEndSession(t, ctx, advisor, sid)

			select {
			case err := <-followed:
				if err != nil {
					t.Fatalf("Follow returned %v after SessionEnded, want nil", err)
				}
			case <-ctx.Done():
				t.Fatalf("Follow did not finish; delivered seqs %v", clientSeqs(got.all()))
			}
			transcript := clientTranscript(t, ctx, advisor, sid)
			clientAssertExactlyTheLog(t, got.all(), transcript)
			clientAssertEachTextOnce(t, transcript, texts)
			if proxy.Accepted() < 2 {
				t.Fatalf("the follower connected %d times: the drop was not exercised", proxy.Accepted())
			}
			rec.assertResumedFromTheCursor(t, "/assist.v1.ChatService/Subscribe")
		})
	}
}

// Sending one client message id several times, one after the other and
// concurrently, stores one event, which subscribers see once; every call
// returns its seq.
func TestClientRetriedSendStoresOneEventAndDeliversItOnce(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	for _, p := range assisttest.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			sid, customerToken, advisorToken := env.ActiveSession(t)
			customer := assist.New(env.URL, assist.WithToken(customerToken), assist.WithProtocol(clientProtocol(p)))
			advisor := assist.New(env.URL, assist.WithToken(advisorToken), assist.WithProtocol(clientProtocol(p)))

			var got clientEventLog
			followed := make(chan error, 1)
			go func() {
				followed <- advisor.Follow(ctx, sid, 0, func(ev *assistv1.SessionEvent) error {
					got.add(ev)
					return nil
				})
			}()

			id := uuid.NewString()
			const text = "Is my order on its way?"
			var mu sync.Mutex
			var seqs []int64
			sendOnce := func() error {
				ev, err := customer.SendMessageWithID(ctx, sid, id, text)
				if err != nil {
					return err
				}
				mu.Lock()
				seqs = append(seqs, ev.GetSeq())
				mu.Unlock()
				return nil
			}
			for range 3 {
				if err := sendOnce(); err != nil {
					t.Fatalf("send: %v", err)
				}
			}
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for range 8 {
				wg.Go(func() { errs <- sendOnce() })
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatalf("concurrent send: %v", err)
				}
			}
			if len(seqs) != 11 || seqs[0] == 0 || slices.ContainsFunc(seqs, func(s int64) bool { return s != seqs[0] }) {
				t.Fatalf("the sends returned seqs %v, want one seq 11 times", seqs)
			}
			if _, err := customer.SendMessageWithID(ctx, sid, id, "another text"); connect.CodeOf(err) != connect.CodeAlreadyExists {
				t.Fatalf("reusing the id for another text: %v, want AlreadyExists", err)
			}
			clientEndSession(t, ctx, advisor, sid)
			if err := <-followed; err != nil {
				t.Fatalf("Follow: %v", err)
			}

			transcript := clientTranscript(t, ctx, advisor, sid)
			clientAssertExactlyTheLog(t, got.all(), transcript)
			var stored []*assistv1.SessionEvent
			for _, ev := range transcript {
				if ev.GetClientMessageId() == id {
					stored = append(stored, ev)
				}
			}
			if len(stored) != 1 || stored[0].GetSeq() != seqs[0] || stored[0].GetMessage().GetText() != text {
				t.Fatalf("the log holds %v for the id, want one message at seq %d", stored, seqs[0])
			}
		})
	}
}

// A send whose response is lost (the server stored the message, then the
// connection died) is retried by SendMessage with the same id: the retry
// returns the stored event and nothing is stored twice.
func TestClientSendWhoseResponseIsLostIsRetriedWithoutADuplicate(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	for _, p := range assisttest.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			proxy := assisttest.NewProxy(t, env.Server.Addr())
			sid, customerToken, advisorToken := env.ActiveSession(t)
			var rec clientRecorder
			customer := assist.New(proxy.URL(), assist.WithToken(customerToken), assist.WithProtocol(clientProtocol(p)),
				clientFastRetry, assist.WithInterceptors(rec.intercept))
			advisor := assist.New(env.URL, assist.WithToken(advisorToken), assist.WithProtocol(clientProtocol(p)))

			const text = "The printer is on fire"
			proxy.HoldResponses()
			type result struct {
				ev  *assistv1.SessionEvent
				err error
			}
			sent := make(chan result, 1)
			go func() {
				ev, err := customer.SendMessage(ctx, sid, text)
				sent <- result{ev, err}
			}()
			stored := clientAwaitStored(t, ctx, advisor, sid, clientIsText(text))
			proxy.DropAll() // the response, held so far, is lost
			proxy.ReleaseResponses()

			var r result
			select {
			case r = <-sent:
			case <-ctx.Done():
				t.Fatal("SendMessage did not return after the connection came back")
			}
			if r.err != nil {
				t.Fatalf("SendMessage: %v", r.err)
			}
			if r.ev.GetSeq() != stored.GetSeq() || r.ev.GetClientMessageId() != stored.GetClientMessageId() {
				t.Fatalf("SendMessage returned seq %d id %q, want the stored seq %d id %q",
					r.ev.GetSeq(), r.ev.GetClientMessageId(), stored.GetSeq(), stored.GetClientMessageId())
			}
			clientAssertEachTextOnce(t, clientTranscript(t, ctx, advisor, sid), []string{text})

			var ids []string
			for _, s := range rec.streams("/assist.v1.ChatService/Send") {
				for _, m := range s.sent {
					ids = append(ids, m.(*assistv1.SendRequest).GetMessage().GetClientMessageId())
				}
			}
			if len(ids) < 2 || slices.ContainsFunc(ids, func(id string) bool { return id != stored.GetClientMessageId() }) {
				t.Fatalf("attempts carried ids %q, want at least 2 attempts, all with %q", ids, stored.GetClientMessageId())
			}
		})
	}
}

// The bidi ChatConn survives a dropped connection: a message stored but
// not acknowledged is re-sent with its id and stored once, messages sent
// while disconnected go out after the reconnect, and every stored event is
// delivered once, in order.
func TestClientChatConnSurvivesADroppedConnection(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	for _, p := range assisttest.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			proxy := assisttest.NewProxy(t, env.Server.Addr())
			sid, customerToken, advisorToken := env.ActiveSession(t)
			var rec clientRecorder
			customer := assist.New(proxy.URL(), assist.WithToken(customerToken), assist.WithProtocol(clientProtocol(p)),
				clientFastRetry, assist.WithInterceptors(rec.intercept))
			advisor := assist.New(env.URL, assist.WithToken(advisorToken), assist.WithProtocol(clientProtocol(p)))
			advisorSend := func(text string) {
				t.Helper()
				if _, err := advisor.SendMessage(ctx, sid, text); err != nil {
					t.Fatalf("advisor send %q: %v", text, err)
				}
			}

			conn, err := customer.OpenChat(ctx, sid, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			var got clientEventLog
			read := make(chan struct{})
			go func() {
				defer close(read)
				for ev := range conn.Events() {
					got.add(ev)
				}
			}()

			acks := map[string]*assistv1.ChatAck{}
			var acksMu sync.Mutex
			customerSend := func(text string) {
				ack, err := conn.Send(ctx, text)
				if err != nil {
					t.Errorf("customer send %q: %v", text, err)
					return
				}
				acksMu.Lock()
				acks[text] = ack
				acksMu.Unlock()
			}

			customerSend("c1")
			got.await(t, ctx, clientIsText("c1"))

			// c2 is stored, but neither its ack nor its event arrive.
			proxy.HoldResponses()
			var sending sync.WaitGroup
			sending.Go(func() { customerSend("c2") })
			stored := clientAwaitStored(t, ctx, advisor, sid, clientIsText("c2"))
			advisorSend("a1")
			proxy.Pause()
			proxy.DropAll()
			proxy.ReleaseResponses()
			// While the customer cannot connect.
			advisorSend("a2")
			sending.Go(func() { customerSend("c3") })
			proxy.Resume()
			sending.Wait()
			if t.Failed() {
				return
			}
			advisorSend("a3")
			customerSend("c4")
			clientEndSession(t, ctx, advisor, sid)

			select {
			case <-read:
			case <-ctx.Done():
				t.Fatalf("Events was not closed after SessionEnded; delivered seqs %v", clientSeqs(got.all()))
			}
			if conn.Err() != nil {
				t.Fatalf("Err after SessionEnded: %v, want nil", conn.Err())
			}
			transcript := clientTranscript(t, ctx, advisor, sid)
			clientAssertExactlyTheLog(t, got.all(), transcript)
			clientAssertEachTextOnce(t, transcript, []string{"c1", "c2", "a1", "a2", "c3", "a3", "c4"})
			if last := transcript[len(transcript)-1].GetSeq(); conn.Cursor() != last {
				t.Fatalf("Cursor %d, want the last seq %d", conn.Cursor(), last)
			}
			if acks["c2"].GetSeq() != stored.GetSeq() {
				t.Fatalf("c2 acknowledged at seq %d, stored at %d", acks["c2"].GetSeq(), stored.GetSeq())
			}
			for _, ev := range transcript {
				if ack := acks[ev.GetMessage().GetText()]; ack != nil && (ack.GetSeq() != ev.GetSeq() || ack.GetClientMessageId() != ev.GetClientMessageId()) {
					t.Fatalf("ack %v does not match the stored %v", ack, ev)
				}
			}

			// c2 went out on the dropped stream and again on a later one.
			var c2Streams int
			for _, s := range rec.streams("/assist.v1.ChatService/Chat") {
				if slices.ContainsFunc(s.sent, func(m proto.Message) bool {
					return m.(*assistv1.ChatRequest).GetSend().GetClientMessageId() == stored.GetClientMessageId()
				}) {
					c2Streams++
				}
			}
			if c2Streams < 2 {
				t.Fatalf("the unacknowledged c2 went out on %d streams, want it re-sent after the drop", c2Streams)
			}
			rec.assertResumedFromTheCursor(t, "/assist.v1.ChatService/Chat")
		})
	}
}

// clientEventLog collects delivered events and lets a test wait for one.
type clientEventLog struct {
	mu      sync.Mutex
	events  []*assistv1.SessionEvent
	changed chan struct{} // closed and replaced on each add
}

func (l *clientEventLog) add(ev *assistv1.SessionEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
}

func (l *clientEventLog) all() []*assistv1.SessionEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

// await waits until an event matching match was delivered.
func (l *clientEventLog) await(t *testing.T, ctx context.Context, match func(*assistv1.SessionEvent) bool) {
	t.Helper()
	for {
		l.mu.Lock()
		if slices.ContainsFunc(l.events, match) {
			l.mu.Unlock()
			return
		}
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		changed := l.changed
		l.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("the awaited event was not delivered; delivered seqs %v", clientSeqs(l.all()))
		}
	}
}

func clientIsText(text string) func(*assistv1.SessionEvent) bool {
	return func(ev *assistv1.SessionEvent) bool { return ev.GetMessage().GetText() == text }
}

func clientSeqs(events []*assistv1.SessionEvent) []int64 {
	out := make([]int64, len(events))
	for i, ev := range events {
		out[i] = ev.GetSeq()
	}
	return out
}

func clientTranscript(t *testing.T, ctx context.Context, c *assist.Client, sid string) []*assistv1.SessionEvent {
	t.Helper()
	res, err := c.Chat.GetTranscript(ctx, &assistv1.GetTranscriptRequest{SessionId: sid})
	if err != nil {
		t.Fatalf("transcript: %v", err)
	}
	return res.GetEvents()
}

// clientAwaitStored polls the stored log until an event matches: the way
// to know the server stored something whose response is held back.
func clientAwaitStored(t *testing.T, ctx context.Context, c *assist.Client, sid string, match func(*assistv1.SessionEvent) bool) *assistv1.SessionEvent {
	t.Helper()
	for {
		if i := slices.IndexFunc(clientTranscript(t, ctx, c, sid), match); i >= 0 {
			return clientTranscript(t, ctx, c, sid)[i]
		}
		select {
		case <-ctx.Done():
			t.Fatal("the message was never stored")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func clientEndSession(t *testing.T, ctx context.Context, advisor *assist.Client, sid string) {
	t.Helper()
	if _, err := advisor.Session.EndSession(ctx, &assistv1.EndSessionRequest{
		SessionId: sid, Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED}); err != nil {
		t.Fatalf("end session: %v", err)
	}
}

// clientAssertExactlyTheLog checks that the stored events in got are the
// whole stored log, each once, in order, ending with SessionEnded.
func clientAssertExactlyTheLog(t *testing.T, got, transcript []*assistv1.SessionEvent) {
	t.Helper()
	var stored []*assistv1.SessionEvent
	for _, ev := range got {
		if ev.GetSeq() > 0 {
			stored = append(stored, ev)
		}
	}
	if len(stored) != len(transcript) {
		t.Fatalf("delivered seqs %v, want the log's %v", clientSeqs(stored), clientSeqs(transcript))
	}
	for i := range stored {
		if !proto.Equal(stored[i], transcript[i]) {
			t.Fatalf("delivered event %d is %v, want the stored %v", i, stored[i], transcript[i])
		}
	}
	assertContiguous(t, stored, 1)
	if len(stored) == 0 || stored[len(stored)-1].GetSessionEnded() == nil {
		t.Fatal("the last delivered event is not SessionEnded")
	}
}

// clientAssertEachTextOnce checks that each text is stored exactly once, in
// the given order.
func clientAssertEachTextOnce(t *testing.T, transcript []*assistv1.SessionEvent, texts []string) {
	t.Helper()
	var order []string
	count := map[string]int{}
	for _, ev := range transcript {
		if m := ev.GetMessage(); m != nil && slices.Contains(texts, m.GetText()) {
			count[m.GetText()]++
			order = append(order, m.GetText())
		}
	}
	for _, text := range texts {
		if count[text] != 1 {
			t.Fatalf("%q is stored %d times, want once (stored: %q)", text, count[text], order)
		}
	}
	if !slices.Equal(order, texts) {
		t.Fatalf("stored in the order %q, want %q", order, texts)
	}
}

// clientRecorder records the messages each call of the client sent and
// received, to check what went over the wire.
type clientRecorder struct {
	mu   sync.Mutex
	list []*clientStreamRecord
}

type clientStreamRecord struct {
	procedure      string
	sent, received []proto.Message
}

func (r *clientRecorder) intercept(next connect.ClientFunc) connect.ClientFunc {
	return func(ctx context.Context, spec connect.Spec) (connect.ClientStream, error) {
		rec := &clientStreamRecord{procedure: spec.Procedure}
		r.mu.Lock()
		r.list = append(r.list, rec)
		r.mu.Unlock()
		stream, err := next(ctx, spec)
		if err != nil {
			return nil, err
		}
		return &clientRecordingStream{ClientStream: stream, r: r, rec: rec}, nil
	}
}

func (r *clientRecorder) streams(procedure string) []clientStreamRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []clientStreamRecord
	for _, s := range r.list {
		if s.procedure == procedure {
			out = append(out, clientStreamRecord{procedure: s.procedure, sent: slices.Clone(s.sent), received: slices.Clone(s.received)})
		}
	}
	return out
}

// assertResumedFromTheCursor checks that the client reconnected at least
// once, that each stream opened after the last stored seq received on the
// earlier ones, and that the server then sent only what came after it,
// with no gap.
func (r *clientRecorder) assertResumedFromTheCursor(t *testing.T, procedure string) {
	t.Helper()
	streams := r.streams(procedure)
	if len(streams) < 2 {
		t.Fatalf("%d %s streams, want a reconnect", len(streams), procedure)
	}
	var cursor int64
	for i, s := range streams {
		if len(s.sent) == 0 {
			continue // refused before it could send anything
		}
		var after int64
		switch first := s.sent[0].(type) {
		case *assistv1.SubscribeRequest:
			after = first.GetAfterSeq()
		case *assistv1.ChatRequest:
			after = first.GetOpen().GetAfterSeq()
		}
		if after != cursor {
			t.Fatalf("stream %d opened after seq %d, want the cursor %d", i, after, cursor)
		}
		for _, m := range s.received {
			var ev *assistv1.SessionEvent
			switch res := m.(type) {
			case *assistv1.SubscribeResponse:
				ev = res.GetEvent()
			case *assistv1.ChatResponse:
				ev = res.GetEvent()
			}
			if ev.GetSeq() == 0 {
				continue
			}
			if ev.GetSeq() != cursor+1 {
				t.Fatalf("stream %d got seq %d after %d: the server did not send exactly what was missed", i, ev.GetSeq(), cursor)
			}
			cursor = ev.GetSeq()
		}
	}
}

type clientRecordingStream struct {
	connect.ClientStream
	r   *clientRecorder
	rec *clientStreamRecord
}

func (s *clientRecordingStream) Send(msg any) error {
	if m, ok := msg.(proto.Message); ok {
		s.r.mu.Lock()
		s.rec.sent = append(s.rec.sent, proto.Clone(m))
		s.r.mu.Unlock()
	}
	return s.ClientStream.Send(msg)
}

func (s *clientRecordingStream) Receive(msg any) error {
	err := s.ClientStream.Receive(msg)
	if m, ok := msg.(proto.Message); ok && err == nil {
		s.r.mu.Lock()
		s.rec.received = append(s.rec.received, proto.Clone(m))
		s.r.mu.Unlock()
	}
	return err
}

// ChatConn reports a message the server refuses with the server's code, and
// the conversation goes on: the next message is stored.
func TestClientChatConnReportsARefusedMessageAndGoesOn(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	for _, p := range assisttest.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			sid, customerToken, _ := env.ActiveSession(t)
			customer := assist.New(env.URL, assist.WithToken(customerToken), assist.WithProtocol(clientProtocol(p)))
			if _, err := customer.SendMessageWithID(ctx, sid, "taken", "the first text"); err != nil {
				t.Fatal(err)
			}
			conn, err := customer.OpenChat(ctx, sid, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			go func() {
				for range conn.Events() {
				}
			}()
			if _, err := conn.SendWithID(ctx, "taken", "another text"); connect.CodeOf(err) != connect.CodeAlreadyExists {
				t.Fatalf("reused id: %v, want AlreadyExists", err)
			}
			ack, err := conn.Send(ctx, "still talking")
			if err != nil || ack.GetSeq() == 0 {
				t.Fatalf("send after a refusal: %v, %v", ack, err)
			}
			if conn.Err() != nil {
				t.Fatalf("the conversation ended: %v", conn.Err())
			}
		})
	}
}
