package e2e

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect/v2"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assistd"
	"github.com/assist-chat/assist/server/internal/assisttest"
)

// The browser apps in code and web mode (clients/web/e2e/apps.mjs,
// scenarios "codes" and "web"), on the portals of routingSetup.

// In the console the advisor creates a session code for a named customer
// (choosing among their code-mode portals), reads it large with its time
// left and copies the portal's link; the customer opens the link with the
// code and name filled in, starts, and appears live in that advisor's
// queue marked "For you" (in French "Pour vous"), while the used code
// leaves the console; they chat. The used code typed again, and a code
// too short, are refused with what to do. Past the account's bound on live
// codes, the console says so plainly, in French.
func TestBrowserAdvisorSharesASessionCodeAndTheCustomerLandsInTheirQueue(t *testing.T) {
	t.Parallel()
	root := browserRepoRoot(t)
	webappRequire(t, root)
	ctx, cancel := context.WithTimeout(context.Background(), webappDriverTimeout)
	defer cancel()
	c := routingSetup(ctx, t)
	const maxCodes = 2
	if _, err := c.as(c.admin.token).Admin.UpdateAccountSettings(ctx, &assistv1.UpdateAccountSettingsRequest{
		Settings:   &assistv1.AccountSettings{MaxLiveSessionCodesPerAdvisor: maxCodes},
		UpdateMask: reportsMask("max_live_session_codes_per_advisor"),
	}); err != nil {
		t.Fatalf("bound the live codes to %d: %v", maxCodes, err)
	}

	res := webappDrive(t, root, "codes", map[string]any{
		"api": c.env.URL, "customer": c.env.URL, "customerName": "Mrs Martin", "maxCodes": maxCodes,
		"advisorName": webappAdvisorName(ctx, t, c.env, assisttest.AdvisorEmail, assisttest.AdvisorPassword),
		"codePortal":  map[string]string{"slug": c.codePortal.GetSlug(), "name": c.codePortal.GetDisplayName()},
	})
	if res["code"] == "" {
		t.Fatalf("the driver reported no code")
	}
	if live := c.liveCodes(ctx, t, c.advisor.token); slices.Contains(live, res["code"]) {
		t.Fatalf("the code %s the customer used is still live: %v", res["code"], live)
	}
	// The code withdrawn in the console no longer works.
	if res["withdrawn"] == "" {
		t.Fatalf("the driver reported no withdrawn code")
	}
	_, err := c.start(ctx, c.codePortal.GetSlug(), "Late", "", withCode(res["withdrawn"]))
	e2eWantCode(t, err, connect.CodeNotFound, "a code withdrawn in the console")
}

// On a web-mode portal with nobody online, the customer's page says so
// (and "first available" says nobody is online); once the advisor's
// console is open, the page lists them, and a colleague in a session as
// busy. A colleague who goes offline after being picked is said plainly
// and leaves the list. The customer picks the advisor: the wait names
// them, the session arrives "For you" in their console, and they chat. A
// second customer picks them too, and their console closes for good: the
// page says so and waits for any advisor.
func TestBrowserCustomerPicksAnAdvisorOnlineAndLandsInTheirQueue(t *testing.T) {
	t.Parallel()
	root := browserRepoRoot(t)
	webappRequire(t, root)
	ctx, cancel := context.WithTimeout(context.Background(), webappDriverTimeout)
	defer cancel()
	// An advisor offline for a second loses the sessions waiting for them.
	c := routingSetup(ctx, t, assisttest.WithConfig(func(cfg *assistd.Config) {
		cfg.ReleaseGrace, cfg.ReleaseInterval = time.Second, 200*time.Millisecond
	}))
	slug := c.webPortal.GetSlug()

	// The colleague (the second demo advisor) is online while the test
	// holds their queue watch open, as their console would.
	var mu sync.Mutex
	var leave context.CancelFunc
	control := webappControl(t, map[string]func() error{
		"/colleague-busy": func() error {
			watchCtx, stop := context.WithCancel(ctx)
			stream, err := c.as(c.advisor2.token).Session.WatchQueue(watchCtx, &assistv1.WatchQueueRequest{})
			if err == nil {
				_, err = stream.Receive()
			}
			if err != nil {
				stop()
				return fmt.Errorf("the colleague's queue watch: %w", err)
			}
			go func() {
				for {
					if _, err := stream.Receive(); err != nil {
						return
					}
				}
			}()
			mu.Lock()
			leave = stop
			mu.Unlock()
			// Busy: in a session from the queue-mode portal.
			started, err := c.start(ctx, assisttest.PortalSlug, "Another customer", "", func(*assistv1.StartSessionRequest) {})
			if err != nil {
				return err
			}
			_, err = c.as(c.advisor2.token).Session.PickUpSession(ctx, &assistv1.PickUpSessionRequest{SessionId: started.GetSession().GetId()})
			return err
		},
		"/colleague-leaves": func() error {
			mu.Lock()
			stop := leave
			mu.Unlock()
			if stop == nil {
				return fmt.Errorf("the colleague is not online")
			}
			stop()
			for deadline := time.Now().Add(10 * time.Second); ; {
				res, err := c.as("").Portal.GetPortal(ctx, &assistv1.GetPortalRequest{PortalSlug: slug})
				if err != nil {
					return err
				}
				if !slices.ContainsFunc(res.GetPortal().GetOnlineAdvisors(), func(a *assistv1.OnlineAdvisor) bool { return a.GetAdvisorId() == c.advisor2.id }) {
					return nil
				}
				if time.Now().After(deadline) {
					return fmt.Errorf("the colleague is still listed online 10 s after their queue watch closed")
				}
				time.Sleep(100 * time.Millisecond)
			}
		},
	})
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if leave != nil {
			leave()
		}
	})

	res := webappDrive(t, root, "web", map[string]any{
		"api": c.env.URL, "customer": c.env.URL, "control": control, "customerName": "Léa Web",
		"webPortal":     map[string]string{"slug": slug, "name": c.webPortal.GetDisplayName()},
		"advisorName":   webappAdvisorName(ctx, t, c.env, assisttest.AdvisorEmail, assisttest.AdvisorPassword),
		"colleagueName": webappAdvisorName(ctx, t, c.env, assisttest.Advisor2Email, assisttest.Advisor2Password),
	})
	got, err := c.as(c.advisor.token).Session.GetSession(ctx, &assistv1.GetSessionRequest{SessionId: res["session"]})
	if err != nil {
		t.Fatalf("get the customer's session %q: %v", res["session"], err)
	}
	if s := got.GetSession(); s.GetAdvisorId() != c.advisor.id || s.GetPortalMode() != assistv1.PortalMode_PORTAL_MODE_WEB {
		t.Fatalf("the session went to advisor %s in %s, want %s in web mode", s.GetAdvisorId(), s.GetPortalMode(), c.advisor.id)
	}
}

// webappAdvisorName is the name customers see for an advisor.
func webappAdvisorName(ctx context.Context, t *testing.T, env *assisttest.Env, email, password string) string {
	t.Helper()
	res, err := env.Services(assisttest.Connect, "").Auth.Login(ctx, &assistv1.LoginRequest{Email: email, Password: password})
	if err != nil {
		t.Fatalf("login %s: %v", email, err)
	}
	return res.GetAdvisor().GetDisplayName()
}
