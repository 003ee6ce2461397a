package assist_test

import (
	"context"
	"fmt"
	"log"

	"github.com/assist-chat/assist/clients/go/assist"
	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
)

// An integrator follows a session's log; after a restart it passes the
// last seq it stored and gets exactly what it missed.
func ExampleClient_Follow() {
	c := assist.New("https://assist.example.com", assist.WithToken("ast_key_…"))
	var lastSeq int64 // load it from your store
	err := c.Follow(context.Background(), "0b7c2a4e-5f0d-4c47-9a36-0d5c7f1e2a10", lastSeq, func(ev *assistv1.SessionEvent) error {
		if ev.GetSeq() == 0 {
			return nil // typing: not stored, nothing to save
		}
		fmt.Println(ev.GetSeq(), ev.GetMessage().GetText())
		lastSeq = ev.GetSeq() // save it with the event, in one transaction
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
}

// A native app chats over one bidi stream, which survives network changes.
func ExampleClient_OpenChat() {
	ctx := context.Background()
	c := assist.New("https://assist.example.com", assist.WithToken("customer-app-token"))
	conn, err := c.OpenChat(ctx, "0b7c2a4e-5f0d-4c47-9a36-0d5c7f1e2a10", 0)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	go func() {
		if _, err := conn.Send(ctx, "Hello!"); err != nil {
			log.Print(err)
		}
	}()
	for ev := range conn.Events() {
		fmt.Println(ev.GetAuthor().GetDisplayName(), ev.GetMessage().GetText())
	}
	if err := conn.Err(); err != nil {
		log.Print(err)
	}
}

// An advisor logs in, then uses the access token for the calls after.
func ExampleClient_SetToken() {
	ctx := context.Background()
	c := assist.New("https://assist.example.com")
	res, err := c.Auth.Login(ctx, &assistv1.LoginRequest{Email: "ada@example.com", Password: "…"})
	if err != nil {
		log.Fatal(err)
	}
	c.SetToken(res.GetAccessToken())
}
