package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assisttest"
)

// What the smoke test page (clients/web/smoke/page.ts) does and says.
const (
	browserChromium      = "/usr/bin/chromium"
	browserCustomerName  = "Browser customer"
	browserReady         = "ready"
	browserAdvisorText   = "hello from the advisor"
	browserDriverTimeout = 60 * time.Second
)

// A customer's page in a real browser (Debian's Chromium, driven by
// playwright-core) talks to assistd with @connectrpc/connect-web from
// another origin, so CORS preflights and fetch streaming are real: it starts
// a session on the demo portal, subscribes to its log (server stream over
// HTTP/1.1), and says "ready". The advisor, played here in Go, picks the
// session up from the queue and writes once "ready" is in the log; the page
// receives that message on the stream it opened before the message existed —
// live, not replayed — and answers it with Send.
func TestBrowserCustomerReceivesAdvisorMessageLiveAndReplies(t *testing.T) {
	t.Parallel()
	root := browserRepoRoot(t)
	browserRequireDeps(t, root)
	pageDir := browserBuildPage(t, root)

	pages := httptest.NewServer(http.FileServer(http.Dir(pageDir)))
	t.Cleanup(pages.Close)
	env := assisttest.Start(t, assisttest.WithCORSOrigins(pages.URL))
	if pages.URL == env.URL {
		t.Fatalf("the page and the API share the origin %s: CORS would not be exercised", pages.URL)
	}

	ctx, cancel := context.WithTimeout(context.Background(), browserDriverTimeout+30*time.Second)
	defer cancel()
	advisor := env.Services(assisttest.Connect, env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword))
	queue, err := advisor.Session.WatchQueue(ctx, &assistv1.WatchQueueRequest{})
	if err != nil {
		t.Fatalf("watch the queue: %v", err)
	}
	defer queue.Close()
	queued := browserReceive(ctx, queue.Receive)

	browser := browserDrive(t, root, pages.URL+"/?api="+url.QueryEscape(env.URL))

	var sessionID string
	browserAwait(ctx, t, browser, queued, "the browser's session in the queue", func(res *assistv1.WatchQueueResponse) bool {
		sessions := res.GetSnapshot().GetSessions()
		if s := res.GetAdded(); s != nil {
			sessions = append(sessions, s)
		}
		for _, s := range sessions {
			if s.GetCustomer().GetDisplayName() == browserCustomerName {
				sessionID = s.GetId()
				return true
			}
		}
		return false
	})
	if _, err := advisor.Session.PickUpSession(ctx, &assistv1.PickUpSessionRequest{SessionId: sessionID}); err != nil {
		t.Fatalf("pick up the browser's session: %v", err)
	}
	sub, err := advisor.Chat.Subscribe(ctx, &assistv1.SubscribeRequest{SessionId: sessionID})
	if err != nil {
		t.Fatalf("subscribe to the browser's session: %v", err)
	}
	defer sub.Close()
	events := browserReceive(ctx, sub.Receive)

	browserAwaitCustomerMessage(ctx, t, browser, events, browserReady)
	if _, err := e2eSendText(ctx, advisor.Chat, sessionID, "advisor-hello", browserAdvisorText); err != nil {
		t.Fatalf("advisor sends: %v", err)
	}
	browserAwaitCustomerMessage(ctx, t, browser, events, "got: "+browserAdvisorText)

	select {
	case <-browser.done:
	case <-ctx.Done():
		t.Fatal("the browser driver did not finish after the page replied (its output is logged below)")
	}
	if browser.err != nil {
		t.Fatalf("the browser driver failed (%v; its output is logged below)", browser.err)
	}
}

// browserRepoRoot is the repository's root, from this package's folder.
func browserRepoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !bytes.Contains(mod, []byte("module github.com/assist-chat/assist\n")) {
		t.Fatalf("%s is not the repository's root (go.mod: %v)", root, err)
	}
	return root
}

// browserRequireDeps fails the test, never skips it, when what `make deps`
// installs is missing.
func browserRequireDeps(t *testing.T, root string) {
	t.Helper()
	var missing []string
	if info, err := os.Stat(browserChromium); err != nil || info.Mode()&0o111 == 0 {
		missing = append(missing, browserChromium+" (Debian package chromium)")
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node on PATH (Node.js 20+)")
	}
	for _, pkg := range []string{"playwright-core", "esbuild", "typescript", "@connectrpc/connect", "@connectrpc/connect-web", "@bufbuild/protobuf"} {
		if _, err := os.Stat(filepath.Join(root, "node_modules", pkg, "package.json")); err != nil {
			missing = append(missing, "node_modules/"+pkg+" (npm ci)")
		}
	}
	if len(missing) > 0 {
		t.Fatalf("the browser test needs what `make deps` installs; run `make deps` (Debian's chromium, npm ci). Missing: %s",
			strings.Join(missing, ", "))
	}
}

// browserBuildPage type-checks the page with tsc, bundles it with esbuild,
// and returns a folder holding index.html and page.js.
func browserBuildPage(t *testing.T, root string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	smoke := filepath.Join("clients", "web", "smoke")
	steps := [][]string{
		{filepath.Join("node_modules", ".bin", "tsc"), "-p", smoke},
		{filepath.Join("node_modules", ".bin", "esbuild"), filepath.Join(smoke, "page.ts"),
			"--bundle", "--format=iife", "--target=es2022", "--log-level=warning",
			"--outfile=" + filepath.Join(dir, "page.js")},
	}
	for _, args := range steps {
		cmd := exec.CommandContext(ctx, filepath.Join(root, args[0]), args[1:]...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	html, err := os.ReadFile(filepath.Join(root, smoke, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.html"), html, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browserProcess is the running driver (node clients/web/smoke/drive.mjs).
type browserProcess struct {
	out  *browserOutput
	done chan struct{} // closed when the driver has exited
	err  error         // its exit status, once done is closed
}

// browserOutput collects the driver's stdout and stderr.
type browserOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *browserOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *browserOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// browserDrive starts the driver on pageURL. When the test ends it stops the
// driver (SIGTERM, which makes playwright close Chromium), waits for it, and
// logs its output if the test failed or runs verbose.
func browserDrive(t *testing.T, root, pageURL string) *browserProcess {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &browserProcess{out: &browserOutput{}, done: make(chan struct{})}
	cmd := exec.CommandContext(ctx, "node", filepath.Join("clients", "web", "smoke", "drive.mjs"),
		pageURL, strconv.FormatInt(browserDriverTimeout.Milliseconds(), 10))
	cmd.Dir = root
	cmd.Stdout = p.out
	cmd.Stderr = p.out
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start the browser driver: %v", err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-p.done
		if t.Failed() || testing.Verbose() {
			t.Logf("browser driver output (%s):\n%s", pageURL, p.out.String())
		}
	})
	return p
}

// browserExitStatus describes how the driver exited.
func browserExitStatus(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// browserItem is one message of a stream, or the error that ended it.
type browserItem[T any] struct {
	res T
	err error
}

// browserReceive pumps a stream into a channel until it ends.
func browserReceive[T any](ctx context.Context, receive func() (T, error)) <-chan browserItem[T] {
	ch := make(chan browserItem[T], 16)
	go func() {
		defer close(ch)
		for {
			res, err := receive()
			select {
			case ch <- browserItem[T]{res: res, err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return ch
}

// browserAwait reads items until match says yes; it fails the test if the
// stream ends, the driver exits or ctx runs out first.
func browserAwait[T any](ctx context.Context, t *testing.T, browser *browserProcess, items <-chan browserItem[T], what string, match func(T) bool) {
	t.Helper()
	for {
		select {
		case it, ok := <-items:
			if !ok || it.err != nil {
				err := errors.New("stream closed")
				if ok {
					err = it.err
				}
				t.Fatalf("waiting for %s: the stream ended: %v (the browser driver's output is logged below)", what, err)
			}
			if match(it.res) {
				return
			}
		case <-browser.done:
			t.Fatalf("waiting for %s: the browser driver exited first (%s; its output is logged below)", what, browserExitStatus(browser.err))
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v (the browser driver's output is logged below)", what, ctx.Err())
		}
	}
}

// browserAwaitCustomerMessage waits for the customer's chat message text on
// the advisor's Subscribe stream.
func browserAwaitCustomerMessage(ctx context.Context, t *testing.T, browser *browserProcess, events <-chan browserItem[*assistv1.SubscribeResponse], text string) {
	t.Helper()
	browserAwait(ctx, t, browser, events, fmt.Sprintf("the customer's message %q", text), func(res *assistv1.SubscribeResponse) bool {
		ev := res.GetEvent()
		author := ev.GetAuthor()
		return ev.GetMessage().GetText() == text &&
			author.GetRole() == assistv1.ParticipantRole_PARTICIPANT_ROLE_CUSTOMER &&
			author.GetDisplayName() == browserCustomerName
	})
}
