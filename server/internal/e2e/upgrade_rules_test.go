package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assisttest"
)

// Only an active web chat can be upgraded: FastChat, waiting, ended,
// already upgrading and standard sessions are refused with
// FailedPrecondition and nothing written. A second "Yes" while the offer
// is live returns that offer and writes nothing.
func TestUpgradeRefusesEverySessionThatIsNotAnActiveWebChat(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	advisorToken := env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	advisor := env.Services(assisttest.Connect, advisorToken)
	conn := e2eDB(t, env.DatabaseURL)
	upgrade := func(sid string) (*assistv1.UpgradeSessionResponse, error) {
		return advisor.Session.UpgradeSession(ctx, &assistv1.UpgradeSessionRequest{SessionId: sid})
	}
	refused := func(what, sid string) {
		t.Helper()
		before := e2eCountRows(t, conn)
		_, err := upgrade(sid)
		e2eWantCode(t, err, connect.CodeFailedPrecondition, "upgrading "+what)
		if after := e2eCountRows(t, conn); after != before {
			t.Errorf("upgrading %s wrote rows: %+v → %+v", what, before, after)
		}
	}

	// FastChat.
	fast, err := env.Services(assisttest.Connect, "").Portal.StartSession(ctx, &assistv1.StartSessionRequest{
		PortalSlug: assisttest.PortalSlug, Customer: &assistv1.CustomerInfo{DisplayName: "Fay"}, FastChat: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := advisor.Session.PickUpSession(ctx, &assistv1.PickUpSessionRequest{SessionId: fast.GetSession().GetId()}); err != nil {
		t.Fatal(err)
	}
	refused("a FastChat session", fast.GetSession().GetId())

	// Waiting.
	waiting, _ := env.StartSession(t, "Walt")
	refused("a waiting session", waiting.GetId())

	// Ended.
	ended, _ := upgradeActive(t, env, advisorToken, "Ed")
	if _, err := advisor.Session.EndSession(ctx, &assistv1.EndSessionRequest{SessionId: ended, Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED}); err != nil {
		t.Fatal(err)
	}
	refused("an ended session", ended)

	// Double "Yes": the same offer, nothing written.
	sid, _ := upgradeActive(t, env, advisorToken, "Ada")
	first, err := upgrade(sid)
	if err != nil {
		t.Fatal(err)
	}
	if first.GetSession().GetUpgradeState() != assistv1.UpgradeState_UPGRADE_STATE_OFFERED {
		t.Errorf("after the upgrade the session is %v, want offered", first.GetSession().GetUpgradeState())
	}
	before := e2eCountRows(t, conn)
	second, err := upgrade(sid)
	if err != nil {
		t.Fatalf("a second Yes: %v", err)
	}
	if !proto.Equal(second.GetUpgradeOffered(), first.GetUpgradeOffered()) {
		t.Errorf("a second Yes returned offer %v, want the first one %v", second.GetUpgradeOffered(), first.GetUpgradeOffered())
	}
	if after := e2eCountRows(t, conn); after != before {
		t.Errorf("a second Yes wrote rows: %+v → %+v", before, after)
	}

	// Already upgrading: the app redeemed the opener.
	app := env.Services(assisttest.Connect, "").CustomerApp
	red, err := app.RedeemOpener(ctx, &assistv1.RedeemOpenerRequest{OpenerToken: upgradeToken(t, first.GetUpgradeOffered().GetUpgradeOffered().GetOpenerUrl())})
	if err != nil {
		t.Fatal(err)
	}
	refused("a session whose app is connected", sid)

	// Refused screen sharing: the session stays a web chat, the app has no
	// chat area, and the advisor may upgrade again.
	appClient := env.Services(assisttest.Connect, red.GetAppToken())
	if _, err := appClient.CustomerApp.RespondToScreenShare(ctx, &assistv1.RespondToScreenShareRequest{SessionId: sid, Accepted: false}); err != nil {
		t.Fatal(err)
	}
	_, err = appClient.CustomerApp.RespondToScreenShare(ctx, &assistv1.RespondToScreenShareRequest{SessionId: sid, Accepted: true})
	e2eWantCode(t, err, connect.CodeFailedPrecondition, "answering the screen-sharing request twice")
	_, err = e2eSendText(ctx, appClient.Chat, sid, uuid.NewString(), "hi")
	e2eWantCode(t, err, connect.CodePermissionDenied, "an app send after a refused screen sharing")
	again, err := upgrade(sid)
	if err != nil {
		t.Fatalf("upgrading again after a refusal: %v", err)
	}
	if again.GetUpgradeOffered().GetSeq() == first.GetUpgradeOffered().GetSeq() {
		t.Errorf("upgrading after a refusal returned the old offer")
	}
	red2, err := app.RedeemOpener(ctx, &assistv1.RedeemOpenerRequest{OpenerToken: upgradeToken(t, again.GetUpgradeOffered().GetUpgradeOffered().GetOpenerUrl())})
	if err != nil {
		t.Fatalf("redeem the second opener: %v", err)
	}
	// Accepted this time: the session is standard, and upgrading it is refused.
	if _, err := env.Services(assisttest.Connect, red2.GetAppToken()).CustomerApp.RespondToScreenShare(ctx, &assistv1.RespondToScreenShareRequest{SessionId: sid, Accepted: true}); err != nil {
		t.Fatal(err)
	}
	refused("a standard session", sid)
}

// With web chat disabled, a session starts as a standard session: the
// StartSession response carries the opener link, and the real customer app
// redeems it while the session waits, then chats once it is picked up.
func TestWebChatDisabledStartsAStandardSessionWithTheOpener(t *testing.T) {
	t.Parallel()
	env := upgradeEnv(t)
	upgradeSettings(t, env, &assistv1.AccountSettings{WebChatEnabled: false}, "web_chat_enabled")
	res, customerToken := upgradeStart(t, env, "Ada")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if res.GetSession().GetKind() != assistv1.SessionKind_SESSION_KIND_STANDARD || res.GetOpenerUrl() == "" {
		t.Fatalf("StartSession with web chat disabled gave kind %v and opener link %q, want standard with a link", res.GetSession().GetKind(), res.GetOpenerUrl())
	}
	sid := res.GetSession().GetId()
	app := upgradeRunApp(t, upgradeDownload(t, res.GetOpenerUrl(), t.TempDir()), "--accept-screen-share")
	if l := app.waitFor("the redemption", func(l appLine) bool { return l.Type == "redeemed" }); l.Handoff != assistv1.UpgradeHandoff_UPGRADE_HANDOFF_TRANSFER_TO_APP.String() {
		t.Errorf("the app of a standard session got handoff %s, want the app to carry the chat", l.Handoff)
	}
	app.waitFor("the end of the history", func(l appLine) bool { return l.Type == "live" })

	advisorToken := env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	advisor := env.Services(assisttest.Connect, advisorToken)
	if _, err := advisor.Session.PickUpSession(ctx, &assistv1.PickUpSessionRequest{SessionId: sid}); err != nil {
		t.Fatal(err)
	}
	if _, err := e2eSendText(ctx, advisor.Chat, sid, uuid.NewString(), "hello, I see your screen"); err != nil {
		t.Fatal(err)
	}
	app.waitFor("the advisor's message", func(l appLine) bool { return l.Type == "event" && l.Text == "hello, I see your screen" })
	app.send("thanks!")
	app.waitFor("the stored send", func(l appLine) bool { return l.Type == "sent" })
	_, err := e2eSendText(ctx, env.Services(assisttest.Connect, customerToken).Chat, sid, uuid.NewString(), "from the browser")
	e2eWantCode(t, err, connect.CodeFailedPrecondition, "a browser send once the app carries the conversation")
	if _, err := advisor.Session.UpgradeSession(ctx, &assistv1.UpgradeSessionRequest{SessionId: sid}); connect.CodeOf(err) != connect.CodeFailedPrecondition {
		t.Errorf("upgrading a standard session: %v, want FailedPrecondition", err)
	}
	if _, err := advisor.Session.EndSession(ctx, &assistv1.EndSessionRequest{SessionId: sid, Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED}); err != nil {
		t.Fatal(err)
	}
	if code := app.wait(); code != 0 {
		t.Errorf("the app exited with %d, want 0", code)
	}
}

// Only the session's lead advisor may upgrade it; an app token reaches its
// own session only; only the app answers the screen-sharing request; only
// admins read and change account settings.
func TestUpgradeAuthorization(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	advisorToken := env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	advisor2Token := env.Login(t, assisttest.Advisor2Email, assisttest.Advisor2Password)
	adminToken := env.Login(t, assisttest.AdminEmail, assisttest.AdminPassword)
	sid, customerToken := upgradeActive(t, env, advisorToken, "Ada")
	other, _ := upgradeActive(t, env, advisorToken, "Bob")
	conn := e2eDB(t, env.DatabaseURL)
	up := func(token, id string) error {
		_, err := env.Services(assisttest.Connect, token).Session.UpgradeSession(ctx, &assistv1.UpgradeSessionRequest{SessionId: id})
		return err
	}
	before := e2eCountRows(t, conn)
	e2eWantCode(t, up(customerToken, sid), connect.CodePermissionDenied, "the customer upgrading")
	e2eWantCode(t, up(advisor2Token, sid), connect.CodeNotFound, "an advisor outside the session upgrading")
	if after := e2eCountRows(t, conn); after != before {
		t.Fatalf("refused upgrades wrote rows: %+v, then %+v", before, after)
	}
	// An invited advisor (the API cannot invite yet: a fixture row).
	if _, err := conn.Exec(ctx, "INSERT INTO session_advisors (session_id, advisor_id, lead) SELECT $1, id, false FROM advisors WHERE email = $2", sid, assisttest.Advisor2Email); err != nil {
		t.Fatal(err)
	}
	before = e2eCountRows(t, conn)
	e2eWantCode(t, up(advisor2Token, sid), connect.CodePermissionDenied, "an invited advisor upgrading")
	e2eWantCode(t, up("", sid), connect.CodeUnauthenticated, "an anonymous upgrade")
	if after := e2eCountRows(t, conn); after != before {
		t.Errorf("refused upgrades wrote rows: %+v → %+v", before, after)
	}

	offer := upgradeOffer(t, env, advisorToken, sid)
	red, err := env.Services(assisttest.Connect, "").CustomerApp.RedeemOpener(ctx, &assistv1.RedeemOpenerRequest{OpenerToken: upgradeToken(t, offer.GetUpgradeOffered().GetOpenerUrl())})
	if err != nil {
		t.Fatal(err)
	}
	app := env.Services(assisttest.Connect, red.GetAppToken())
	_, err = app.CustomerApp.RespondToScreenShare(ctx, &assistv1.RespondToScreenShareRequest{SessionId: other, Accepted: true})
	e2eWantCode(t, err, connect.CodeNotFound, "an app answering for another session")
	e2eWantCode(t, e2eSubscribeFirstError(ctx, app.Chat, &assistv1.SubscribeRequest{SessionId: other}), connect.CodeNotFound, "an app reading another session")
	_, err = e2eSendText(ctx, app.Chat, other, uuid.NewString(), "hi")
	e2eWantCode(t, err, connect.CodeNotFound, "an app writing to another session")
	e2eWantCode(t, up(red.GetAppToken(), sid), connect.CodePermissionDenied, "the app upgrading")
	for who, token := range map[string]string{"the customer": customerToken, "the lead advisor": advisorToken} {
		_, err := env.Services(assisttest.Connect, token).CustomerApp.RespondToScreenShare(ctx, &assistv1.RespondToScreenShareRequest{SessionId: sid, Accepted: true})
		e2eWantCode(t, err, connect.CodePermissionDenied, who+" answering the screen-sharing request")
	}
	_, err = app.CustomerApp.RespondToScreenShare(ctx, &assistv1.RespondToScreenShareRequest{SessionId: sid, Accepted: true})
	if err != nil {
		t.Fatalf("the app answering for its session: %v", err)
	}

	for who, token := range map[string]string{"an advisor": advisorToken, "the customer": customerToken, "the app": red.GetAppToken()} {
		c := env.Services(assisttest.Connect, token).Admin
		_, err := c.GetAccountSettings(ctx, &assistv1.GetAccountSettingsRequest{})
		e2eWantCode(t, err, connect.CodePermissionDenied, who+" reading account settings")
		_, err = c.UpdateAccountSettings(ctx, &assistv1.UpdateAccountSettingsRequest{Settings: &assistv1.AccountSettings{}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"web_chat_enabled"}}})
		e2eWantCode(t, err, connect.CodePermissionDenied, who+" changing account settings")
	}
	for who, token := range map[string]string{"no token": "", "a garbage token": "ast_app_" + strings.Repeat("A", 43)} {
		c := env.Services(assisttest.Connect, token)
		_, err := c.CustomerApp.RespondToScreenShare(ctx, &assistv1.RespondToScreenShareRequest{SessionId: sid, Accepted: true})
		e2eWantCode(t, err, connect.CodeUnauthenticated, "RespondToScreenShare with "+who)
		_, err = c.Admin.GetAccountSettings(ctx, &assistv1.GetAccountSettingsRequest{})
		e2eWantCode(t, err, connect.CodeUnauthenticated, "GetAccountSettings with "+who)
		_, err = c.Admin.UpdateAccountSettings(ctx, &assistv1.UpdateAccountSettingsRequest{Settings: &assistv1.AccountSettings{}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"web_chat_enabled"}}})
		e2eWantCode(t, err, connect.CodeUnauthenticated, "UpdateAccountSettings with "+who)
		e2eWantCode(t, up(token, sid), connect.CodeUnauthenticated, "UpgradeSession with "+who)
	}
	got, err := env.Services(assisttest.Connect, adminToken).Admin.GetAccountSettings(ctx, &assistv1.GetAccountSettingsRequest{})
	if err != nil {
		t.Fatalf("the admin reads the settings: %v", err)
	}
	if !got.GetSettings().GetWebChatEnabled() || got.GetSettings().GetLanguage() != "en" || got.GetSettings().GetOpenerLifetime().AsDuration() != 10*time.Minute {
		t.Errorf("the demo account's settings are %v, want web chat on, English, 10-minute openers", got.GetSettings())
	}
}

// Every RPC of the upgrade refuses bad input with the documented code and
// changes nothing; opener links refuse bad ids and platforms with a page.
func TestUpgradeRefusesBadInputAndChangesNothing(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	advisorToken := env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	adminToken := env.Login(t, assisttest.AdminEmail, assisttest.AdminPassword)
	sid, _ := upgradeActive(t, env, advisorToken, "Ada")
	conn := e2eDB(t, env.DatabaseURL)
	advisor := env.Services(assisttest.Connect, advisorToken)
	admin := env.Services(assisttest.Connect, adminToken).Admin
	anon := env.Services(assisttest.Connect, "")
	settings := func() *assistv1.AccountSettings {
		s, err := admin.GetAccountSettings(ctx, &assistv1.GetAccountSettingsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return s.GetSettings()
	}
	settingsBefore := settings()
	before := e2eCountRows(t, conn)
	mask := func(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }
	for _, tc := range []struct {
		name string
		want connect.Code
		call func() error
	}{
		{"UpgradeSession without a session id", connect.CodeInvalidArgument, func() error {
			_, err := advisor.Session.UpgradeSession(ctx, &assistv1.UpgradeSessionRequest{})
			return err
		}},
		{"UpgradeSession with a malformed session id", connect.CodeInvalidArgument, func() error {
			_, err := advisor.Session.UpgradeSession(ctx, &assistv1.UpgradeSessionRequest{SessionId: "not-a-uuid"})
			return err
		}},
		{"UpgradeSession of an unknown session", connect.CodeNotFound, func() error {
			_, err := advisor.Session.UpgradeSession(ctx, &assistv1.UpgradeSessionRequest{SessionId: uuid.NewString()})
			return err
		}},
		{"RedeemOpener without a token", connect.CodeInvalidArgument, func() error {
			_, err := anon.CustomerApp.RedeemOpener(ctx, &assistv1.RedeemOpenerRequest{})
			return err
		}},
		{"RedeemOpener with an oversized token", connect.CodeInvalidArgument, func() error {
			_, err := anon.CustomerApp.RedeemOpener(ctx, &assistv1.RedeemOpenerRequest{OpenerToken: strings.Repeat("a", 5000)})
			return err
		}},
		{"RedeemOpener with an unknown platform", connect.CodeInvalidArgument, func() error {
			_, err := anon.CustomerApp.RedeemOpener(ctx, &assistv1.RedeemOpenerRequest{OpenerToken: "a.b.c", AppPlatform: &assistv1.ClientPlatform{OperatingSystem: 99}})
			return err
		}},
		{"RedeemOpener with a NUL in the user agent", connect.CodeInvalidArgument, func() error {
			_, err := anon.CustomerApp.RedeemOpener(ctx, &assistv1.RedeemOpenerRequest{OpenerToken: "a.b.c", AppPlatform: &assistv1.ClientPlatform{UserAgent: "app\x00"}})
			return err
		}},
		{"RespondToScreenShare with a malformed session id", connect.CodeInvalidArgument, func() error {
			_, err := advisor.CustomerApp.RespondToScreenShare(ctx, &assistv1.RespondToScreenShareRequest{SessionId: "x"})
			return err
		}},
		{"UpdateAccountSettings without a mask", connect.CodeInvalidArgument, func() error {
			_, err := admin.UpdateAccountSettings(ctx, &assistv1.UpdateAccountSettingsRequest{Settings: &assistv1.AccountSettings{}})
			return err
		}},
		{"UpdateAccountSettings without settings", connect.CodeInvalidArgument, func() error {
			_, err := admin.UpdateAccountSettings(ctx, &assistv1.UpdateAccountSettingsRequest{UpdateMask: mask("web_chat_enabled")})
			return err
		}},
		{"UpdateAccountSettings with an empty mask", connect.CodeInvalidArgument, func() error {
			_, err := admin.UpdateAccountSettings(ctx, &assistv1.UpdateAccountSettingsRequest{Settings: &assistv1.AccountSettings{}, UpdateMask: mask()})
			return err
		}},
		{"UpdateAccountSettings with an unknown path", connect.CodeInvalidArgument, func() error {
			_, err := admin.UpdateAccountSettings(ctx, &assistv1.UpdateAccountSettingsRequest{Settings: &assistv1.AccountSettings{WebChatEnabled: false}, UpdateMask: mask("web_chat_enabled", "colour")})
			return err
		}},
		{"UpdateAccountSettings with an unset handoff it names", connect.CodeInvalidArgument, func() error {
			_, err := admin.UpdateAccountSettings(ctx, &assistv1.UpdateAccountSettingsRequest{Settings: &assistv1.AccountSettings{}, UpdateMask: mask("upgrade_handoff")})
			return err
		}},
		{"UpdateAccountSettings with an undefined handoff", connect.CodeInvalidArgument, func() error {
			_, err := admin.UpdateAccountSettings(ctx, &assistv1.UpdateAccountSettingsRequest{Settings: &assistv1.AccountSettings{UpgradeHandoff: 42}, UpdateMask: mask("upgrade_handoff")})
			return err
		}},
		{"UpdateAccountSettings with a 10-second opener lifetime", connect.CodeInvalidArgument, func() error {
			_, err := admin.UpdateAccountSettings(ctx, &assistv1.UpdateAccountSettingsRequest{Settings: &assistv1.AccountSettings{OpenerLifetime: durationpb.New(10 * time.Second)}, UpdateMask: mask("opener_lifetime")})
			return err
		}},
		{"UpdateAccountSettings with an unset opener lifetime it names", connect.CodeInvalidArgument, func() error {
			_, err := admin.UpdateAccountSettings(ctx, &assistv1.UpdateAccountSettingsRequest{Settings: &assistv1.AccountSettings{}, UpdateMask: mask("opener_lifetime")})
			return err
		}},
		{"UpdateAccountSettings with an unset code limit it names", connect.CodeInvalidArgument, func() error {
			_, err := admin.UpdateAccountSettings(ctx, &assistv1.UpdateAccountSettingsRequest{Settings: &assistv1.AccountSettings{}, UpdateMask: mask("max_live_session_codes_per_advisor")})
			return err
		}},
		{"UpdateAccountSettings with an unknown language", connect.CodeInvalidArgument, func() error {
			_, err := admin.UpdateAccountSettings(ctx, &assistv1.UpdateAccountSettingsRequest{Settings: &assistv1.AccountSettings{Language: "de"}, UpdateMask: mask("language")})
			return err
		}},
		{"UpdateAccountSettings with an unset language it names", connect.CodeInvalidArgument, func() error {
			_, err := admin.UpdateAccountSettings(ctx, &assistv1.UpdateAccountSettingsRequest{Settings: &assistv1.AccountSettings{}, UpdateMask: mask("language")})
			return err
		}},
	} {
		e2eWantCode(t, tc.call(), tc.want, tc.name)
	}
	if after := e2eCountRows(t, conn); after != before {
		t.Errorf("bad input wrote rows: %+v → %+v", before, after)
	}
	if after := settings(); !proto.Equal(after, settingsBefore) {
		t.Errorf("bad input changed the settings: %v → %v", settingsBefore, after)
	}

	// A valid change applies to the fields named, and only those.
	up, err := admin.UpdateAccountSettings(ctx, &assistv1.UpdateAccountSettingsRequest{
		Settings:   &assistv1.AccountSettings{OpenerLifetime: durationpb.New(2 * time.Minute), Language: "de", WebChatEnabled: false},
		UpdateMask: mask("opener_lifetime"),
	})
	if err == nil {
		t.Errorf("a language outside the mask is still validated: want InvalidArgument for \"de\", got %v", up)
	}
	up, err = admin.UpdateAccountSettings(ctx, &assistv1.UpdateAccountSettingsRequest{
		Settings:   &assistv1.AccountSettings{OpenerLifetime: durationpb.New(2 * time.Minute), WebChatEnabled: false},
		UpdateMask: mask("opener_lifetime"),
	})
	if err != nil {
		t.Fatalf("change the opener lifetime: %v", err)
	}
	want := proto.CloneOf(settingsBefore)
	want.OpenerLifetime = durationpb.New(2 * time.Minute)
	if !proto.Equal(up.GetSettings(), want) {
		t.Errorf("after changing the opener lifetime the settings are %v, want %v", up.GetSettings(), want)
	}

	// Opener links.
	offer := upgradeOffer(t, env, advisorToken, sid)
	link := offer.GetUpgradeOffered().GetOpenerUrl()
	if exp := offer.GetUpgradeOffered().GetOpenerExpireTime().AsTime(); exp.Sub(offer.GetCreateTime().AsTime()) > 2*time.Minute+time.Second {
		t.Errorf("the opener expires at %v, more than the account's 2 minutes after the offer at %v", exp, offer.GetCreateTime().AsTime())
	}
	base := link[:strings.LastIndex(link, "/")+1]
	// A customer on a phone (no platform given at start: the User-Agent says).
	phone, err := anon.Portal.StartSession(ctx, &assistv1.StartSessionRequest{PortalSlug: assisttest.PortalSlug, Customer: &assistv1.CustomerInfo{DisplayName: "Phil"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := advisor.Session.PickUpSession(ctx, &assistv1.PickUpSessionRequest{SessionId: phone.GetSession().GetId()}); err != nil {
		t.Fatal(err)
	}
	mobileLink := upgradeOffer(t, env, advisorToken, phone.GetSession().GetId()).GetUpgradeOffered().GetOpenerUrl()
	before = e2eCountRows(t, conn)
	for _, tc := range []struct {
		name, url, query, ua string
		status               int
		says                 string
	}{
		{"a malformed opener id", base + "nope", "", upgradeUserAgent(), http.StatusNotFound, "does not exist"},
		{"an unknown opener id", base + uuid.NewString(), "", upgradeUserAgent(), http.StatusNotFound, "does not exist"},
		{"an unknown os", link, "os=beos", upgradeUserAgent(), http.StatusBadRequest, "Unknown platform"},
		{"an unknown arch", link, "arch=mips", upgradeUserAgent(), http.StatusBadRequest, "Unknown platform"},
		{"a platform whose app is missing", link, "os=windows&arch=arm64", upgradeUserAgent(), http.StatusNotFound, "Windows arm64 is not available"},
		{"a phone", mobileLink, "", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)", http.StatusOK, "assist://open?token="},
	} {
		res, body := upgradeGet(t, tc.url, tc.query, tc.ua)
		if res.StatusCode != tc.status || !strings.Contains(string(body), tc.says) || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Errorf("opener link with %s: status %d, %s, want %d with a page saying %q:\n%s", tc.name, res.StatusCode, res.Header.Get("Content-Type"), tc.status, tc.says, body)
		}
	}
	if after := e2eCountRows(t, conn); after != before {
		t.Errorf("opener links wrote rows: %+v → %+v", before, after)
	}
}
