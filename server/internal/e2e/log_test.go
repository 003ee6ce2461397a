package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"google.golang.org/protobuf/proto"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/gen/go/assist/v1/assistv1connect"
	"github.com/assist-chat/assist/server/internal/assisttest"
)

// logReader follows a session's log on one stream and records everything
// it receives until the stream ends.
type logReader struct {
	name   string
	events []*assistv1.SessionEvent // stored and ephemeral, as received
	err    error                    // what ended the stream; nil for io.EOF
	ready  chan struct{}            // closed once a stored event with seq >= readyAt arrived
	done   chan struct{}            // closed when the stream ended
}

// logFollow reads events with recv in the background. recv returns a nil
// event for a message that carries none.
func logFollow(name string, readyAt int64, recv func() (*assistv1.SessionEvent, error)) *logReader {
	r := &logReader{name: name, ready: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		isReady := false
		for {
			ev, err := recv()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				r.err = err
				return
			}
			if ev == nil {
				continue
			}
			r.events = append(r.events, ev)
			if !isReady && ev.GetSeq() >= readyAt {
				isReady = true
				close(r.ready)
			}
		}
	}()
	return r
}

// logSubscribe follows sessionID's log with Subscribe from afterSeq.
func logSubscribe(ctx context.Context, t *testing.T, c assistv1connect.ChatServiceClient, name, sessionID string, afterSeq, readyAt int64) *logReader {
	t.Helper()
	stream, err := c.Subscribe(ctx, &assistv1.SubscribeRequest{SessionId: sessionID, AfterSeq: afterSeq})
	if err != nil {
		t.Fatalf("%s: subscribe: %v", name, err)
	}
	t.Cleanup(func() { _ = stream.Close() })
	return logFollow(name, readyAt, func() (*assistv1.SessionEvent, error) {
		res, err := stream.Receive()
		if err != nil {
			return nil, err
		}
		return res.GetEvent(), nil
	})
}

// logChat follows sessionID's log on a bidi Chat stream opened after
// afterSeq; acknowledgements go to the returned channel.
func logChat(ctx context.Context, t *testing.T, c assistv1connect.ChatServiceClient, name, sessionID string, afterSeq, readyAt int64) (*logReader, assistv1connect.ChatServiceChatClientStream, <-chan *assistv1.ChatAck) {
	t.Helper()
	stream, err := c.Chat(ctx)
	if err != nil {
		t.Fatalf("%s: chat: %v", name, err)
	}
	t.Cleanup(func() { _ = stream.Close() })
	if err := stream.Send(&assistv1.ChatRequest{Action: &assistv1.ChatRequest_Open{Open: &assistv1.ChatOpen{SessionId: sessionID, AfterSeq: afterSeq}}}); err != nil {
		t.Fatalf("%s: open: %v", name, err)
	}
	acks := make(chan *assistv1.ChatAck, 1000)
	r := logFollow(name, readyAt, func() (*assistv1.SessionEvent, error) {
		res, err := stream.Receive()
		if err != nil {
			return nil, err
		}
		if a := res.GetAck(); a != nil {
			acks <- a
		}
		return res.GetEvent(), nil
	})
	return r, stream, acks
}

// logWait waits for ch, failing if the reader's stream ends first or ctx
// expires.
func logWait(ctx context.Context, t *testing.T, r *logReader, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-r.done:
		select {
		case <-ch:
		default:
			t.Fatalf("%s: stream ended (%v) before %s", r.name, r.err, what)
		}
	case <-ctx.Done():
		t.Fatalf("%s: gave up waiting for %s: %v", r.name, what, ctx.Err())
	}
}

// logStored splits what a reader received into stored events (seq > 0) and
// ephemeral ones.
func logStored(events []*assistv1.SessionEvent) (stored, ephemeral []*assistv1.SessionEvent) {
	for _, ev := range events {
		if ev.GetSeq() == 0 {
			ephemeral = append(ephemeral, ev)
		} else {
			stored = append(stored, ev)
		}
	}
	return stored, ephemeral
}

// logAssertSame fails unless got is exactly want: same events, same order.
func logAssertSame(t *testing.T, who string, got, want []*assistv1.SessionEvent) {
	t.Helper()
	if len(got) != len(want) {
		first, last := int64(-1), int64(-1)
		if len(got) > 0 {
			first, last = got[0].GetSeq(), got[len(got)-1].GetSeq()
		}
		t.Errorf("%s: got %d stored events (seq %d..%d), want %d", who, len(got), first, last, len(want))
		return
	}
	for i := range got {
		if !proto.Equal(got[i], want[i]) {
			t.Errorf("%s: event %d differs:\n got  %v\n want %v", who, i, got[i], want[i])
			return
		}
	}
}

// TestSessionLog proves the guarantees of the session log on one server;
// each behaviour runs on sessions of its own.
func TestSessionLog(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	advisorToken := env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	for name, behaviour := range map[string]func(*testing.T, *assisttest.Env, string){
		"ConcurrentSendersBuildOneGaplessLogEveryReaderSeesExactlyOnce": logConcurrentSenders,
		"TypingIsDeliveredLiveButNeverStored":                           logTyping,
		"EndSessionClosesTheLogAndFinishesEveryStream":                  logEndSession,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			behaviour(t, env, advisorToken)
		})
	}
}

// Many senders write to one session at once, customers and advisors, over
// Connect, gRPC and gRPC-Web, with Send and with the bidi stream, while
// readers follow it from the start, from the middle and on a bidi stream.
// The log comes out as seqs 1..N with no gap, every reader receives every
// stored event exactly once and in order, the transcript is what the
// readers saw, and typing reaches every reader live with seq 0 but is never
// stored.
func logConcurrentSenders(t *testing.T, env *assisttest.Env, advisorToken string) {
	const (
		senders    = 8
		perSender  = 50
		total      = senders * perSender
		typingEach = 10 // one typing signal before every 10th message
	)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sid, customerToken := e2eActiveSession(t, env, advisorToken, "Many")
	start, err := env.Services(assisttest.Connect, customerToken).Chat.GetTranscript(ctx, &assistv1.GetTranscriptRequest{SessionId: sid})
	if err != nil {
		t.Fatal(err)
	}
	startSeq := int64(len(start.GetEvents()))
	if startSeq == 0 {
		t.Fatal("a picked-up session has an empty log")
	}

	// Readers from the start, each on its own protocol and connection.
	fromStart := []*logReader{
		logSubscribe(ctx, t, env.Services(assisttest.Connect, customerToken).Chat, "subscribe/connect/customer", sid, 0, startSeq),
		logSubscribe(ctx, t, env.Services(assisttest.GRPC, advisorToken).Chat, "subscribe/grpc/advisor", sid, 0, startSeq),
		logSubscribe(ctx, t, assistv1connect.NewChatServiceClient(env.ClientWith(assisttest.HTTP1Client(), assisttest.GRPCWeb, customerToken)), "subscribe/grpcweb-http1/customer", sid, 0, startSeq),
	}
	chatReader, _, _ := logChat(ctx, t, env.Services(assisttest.GRPC, advisorToken).Chat, "chat/grpc/advisor (reader)", sid, 0, startSeq)
	fromStart = append(fromStart, chatReader)
	// The last sender chats on a bidi stream, which also reads the log.
	bidiSender, bidiStream, bidiAcks := logChat(ctx, t, env.Services(assisttest.GRPCWeb, customerToken).Chat, "chat/grpcweb/customer (sender)", sid, 0, startSeq)
	fromStart = append(fromStart, bidiSender)
	for _, r := range fromStart {
		// Having the backlog proves the reader is registered for live events.
		logWait(ctx, t, r, r.ready, "the backlog")
	}

	type ack struct {
		clientMessageID, text string
		seq                   int64
	}
	acks := make(chan ack, total)
	var acked, typingSent atomic.Int64
	halfway := make(chan int64, 1)
	record := func(a ack) {
		acks <- a
		if acked.Add(1) == total/2 {
			halfway <- a.seq
		}
	}

	// A reader that joins halfway with the cursor of an acknowledged message.
	var midway *logReader
	var midwayAfter int64
	midwayStarted := make(chan struct{})
	go func() {
		defer close(midwayStarted)
		select {
		case midwayAfter = <-halfway:
		case <-ctx.Done():
			t.Errorf("midway reader never started: %v", ctx.Err())
			return
		}
		stream, err := env.Services(assisttest.Connect, advisorToken).Chat.Subscribe(ctx, &assistv1.SubscribeRequest{SessionId: sid, AfterSeq: midwayAfter})
		if err != nil {
			t.Errorf("midway subscribe: %v", err)
			return
		}
		midway = logFollow("subscribe/connect/advisor (midway)", math.MaxInt64, func() (*assistv1.SessionEvent, error) {
			res, err := stream.Receive()
			if err != nil {
				return nil, err
			}
			return res.GetEvent(), nil
		})
	}()

	var wg sync.WaitGroup
	for i := range senders - 1 {
		p := assisttest.Protocols[i%len(assisttest.Protocols)]
		token := customerToken
		if i%2 == 1 {
			token = advisorToken
		}
		chat := env.Services(p, token).Chat
		wg.Go(func() {
			for j := range perSender {
				if j%typingEach == 0 {
					res, err := chat.Send(ctx, &assistv1.SendRequest{SessionId: sid, Content: &assistv1.SendRequest_Typing{Typing: &assistv1.ChatTyping{Active: true}}})
					if err != nil {
						t.Errorf("sender %d (%s): typing: %v", i, p, err)
						return
					}
					if res.GetEvent().GetSeq() != 0 || res.GetEvent().GetTyping() == nil {
						t.Errorf("sender %d: typing came back as %v, want an ephemeral typing event (seq 0)", i, res.GetEvent())
					}
					typingSent.Add(1)
				}
				cmid, text := fmt.Sprintf("s%d-%d", i, j), fmt.Sprintf("sender %d says %d", i, j)
				ev, err := e2eSendText(ctx, chat, sid, cmid, text)
				if err != nil {
					t.Errorf("sender %d (%s): send %s: %v", i, p, cmid, err)
					return
				}
				if j%17 == 0 {
					// A retry returns the stored event and writes nothing.
					again, err := e2eSendText(ctx, chat, sid, cmid, text)
					if err != nil {
						t.Errorf("sender %d: retry %s: %v", i, cmid, err)
						return
					}
					if again.GetSeq() != ev.GetSeq() {
						t.Errorf("sender %d: retry of %s stored at seq %d, first at %d", i, cmid, again.GetSeq(), ev.GetSeq())
					}
				}
				record(ack{cmid, text, ev.GetSeq()})
			}
		})
	}
	wg.Go(func() {
		texts := map[string]string{}
		for j := range perSender {
			if j%typingEach == 0 {
				if err := bidiStream.Send(&assistv1.ChatRequest{Action: &assistv1.ChatRequest_Typing{Typing: &assistv1.ChatTyping{Active: true}}}); err != nil {
					t.Errorf("bidi sender: typing: %v", err)
					return
				}
				typingSent.Add(1)
			}
			cmid, text := fmt.Sprintf("bidi-%d", j), fmt.Sprintf("bidi sender says %d", j)
			texts[cmid] = text
			if err := bidiStream.Send(&assistv1.ChatRequest{Action: &assistv1.ChatRequest_Send{Send: &assistv1.ChatSend{ClientMessageId: cmid, Text: text}}}); err != nil {
				t.Errorf("bidi sender: send %s: %v", cmid, err)
				return
			}
		}
		for range perSender {
			select {
			case a := <-bidiAcks:
				text, ok := texts[a.GetClientMessageId()]
				if !ok || a.GetSeq() <= 0 {
					t.Errorf("bidi sender: unexpected ack %v", a)
					return
				}
				delete(texts, a.GetClientMessageId())
				record(ack{a.GetClientMessageId(), text, a.GetSeq()})
			case <-bidiSender.done:
				t.Errorf("bidi sender: stream ended before every ack: %v", bidiSender.err)
				return
			case <-ctx.Done():
				t.Errorf("bidi sender: gave up waiting for acks: %v", ctx.Err())
				return
			}
		}
	})
	wg.Wait()
	<-midwayStarted
	if t.Failed() {
		t.FailNow()
	}
	close(acks)

	// Ending the session finishes every stream cleanly.
	if _, err := env.Services(assisttest.Connect, advisorToken).Session.EndSession(ctx, &assistv1.EndSessionRequest{
		SessionId: sid, Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED}); err != nil {
		t.Fatalf("end session: %v", err)
	}
	readers := append(fromStart, midway)
	for _, r := range readers {
		logWait(ctx, t, r, r.done, "the end of the stream")
		if r.err != nil {
			t.Errorf("%s: stream did not end cleanly: %v", r.name, r.err)
		}
	}

	tr, err := env.Services(assisttest.GRPC, advisorToken).Chat.GetTranscript(ctx, &assistv1.GetTranscriptRequest{SessionId: sid})
	if err != nil {
		t.Fatal(err)
	}
	logged := tr.GetEvents()
	wantN := startSeq + total + 1 // the messages, then SessionEnded
	if int64(len(logged)) != wantN {
		t.Errorf("transcript has %d events, want %d", len(logged), wantN)
	}
	var messages int
	for i, ev := range logged {
		if ev.GetSeq() != int64(i+1) {
			t.Fatalf("transcript event %d has seq %d: the log has a gap or is out of order", i, ev.GetSeq())
		}
		if ev.GetTyping() != nil {
			t.Errorf("typing was stored at seq %d", ev.GetSeq())
		}
		if ev.GetMessage() != nil {
			messages++
		}
	}
	if messages != total {
		t.Errorf("transcript has %d messages, want %d (retries must not store twice)", messages, total)
	}
	if logged[len(logged)-1].GetSessionEnded() == nil {
		t.Errorf("the last event is %v, want SessionEnded", logged[len(logged)-1])
	}
	for a := range acks {
		ev := logged[a.seq-1]
		if ev.GetMessage().GetText() != a.text || ev.GetClientMessageId() != a.clientMessageID {
			t.Errorf("ack of %s says seq %d, which holds %v", a.clientMessageID, a.seq, ev)
		}
		if !strings.Contains(tr.GetText(), a.text) {
			t.Errorf("transcript text lacks %q", a.text)
		}
	}

	for _, r := range fromStart {
		stored, ephemeral := logStored(r.events)
		logAssertSame(t, r.name, stored, logged)
		for _, ev := range ephemeral {
			if ev.GetTyping() == nil {
				t.Errorf("%s: ephemeral event that is not typing: %v", r.name, ev)
			}
		}
		if int64(len(ephemeral)) != typingSent.Load() {
			t.Errorf("%s: received %d typing signals, want %d", r.name, len(ephemeral), typingSent.Load())
		}
	}
	stored, _ := logStored(midway.events)
	logAssertSame(t, fmt.Sprintf("%s after seq %d", midway.name, midwayAfter), stored, logged[midwayAfter:])

	// A replay is the stored log only: no typing.
	replay := logSubscribe(ctx, t, env.Services(assisttest.GRPCWeb, customerToken).Chat, "replay", sid, 0, math.MaxInt64)
	logWait(ctx, t, replay, replay.done, "the end of the replay")
	if replay.err != nil {
		t.Errorf("replay did not end cleanly: %v", replay.err)
	}
	logAssertSame(t, "replay", replay.events, logged)
}

// Typing is delivered live to readers as an ephemeral event (seq 0) and is
// never stored: it takes no seq, and neither the transcript nor a replay
// shows it.
func logTyping(t *testing.T, env *assisttest.Env, advisorToken string) {
	for _, p := range assisttest.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			sid, customerToken := e2eActiveSession(t, env, advisorToken, "Tia")
			customer, advisor := env.Services(p, customerToken), env.Services(p, advisorToken)
			stream, err := customer.Chat.Subscribe(ctx, &assistv1.SubscribeRequest{SessionId: sid})
			if err != nil {
				t.Fatal(err)
			}
			defer stream.Close()
			got, err := advisor.Session.GetSession(ctx, &assistv1.GetSessionRequest{SessionId: sid})
			if err != nil {
				t.Fatal(err)
			}
			lastSeq := got.GetSession().GetLastSeq()
			receiveUntil(t, stream, func(ev *assistv1.SessionEvent) bool { return ev.GetSeq() == lastSeq })

			res, err := advisor.Chat.Send(ctx, &assistv1.SendRequest{SessionId: sid, Content: &assistv1.SendRequest_Typing{Typing: &assistv1.ChatTyping{Active: true}}})
			if err != nil {
				t.Fatalf("send typing: %v", err)
			}
			if res.GetEvent().GetSeq() != 0 {
				t.Errorf("typing acknowledged with seq %d, want 0", res.GetEvent().GetSeq())
			}
			typed := receiveUntil(t, stream, func(ev *assistv1.SessionEvent) bool { return ev.GetTyping() != nil })
			typing := typed[len(typed)-1]
			if typing.GetSeq() != 0 || !typing.GetTyping().GetActive() || typing.GetAuthor().GetRole() != assistv1.ParticipantRole_PARTICIPANT_ROLE_ADVISOR {
				t.Errorf("live typing event is %v, want an advisor's active typing with seq 0", typing)
			}

			// Typing on the bidi stream reaches Subscribe readers too.
			bidi, err := advisor.Chat.Chat(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer bidi.Close()
			if err := bidi.Send(&assistv1.ChatRequest{Action: &assistv1.ChatRequest_Open{Open: &assistv1.ChatOpen{SessionId: sid, AfterSeq: lastSeq}}}); err != nil {
				t.Fatal(err)
			}
			if err := bidi.Send(&assistv1.ChatRequest{Action: &assistv1.ChatRequest_Typing{Typing: &assistv1.ChatTyping{Active: false}}}); err != nil {
				t.Fatal(err)
			}
			typed = receiveUntil(t, stream, func(ev *assistv1.SessionEvent) bool { return ev.GetTyping() != nil })
			if ev := typed[len(typed)-1]; ev.GetSeq() != 0 || ev.GetTyping().GetActive() {
				t.Errorf("typing from the bidi stream arrived as %v, want inactive typing with seq 0", ev)
			}

			// The next message takes the next seq: typing used none.
			msg, err := e2eSendText(ctx, customer.Chat, sid, "after-typing", "typing took no seq")
			if err != nil {
				t.Fatal(err)
			}
			if msg.GetSeq() != lastSeq+1 {
				t.Errorf("message after typing stored at seq %d, want %d", msg.GetSeq(), lastSeq+1)
			}
			receiveUntil(t, stream, isText("typing took no seq"))

			tr, err := customer.Chat.GetTranscript(ctx, &assistv1.GetTranscriptRequest{SessionId: sid})
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range tr.GetEvents() {
				if ev.GetTyping() != nil || ev.GetSeq() == 0 {
					t.Errorf("transcript holds an ephemeral event: %v", ev)
				}
			}
			replay, err := advisor.Chat.Subscribe(ctx, &assistv1.SubscribeRequest{SessionId: sid})
			if err != nil {
				t.Fatal(err)
			}
			defer replay.Close()
			for _, ev := range receiveUntil(t, replay, isText("typing took no seq")) {
				if ev.GetTyping() != nil || ev.GetSeq() == 0 {
					t.Errorf("replay holds an ephemeral event: %v", ev)
				}
			}
		})
	}
}

// EndSession stores a SessionEnded event, after which every Subscribe and
// Chat stream of the session finishes cleanly (io.EOF), further sends get
// FailedPrecondition, and ending again returns the session unchanged. A
// reader that reconnects after the end gets what it missed, then the end.
func logEndSession(t *testing.T, env *assisttest.Env, advisorToken string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sid, customerToken := e2eActiveSession(t, env, advisorToken, "Eve")
	before, err := env.Services(assisttest.Connect, advisorToken).Session.GetSession(ctx, &assistv1.GetSessionRequest{SessionId: sid})
	if err != nil {
		t.Fatal(err)
	}
	readyAt := before.GetSession().GetLastSeq()

	var readers []*logReader
	for _, p := range assisttest.Protocols {
		readers = append(readers, logSubscribe(ctx, t, env.Services(p, customerToken).Chat, "subscribe/"+string(p), sid, 0, readyAt))
		r, _, _ := logChat(ctx, t, env.Services(p, advisorToken).Chat, "chat/"+string(p), sid, 0, readyAt)
		readers = append(readers, r)
	}
	for _, r := range readers {
		logWait(ctx, t, r, r.ready, "the backlog")
	}

	advisor := env.Services(assisttest.GRPC, advisorToken)
	ended, err := advisor.Session.EndSession(ctx, &assistv1.EndSessionRequest{
		SessionId: sid, Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED, Notes: "printer replaced"})
	if err != nil {
		t.Fatalf("end session: %v", err)
	}
	s := ended.GetSession()
	if s.GetState() != assistv1.SessionState_SESSION_STATE_ENDED || s.GetOutcome() != assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED || s.GetEndTime() == nil {
		t.Errorf("ended session is %v, want state ENDED, outcome RESOLVED and an end time", s)
	}
	for _, r := range readers {
		logWait(ctx, t, r, r.done, "the end of the stream")
		if r.err != nil {
			t.Errorf("%s: stream did not end cleanly: %v", r.name, r.err)
			continue
		}
		last := r.events[len(r.events)-1]
		if last.GetSessionEnded().GetOutcome() != assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED || last.GetSeq() != s.GetLastSeq() {
			t.Errorf("%s: last event is %v, want SessionEnded(RESOLVED) at seq %d", r.name, last, s.GetLastSeq())
		}
	}

	for _, p := range assisttest.Protocols {
		for who, token := range map[string]string{"customer": customerToken, "advisor": advisorToken} {
			chat := env.Services(p, token).Chat
			_, err := e2eSendText(ctx, chat, sid, "late-"+who+"-"+string(p), "anyone there?")
			e2eWantCode(t, err, connect.CodeFailedPrecondition, fmt.Sprintf("%s sends after the end over %s", who, p))
			_, err = chat.Send(ctx, &assistv1.SendRequest{SessionId: sid, Content: &assistv1.SendRequest_Typing{Typing: &assistv1.ChatTyping{Active: true}}})
			e2eWantCode(t, err, connect.CodeFailedPrecondition, fmt.Sprintf("%s types after the end over %s", who, p))
		}
	}

	again, err := advisor.Session.EndSession(ctx, &assistv1.EndSessionRequest{SessionId: sid, Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_UNRESOLVED, Notes: "second try"})
	if err != nil {
		t.Fatalf("end again: %v", err)
	}
	if !proto.Equal(again.GetSession(), s) {
		t.Errorf("ending again changed the session:\n got  %v\n want %v", again.GetSession(), s)
	}
	tr, err := advisor.Chat.GetTranscript(ctx, &assistv1.GetTranscriptRequest{SessionId: sid})
	if err != nil {
		t.Fatal(err)
	}
	var ends int
	for _, ev := range tr.GetEvents() {
		if ev.GetSessionEnded() != nil {
			ends++
		}
	}
	if ends != 1 || int64(len(tr.GetEvents())) != s.GetLastSeq() {
		t.Errorf("after ending twice the log has %d events with %d SessionEnded, want %d with one", len(tr.GetEvents()), ends, s.GetLastSeq())
	}

	// Readers that reconnect after the end: from before the end they get the
	// rest then finish; from the end itself they finish at once; the bidi
	// stream replays and finishes too.
	for _, after := range []int64{0, s.GetLastSeq() - 1, s.GetLastSeq()} {
		for _, p := range assisttest.Protocols {
			r := logSubscribe(ctx, t, env.Services(p, customerToken).Chat, fmt.Sprintf("resubscribe/%s after %d", p, after), sid, after, math.MaxInt64)
			logWait(ctx, t, r, r.done, "the end of the stream")
			if r.err != nil {
				t.Errorf("%s: %v", r.name, r.err)
			}
			logAssertSame(t, r.name, r.events, tr.GetEvents()[after:])
			c, _, _ := logChat(ctx, t, env.Services(p, advisorToken).Chat, fmt.Sprintf("rechat/%s after %d", p, after), sid, after, math.MaxInt64)
			logWait(ctx, t, c, c.done, "the end of the stream")
			if c.err != nil {
				t.Errorf("%s: %v", c.name, c.err)
			}
			logAssertSame(t, c.name, c.events, tr.GetEvents()[after:])
		}
	}
}
