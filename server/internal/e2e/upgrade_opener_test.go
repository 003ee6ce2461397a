package e2e

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assistd"
	"github.com/assist-chat/assist/server/internal/assisttest"
	"github.com/assist-chat/assist/server/internal/opener"
)

// upgradeOpenerCounts is what a refused redemption must leave unchanged.
func upgradeOpenerCounts(t *testing.T, env *assisttest.Env) (e2eRowCounts, int64) {
	t.Helper()
	conn := e2eDB(t, env.DatabaseURL)
	var redeemed int64
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM openers WHERE redeem_time IS NOT NULL").Scan(&redeemed); err != nil {
		t.Fatal(err)
	}
	return e2eCountRows(t, conn), redeemed
}

// flip changes one character of a token's segment (0 header, 1 payload,
// 2 signature), keeping it valid base64url.
func flip(token string, segment int) string {
	parts := strings.Split(token, ".")
	b := []byte(parts[segment])
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	parts[segment] = string(b)
	return strings.Join(parts, ".")
}

// An opener works once, for its session, from this server, within its
// lifetime: every forged, tampered, expired, replayed or misdirected one is
// Unauthenticated and writes nothing.
func TestOpenerRefusesEveryAttackAndWritesNothing(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	advisor := env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	sid, _ := upgradeActive(t, env, advisor, "Ada")
	offer := upgradeOffer(t, env, advisor, sid)
	token := upgradeToken(t, offer.GetUpgradeOffered().GetOpenerUrl())
	app := env.Services(assisttest.Connect, "").CustomerApp

	keys, err := opener.NewKeys(env.Server.Store(), nil)
	if err != nil {
		t.Fatal(err)
	}
	keyID, priv, err := keys.Current(ctx, env.Server.Store().Pool)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := opener.Verify(ctx, token, env.Server.PublicURL(), time.Now(), keys.PublicKey)
	if err != nil {
		t.Fatalf("the served opener does not verify: %v", err)
	}
	if claims.KeyID != keyID || claims.SessionID.String() != sid {
		t.Fatalf("the opener claims %+v, want key %s and session %s", claims, keyID, sid)
	}
	forge := func(change func(*opener.Claims), key ed25519.PrivateKey) string {
		c := claims
		change(&c)
		tok, err := opener.Sign(key, c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	header := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"alg":"none","typ":"JWT","kid":%q}`, keyID)))
	parts := strings.Split(token, ".")

	before, redeemedBefore := upgradeOpenerCounts(t, env)
	for name, bad := range map[string]string{
		"a flipped payload byte":                flip(token, 1),
		"a flipped signature byte":              flip(token, 2),
		"a flipped header byte":                 flip(token, 0),
		"the algorithm none":                    header + "." + parts[1] + ".",
		"an unsigned copy":                      parts[0] + "." + parts[1] + ".",
		"a wrong audience":                      forge(func(c *opener.Claims) { c.Audience = "assist-console" }, priv),
		"another server":                        forge(func(c *opener.Claims) { c.Issuer = "https://elsewhere.example" }, priv),
		"an expired opener (beyond clock skew)": forge(func(c *opener.Claims) { c.ExpireTime = time.Now().Add(-time.Minute) }, priv),
		"an unknown key id":                     forge(func(c *opener.Claims) { c.KeyID = "unknown-key" }, stranger),
		"a known key id, signed by another key": forge(func(c *opener.Claims) {}, stranger),
		"another session":                       forge(func(c *opener.Claims) { c.SessionID = uuid.New() }, priv),
		"another opener id":                     forge(func(c *opener.Claims) { c.OpenerID = uuid.New() }, priv),
		"not a token":                           "garbage",
	} {
		_, err := app.RedeemOpener(ctx, &assistv1.RedeemOpenerRequest{OpenerToken: bad})
		e2eWantCode(t, err, connect.CodeUnauthenticated, "redeeming "+name)
	}
	after, redeemedAfter := upgradeOpenerCounts(t, env)
	if after != before || redeemedAfter != redeemedBefore {
		t.Fatalf("refused openers wrote something: rows %+v → %+v, redeemed openers %d → %d", before, after, redeemedBefore, redeemedAfter)
	}

	res, err := app.RedeemOpener(ctx, &assistv1.RedeemOpenerRequest{OpenerToken: token})
	if err != nil {
		t.Fatalf("the genuine opener is refused after the attacks: %v", err)
	}
	if res.GetAppToken() == "" || res.GetSession().GetId() != sid || res.GetSession().GetUpgradeState() != assistv1.UpgradeState_UPGRADE_STATE_APP_CONNECTED {
		t.Fatalf("redemption gave %+v, want an app token for %s with the app connected", res, sid)
	}
	before, _ = upgradeOpenerCounts(t, env)
	_, err = app.RedeemOpener(ctx, &assistv1.RedeemOpenerRequest{OpenerToken: token})
	e2eWantCode(t, err, connect.CodeUnauthenticated, "replaying a redeemed opener")
	if after, _ := upgradeOpenerCounts(t, env); after != before {
		t.Fatalf("the replay wrote something: %+v → %+v", before, after)
	}
	r, body := upgradeGet(t, offer.GetUpgradeOffered().GetOpenerUrl(), "", upgradeUserAgent())
	if r.StatusCode != http.StatusGone || !strings.Contains(string(body), "already used") {
		t.Errorf("downloading a redeemed opener: status %d, want 410 with a page saying it was used: %s", r.StatusCode, body)
	}
}

// Of fifty concurrent redemptions of one opener, exactly one gets an app
// token: single use is one conditional UPDATE in the database.
func TestOpenerRedeemedConcurrentlyWorksExactlyOnce(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	advisor := env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	sid, _ := upgradeActive(t, env, advisor, "Ada")
	token := upgradeToken(t, upgradeOffer(t, env, advisor, sid).GetUpgradeOffered().GetOpenerUrl())
	app := env.Services(assisttest.Connect, "").CustomerApp

	const n = 50
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = app.RedeemOpener(ctx, &assistv1.RedeemOpenerRequest{OpenerToken: token})
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		e2eWantCode(t, err, connect.CodeUnauthenticated, "a losing concurrent redemption")
	}
	if won != 1 {
		t.Fatalf("%d of %d concurrent redemptions succeeded, want exactly 1", won, n)
	}
	conn := e2eDB(t, env.DatabaseURL)
	var apps, redeemedEvents int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM access_tokens WHERE session_id = $1 AND kind = 3", sid).Scan(&apps); err != nil {
		t.Fatal(err)
	}
	if apps != 1 {
		t.Errorf("%d app tokens exist for the session, want 1", apps)
	}
	s, err := env.Services(assisttest.Connect, advisor).Chat.GetTranscript(ctx, &assistv1.GetTranscriptRequest{SessionId: sid})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range s.GetEvents() {
		if ev.GetOpenerRedeemed() != nil {
			redeemedEvents++
		}
	}
	if redeemedEvents != 1 {
		t.Errorf("the log holds %d OpenerRedeemed events, want 1", redeemedEvents)
	}
}

// After `assistd keys rotate`, new openers are signed with the new key and
// openers signed with the previous one still work until they expire.
func TestOpenerKeyRotationKeepsEarlierOpenersValid(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	advisor := env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	sid1, _ := upgradeActive(t, env, advisor, "Ada")
	old := upgradeToken(t, upgradeOffer(t, env, advisor, sid1).GetUpgradeOffered().GetOpenerUrl())

	newKey, err := assistd.RotateKeys(ctx, assistd.Config{DatabaseURL: env.DatabaseURL, Logger: assisttest.Logger()})
	if err != nil {
		t.Fatalf("rotate keys: %v", err)
	}
	sid2, _ := upgradeActive(t, env, advisor, "Bob")
	fresh := upgradeToken(t, upgradeOffer(t, env, advisor, sid2).GetUpgradeOffered().GetOpenerUrl())
	keys, err := opener.NewKeys(env.Server.Store(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for tok, want := range map[string]bool{fresh: true, old: false} {
		c, err := opener.Verify(ctx, tok, env.Server.PublicURL(), time.Now(), keys.PublicKey)
		if err != nil || (c.KeyID == newKey) != want {
			t.Fatalf("opener signed with %q (%v): signed with the new key %q should be %v", c.KeyID, err, newKey, want)
		}
	}
	app := env.Services(assisttest.Connect, "").CustomerApp
	for name, tok := range map[string]string{"the opener signed before the rotation": old, "the opener signed after it": fresh} {
		if _, err := app.RedeemOpener(ctx, &assistv1.RedeemOpenerRequest{OpenerToken: tok}); err != nil {
			t.Errorf("%s is refused: %v", name, err)
		}
	}
}

// Signing keys are created at first start; with a key-encryption key the
// stored private key is encrypted, and a server without that key refuses
// to start rather than sign with a key it cannot read.
func TestSigningKeysAreCreatedAtStartAndEncryptedWhenConfigured(t *testing.T) {
	t.Parallel()
	kek := make([]byte, 32)
	_, _ = rand.Read(kek)
	env := assisttest.Start(t, func(c *assistd.Config) { c.KeyEncryptionKey = kek })
	conn := e2eDB(t, env.DatabaseURL)
	var n int
	var encrypted bool
	var stored []byte
	if err := conn.QueryRow(context.Background(), "SELECT count(*) OVER (), encrypted, private_key FROM signing_keys").Scan(&n, &encrypted, &stored); err != nil {
		t.Fatalf("read the signing key: %v", err)
	}
	if n != 1 || !encrypted || len(stored) == ed25519.SeedSize {
		t.Fatalf("after the first start: %d keys, encrypted %v, %d stored bytes; want one encrypted key", n, encrypted, len(stored))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := assistd.Start(ctx, assistd.Config{Addr: "127.0.0.1:0", DatabaseURL: env.DatabaseURL, Logger: assisttest.Logger()})
	if err == nil || !strings.Contains(err.Error(), "key-encryption key") {
		t.Fatalf("a server without the key-encryption key started (%v), want a refusal naming the key-encryption key", err)
	}
	// The server with the key upgrades sessions.
	advisor := env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	sid, _ := upgradeActive(t, env, advisor, "Ada")
	tok := upgradeToken(t, upgradeOffer(t, env, advisor, sid).GetUpgradeOffered().GetOpenerUrl())
	if _, err := env.Services(assisttest.Connect, "").CustomerApp.RedeemOpener(ctx, &assistv1.RedeemOpenerRequest{OpenerToken: tok}); err != nil {
		t.Fatalf("redeem an opener signed with an encrypted key: %v", err)
	}
}

// The opener of a session that has ended is refused, Unauthenticated, and
// its link says the session is over.
func TestOpenerOfAnEndedSessionIsRefused(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	advisor := env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	sid, _ := upgradeActive(t, env, advisor, "Ada")
	link := upgradeOffer(t, env, advisor, sid).GetUpgradeOffered().GetOpenerUrl()
	token := upgradeToken(t, link)
	if _, err := env.Services(assisttest.Connect, advisor).Session.EndSession(ctx, &assistv1.EndSessionRequest{SessionId: sid, Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_UNRESOLVED}); err != nil {
		t.Fatal(err)
	}
	before, redeemed := upgradeOpenerCounts(t, env)
	_, err := env.Services(assisttest.Connect, "").CustomerApp.RedeemOpener(ctx, &assistv1.RedeemOpenerRequest{OpenerToken: token})
	e2eWantCode(t, err, connect.CodeUnauthenticated, "redeeming the opener of an ended session")
	if after, redeemedAfter := upgradeOpenerCounts(t, env); after != before || redeemedAfter != redeemed {
		t.Errorf("the refused redemption wrote something: %+v → %+v, redeemed %d → %d", before, after, redeemed, redeemedAfter)
	}
	res, body := upgradeGet(t, link, "", upgradeUserAgent())
	if res.StatusCode != http.StatusGone || !strings.Contains(string(body), "session has ended") {
		t.Errorf("the link of an ended session: status %d, want 410 with a page saying so:\n%s", res.StatusCode, body)
	}
}
