package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/assist-chat/assist/clients/go/assist"
	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assisttest"
	"github.com/assist-chat/assist/server/internal/pgembed"
)

// restartableCluster is a PostgreSQL cluster of the test's own, so that
// restarting it disturbs no other test.
type restartableCluster struct {
	t       *testing.T
	dataDir string
	cluster *pgembed.Cluster
}

func newRestartableCluster(t *testing.T) *restartableCluster {
	t.Helper()
	dir, err := os.MkdirTemp("", "restart-")
	if err != nil {
		t.Fatal(err)
	}
	// As root, PostgreSQL's own user must enter it.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c := &restartableCluster{t: t, dataDir: filepath.Join(dir, "data")}
	c.start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = c.cluster.Stop(ctx)
		_ = os.RemoveAll(dir)
	})
	return c
}

func (c *restartableCluster) start() {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cluster, err := pgembed.Start(ctx, pgembed.Options{DataDir: c.dataDir, Fast: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		c.t.Fatal(err)
	}
	c.cluster = cluster
}

// restart stops the server (a fast shutdown: every connection is
// terminated) and starts it again after down.
func (c *restartableCluster) restart(down time.Duration) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.cluster.Stop(ctx); err != nil {
		c.t.Fatal(err)
	}
	time.Sleep(down)
	c.start()
}

// A PostgreSQL restart in the middle of a conversation reaches no
// application as an error: the customer's unary sends, the advisor's bidi
// chat and a follower all carry on by themselves, and the log holds every
// message exactly once, in the order each sender sent them.
func TestClientsRideOutADatabaseRestart(t *testing.T) {
	t.Parallel()
	db := newRestartableCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := db.cluster.CreateDatabase(ctx, "assist"); err != nil {
		t.Fatal(err)
	}
	env := assisttest.StartOn(t, db.cluster.ConnString("assist"))
	sid, customerToken, advisorToken := env.ActiveSession(t)

	customer := assist.New(env.URL, assist.WithToken(customerToken), clientFastRetry)
	advisor := assist.New(env.URL, assist.WithToken(advisorToken), clientFastRetry)

	var followed clientEventLog
	followDone := make(chan error, 1)
	go func() {
		followDone <- customer.Follow(ctx, sid, 0, func(ev *assistv1.SessionEvent) error {
			if ev.GetSeq() > 0 {
				followed.add(ev)
			}
			return nil
		})
	}()
	chat, err := advisor.OpenChat(ctx, sid, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer chat.Close()
	var chatted clientEventLog
	chatRead := make(chan struct{})
	go func() {
		defer close(chatRead)
		for ev := range chat.Events() {
			if ev.GetSeq() > 0 {
				chatted.add(ev)
			}
		}
	}()

	const perSender = 60
	var texts []string
	var wg sync.WaitGroup
	restartAt := make(chan struct{})
	var restartOnce sync.Once
	send := func(who string, fn func(text string) error) {
		defer wg.Done()
		for i := range perSender {
			if i == perSender/3 {
				restartOnce.Do(func() { close(restartAt) })
			}
			text := fmt.Sprintf("%s-%03d", who, i)
			if err := fn(text); err != nil {
				t.Errorf("%s: the application saw an error: %v", text, err)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	for i := range perSender {
		texts = append(texts, fmt.Sprintf("customer-%03d", i), fmt.Sprintf("advisor-%03d", i))
	}
	wg.Add(2)
	go send("customer", func(text string) error { _, err := customer.SendMessage(ctx, sid, text); return err })
	go send("advisor", func(text string) error { _, err := chat.Send(ctx, text); return err })

	<-restartAt
	db.restart(2 * time.Second)
	wg.Wait()
	if t.Failed() {
		return
	}
	clientEndSession(t, ctx, advisor, sid)
	select {
	case err := <-followDone:
		if err != nil {
			t.Fatalf("Follow returned %v, want nil after SessionEnded", err)
		}
	case <-ctx.Done():
		t.Fatal("Follow did not finish after the end")
	}
	select {
	case <-chatRead:
	case <-ctx.Done():
		t.Fatal("the chat's events were not closed after the end")
	}
	if err := chat.Err(); err != nil {
		t.Fatalf("chat ended with %v, want nil", err)
	}

	transcript := clientTranscript(t, ctx, advisor, sid)
	stored := map[string]int{}
	for _, ev := range transcript {
		if text := ev.GetMessage().GetText(); text != "" {
			stored[text]++
		}
	}
	for _, text := range texts {
		if stored[text] != 1 {
			t.Errorf("%q stored %d times, want once", text, stored[text])
		}
	}
	clientAssertSenderOrder(t, transcript, "customer-", perSender)
	clientAssertSenderOrder(t, transcript, "advisor-", perSender)
	clientAssertExactlyTheLog(t, followed.all(), transcript)
	clientAssertExactlyTheLog(t, chatted.all(), transcript)
}

// clientAssertSenderOrder checks that one sender's messages are stored in
// the order sent.
func clientAssertSenderOrder(t *testing.T, transcript []*assistv1.SessionEvent, prefix string, n int) {
	t.Helper()
	next := 0
	for _, ev := range transcript {
		text := ev.GetMessage().GetText()
		if len(text) > len(prefix) && text[:len(prefix)] == prefix {
			if want := fmt.Sprintf("%s%03d", prefix, next); text != want {
				t.Fatalf("stored %q where %q was next", text, want)
			}
			next++
		}
	}
	if next != n {
		t.Fatalf("%d messages of %s stored, want %d", next, prefix, n)
	}
}
