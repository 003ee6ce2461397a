package e2e

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/grpchealth"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assisttest"
	"github.com/assist-chat/assist/server/internal/pgtest"
)

// Two assistd processes, started together on one database, seed the demo
// once between them, deliver each other's messages live, and exit cleanly
// on SIGTERM.
func TestTwoAssistdProcessesShareOneDatabase(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "assistd")
	build := exec.Command("go", "build", "-o", bin, "./server/cmd/assistd")
	build.Dir = filepath.Join("..", "..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build assistd: %v\n%s", err, out)
	}
	dbURL := pgtest.NewDatabase(t)

	type process struct {
		cmd  *exec.Cmd
		url  string
		logs *bytes.Buffer
		mu   *sync.Mutex
	}
	start := func() *process {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		p := &process{url: "http://" + addr, logs: new(bytes.Buffer), mu: new(sync.Mutex)}
		p.cmd = exec.Command(bin, "--addr", addr, "--database-url", dbURL, "--log-level", "debug")
		p.cmd.Env = append(os.Environ(), "ASSIST_DEMO=true")
		p.cmd.Stdout, p.cmd.Stderr = processLog{p.logs, p.mu}, processLog{p.logs, p.mu}
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = p.cmd.Process.Kill()
			if t.Failed() {
				p.mu.Lock()
				t.Logf("assistd at %s logged:\n%s", addr, p.logs)
				p.mu.Unlock()
			}
		})
		return p
	}
	a, b := start(), start()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for _, p := range []*process{a, b} {
		health := grpchealth.NewClient(assisttest.HTTPClient(), p.url)
		for {
			res, err := health.Check(ctx, &grpchealth.CheckRequest{})
			if err == nil && res.Status == grpchealth.StatusServing {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("assistd at %s never became healthy: %v", p.url, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	db := e2eDB(t, dbURL)
	var accounts int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM accounts").Scan(&accounts); err != nil || accounts != 1 {
		t.Fatalf("%d accounts after two concurrent first starts (%v), want 1", accounts, err)
	}

	envA, envB := &assisttest.Env{URL: a.url}, &assisttest.Env{URL: b.url}
	advisorToken := envB.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	sess, customerToken := envA.StartSession(t, "Ada")
	if _, err := envB.Services(assisttest.GRPC, advisorToken).Session.PickUpSession(ctx, &assistv1.PickUpSessionRequest{SessionId: sess.GetId()}); err != nil {
		t.Fatal(err)
	}
	stream, err := envA.Services(assisttest.GRPC, customerToken).Chat.Subscribe(ctx, &assistv1.SubscribeRequest{SessionId: sess.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	receiveUntil(t, stream, func(ev *assistv1.SessionEvent) bool { return ev.GetStateChanged() != nil })
	if _, err := e2eSendText(ctx, envB.Services(assisttest.Connect, advisorToken).Chat, sess.GetId(), "from-b", "hello from the other process"); err != nil {
		t.Fatal(err)
	}
	receiveUntil(t, stream, isText("hello from the other process"))

	for _, p := range []*process{a, b} {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- p.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("assistd at %s exited with %v on SIGTERM, want 0", p.url, err)
			}
		case <-ctx.Done():
			t.Fatalf("assistd at %s did not exit on SIGTERM", p.url)
		}
	}
}

// processLog collects a child's output safely for the test log.
type processLog struct {
	buf *bytes.Buffer
	mu  *sync.Mutex
}

func (w processLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}
