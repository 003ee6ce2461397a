package e2e

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect/v2"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assisttest"
)

// Logging out also closes the streams the token opened before: a revoked
// credential sees nothing more, live as on replays.
func TestLogoutEndsTheStreamsTheTokenOpened(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t, assisttest.WithCredentialCheckInterval(50*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sid, customerToken, advisorToken := env.ActiveSession(t)
	for _, proto := range assisttest.Protocols {
		t.Run(string(proto), func(t *testing.T) {
			// A fresh advisor token per protocol, so each logout is its own.
			token := env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
			advisor := env.Services(proto, token)
			sub, err := advisor.Chat.Subscribe(ctx, &assistv1.SubscribeRequest{SessionId: sid})
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			queue, err := advisor.Session.WatchQueue(ctx, &assistv1.WatchQueueRequest{})
			if err != nil {
				t.Fatal(err)
			}
			defer queue.Close()
			if _, err := queue.Receive(); err != nil { // the snapshot: the stream is open
				t.Fatal(err)
			}
			if _, err := advisor.Auth.Logout(ctx, &assistv1.LogoutRequest{}); err != nil {
				t.Fatal(err)
			}
			if err := e2eStreamEnd(sub.Receive); connect.CodeOf(err) != connect.CodeUnauthenticated {
				t.Fatalf("Subscribe ended with %v, want Unauthenticated", err)
			}
			if err := e2eStreamEnd(queue.Receive); connect.CodeOf(err) != connect.CodeUnauthenticated {
				t.Fatalf("WatchQueue ended with %v, want Unauthenticated", err)
			}
		})
	}
	// Other credentials are untouched: the customer and the first advisor
	// token still chat.
	if _, err := e2eSendText(ctx, env.Services(assisttest.Connect, customerToken).Chat, sid, "after-logout", "still here"); err != nil {
		t.Fatalf("customer send after an advisor's logout: %v", err)
	}
	if _, err := e2eSendText(ctx, env.Services(assisttest.Connect, advisorToken).Chat, sid, "after-logout-adv", "me too"); err != nil {
		t.Fatalf("other advisor token after a logout: %v", err)
	}
}
