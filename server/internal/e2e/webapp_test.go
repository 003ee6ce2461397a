package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assisttest"
	"github.com/assist-chat/assist/server/internal/webapp"
)

// The browser apps (clients/web), built by `make web` and embedded in
// assistd, driven in Debian's Chromium by clients/web/e2e/apps.mjs.
// Screenshots and downloads go to .artifacts/browser/<test> (git-ignored).

const webappDriverTimeout = 3 * time.Minute

// webappRequire fails the test (never skips it) when what `make deps` and
// `make web` provide is missing.
func webappRequire(t *testing.T, root string) {
	t.Helper()
	browserRequireDeps(t, root)
	if _, err := os.Stat(filepath.Join(root, "node_modules", "axe-core", "axe.min.js")); err != nil {
		t.Fatalf("node_modules/axe-core is missing: run `make deps`")
	}
	if !webapp.New().Built {
		t.Fatalf("the browser apps are not built into this test binary: run `make web`, then the test")
	}
}

// webappControl is the test's side of the driver: the driver POSTs to a
// path when it needs the test to act (cut the network, play a customer).
func webappControl(t *testing.T, handlers map[string]func() error) string {
	t.Helper()
	withBody := map[string]func(string) error{}
	for path, fn := range handlers {
		withBody[path] = func(string) error { return fn() }
	}
	return webappControlWithBody(t, withBody)
}

// webappControlWithBody is webappControl for handlers that read what the
// driver posts (e.g. the path of a file it downloaded).
func webappControlWithBody(t *testing.T, handlers map[string]func(body string) error) string {
	t.Helper()
	mux := http.NewServeMux()
	for path, fn := range handlers {
		mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if err := fn(string(body)); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// webappDrive runs one scenario of the driver to its end and returns the
// values it printed ("result KEY VALUE" lines).
func webappDrive(t *testing.T, root, scenario string, cfg map[string]any) map[string]string {
	t.Helper()
	artifacts := filepath.Join(root, ".artifacts", "browser", t.Name())
	if err := os.RemoveAll(artifacts); err != nil {
		t.Fatal(err)
	}
	cfg["artifacts"] = artifacts
	if cfg["email"] == nil {
		cfg["email"], cfg["password"] = assisttest.AdvisorEmail, assisttest.AdvisorPassword
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), webappDriverTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join("clients", "web", "e2e", "apps.mjs"), scenario, string(raw))
	cmd.Dir = root
	out := &browserOutput{}
	var stdout strings.Builder
	cmd.Stdout = &stdout
	cmd.Stderr = out
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	err = cmd.Run()
	if err != nil || testing.Verbose() {
		t.Logf("browser driver (%s) output:\n%s", scenario, out.String())
	}
	if err != nil {
		t.Fatalf("the browser scenario %q failed (%v); screenshots in %s", scenario, err, artifacts)
	}
	results := map[string]string{}
	for line := range strings.Lines(stdout.String()) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "result "); ok {
			k, v, _ := strings.Cut(rest, " ")
			results[k] = v
		}
	}
	return results
}

// A customer and an advisor run a whole support session in two browser
// windows: start, queue, pick up, typing and chat both ways, a 5-second
// network cut on both sides with messages written on both sides meanwhile
// (each shown once, in order, on both pages), a reload that
// restores the conversation, the end with an outcome, the chat history
// saved as a .txt file, the advisor's past sessions, log out.
func TestBrowserCustomerAndAdvisorRunASupportSessionThroughACutAndAReload(t *testing.T) {
	t.Parallel()
	root := browserRepoRoot(t)
	webappRequire(t, root)
	env := assisttest.Start(t)
	// Each page reaches assistd through its own proxy, which cuts it off.
	customerNet := assisttest.NewProxy(t, env.Server.Addr())
	advisorNet := assisttest.NewProxy(t, env.Server.Addr())
	control := webappControl(t, map[string]func() error{
		// Both networks are down for 5 seconds: open connections reset,
		// new ones refused.
		"/cut": func() error {
			for _, p := range []*assisttest.Proxy{customerNet, advisorNet} {
				p.Pause()
				p.DropAll()
				time.AfterFunc(5*time.Second, p.Resume)
			}
			return nil
		},
	})
	const name = "Camille Browser"
	res := webappDrive(t, root, "journey", map[string]any{
		"api": env.URL, "customer": customerNet.URL(), "console": advisorNet.URL(), "control": control, "customerName": name,
	})

	text, err := os.ReadFile(res["transcript"])
	if err != nil {
		t.Fatalf("the downloaded chat history: %v", err)
	}
	last := -1
	for _, want := range []string{
		"Chat history", "Portal: Demo support", "Started: ", "Ended: ",
		name + " joined", name + ": Hello, my printer prints only blank pages",
		": Let us check the ink cartridges",
		name + ": cut: customer one", name + ": cut: customer two",
		"The session ended",
	} {
		i := strings.Index(string(text), want)
		if i < 0 || i < last {
			t.Fatalf("the downloaded history lacks %q, or has it out of order:\n%s", want, text)
		}
		last = i
	}
	for _, want := range []string{"cut: advisor one", "cut: advisor two"} {
		if strings.Count(string(text), want) != 1 {
			t.Fatalf("the downloaded history has %q %d times, want once:\n%s", want, strings.Count(string(text), want), text)
		}
	}
}

// A French browser gets the French pages; the language switch is
// remembered; axe-core finds no serious accessibility violation on either
// app; keyboard shortcuts never fire while typing.
func TestBrowserAppsSpeakFrenchAndPassAnAccessibilityCheck(t *testing.T) {
	t.Parallel()
	root := browserRepoRoot(t)
	webappRequire(t, root)
	env := assisttest.Start(t)
	webappDrive(t, root, "french-a11y", map[string]any{"api": env.URL, "customer": env.URL, "customerName": "Léa Navigateur"})
}

// The console follows more sessions than a browser has connections per
// origin over HTTP/1.1 (six): one WatchAdvisor stream carries them all, so
// every reply goes out and every customer message comes in live. A pick-up
// lost to another advisor is said plainly.
func TestBrowserConsoleFollowsMoreSessionsThanConnectionsPerOrigin(t *testing.T) {
	t.Parallel()
	root := browserRepoRoot(t)
	webappRequire(t, root)
	env := assisttest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), webappDriverTimeout)
	defer cancel()
	advisor := env.Services(assisttest.Connect, env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword))
	type session struct{ id, token string }
	var sessions []session
	var ids []string
	for i := range 8 {
		s, token := env.StartSession(t, "Customer "+string(rune('A'+i)))
		if _, err := advisor.Session.PickUpSession(ctx, &assistv1.PickUpSessionRequest{SessionId: s.GetId()}); err != nil {
			t.Fatalf("pick up session %d: %v", i, err)
		}
		if _, err := e2eSendText(ctx, env.Services(assisttest.Connect, token).Chat, s.GetId(), "before", "before "+s.GetId()[:8]); err != nil {
			t.Fatal(err)
		}
		sessions = append(sessions, session{s.GetId(), token})
		ids = append(ids, s.GetId())
	}
	var contested string
	control := webappControl(t, map[string]func() error{
		"/queue-one": func() error {
			s, _ := env.StartSession(t, "Contested customer")
			contested = s.GetId()
			return nil
		},
		"/steal": func() error {
			sam := env.Services(assisttest.Connect, env.Login(t, assisttest.Advisor2Email, assisttest.Advisor2Password))
			_, err := sam.Session.PickUpSession(ctx, &assistv1.PickUpSessionRequest{SessionId: contested})
			return err
		},
		"/customers-say": func() error {
			for _, s := range sessions {
				if _, err := e2eSendText(ctx, env.Services(assisttest.Connect, s.token).Chat, s.id, "live", "live "+s.id[:8]); err != nil {
					return err
				}
			}
			return nil
		},
	})
	webappDrive(t, root, "many", map[string]any{"api": env.URL, "customer": env.URL, "control": control, "sessions": ids})
}
