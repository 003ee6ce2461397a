package assist_test

import (
	"context"
	"sync"
	"testing"

	"connectrpc.com/connect/v2"

	"github.com/assist-chat/assist/clients/go/assist"
	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
)

func TestClientSendsItsTokenAndSetTokenReplacesIt(t *testing.T) {
	t.Parallel()
	for _, p := range protocols {
		t.Run(p.String(), func(t *testing.T) {
			var mu sync.Mutex
			var headers []string
			record := func(next connect.ServerFunc) connect.ServerFunc {
				return func(ctx context.Context, spec connect.Spec, stream connect.ServerStream) error {
					info, _ := connect.CallInfoForServerContext(ctx)
					mu.Lock()
					headers = append(headers, info.RequestHeader().Get("Authorization"))
					mu.Unlock()
					return next(ctx, spec, stream)
				}
			}
			url := startFake(t, &fakeChat{send: func(int, context.Context, *assistv1.SendRequest) (*assistv1.SendResponse, error) {
				return &assistv1.SendResponse{}, nil
			}}, record)
			ctx := testContext(t)

			anonymous := assist.New(url, assist.WithProtocol(p))
			if _, err := anonymous.SendMessage(ctx, sessionID, "hi"); err != nil {
				t.Fatal(err)
			}
			c := assist.New(url, assist.WithProtocol(p), assist.WithToken("first"))
			if _, err := c.SendMessage(ctx, sessionID, "hi"); err != nil {
				t.Fatal(err)
			}
			c.SetToken("second")
			if _, err := c.Chat.Send(ctx, &assistv1.SendRequest{SessionId: sessionID}); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			want := []string{"", "Bearer first", "Bearer second"}
			if len(headers) != len(want) {
				t.Fatalf("Authorization headers %q, want %q", headers, want)
			}
			for i := range want {
				if headers[i] != want[i] {
					t.Fatalf("Authorization headers %q, want %q", headers, want)
				}
			}
		})
	}
}
