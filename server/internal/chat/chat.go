// Package chat holds the rules of the conversation in a session: who may
// send, read and follow its log, and how the transcript reads.
package chat

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/sessionlog"
	"github.com/assist-chat/assist/server/internal/sessions"
	"github.com/assist-chat/assist/server/internal/upgrade"
)

// Service applies the chat rules over the session log.
type Service struct {
	log      *sessionlog.Log
	sessions *sessions.Service
}

// NewService returns the chat rules.
func NewService(l *sessionlog.Log, s *sessions.Service) *Service {
	return &Service{log: l, sessions: s}
}

// writable checks that p may write in the session. The session's end is
// not checked here: the log refuses new messages to an ended session under
// its lock, after finding retries of messages stored before the end.
func (s *Service) writable(ctx context.Context, p *auth.Principal, sessionID uuid.UUID) (*sessions.Access, error) {
	a, err := s.sessions.LoadToWrite(ctx, p, sessionID)
	if err != nil {
		return nil, err
	}
	if !a.Write {
		if p.Kind == auth.KindAdvisor {
			return nil, failure.PermissionDenied("pick the session up (or be invited) before chatting in it")
		}
		return nil, failure.PermissionDenied("this credential may only read the session")
	}
	if err := upgrade.MaySend(p, a.Session); err != nil {
		return nil, err
	}
	return a, nil
}

// Send stores a chat message, acknowledging only after commit. A retry with
// the same client message id returns the first stored event and writes
// nothing.
func (s *Service) Send(ctx context.Context, p *auth.Principal, sessionID uuid.UUID, clientMessageID, text string) (*assistv1.SessionEvent, error) {
	if strings.TrimFunc(text, unicode.IsSpace) == "" {
		return nil, failure.InvalidArgument("text", "must not be only blanks")
	}
	if _, err := s.writable(ctx, p, sessionID); err != nil {
		return nil, err
	}
	ev, _, err := s.log.SendMessage(ctx, &assistv1.SessionEvent{
		SessionId:       sessionID.String(),
		Author:          p.Participant(),
		ClientMessageId: clientMessageID,
		Payload:         &assistv1.SessionEvent_Message{Message: &assistv1.ChatMessage{Text: text}},
	})
	return ev, err
}

// Typing delivers a typing signal live; it is never stored.
func (s *Service) Typing(ctx context.Context, p *auth.Principal, sessionID uuid.UUID, active bool) (*assistv1.SessionEvent, error) {
	a, err := s.writable(ctx, p, sessionID)
	if err != nil {
		return nil, err
	}
	if assistv1.SessionState(a.Session.State) == assistv1.SessionState_SESSION_STATE_ENDED {
		return nil, failure.FailedPrecondition("the session has ended")
	}
	ev := &assistv1.SessionEvent{
		SessionId: sessionID.String(),
		Author:    p.Participant(),
		Payload:   &assistv1.SessionEvent_Typing{Typing: &assistv1.Typing{Active: active}},
	}
	if err := s.log.PublishEphemeral(ctx, ev); err != nil {
		return nil, err
	}
	return ev, nil
}

// Reader is where Subscribe writes: Send may hold events back until Flush
// (see sessionlog.Reader).
type Reader = sessionlog.Reader

// ReaderFuncs is a Reader made of two functions.
type ReaderFuncs = sessionlog.ReaderFuncs

// Subscribe sends the session's log after afterSeq, then live events,
// until the session ends or ctx does. opened, if not nil, runs once the
// caller is authorized, before any event: streams use it to send their
// headers, so a client opening at the end of the log is not left waiting.
func (s *Service) Subscribe(ctx context.Context, p *auth.Principal, sessionID uuid.UUID, afterSeq int64, opened func() error, r Reader) error {
	a, err := sessionlog.OnFreshStack(func() (*sessions.Access, error) { return s.sessions.Load(ctx, p, sessionID) })
	if err != nil {
		return err
	}
	if afterSeq > a.Session.LastSeq {
		return failure.InvalidArgument("after_seq", "is beyond the end of the log (last seq %d)", a.Session.LastSeq)
	}
	if assistv1.SessionState(a.Session.State) == assistv1.SessionState_SESSION_STATE_ENDED && afterSeq == a.Session.LastSeq {
		// The reader already has the SessionEnded event and nothing can
		// follow it: finish now instead of waiting forever.
		return nil
	}
	if opened != nil {
		if err := opened(); err != nil {
			return err
		}
	}
	return s.log.Subscribe(ctx, sessionID, afterSeq, r)
}

// Transcript is a session's chat log, as events and as plain text.
type Transcript struct {
	Events   []*assistv1.SessionEvent
	Text     string
	FileName string
}

// GetTranscript returns the stored log of a session the caller may read.
func (s *Service) GetTranscript(ctx context.Context, p *auth.Principal, sessionID uuid.UUID) (*Transcript, error) {
	a, err := s.sessions.Load(ctx, p, sessionID)
	if err != nil {
		return nil, err
	}
	events, err := s.log.ReadAll(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	return s.render(ctx, a, events, "en", time.UTC)
}

// render writes the transcript of a's session in lang, with times in loc.
func (s *Service) render(ctx context.Context, a *sessions.Access, events []*assistv1.SessionEvent, lang string, loc *time.Location) (*Transcript, error) {
	portal, err := s.sessions.PortalName(ctx, a.Session.PortalID)
	if err != nil {
		return nil, err
	}
	o := TextOptions{Portal: portal, Start: a.Session.CreateTime, Lang: lang, Location: loc}
	if a.Session.EndTime != nil {
		o.End = *a.Session.EndTime
	}
	return &Transcript{
		Events:   events,
		Text:     FormatText(events, o),
		FileName: fmt.Sprintf("chat-history-%s-%s.txt", a.Session.CreateTime.In(loc).Format("20060102-1504"), a.Session.ID.String()[:8]),
	}, nil
}
