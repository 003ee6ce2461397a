package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"connectrpc.com/connect/v2"

	"github.com/assist-chat/assist/clients/go/assist"
	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
)

// version is the app's version, set at build time with -ldflags "-X main.version=…".
var version = "dev"

func platform() *assistv1.ClientPlatform {
	os := map[string]assistv1.OperatingSystem{
		"windows": assistv1.OperatingSystem_OPERATING_SYSTEM_WINDOWS,
		"darwin":  assistv1.OperatingSystem_OPERATING_SYSTEM_MACOS,
		"linux":   assistv1.OperatingSystem_OPERATING_SYSTEM_LINUX,
	}[runtime.GOOS]
	return &assistv1.ClientPlatform{
		DeviceType:      assistv1.DeviceType_DEVICE_TYPE_DESKTOP,
		OperatingSystem: os,
		UserAgent:       fmt.Sprintf("assist-customer/%s (%s; %s)", version, runtime.GOOS, runtime.GOARCH),
	}
}

// transient reports whether a call may be tried again.
func transient(err error) bool {
	return connect.CodeOf(err) == connect.CodeUnavailable
}

// retry runs call until it succeeds, fails for good, or tries is reached.
func retry(ctx context.Context, tries int, call func() error) error {
	var err error
	for i := 0; i < tries; i++ {
		if err = call(); err == nil || !transient(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(i+1) * 500 * time.Millisecond):
		}
	}
	return err
}

func runSession(ctx context.Context, o options, token string, u *ui) int {
	server := o.server
	if server == "" {
		var err error
		if server, err = issuer(token); err != nil {
			u.failure("opener", err)
			return exitRefused
		}
	}
	c := assist.New(server)
	u.say("Connecting to %s…", server)

	// Redeeming is single-use: a retry after a lost answer is refused as
	// already used, so only failures to reach the server are retried.
	var res *assistv1.RedeemOpenerResponse
	err := retry(ctx, 5, func() error {
		var err error
		res, err = c.CustomerApp.RedeemOpener(ctx, &assistv1.RedeemOpenerRequest{OpenerToken: token, AppPlatform: platform()})
		return err
	})
	if err != nil {
		if connect.CodeOf(err) == connect.CodeUnauthenticated {
			u.say("This opener cannot be used: %s.\nAsk your advisor to send a new one.", connectMessage(err))
		}
		u.failure("redeem", err)
		if connect.CodeOf(err) == connect.CodeUnauthenticated || connect.CodeOf(err) == connect.CodeInvalidArgument {
			return exitRefused
		}
		return exitFailure
	}
	c.SetToken(res.GetAppToken())
	sess := res.GetSession()
	sid := sess.GetId()
	u.emit(map[string]any{"type": "redeemed", "session_id": sid, "handoff": res.GetHandoff().String(), "server": server, "last_seq": sess.GetLastSeq()})
	u.say("Connected to your support session.")

	accepted := o.accept
	if !o.accept && !o.refuse {
		accepted = u.ask("Your advisor asks to see your screen. Share it?")
	}
	err = retry(ctx, 5, func() error {
		_, err := c.CustomerApp.RespondToScreenShare(ctx, &assistv1.RespondToScreenShareRequest{SessionId: sid, Accepted: accepted})
		return err
	})
	if err != nil && !(connect.CodeOf(err) == connect.CodeFailedPrecondition && strings.Contains(err.Error(), "already answered")) {
		u.failure("screen_share", err)
		return exitFailure
	}
	u.emit(map[string]any{"type": "screen_share", "accepted": accepted})
	if !accepted {
		u.say("You refused to share your screen. Your advisor has been told; the conversation continues in your browser.")
		return exitOK
	}
	chatArea := res.GetHandoff() != assistv1.UpgradeHandoff_UPGRADE_HANDOFF_KEEP_WEB_CHAT_APP_WITHOUT_CHAT
	if chatArea {
		u.say("Screen sharing accepted. The conversation so far:")
	} else {
		u.say("Screen sharing accepted. The conversation continues in your browser; this window shows the session's state.")
	}
	return follow(ctx, c, sid, sess.GetLastSeq(), chatArea, u)
}

// follow shows the session's log (history first, then live) until the
// session ends, and sends what the customer types. The chat stream
// resumes from its cursor after a dropped connection, and a message keeps
// one client message id across its retries.
func follow(ctx context.Context, c *assist.Client, sid string, historyEnd int64, chatArea bool, u *ui) int {
	cc, err := c.OpenChat(ctx, sid, 0)
	if err != nil {
		u.failure("chat", err)
		return exitFailure
	}
	defer func() { _ = cc.Close() }()
	go func() {
		for line := range u.lines {
			text := strings.TrimSpace(line)
			if text == "" {
				continue
			}
			if !chatArea && !u.json {
				u.say("This app has no chat area: please write in your browser.")
				continue
			}
			ack, err := cc.Send(ctx, text)
			if err != nil {
				if errors.Is(err, assist.ErrSessionEnded) || errors.Is(err, assist.ErrClosed) {
					return
				}
				u.emit(map[string]any{"type": "send_failed", "text": text, "code": codeOf(err), "message": connectMessage(err)})
				u.say("Not sent: %s", connectMessage(err))
				continue
			}
			u.emit(map[string]any{"type": "sent", "client_message_id": ack.GetClientMessageId(), "seq": ack.GetSeq()})
		}
	}()
	live := historyEnd == 0
	if live {
		u.emit(map[string]any{"type": "live"})
	}
	for ev := range cc.Events() {
		u.event(ev, chatArea)
		if !live && ev.GetSeq() >= historyEnd {
			live = true
			u.emit(map[string]any{"type": "live"})
			if chatArea {
				u.say("--- Type a message and press Enter to send it. ---")
			}
		}
	}
	if err := cc.Err(); err != nil {
		u.failure("chat", err)
		return exitFailure
	}
	u.emit(map[string]any{"type": "ended"})
	u.say("The session has ended. Thank you!")
	return exitOK
}

func connectMessage(err error) string {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Message()
	}
	return err.Error()
}
