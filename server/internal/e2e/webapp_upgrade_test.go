package e2e

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assisttest"
)

// webappOpenerToken finds the signed opener token inside a downloaded
// opener (a PASETO v4.public token or a JWT, appended to the app or in a
// .assist file).
var webappOpenerToken = regexp.MustCompile(`v4\.public\.[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)?|eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)

// The advisor upgrades from the console ("Upgrade customer to standard
// session", "Yes"): the customer's page shows the automatic notice with
// its link and starts the opener download by itself (desktop). The test
// then plays the customer app: it redeems the opener from the downloaded
// file and accepts the screen share; with the account's transfer-to-app
// handoff the web chat's input is disabled with the message that the
// session moved to the customer app, and the console shows the progress.
func TestBrowserUpgradeStartsTheOpenerDownloadAndMovesTheChatToTheApp(t *testing.T) {
	t.Parallel()
	root := browserRepoRoot(t)
	webappRequire(t, root)
	env := upgradeEnv(t) // serves the real customer app as the opener
	ctx, cancel := context.WithTimeout(context.Background(), webappDriverTimeout)
	defer cancel()
	control := webappControlWithBody(t, map[string]func(string) error{
		"/app-takes-over": func(openerFile string) error {
			raw, err := os.ReadFile(openerFile)
			if err != nil {
				return err
			}
			token := webappOpenerToken.Find(raw)
			if token == nil {
				return fmt.Errorf("no signed opener token in the downloaded %s (%d bytes)", openerFile, len(raw))
			}
			app := env.Services(assisttest.Connect, "")
			redeemed, err := app.CustomerApp.RedeemOpener(ctx, &assistv1.RedeemOpenerRequest{
				OpenerToken: string(token),
				AppPlatform: &assistv1.ClientPlatform{DeviceType: assistv1.DeviceType_DEVICE_TYPE_DESKTOP, OperatingSystem: assistv1.OperatingSystem_OPERATING_SYSTEM_LINUX},
			})
			if err != nil {
				return fmt.Errorf("redeem the opener: %w", err)
			}
			asApp := env.Services(assisttest.Connect, redeemed.GetAppToken())
			if _, err := asApp.CustomerApp.RespondToScreenShare(ctx, &assistv1.RespondToScreenShareRequest{SessionId: redeemed.GetSession().GetId(), Accepted: true}); err != nil {
				return fmt.Errorf("accept the screen share: %w", err)
			}
			return nil
		},
	})
	start := time.Now()
	res := webappDrive(t, root, "upgrade", map[string]any{"api": env.URL, "customer": env.URL, "control": control, "customerName": "Uma Upgrade"})
	if res["opener_name"] == "" {
		t.Fatalf("the opener download has no file name")
	}
	if size, _ := strconv.Atoi(res["opener_size"]); size == 0 {
		t.Fatalf("the opener %q is empty", res["opener_name"])
	}
	t.Logf("opener %s, %s bytes, upgrade flow in %s", res["opener_name"], res["opener_size"], time.Since(start).Round(time.Second))
}
