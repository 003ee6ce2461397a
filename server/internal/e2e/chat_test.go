package e2e

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect/v2"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/gen/go/assist/v1/assistv1connect"
	"github.com/assist-chat/assist/server/internal/assisttest"
)

// receiveUntil reads Subscribe events until one matches, failing on timeout.
func receiveUntil(t *testing.T, stream interface {
	Receive() (*assistv1.SubscribeResponse, error)
}, match func(*assistv1.SessionEvent) bool) []*assistv1.SessionEvent {
	t.Helper()
	var got []*assistv1.SessionEvent
	for {
		res, err := stream.Receive()
		if err != nil {
			t.Fatalf("receive after %d events: %v", len(got), err)
		}
		got = append(got, res.GetEvent())
		if match(res.GetEvent()) {
			return got
		}
	}
}

func isText(text string) func(*assistv1.SessionEvent) bool {
	return func(ev *assistv1.SessionEvent) bool { return ev.GetMessage().GetText() == text }
}

// A customer and an advisor chat over Subscribe+Send, on each protocol.
func TestCustomerAndAdvisorChatOverSubscribeAndSend(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	for _, proto := range assisttest.Protocols {
		t.Run(string(proto), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			sid, customerToken, advisorToken := env.ActiveSession(t)
			customer := env.Services(proto, customerToken)
			advisor := env.Services(proto, advisorToken)

			custStream, err := customer.Chat.Subscribe(ctx, &assistv1.SubscribeRequest{SessionId: sid})
			if err != nil {
				t.Fatal(err)
			}
			defer custStream.Close()
			advStream, err := advisor.Chat.Subscribe(ctx, &assistv1.SubscribeRequest{SessionId: sid})
			if err != nil {
				t.Fatal(err)
			}
			defer advStream.Close()

			sent, err := advisor.Chat.Send(ctx, &assistv1.SendRequest{SessionId: sid, Content: &assistv1.SendRequest_Message{
				Message: &assistv1.ChatSend{ClientMessageId: "adv-1", Text: "Hello, how can I help?"}}})
			if err != nil {
				t.Fatalf("advisor send: %v", err)
			}
			if sent.GetEvent().GetSeq() == 0 {
				t.Fatalf("acknowledged message has no seq: %v", sent)
			}
			receiveUntil(t, custStream, isText("Hello, how can I help?"))

			if _, err := customer.Chat.Send(ctx, &assistv1.SendRequest{SessionId: sid, Content: &assistv1.SendRequest_Message{
				Message: &assistv1.ChatSend{ClientMessageId: "cus-1", Text: "My printer is on fire"}}}); err != nil {
				t.Fatalf("customer send: %v", err)
			}
			got := receiveUntil(t, advStream, isText("My printer is on fire"))
			assertContiguous(t, got, 1)
		})
	}
}

// A customer and an advisor chat over the bidi Chat stream, on each
// protocol; each message is acknowledged with its seq.
func TestCustomerAndAdvisorChatOverBidi(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	for _, proto := range assisttest.Protocols {
		t.Run(string(proto), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			sid, customerToken, advisorToken := env.ActiveSession(t)
			cust, err := env.Services(proto, customerToken).Chat.Chat(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer cust.Close()
			adv, err := env.Services(proto, advisorToken).Chat.Chat(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer adv.Close()
			for _, s := range []interface {
				Send(*assistv1.ChatRequest) error
			}{cust, adv} {
				if err := s.Send(&assistv1.ChatRequest{Action: &assistv1.ChatRequest_Open{Open: &assistv1.ChatOpen{SessionId: sid}}}); err != nil {
					t.Fatal(err)
				}
			}
			if err := cust.Send(&assistv1.ChatRequest{Action: &assistv1.ChatRequest_Send{Send: &assistv1.ChatSend{ClientMessageId: "c1", Text: "hi from the app"}}}); err != nil {
				t.Fatal(err)
			}
			// The sender gets its ack and the event; the advisor the event.
			var acked, echoed bool
			for !acked || !echoed {
				res, err := cust.Receive()
				if err != nil {
					t.Fatalf("customer receive: %v", err)
				}
				if a := res.GetAck(); a != nil && a.GetClientMessageId() == "c1" && a.GetSeq() > 0 {
					acked = true
				}
				if res.GetEvent().GetMessage().GetText() == "hi from the app" {
					echoed = true
				}
			}
			for {
				res, err := adv.Receive()
				if err != nil {
					t.Fatalf("advisor receive: %v", err)
				}
				if res.GetEvent().GetMessage().GetText() == "hi from the app" {
					break
				}
			}
			if err := adv.Send(&assistv1.ChatRequest{Action: &assistv1.ChatRequest_Send{Send: &assistv1.ChatSend{ClientMessageId: "a1", Text: "hello back"}}}); err != nil {
				t.Fatal(err)
			}
			for {
				res, err := cust.Receive()
				if err != nil {
					t.Fatalf("customer receive: %v", err)
				}
				if res.GetEvent().GetMessage().GetText() == "hello back" {
					break
				}
			}
			// Ending the session finishes both streams cleanly.
			if _, err := env.Services(proto, advisorToken).Session.EndSession(ctx, &assistv1.EndSessionRequest{
				SessionId: sid, Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED}); err != nil {
				t.Fatal(err)
			}
			for _, s := range []interface {
				Receive() (*assistv1.ChatResponse, error)
			}{cust, adv} {
				var ended bool
				for {
					res, err := s.Receive()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						t.Fatalf("stream did not end cleanly: %v", err)
					}
					if res.GetEvent().GetSessionEnded() != nil {
						ended = true
					}
				}
				if !ended {
					t.Fatal("stream ended without a SessionEnded event")
				}
			}
		})
	}
}

// assertContiguous checks stored events carry seqs from, from+1, ... with
// ephemeral (seq 0) events ignored.
func assertContiguous(t *testing.T, events []*assistv1.SessionEvent, from int64) {
	t.Helper()
	want := from
	for _, ev := range events {
		if ev.GetSeq() == 0 {
			continue
		}
		if ev.GetSeq() != want {
			t.Fatalf("seq %d where %d was expected", ev.GetSeq(), want)
		}
		want++
	}
}

// A customer's browser reads the portal before starting a session; an
// unknown portal is NotFound.
func TestCustomerReadsThePortal(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	ctx := context.Background()
	for _, proto := range assisttest.Protocols {
		portal := env.Services(proto, "").Portal
		res, err := portal.GetPortal(ctx, &assistv1.GetPortalRequest{PortalSlug: assisttest.PortalSlug})
		if err != nil {
			t.Fatalf("%s: %v", proto, err)
		}
		p := res.GetPortal()
		if p.GetSlug() != assisttest.PortalSlug || p.GetMode() != assistv1.PortalMode_PORTAL_MODE_QUEUE || !p.GetWebChatEnabled() || p.GetDisplayName() == "" {
			t.Fatalf("%s: portal %v, want the demo's queue-mode portal with web chat", proto, p)
		}
		_, err = portal.GetPortal(ctx, &assistv1.GetPortalRequest{PortalSlug: "no-such-portal"})
		if connect.CodeOf(err) != connect.CodeNotFound {
			t.Fatalf("%s: unknown portal: %v, want NotFound", proto, err)
		}
	}
}

// On the bidi stream a refused message is answered on its own (a ChatAck
// with the reason) and the conversation goes on: the next message is
// stored and delivered on the same stream.
func TestRefusedMessageOnTheChatStreamLeavesTheConversationOpen(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	for _, proto := range assisttest.Protocols {
		t.Run(string(proto), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			sid, customerToken, _ := env.ActiveSession(t)
			chat := env.Services(proto, customerToken).Chat
			if _, err := e2eSendText(ctx, chat, sid, "taken", "the first text"); err != nil {
				t.Fatal(err)
			}
			stream, err := chat.Chat(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer stream.Close()
			for _, req := range []*assistv1.ChatRequest{
				{Action: &assistv1.ChatRequest_Open{Open: &assistv1.ChatOpen{SessionId: sid}}},
				{Action: &assistv1.ChatRequest_Send{Send: &assistv1.ChatSend{ClientMessageId: "taken", Text: "another text"}}},
				{Action: &assistv1.ChatRequest_Send{Send: &assistv1.ChatSend{ClientMessageId: "blank", Text: "   "}}},
				{Action: &assistv1.ChatRequest_Send{Send: &assistv1.ChatSend{ClientMessageId: "bad/id", Text: "hi"}}},
				{Action: &assistv1.ChatRequest_Send{Send: &assistv1.ChatSend{ClientMessageId: "fine", Text: "this one is fine"}}},
			} {
				if err := stream.Send(req); err != nil {
					t.Fatal(err)
				}
			}
			wantRejected := map[string]connect.Code{
				"taken":  connect.CodeAlreadyExists,
				"blank":  connect.CodeInvalidArgument,
				"bad/id": connect.CodeInvalidArgument,
			}
			var storedSeq int64
			var delivered bool
			for len(wantRejected) > 0 || storedSeq == 0 || !delivered {
				res, err := stream.Receive()
				if err != nil {
					t.Fatalf("the stream ended: %v", err)
				}
				if ack := res.GetAck(); ack != nil {
					if want, ok := wantRejected[ack.GetClientMessageId()]; ok {
						code := connect.CodeOf(e2eRejection(res))
						if code != want || ack.GetSeq() != 0 {
							t.Fatalf("ack for %q: code %v seq %d, want %v and no seq", ack.GetClientMessageId(), code, ack.GetSeq(), want)
						}
						delete(wantRejected, ack.GetClientMessageId())
						continue
					}
					if ack.GetClientMessageId() != "fine" || ack.GetRejection() != nil || ack.GetSeq() == 0 {
						t.Fatalf("unexpected ack %v", ack)
					}
					storedSeq = ack.GetSeq()
				}
				if res.GetEvent().GetMessage().GetText() == "this one is fine" {
					delivered = true
				}
			}
			transcript, err := chat.GetTranscript(ctx, &assistv1.GetTranscriptRequest{SessionId: sid})
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range transcript.GetEvents() {
				if text := ev.GetMessage().GetText(); text == "another text" || strings.TrimSpace(text) == "" && ev.GetMessage() != nil {
					t.Fatalf("a refused message was stored: %v", ev)
				}
			}
		})
	}
}

// The customer saves the chat history as text: every message in order with
// its author, notices included, typing never, under a .txt file name; the
// customer can still read it after the session ended.
func TestTranscriptIsTheChatHistoryAsText(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	ctx := context.Background()
	sid, customerToken, advisorToken := env.ActiveSession(t)
	customer := env.Services(assisttest.Connect, customerToken)
	advisor := env.Services(assisttest.GRPC, advisorToken)
	for i, step := range []struct {
		chat assistv1connect.ChatServiceClient
		text string
	}{{customer.Chat, "Hello, my printer is on fire"}, {advisor.Chat, "Please unplug it"}, {customer.Chat, "Done, thanks!"}} {
		if _, err := e2eSendText(ctx, step.chat, sid, "t"+strconv.Itoa(i), step.text); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := customer.Chat.Send(ctx, &assistv1.SendRequest{SessionId: sid, Content: &assistv1.SendRequest_Typing{Typing: &assistv1.ChatTyping{Active: true}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := advisor.Session.EndSession(ctx, &assistv1.EndSessionRequest{SessionId: sid, Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED}); err != nil {
		t.Fatal(err)
	}
	res, err := customer.Chat.GetTranscript(ctx, &assistv1.GetTranscriptRequest{SessionId: sid})
	if err != nil {
		t.Fatalf("customer reads the transcript after the end: %v", err)
	}
	if !strings.HasSuffix(res.GetFileName(), ".txt") {
		t.Fatalf("file name %q does not end in .txt", res.GetFileName())
	}
	text := res.GetText()
	last := -1
	for _, want := range []string{
		"Ada joined",
		"Ada: Hello, my printer is on fire",
		"Alex (advisor): Please unplug it",
		"Ada: Done, thanks!",
		"The session ended",
	} {
		i := strings.Index(text, want)
		if i < 0 || i < last {
			t.Fatalf("the history lacks %q, or has it out of order:\n%s", want, text)
		}
		last = i
	}
	for _, ev := range res.GetEvents() {
		if ev.GetTyping() != nil || ev.GetSeq() == 0 {
			t.Fatalf("the transcript holds an ephemeral event: %v", ev)
		}
	}
}
