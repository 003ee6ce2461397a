package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/gen/go/assist/v1/assistv1connect"
	"github.com/assist-chat/assist/server/internal/api"
	"github.com/assist-chat/assist/server/internal/assistd"
	"github.com/assist-chat/assist/server/internal/assisttest"
)

// The real customer app, built once per test binary for this machine.
var (
	upgradeAppsOnce sync.Once
	upgradeAppsDir  string
	upgradeAppsErr  error
)

// upgradeApps returns a folder holding the customer app for this machine,
// named as `make build` names it, building it on first use.
func upgradeApps(t *testing.T) string {
	t.Helper()
	upgradeAppsOnce.Do(func() {
		upgradeAppsDir, upgradeAppsErr = os.MkdirTemp("", "assist-e2e-apps-")
		if upgradeAppsErr != nil {
			return
		}
		root, err := filepath.Abs("../../..")
		if err != nil {
			upgradeAppsErr = err
			return
		}
		out := filepath.Join(upgradeAppsDir, api.AppBinaryName(runtime.GOOS, runtime.GOARCH))
		cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./clients/customer-app")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			upgradeAppsErr = fmt.Errorf("go build ./clients/customer-app: %v\n%s", err, b)
		}
	})
	if upgradeAppsErr != nil {
		t.Fatalf("build the customer app: %v", upgradeAppsErr)
	}
	return upgradeAppsDir
}

func upgradeRemoveApps() {
	if upgradeAppsDir != "" {
		_ = os.RemoveAll(upgradeAppsDir)
	}
}

// upgradeEnv starts a server that serves the real customer app.
func upgradeEnv(t *testing.T) *assisttest.Env {
	t.Helper()
	dir := upgradeApps(t)
	return assisttest.Start(t, func(c *assistd.Config) { c.AppsDir = dir })
}

// upgradeUserAgent is a desktop browser on this machine's OS and
// architecture.
func upgradeUserAgent() string {
	arch := "x86_64"
	if runtime.GOARCH == "arm64" {
		arch = "aarch64"
	}
	return "Mozilla/5.0 (X11; Linux " + arch + ") AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"
}

// upgradeSettings changes the demo account's settings as its admin.
func upgradeSettings(t *testing.T, env *assisttest.Env, s *assistv1.AccountSettings, paths ...string) {
	t.Helper()
	admin := env.Login(t, assisttest.AdminEmail, assisttest.AdminPassword)
	_, err := env.Services(assisttest.Connect, admin).Admin.UpdateAccountSettings(context.Background(), &assistv1.UpdateAccountSettingsRequest{
		Settings: s, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths},
	})
	if err != nil {
		t.Fatalf("update account settings %v: %v", paths, err)
	}
}

// upgradeStart starts a session from a desktop browser on this machine's
// platform and returns it with the customer token.
func upgradeStart(t *testing.T, env *assisttest.Env, name string) (*assistv1.StartSessionResponse, string) {
	t.Helper()
	res, err := env.Services(assisttest.Connect, "").Portal.StartSession(context.Background(), &assistv1.StartSessionRequest{
		PortalSlug: assisttest.PortalSlug,
		Customer:   &assistv1.CustomerInfo{DisplayName: name},
		Platform: &assistv1.ClientPlatform{
			DeviceType: assistv1.DeviceType_DEVICE_TYPE_DESKTOP, OperatingSystem: assistv1.OperatingSystem_OPERATING_SYSTEM_LINUX,
			UserAgent: upgradeUserAgent(),
		},
	})
	if err != nil {
		t.Fatalf("start session: %v", err)
	}
	return res, res.GetCustomerToken()
}

// upgradeActive starts a session and has the advisor pick it up.
func upgradeActive(t *testing.T, env *assisttest.Env, advisor, name string) (sid, customer string) {
	t.Helper()
	res, customer := upgradeStart(t, env, name)
	if _, err := env.Services(assisttest.Connect, advisor).Session.PickUpSession(context.Background(), &assistv1.PickUpSessionRequest{SessionId: res.GetSession().GetId()}); err != nil {
		t.Fatalf("pick up: %v", err)
	}
	return res.GetSession().GetId(), customer
}

// upgradeOffer upgrades the session as advisor and returns the offer.
func upgradeOffer(t *testing.T, env *assisttest.Env, advisor, sid string) *assistv1.SessionEvent {
	t.Helper()
	res, err := env.Services(assisttest.Connect, advisor).Session.UpgradeSession(context.Background(), &assistv1.UpgradeSessionRequest{SessionId: sid})
	if err != nil {
		t.Fatalf("upgrade session: %v", err)
	}
	return res.GetUpgradeOffered()
}

// upgradeGet downloads openerURL with the query and User-Agent given.
func upgradeGet(t *testing.T, openerURL, query, userAgent string) (*http.Response, []byte) {
	t.Helper()
	u := openerURL
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", userAgent)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: read: %v", u, err)
	}
	return res, body
}

// upgradeToken fetches the opener token behind an opener link (its
// .assist file).
func upgradeToken(t *testing.T, openerURL string) string {
	t.Helper()
	res, body := upgradeGet(t, openerURL, "format=assist", upgradeUserAgent())
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s?format=assist: status %d: %s", openerURL, res.StatusCode, body)
	}
	u, err := url.Parse(strings.TrimSpace(string(body)))
	if err != nil || u.Scheme != "assist" || u.Query().Get("token") == "" {
		t.Fatalf("the .assist file holds %q, want an assist://open?token=… link", body)
	}
	return u.Query().Get("token")
}

// upgradeDownload downloads the opener binary for this machine into dir
// and returns its path.
func upgradeDownload(t *testing.T, openerURL, dir string) string {
	t.Helper()
	res, body := upgradeGet(t, openerURL, "", upgradeUserAgent())
	if res.StatusCode != http.StatusOK {
		t.Fatalf("download the opener: status %d: %s", res.StatusCode, body)
	}
	cd := res.Header.Get("Content-Disposition")
	if !strings.HasPrefix(cd, `attachment; filename="Assist-Customer-`) {
		t.Fatalf("Content-Disposition %q, want an attachment named Assist-Customer-…", cd)
	}
	name := strings.TrimSuffix(strings.TrimPrefix(cd, `attachment; filename="`), `"`)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, body, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// appLine is one JSON line of the customer app's non-interactive mode.
type appLine struct {
	Type            string `json:"type"`
	Seq             int64  `json:"seq"`
	Kind            string `json:"kind"`
	Text            string `json:"text"`
	Role            string `json:"role"`
	ClientMessageID string `json:"client_message_id"`
	Code            string `json:"code"`
	Message         string `json:"message"`
	Handoff         string `json:"handoff"`
	SessionID       string `json:"session_id"`
	Accepted        bool   `json:"accepted"`
}

// appRun is the customer app running as a process.
type appRun struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan appLine
	mu     sync.Mutex
	all    []appLine
	exited chan struct{}
	err    error
	stderr strings.Builder
}

// upgradeRunApp runs the customer app at path with args.
func upgradeRunApp(t *testing.T, path string, args ...string) *appRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	a := &appRun{t: t, cmd: exec.CommandContext(ctx, path, args...), lines: make(chan appLine, 1000), exited: make(chan struct{})}
	a.cmd.Stderr = &a.stderr
	var err error
	if a.stdin, err = a.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := a.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("run the customer app: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var l appLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				l = appLine{Type: "not-json", Text: sc.Text()}
			}
			a.mu.Lock()
			a.all = append(a.all, l)
			a.mu.Unlock()
			a.lines <- l
		}
		a.err = a.cmd.Wait()
		close(a.lines)
		close(a.exited)
	}()
	t.Cleanup(func() {
		_ = a.stdin.Close()
		select {
		case <-a.exited:
		case <-time.After(10 * time.Second):
			_ = a.cmd.Process.Kill()
			<-a.exited
		}
	})
	return a
}

// waitFor reads the app's lines until one matches, failing after a while.
func (a *appRun) waitFor(what string, match func(appLine) bool) appLine {
	a.t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-a.lines:
			if !ok {
				a.t.Fatalf("the customer app exited (%v) before %s; stderr: %s; lines: %+v", a.err, what, a.stderr.String(), a.lines_())
			}
			if match(l) {
				return l
			}
		case <-timeout:
			a.t.Fatalf("the customer app did not show %s within 30s; lines: %+v", what, a.lines_())
		}
	}
}

func (a *appRun) lines_() []appLine {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]appLine(nil), a.all...)
}

// send types a message into the app.
func (a *appRun) send(text string) {
	a.t.Helper()
	if _, err := io.WriteString(a.stdin, text+"\n"); err != nil {
		a.t.Fatalf("write to the customer app: %v", err)
	}
}

// wait waits for the app to exit and returns its exit code.
func (a *appRun) wait() int {
	a.t.Helper()
	_ = a.stdin.Close()
	for range a.lines {
	}
	select {
	case <-a.exited:
	case <-time.After(30 * time.Second):
		a.t.Fatalf("the customer app did not exit within 30s")
	}
	var ee *exec.ExitError
	if errors.As(a.err, &ee) {
		return ee.ExitCode()
	}
	if a.err != nil {
		a.t.Fatalf("the customer app: %v", a.err)
	}
	return 0
}

// upgradeFollow reads a session's log from the start until SessionEnded,
// in the background; the returned function waits for the end and returns
// the stored events.
func upgradeFollow(t *testing.T, c assistv1connect.ChatServiceClient, sid string) func() []*assistv1.SessionEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	stream, err := c.Subscribe(ctx, &assistv1.SubscribeRequest{SessionId: sid})
	if err != nil {
		cancel()
		t.Fatalf("subscribe: %v", err)
	}
	done := make(chan struct{})
	var events []*assistv1.SessionEvent
	var ferr error
	go func() {
		defer close(done)
		defer cancel()
		defer stream.Close()
		for {
			res, err := stream.Receive()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					ferr = err
				}
				return
			}
			if ev := res.GetEvent(); ev.GetSeq() > 0 {
				events = append(events, ev)
				if ev.GetSessionEnded() != nil {
					return
				}
			}
		}
	}()
	return func() []*assistv1.SessionEvent {
		t.Helper()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatalf("the log of %s did not end within a minute", sid)
		}
		if ferr != nil {
			t.Fatalf("follow %s: %v", sid, ferr)
		}
		return events
	}
}

// upgradeSeqs checks that events are the contiguous log 1..n, each once,
// and returns their messages' texts in order.
func upgradeSeqs(t *testing.T, surface string, seqs []int64, texts []string) []string {
	t.Helper()
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("%s: event %d has seq %d, want %d (the log must arrive whole, in order, each event once): %v", surface, i, s, i+1, seqs)
		}
	}
	return texts
}
