package bench

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assisttest"
)

// BenchmarkRedeemOpener measures RedeemOpener end to end, one at a time:
// verifying the Ed25519 signature, the single-use UPDATE, the session
// lock, minting the app token and appending OpenerRedeemed, committed
// (fsync on). The sessions, upgrades and opener downloads are prepared
// outside the timer.
func BenchmarkRedeemOpener(b *testing.B) {
	env := assisttest.StartOn(b, databaseURL)
	ctx := context.Background()
	advisorToken := env.Login(b, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	advisor := env.Services(assisttest.Connect, advisorToken)
	anon := env.Services(assisttest.Connect, "")
	tokens := make([]string, b.N)
	for i := range tokens {
		sess, _ := env.StartSession(b, "Ada")
		if _, err := advisor.Session.PickUpSession(ctx, &assistv1.PickUpSessionRequest{SessionId: sess.GetId()}); err != nil {
			b.Fatal(err)
		}
		up, err := advisor.Session.UpgradeSession(ctx, &assistv1.UpgradeSessionRequest{SessionId: sess.GetId()})
		if err != nil {
			b.Fatal(err)
		}
		res, err := http.Get(up.GetUpgradeOffered().GetUpgradeOffered().GetOpenerUrl() + "?format=assist")
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		u, err := url.Parse(strings.TrimSpace(string(body)))
		if err != nil {
			b.Fatal(err)
		}
		tokens[i] = u.Query().Get("token")
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := anon.CustomerApp.RedeemOpener(ctx, &assistv1.RedeemOpenerRequest{OpenerToken: tokens[i]}); err != nil {
			b.Fatal(err)
		}
	}
}
