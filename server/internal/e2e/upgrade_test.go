package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assisttest"
)

// An advisor upgrades a web chat; the customer downloads the opener, runs
// the real customer app, accepts to share the screen, and the conversation
// continues as the account's handoff setting says. Every surface (the
// advisor's stream, the customer's web chat stream, the app) shows the same
// ordered log, each message once, including those sent during the download.
func TestUpgradeHandsTheConversationOverAsTheAccountSays(t *testing.T) {
	t.Parallel()
	for _, handoff := range []assistv1.UpgradeHandoff{
		assistv1.UpgradeHandoff_UPGRADE_HANDOFF_TRANSFER_TO_APP,
		assistv1.UpgradeHandoff_UPGRADE_HANDOFF_KEEP_WEB_CHAT_APP_WITHOUT_CHAT,
		assistv1.UpgradeHandoff_UPGRADE_HANDOFF_KEEP_WEB_CHAT_APP_WITH_CHAT,
	} {
		t.Run(handoff.String(), func(t *testing.T) {
			t.Parallel()
			upgradeHandoff(t, handoff)
		})
	}
}

func upgradeHandoff(t *testing.T, handoff assistv1.UpgradeHandoff) {
	env := upgradeEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	upgradeSettings(t, env, &assistv1.AccountSettings{UpgradeHandoff: handoff, Language: "fr"}, "upgrade_handoff", "language")
	advisorToken := env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	sid, customerToken := upgradeActive(t, env, advisorToken, "Ada")
	advisor := env.Services(assisttest.Connect, advisorToken)
	customer := env.Services(assisttest.Connect, customerToken)
	advisorLog := upgradeFollow(t, advisor.Chat, sid)
	customerLog := upgradeFollow(t, customer.Chat, sid)

	var want []string // every message, in the order sent
	say := func(c *assisttest.Clients, text string) {
		t.Helper()
		if _, err := e2eSendText(ctx, c.Chat, sid, uuid.NewString(), text); err != nil {
			t.Fatalf("send %q: %v", text, err)
		}
		want = append(want, text)
	}
	say(customer, "my printer is broken")
	say(advisor, "let me look at your screen")

	offer := upgradeOffer(t, env, advisorToken, sid)
	if offer.GetUpgradeOffered().GetHandoff() != handoff {
		t.Fatalf("the offer carries handoff %v, want the account's %v", offer.GetUpgradeOffered().GetHandoff(), handoff)
	}
	openerURL := offer.GetUpgradeOffered().GetOpenerUrl()
	say(customer, "downloading now")
	say(advisor, "take your time")
	path := upgradeDownload(t, openerURL, t.TempDir())
	say(customer, "it is downloaded")

	app := upgradeRunApp(t, path, "--accept-screen-share")
	redeemed := app.waitFor("the redemption", func(l appLine) bool { return l.Type == "redeemed" })
	if redeemed.SessionID != sid || redeemed.Handoff != handoff.String() {
		t.Fatalf("the app redeemed %+v, want session %s with handoff %v", redeemed, sid, handoff)
	}
	app.waitFor("the accepted screen sharing", func(l appLine) bool { return l.Type == "screen_share" && l.Accepted })
	app.waitFor("the end of the history", func(l appLine) bool { return l.Type == "live" })

	app.send("hello from the app")
	switch handoff {
	case assistv1.UpgradeHandoff_UPGRADE_HANDOFF_KEEP_WEB_CHAT_APP_WITHOUT_CHAT:
		l := app.waitFor("the refused send", func(l appLine) bool { return l.Type == "send_failed" || l.Type == "sent" })
		if l.Type != "send_failed" || l.Code != connect.CodePermissionDenied.String() {
			t.Fatalf("a send from the app without chat area gave %+v, want send_failed with %v", l, connect.CodePermissionDenied)
		}
		say(customer, "still here in the browser")
	default:
		l := app.waitFor("the stored send", func(l appLine) bool { return l.Type == "send_failed" || l.Type == "sent" })
		if l.Type != "sent" || l.Seq == 0 {
			t.Fatalf("a send from the app gave %+v, want it stored", l)
		}
		want = append(want, "hello from the app")
	}
	_, err := e2eSendText(ctx, customer.Chat, sid, uuid.NewString(), "and from the browser?")
	if handoff == assistv1.UpgradeHandoff_UPGRADE_HANDOFF_TRANSFER_TO_APP {
		e2eWantCode(t, err, connect.CodeFailedPrecondition, "a web chat send after the transfer to the app")
		if err != nil && !strings.Contains(err.Error(), "moved to the customer app") {
			t.Errorf("the refusal says %q, want it to say the conversation moved to the customer app", err)
		}
	} else {
		if err != nil {
			t.Fatalf("a web chat send with %v: %v", handoff, err)
		}
		want = append(want, "and from the browser?")
	}
	say(advisor, "all fixed")
	app.waitFor("the advisor's last message", func(l appLine) bool { return l.Type == "event" && l.Text == "all fixed" })

	if _, err := advisor.Session.EndSession(ctx, &assistv1.EndSessionRequest{SessionId: sid, Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED}); err != nil {
		t.Fatalf("end: %v", err)
	}
	if code := app.wait(); code != 0 {
		t.Fatalf("the app exited with %d after the end, want 0; stderr: %s", code, app.stderr.String())
	}

	advisorEvents, customerEvents := advisorLog(), customerLog()
	surfaces := map[string][]*assistv1.SessionEvent{"advisor": advisorEvents, "customer web chat": customerEvents}
	for name, events := range surfaces {
		var seqs []int64
		var texts []string
		for _, ev := range events {
			seqs = append(seqs, ev.GetSeq())
			if m := ev.GetMessage(); m != nil {
				texts = append(texts, m.GetText())
			}
		}
		got := upgradeSeqs(t, name, seqs, texts)
		if !slices.Equal(got, want) {
			t.Errorf("%s shows messages %q, want %q", name, got, want)
		}
		if len(events) != len(advisorEvents) {
			t.Errorf("%s shows %d events, the advisor %d", name, len(events), len(advisorEvents))
		}
	}
	var appSeqs []int64
	var appTexts []string
	for _, l := range app.lines_() {
		if l.Type == "event" {
			appSeqs = append(appSeqs, l.Seq)
			if l.Kind == "message" {
				appTexts = append(appTexts, l.Text)
			}
		}
	}
	if got := upgradeSeqs(t, "customer app", appSeqs, appTexts); !slices.Equal(got, want) {
		t.Errorf("the customer app shows messages %q, want %q", got, want)
	}
	if len(appSeqs) != len(advisorEvents) {
		t.Errorf("the customer app shows %d events, the advisor %d", len(appSeqs), len(advisorEvents))
	}

	// The upgrade's steps, in the log, once each.
	count := map[string]int{}
	for _, ev := range advisorEvents {
		switch {
		case ev.GetUpgradeOffered() != nil:
			count["offered"]++
		case ev.GetSystemNotice().GetCode() == assistv1.SystemNoticeCode_SYSTEM_NOTICE_CODE_UPGRADE_STARTED:
			count["notice"]++
			if !strings.Contains(ev.GetSystemNotice().GetText(), "téléchargement") || !strings.Contains(ev.GetSystemNotice().GetText(), openerURL) {
				t.Errorf("the upgrade notice reads %q, want French (the account's language) with the link", ev.GetSystemNotice().GetText())
			}
		case ev.GetOpenerRedeemed() != nil:
			count["redeemed"]++
		case ev.GetScreenShareAnswered().GetAccepted():
			count["accepted"]++
		case ev.GetStateChanged().GetKind() == assistv1.SessionKind_SESSION_KIND_STANDARD:
			count["standard"]++
		case ev.GetWebChatDisabled() != nil:
			count["disabled"]++
			if !strings.Contains(ev.GetWebChatDisabled().GetReason(), "application client") {
				t.Errorf("WebChatDisabled reads %q, want the French text", ev.GetWebChatDisabled().GetReason())
			}
		}
	}
	wantCount := map[string]int{"offered": 1, "notice": 1, "redeemed": 1, "accepted": 1, "standard": 1}
	if handoff == assistv1.UpgradeHandoff_UPGRADE_HANDOFF_TRANSFER_TO_APP {
		wantCount["disabled"] = 1
	}
	for k, n := range wantCount {
		if count[k] != n {
			t.Errorf("the log holds %d %s events, want %d (all: %v)", count[k], k, n, count)
		}
	}
	if count["disabled"] != wantCount["disabled"] {
		t.Errorf("the log holds %d WebChatDisabled events, want %d", count["disabled"], wantCount["disabled"])
	}

	// The customer token still reads the transcript after the end.
	tr, err := customer.Chat.GetTranscript(ctx, &assistv1.GetTranscriptRequest{SessionId: sid})
	if err != nil {
		t.Fatalf("the customer reads the transcript after the upgrade: %v", err)
	}
	if !strings.Contains(tr.GetText(), "all fixed") {
		t.Errorf("the transcript misses the last message:\n%s", tr.GetText())
	}
	s, err := advisor.Session.GetSession(ctx, &assistv1.GetSessionRequest{SessionId: sid})
	if err != nil {
		t.Fatal(err)
	}
	if s.GetSession().GetKind() != assistv1.SessionKind_SESSION_KIND_STANDARD || s.GetSession().GetUpgradeState() != assistv1.UpgradeState_UPGRADE_STATE_SCREEN_SHARE_ACCEPTED {
		t.Errorf("after the upgrade the session is %v / %v, want standard with screen sharing accepted", s.GetSession().GetKind(), s.GetSession().GetUpgradeState())
	}
}
