package chat_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/chat"
)

func transcriptEvents(start time.Time) []*assistv1.SessionEvent {
	at := func(s int) *timestamppb.Timestamp { return timestamppb.New(start.Add(time.Duration(s) * time.Second)) }
	ada := &assistv1.Participant{Role: assistv1.ParticipantRole_PARTICIPANT_ROLE_CUSTOMER, DisplayName: "Ada"}
	alex := &assistv1.Participant{Role: assistv1.ParticipantRole_PARTICIPANT_ROLE_ADVISOR, DisplayName: "Alex"}
	return []*assistv1.SessionEvent{
		{Seq: 1, CreateTime: at(0), Payload: &assistv1.SessionEvent_ParticipantJoined{ParticipantJoined: &assistv1.ParticipantJoined{Participant: alex}}},
		{Seq: 2, CreateTime: at(1), Payload: &assistv1.SessionEvent_SystemNotice{SystemNotice: &assistv1.SystemNotice{Code: assistv1.SystemNoticeCode_SYSTEM_NOTICE_CODE_WEB_CHAT_STARTED, Text: "Web chat started"}}},
		{Seq: 3, CreateTime: at(2), Author: ada, Payload: &assistv1.SessionEvent_Message{Message: &assistv1.ChatMessage{Text: "Hello\nsecond line"}}},
		{Seq: 4, CreateTime: at(3), Author: alex, Payload: &assistv1.SessionEvent_Message{Message: &assistv1.ChatMessage{Text: "Hi Ada"}}},
		{Seq: 5, CreateTime: at(4), Payload: &assistv1.SessionEvent_UpgradeOffered{UpgradeOffered: &assistv1.UpgradeOffered{OpenerUrl: "/opener/x"}}},
		{Seq: 6, CreateTime: at(5), Payload: &assistv1.SessionEvent_ScreenShareAnswered{ScreenShareAnswered: &assistv1.ScreenShareAnswered{Accepted: false}}},
		{Seq: 7, CreateTime: at(6), Payload: &assistv1.SessionEvent_SessionEnded{SessionEnded: &assistv1.SessionEnded{}}},
	}
}

func TestChatHistoryReadsInTheCustomersLanguageAndTimeZone(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 15, 9, 30, 0, 0, time.UTC)
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	o := chat.TextOptions{Portal: "Demo support", Start: start, End: start.Add(time.Minute), Lang: "fr", Location: paris}
	text := chat.FormatText(transcriptEvents(start), o)
	last := -1
	for _, want := range []string{
		"Historique de la discussion\n", "Portail: Demo support\n", "Début: 2026-01-15 10:30:00\n", "Fin: 2026-01-15 10:31:00\n",
		"Europe/Paris (UTC+01:00)", "[2026-01-15 10:30:00] *** Alex a rejoint la discussion\n", "*** Le chat web a commencé.\n",
		"[2026-01-15 10:30:02] Ada: Hello\n    second line\n", "Alex: Hi Ada\n",
		"*** Passage en partage d'écran proposé\n", "*** Partage d'écran refusé\n", "*** La session est terminée\n",
	} {
		i := strings.Index(text, want)
		if i < last || i < 0 {
			t.Fatalf("the French history lacks %q, or has it out of order:\n%s", want, text)
		}
		last = i
	}
	if again := chat.FormatText(transcriptEvents(start), o); again != text {
		t.Fatalf("the same log gave different bytes:\n%s\n---\n%s", text, again)
	}
	en := chat.FormatText(transcriptEvents(start), chat.TextOptions{Start: start})
	for _, want := range []string{"Chat history\n", "Started: 2026-01-15 09:30:00\n", "UTC (UTC+00:00)", "Alex joined", "The session ended"} {
		if !strings.Contains(en, want) {
			t.Fatalf("the English history in UTC lacks %q:\n%s", want, en)
		}
	}
}
