package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	"connectrpc.com/connect/v2"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
)

// ui is the app's terminal: plain lines for a person, JSON lines for
// scripts and tests (non-interactive mode).
type ui struct {
	json   bool
	out    io.Writer
	errOut io.Writer
	mu     sync.Mutex
	lines  chan string // stdin, a line at a time; closed at EOF
}

func newUI(o options, stdin io.Reader, stdout, stderr io.Writer) *ui {
	u := &ui{json: o.accept || o.refuse, out: stdout, errOut: stderr, lines: make(chan string)}
	go func() {
		defer close(u.lines)
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 64<<10), 64<<10)
		for sc.Scan() {
			u.lines <- sc.Text()
		}
	}()
	return u
}

// emit writes one JSON line (non-interactive mode only).
func (u *ui) emit(v map[string]any) {
	if !u.json {
		return
	}
	b, _ := json.Marshal(v)
	u.mu.Lock()
	defer u.mu.Unlock()
	_, _ = u.out.Write(append(b, '\n'))
}

// say writes a line for a person (interactive mode only).
func (u *ui) say(format string, args ...any) {
	if u.json {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	fmt.Fprintf(u.out, format+"\n", args...)
}

// failure reports an error that ends the app.
func (u *ui) failure(what string, err error) {
	u.emit(map[string]any{"type": "error", "what": what, "code": codeOf(err), "message": err.Error()})
	if !u.json {
		fmt.Fprintf(u.errOut, "assist-customer: %v\n", err)
	}
}

// ask asks a yes/no question on the terminal; EOF means no.
func (u *ui) ask(question string) bool {
	u.say("%s [y/N]", question)
	line, ok := <-u.lines
	if !ok {
		return false
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes", "o", "oui", "ok":
		return true
	}
	return false
}

func codeOf(err error) string {
	if c := connect.CodeOf(err); c != connect.CodeUnknown {
		return c.String()
	}
	return "unknown"
}

// event shows one event of the session's log.
func (u *ui) event(ev *assistv1.SessionEvent, chatArea bool) {
	kind, text := describe(ev)
	if kind == "typing" {
		return
	}
	u.emit(map[string]any{
		"type": "event", "seq": ev.GetSeq(), "kind": kind, "text": text,
		"role": ev.GetAuthor().GetRole().String(), "author": ev.GetAuthor().GetDisplayName(),
		"client_message_id": ev.GetClientMessageId(),
	})
	if u.json || text == "" {
		return
	}
	at := ev.GetCreateTime().AsTime().Local().Format("15:04")
	switch kind {
	case "message":
		if chatArea {
			u.say("[%s] %s: %s", at, ev.GetAuthor().GetDisplayName(), text)
		}
	default:
		u.say("[%s] *** %s", at, text)
	}
}

// describe names an event's kind and gives its text for a person.
func describe(ev *assistv1.SessionEvent) (kind, text string) {
	switch {
	case ev.GetMessage() != nil:
		return "message", ev.GetMessage().GetText()
	case ev.GetSystemNotice() != nil:
		return "notice", ev.GetSystemNotice().GetText()
	case ev.GetParticipantJoined() != nil:
		return "joined", ev.GetParticipantJoined().GetParticipant().GetDisplayName() + " joined"
	case ev.GetParticipantLeft() != nil:
		return "left", ev.GetParticipantLeft().GetParticipant().GetDisplayName() + " left"
	case ev.GetStateChanged() != nil:
		sc := ev.GetStateChanged()
		return "state_changed", fmt.Sprintf("Session %s (%s)", strings.ToLower(strings.TrimPrefix(sc.GetToState().String(), "SESSION_STATE_")), strings.ToLower(strings.TrimPrefix(sc.GetKind().String(), "SESSION_KIND_")))
	case ev.GetUpgradeOffered() != nil:
		return "upgrade_offered", ""
	case ev.GetOpenerRedeemed() != nil:
		return "opener_redeemed", "The customer app connected"
	case ev.GetScreenShareAnswered() != nil:
		if ev.GetScreenShareAnswered().GetAccepted() {
			return "screen_share_answered", "Screen sharing accepted"
		}
		return "screen_share_answered", "Screen sharing refused"
	case ev.GetWebChatDisabled() != nil:
		return "web_chat_disabled", ev.GetWebChatDisabled().GetReason()
	case ev.GetSessionTransferred() != nil:
		return "transferred", "Transferred to " + ev.GetSessionTransferred().GetToAdvisor().GetDisplayName()
	case ev.GetSessionEnded() != nil:
		return "ended", "The session has ended. You can close this window."
	case ev.GetTyping() != nil:
		return "typing", ""
	}
	return "other", ""
}
