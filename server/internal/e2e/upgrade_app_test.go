package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/api"
	"github.com/assist-chat/assist/server/internal/assisttest"
)

// A customer who has the app opens a .assist file or an assist:// link
// with it; a refused opener gets a clear message and exit status 2; the
// app documents its flags; a copy without opener says how to start it.
func TestCustomerAppOpensFilesAndLinksAndExplainsRefusals(t *testing.T) {
	t.Parallel()
	env := upgradeEnv(t)
	bin := filepath.Join(upgradeApps(t), api.AppBinaryName(runtime.GOOS, runtime.GOARCH))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	help, err := exec.CommandContext(ctx, bin, "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(help), "--accept-screen-share") || !strings.Contains(string(help), "open FILE|URL") {
		t.Errorf("assist-customer --help (%v) does not document its flags and the open command:\n%s", err, help)
	}
	plain, err := exec.CommandContext(ctx, bin).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(plain), "carries no opener") {
		t.Errorf("the app without opener exited with %v and said %q, want status 2 and how to start it", err, plain)
	}

	advisorToken := env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	sid, _ := upgradeActive(t, env, advisorToken, "Ada")
	link := upgradeOffer(t, env, advisorToken, sid).GetUpgradeOffered().GetOpenerUrl()
	_, body := upgradeGet(t, link, "format=assist", upgradeUserAgent())
	file := filepath.Join(t.TempDir(), "Assist-Customer.assist")
	if err := os.WriteFile(file, body, 0o644); err != nil {
		t.Fatal(err)
	}
	app := upgradeRunApp(t, bin, "open", file, "--refuse-screen-share")
	app.waitFor("the refusal", func(l appLine) bool { return l.Type == "screen_share" && !l.Accepted })
	if code := app.wait(); code != 0 {
		t.Errorf("the app exited with %d after a refusal, want 0", code)
	}
	tr, err := env.Services(assisttest.Connect, advisorToken).Chat.GetTranscript(ctx, &assistv1.GetTranscriptRequest{SessionId: sid})
	if err != nil {
		t.Fatal(err)
	}
	refused := false
	for _, ev := range tr.GetEvents() {
		if a := ev.GetScreenShareAnswered(); a != nil && !a.GetAccepted() {
			refused = true
		}
	}
	if !refused {
		t.Errorf("the advisor's log does not show the refused screen sharing")
	}

	again := upgradeRunApp(t, bin, "open", strings.TrimSpace(string(body)), "--accept-screen-share")
	l := again.waitFor("the refused opener", func(l appLine) bool { return l.Type == "error" || l.Type == "redeemed" })
	if l.Type != "error" || l.Code != "unauthenticated" {
		t.Errorf("a used opener gave %+v, want an error with code unauthenticated", l)
	}
	if code := again.wait(); code != 2 {
		t.Errorf("the app exited with %d on a refused opener, want 2", code)
	}
}

// The app's connection drops in the middle of the conversation: it
// reconnects, resumes from its cursor and re-sends what was not yet
// acknowledged, so it shows every event once and its message is stored
// once.
func TestCustomerAppResumesAfterADroppedConnection(t *testing.T) {
	t.Parallel()
	env := upgradeEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	advisorToken := env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	advisor := env.Services(assisttest.Connect, advisorToken)
	sid, _ := upgradeActive(t, env, advisorToken, "Ada")
	path := upgradeDownload(t, upgradeOffer(t, env, advisorToken, sid).GetUpgradeOffered().GetOpenerUrl(), t.TempDir())
	proxy := assisttest.NewProxy(t, env.Server.Addr())
	app := upgradeRunApp(t, path, "--accept-screen-share", "--server", proxy.URL())
	app.waitFor("the end of the history", func(l appLine) bool { return l.Type == "live" })
	say := func(text string) {
		t.Helper()
		if _, err := e2eSendText(ctx, advisor.Chat, sid, uuid.NewString(), text); err != nil {
			t.Fatal(err)
		}
	}
	say("before the drop")
	app.waitFor("the first message", func(l appLine) bool { return l.Type == "event" && l.Text == "before the drop" })
	accepted := proxy.Accepted()
	proxy.DropAll()
	say("during the drop")
	app.send("from the app after the drop")
	app.waitFor("the stored send", func(l appLine) bool { return l.Type == "sent" })
	say("after the drop")
	app.waitFor("the last message", func(l appLine) bool { return l.Type == "event" && l.Text == "after the drop" })
	if proxy.Accepted() <= accepted {
		t.Fatalf("the app did not reconnect through the proxy (%d connections before the drop, %d after)", accepted, proxy.Accepted())
	}
	if _, err := advisor.Session.EndSession(ctx, &assistv1.EndSessionRequest{SessionId: sid, Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED}); err != nil {
		t.Fatal(err)
	}
	if code := app.wait(); code != 0 {
		t.Fatalf("the app exited with %d, want 0", code)
	}
	var seqs []int64
	var texts []string
	for _, l := range app.lines_() {
		if l.Type == "event" {
			seqs = append(seqs, l.Seq)
			if l.Kind == "message" {
				texts = append(texts, l.Text)
			}
		}
	}
	upgradeSeqs(t, "customer app", seqs, texts)
	tr, err := advisor.Chat.GetTranscript(ctx, &assistv1.GetTranscriptRequest{SessionId: sid})
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(seqs)) != int64(len(tr.GetEvents())) {
		t.Errorf("the app showed %d events, the log holds %d", len(seqs), len(tr.GetEvents()))
	}
	if n := strings.Count(tr.GetText(), "from the app after the drop"); n != 1 {
		t.Errorf("the app's message is stored %d times, want once:\n%s", n, tr.GetText())
	}
}
