package assist_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"

	"github.com/assist-chat/assist/clients/go/assist"
	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/gen/go/assist/v1/assistv1connect"
)

// protocols are the wire protocols every test runs over.
var protocols = []assist.Protocol{assist.Connect, assist.GRPC, assist.GRPCWeb}

// fastRetry keeps tests quick; the behaviour is the same as the defaults'.
var fastRetry = assist.WithRetry(assist.RetryPolicy{InitialBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond})

// fakeChat is a scripted ChatService. Each field, when set, serves its RPC
// and gets the number of the call (1, 2, …), so that a script can fail the
// first attempts and answer a retry.
type fakeChat struct {
	assistv1connect.UnimplementedChatServiceHandler
	send      func(n int, ctx context.Context, req *assistv1.SendRequest) (*assistv1.SendResponse, error)
	subscribe func(n int, ctx context.Context, req *assistv1.SubscribeRequest, stream assistv1connect.ChatServiceSubscribeServerStream) error
	chat      func(n int, ctx context.Context, stream assistv1connect.ChatServiceChatServerStream) error

	mu                       sync.Mutex
	sends, subscribes, chats int
}

func (f *fakeChat) count(n *int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	*n++
	return *n
}

func (f *fakeChat) calls(n *int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *n
}

func (f *fakeChat) Send(ctx context.Context, req *assistv1.SendRequest) (*assistv1.SendResponse, error) {
	return f.send(f.count(&f.sends), ctx, req)
}

func (f *fakeChat) Subscribe(ctx context.Context, req *assistv1.SubscribeRequest, stream assistv1connect.ChatServiceSubscribeServerStream) error {
	return f.subscribe(f.count(&f.subscribes), ctx, req, stream)
}

func (f *fakeChat) Chat(ctx context.Context, stream assistv1connect.ChatServiceChatServerStream) error {
	return f.chat(f.count(&f.chats), ctx, stream)
}

// startFake serves svc over HTTP/1.1 and h2c, as assistd does, and
// returns its URL.
func startFake(t *testing.T, svc assistv1connect.ChatServiceHandler, interceptors ...connect.ServerInterceptor) string {
	t.Helper()
	server := connect.NewServer(interceptors...)
	assistv1connect.RegisterChatServiceHandler(server, svc)
	mux := http.NewServeMux()
	connecthttp.Mount(mux, server)
	hs := httptest.NewUnstartedServer(mux)
	hs.Config.Protocols = new(http.Protocols)
	hs.Config.Protocols.SetHTTP1(true)
	hs.Config.Protocols.SetUnencryptedHTTP2(true)
	hs.Start()
	t.Cleanup(hs.Close)
	return hs.URL
}

// testContext is a failure guard, not a timing assertion.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func message(seq int64, id, text string) *assistv1.SessionEvent {
	return &assistv1.SessionEvent{SessionId: sessionID, Seq: seq, ClientMessageId: id,
		Payload: &assistv1.SessionEvent_Message{Message: &assistv1.ChatMessage{Text: text}}}
}

func typing() *assistv1.SessionEvent {
	return &assistv1.SessionEvent{SessionId: sessionID, Payload: &assistv1.SessionEvent_Typing{Typing: &assistv1.Typing{Active: true}}}
}

func ended(seq int64) *assistv1.SessionEvent {
	return &assistv1.SessionEvent{SessionId: sessionID, Seq: seq, Payload: &assistv1.SessionEvent_SessionEnded{SessionEnded: &assistv1.SessionEnded{}}}
}

const sessionID = "0b7c2a4e-5f0d-4c47-9a36-0d5c7f1e2a10"

// seqs lists the events' seqs (0 for ephemeral ones).
func seqs(events []*assistv1.SessionEvent) []int64 {
	out := make([]int64, len(events))
	for i, ev := range events {
		out[i] = ev.GetSeq()
	}
	return out
}
