package upgrade_test

import (
	"testing"

	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/store/dbq"
	"github.com/assist-chat/assist/server/internal/upgrade"
)

func TestMaySendAppliesTheHandoff(t *testing.T) {
	t.Parallel()
	customer := &auth.Principal{Kind: auth.KindCustomer, SessionID: uuid.New()}
	app := &auth.Principal{Kind: auth.KindCustomerApp, SessionID: customer.SessionID}
	advisor := &auth.Principal{Kind: auth.KindAdvisor}
	const (
		none     = assistv1.UpgradeHandoff_UPGRADE_HANDOFF_UNSPECIFIED
		transfer = assistv1.UpgradeHandoff_UPGRADE_HANDOFF_TRANSFER_TO_APP
		without  = assistv1.UpgradeHandoff_UPGRADE_HANDOFF_KEEP_WEB_CHAT_APP_WITHOUT_CHAT
		with     = assistv1.UpgradeHandoff_UPGRADE_HANDOFF_KEEP_WEB_CHAT_APP_WITH_CHAT
	)
	ok := failure.Kind(0)
	for _, tc := range []struct {
		who     string
		p       *auth.Principal
		handoff assistv1.UpgradeHandoff
		want    failure.Kind
	}{
		{"customer before any upgrade", customer, none, ok},
		{"app before the customer accepted", app, none, failure.KindPermissionDenied},
		{"customer after a transfer to the app", customer, transfer, failure.KindFailedPrecondition},
		{"app after a transfer to the app", app, transfer, ok},
		{"customer, app without chat", customer, without, ok},
		{"app without chat", app, without, failure.KindPermissionDenied},
		{"customer, app with chat", customer, with, ok},
		{"app with chat", app, with, ok},
		{"advisor after a transfer", advisor, transfer, ok},
	} {
		err := upgrade.MaySend(tc.p, dbq.Session{Handoff: int16(tc.handoff)})
		if tc.want == ok && err != nil || tc.want != ok && !failure.IsKind(err, tc.want) {
			t.Errorf("%s: MaySend = %v, want kind %d", tc.who, err, tc.want)
		}
	}
}

func TestResolveFitsTheCustomersPlatform(t *testing.T) {
	t.Parallel()
	const (
		win   = assistv1.OperatingSystem_OPERATING_SYSTEM_WINDOWS
		mac   = assistv1.OperatingSystem_OPERATING_SYSTEM_MACOS
		linux = assistv1.OperatingSystem_OPERATING_SYSTEM_LINUX
		desk  = assistv1.DeviceType_DEVICE_TYPE_DESKTOP
	)
	for _, tc := range []struct {
		name      string
		stored    upgrade.Platform
		ua        string
		goos, arc string
		mobile    bool
	}{
		{"Windows from the user agent", upgrade.Platform{}, "Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "windows", "amd64", false},
		{"Windows on ARM", upgrade.Platform{}, "Mozilla/5.0 (Windows NT 10.0; ARM64)", "windows", "arm64", false},
		{"a Mac reports Intel but gets arm64", upgrade.Platform{}, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)", "darwin", "arm64", false},
		{"Linux on arm64", upgrade.Platform{}, "Mozilla/5.0 (X11; Linux aarch64)", "linux", "arm64", false},
		{"the platform given at start wins over the user agent", upgrade.Platform{Device: desk, OS: linux}, "Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "linux", "amd64", false},
		{"an Android phone", upgrade.Platform{}, "Mozilla/5.0 (Linux; Android 14; Pixel 8)", "", "", true},
		{"an iPhone", upgrade.Platform{}, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)", "", "", true},
		{"stored Windows, unknown agent", upgrade.Platform{Device: desk, OS: win}, "curl/8.0", "windows", "amd64", false},
		{"stored macOS", upgrade.Platform{Device: desk, OS: mac}, "", "darwin", "arm64", false},
	} {
		p := upgrade.Resolve(tc.stored, tc.ua)
		if p.Mobile() != tc.mobile || !tc.mobile && (p.GOOS() != tc.goos || p.Arch != tc.arc) {
			t.Errorf("%s: resolved to %s/%s (mobile %v), want %s/%s (mobile %v)", tc.name, p.GOOS(), p.Arch, p.Mobile(), tc.goos, tc.arc, tc.mobile)
		}
	}
}

func TestNoticesExistInEnglishAndFrench(t *testing.T) {
	t.Parallel()
	en, fr := upgrade.WebChatDisabledText("en"), upgrade.WebChatDisabledText("fr")
	if en == fr || en == "" || fr == "" {
		t.Errorf("WebChatDisabled texts: en %q, fr %q; want two translations", en, fr)
	}
	if upgrade.WebChatDisabledText("xx") != en {
		t.Errorf("an unknown language should fall back to English")
	}
}
