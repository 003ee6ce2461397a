package chat

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/failure"
)

// TextOptions say how the chat history reads.
type TextOptions struct {
	// Portal is the portal's name, in the heading; empty to leave it out.
	Portal string
	// Start and End are the session's times; a zero End leaves it out.
	Start, End time.Time
	// Lang is "fr" for French; anything else is English.
	Lang string
	// Location is the reader's time zone. Default UTC.
	Location *time.Location
}

// textStrings is the history's wording in one language.
type textStrings struct {
	title, portal, started, ended, zone         string
	joined, left, transferred, ended2           string
	offered, redeemed, accepted, refused, moved string
	notices                                     map[assistv1.SystemNoticeCode]string
}

var textEnglish = textStrings{
	title: "Chat history", portal: "Portal", started: "Started", ended: "Ended", zone: "Times are in",
	joined: "%s joined", left: "%s left", transferred: "Transferred to %s", ended2: "The session ended",
	offered: "Upgrade to screen sharing offered", redeemed: "The support app connected",
	accepted: "Screen sharing accepted", refused: "Screen sharing refused",
	moved: "The conversation moved to the support app",
	notices: map[assistv1.SystemNoticeCode]string{
		assistv1.SystemNoticeCode_SYSTEM_NOTICE_CODE_WEB_CHAT_STARTED:    "The web chat has started.",
		assistv1.SystemNoticeCode_SYSTEM_NOTICE_CODE_UPGRADE_STARTED:     "The session is being upgraded to screen sharing. Click the link if the download does not start by itself.",
		assistv1.SystemNoticeCode_SYSTEM_NOTICE_CODE_WAITING_FOR_ADVISOR: "Waiting for an advisor.",
	},
}

var textFrench = textStrings{
	title: "Historique de la discussion", portal: "Portail", started: "Début", ended: "Fin", zone: "Heures exprimées en",
	joined: "%s a rejoint la discussion", left: "%s a quitté la discussion", transferred: "Transférée à %s", ended2: "La session est terminée",
	offered: "Passage en partage d'écran proposé", redeemed: "L'application d'assistance est connectée",
	accepted: "Partage d'écran accepté", refused: "Partage d'écran refusé",
	moved: "La conversation continue dans l'application d'assistance",
	notices: map[assistv1.SystemNoticeCode]string{
		assistv1.SystemNoticeCode_SYSTEM_NOTICE_CODE_WEB_CHAT_STARTED:    "Le chat web a commencé.",
		assistv1.SystemNoticeCode_SYSTEM_NOTICE_CODE_UPGRADE_STARTED:     "La session passe en partage d'écran. Cliquez sur le lien si le téléchargement ne démarre pas tout seul.",
		assistv1.SystemNoticeCode_SYSTEM_NOTICE_CODE_WAITING_FOR_ADVISOR: "En attente d'un conseiller.",
	},
}

// FormatText renders the chat history as the customer saves it: a heading
// with the portal and the session's times and zone, then one line per
// message (time, author's name, text; further lines of a message indented)
// and per notice or upgrade step, in the reader's language. The same
// events and options give the same bytes.
func FormatText(events []*assistv1.SessionEvent, o TextOptions) string {
	w := textEnglish
	if o.Lang == "fr" {
		w = textFrench
	}
	loc := o.Location
	if loc == nil {
		loc = time.UTC
	}
	stamp := func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04:05") }
	var b strings.Builder
	b.WriteString(w.title + "\n")
	if o.Portal != "" {
		fmt.Fprintf(&b, "%s: %s\n", w.portal, o.Portal)
	}
	fmt.Fprintf(&b, "%s: %s\n", w.started, stamp(o.Start))
	if !o.End.IsZero() {
		fmt.Fprintf(&b, "%s: %s\n", w.ended, stamp(o.End))
	}
	_, offset := o.Start.In(loc).Zone()
	fmt.Fprintf(&b, "%s %s (UTC%s)\n\n", w.zone, loc.String(), formatOffset(offset))
	for _, ev := range events {
		at := stamp(ev.GetCreateTime().AsTime())
		name := ev.GetAuthor().GetDisplayName()
		line := func(text string) { fmt.Fprintf(&b, "[%s] *** %s\n", at, text) }
		switch p := ev.GetPayload().(type) {
		case *assistv1.SessionEvent_Message:
			text := strings.ReplaceAll(strings.ReplaceAll(p.Message.GetText(), "\r\n", "\n"), "\n", "\n    ")
			fmt.Fprintf(&b, "[%s] %s: %s\n", at, name, text)
		case *assistv1.SessionEvent_SystemNotice:
			if s, ok := w.notices[p.SystemNotice.GetCode()]; ok {
				line(s)
			} else {
				line(p.SystemNotice.GetText())
			}
		case *assistv1.SessionEvent_ParticipantJoined:
			line(fmt.Sprintf(w.joined, p.ParticipantJoined.GetParticipant().GetDisplayName()))
		case *assistv1.SessionEvent_ParticipantLeft:
			line(fmt.Sprintf(w.left, p.ParticipantLeft.GetParticipant().GetDisplayName()))
		case *assistv1.SessionEvent_SessionTransferred:
			line(fmt.Sprintf(w.transferred, p.SessionTransferred.GetToAdvisor().GetDisplayName()))
		case *assistv1.SessionEvent_UpgradeOffered:
			line(w.offered)
		case *assistv1.SessionEvent_OpenerRedeemed:
			line(w.redeemed)
		case *assistv1.SessionEvent_ScreenShareAnswered:
			if p.ScreenShareAnswered.GetAccepted() {
				line(w.accepted)
			} else {
				line(w.refused)
			}
		case *assistv1.SessionEvent_WebChatDisabled:
			line(w.moved)
		case *assistv1.SessionEvent_SessionEnded:
			line(w.ended2)
		}
	}
	return b.String()
}

func formatOffset(seconds int) string {
	sign := "+"
	if seconds < 0 {
		sign, seconds = "-", -seconds
	}
	return fmt.Sprintf("%s%02d:%02d", sign, seconds/3600, seconds%3600/60)
}

// ChatHistory is what "Save the chat history" downloads: the transcript in
// the customer's language and time zone. Only the session's customer (and
// customer app) may save it, and only after the end; advisors read the log
// in the console.
func (s *Service) ChatHistory(ctx context.Context, p *auth.Principal, sessionID uuid.UUID, lang string, loc *time.Location) (*Transcript, error) {
	a, err := s.sessions.Load(ctx, p, sessionID)
	if err != nil {
		return nil, err
	}
	if p.Kind != auth.KindCustomer && p.Kind != auth.KindCustomerApp {
		return nil, failure.PermissionDenied("only the session's customer saves the chat history; advisors read it in the console")
	}
	if assistv1.SessionState(a.Session.State) != assistv1.SessionState_SESSION_STATE_ENDED {
		return nil, failure.FailedPrecondition("the chat history can be saved once the session has ended")
	}
	events, err := s.log.ReadAll(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	return s.render(ctx, a, events, lang, loc)
}
