package bench

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/gen/go/assist/v1/assistv1connect"
	"github.com/assist-chat/assist/server/internal/assistd"
	"github.com/assist-chat/assist/server/internal/assisttest"
)

// serverPoolSize is assistd's database pool in these benchmarks.
const serverPoolSize = 32

// chatFixture is a server with active sessions, each followed by its
// customer and its advisor.
type chatFixture struct {
	env      *assisttest.Env
	sessions []chatSession
}

type chatSession struct {
	id                     string
	customer, advisor      assistv1connect.ChatServiceClient
	customerTok, advisorTo string
}

var (
	fixtureMu sync.Mutex
	fixtures  = map[int]*chatFixture{}
)

// fixture builds (once per session count) the server and its sessions.
func fixture(b *testing.B, n int) *chatFixture {
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	if f, ok := fixtures[n]; ok {
		return f
	}
	env := assisttest.StartOnConfig(b, databaseURL, func(c *assistd.Config) { c.MaxDBConns = serverPoolSize })
	advisorToken := env.Login(b, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
	f := &chatFixture{env: env}
	// Several HTTP/2 connections, as many devices would open.
	var advisorClients []assistv1connect.ChatServiceClient
	for i := 0; i < 8; i++ {
		advisorClients = append(advisorClients, assistv1connect.NewChatServiceClient(env.Client(assisttest.Connect, advisorToken)))
	}
	sessions := env.Services(assisttest.Connect, advisorToken).Session
	for i := 0; i < n; i++ {
		sess, customerToken := env.StartSession(b, fmt.Sprintf("Customer %d", i))
		if _, err := sessions.PickUpSession(context.Background(), &assistv1.PickUpSessionRequest{SessionId: sess.GetId()}); err != nil {
			b.Fatal(err)
		}
		f.sessions = append(f.sessions, chatSession{
			id:          sess.GetId(),
			customer:    assistv1connect.NewChatServiceClient(env.Client(assisttest.Connect, customerToken)),
			advisor:     advisorClients[i%len(advisorClients)],
			customerTok: customerToken, advisorTo: advisorToken,
		})
	}
	fixtures[n] = f
	return f
}

// latencies collects send→delivery durations.
type latencies struct {
	mu  sync.Mutex
	all []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.all = append(l.all, d)
	l.mu.Unlock()
}

func (l *latencies) quantile(q float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.all) == 0 {
		return 0
	}
	sort.Slice(l.all, func(i, j int) bool { return l.all[i] < l.all[j] })
	return l.all[int(q*float64(len(l.all)-1))]
}

// BenchmarkChat measures durable, acknowledged messages per second and
// send→delivery latency, with the customer and the advisor of each session
// both sending, and each delivered message read on the other party's
// Subscribe stream.
func BenchmarkChat(b *testing.B) {
	for _, n := range []int{1, 500} {
		// Built with the parent benchmark, so it outlives the sub-benchmark's
		// repeated runs; setup is not what is measured.
		f := fixture(b, n)
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()

			var sentAt sync.Map // client message id → time.Time
			lat := &latencies{}
			var delivered atomic.Int64
			want := int64(b.N)
			allDelivered := make(chan struct{})
			var closeOnce sync.Once

			// Each party follows the session; a message counts as delivered
			// when the other party's stream shows it.
			var ready sync.WaitGroup
			var followers sync.WaitGroup
			for _, s := range f.sessions {
				for _, side := range []struct {
					client assistv1connect.ChatServiceClient
					role   assistv1.ParticipantRole
				}{{s.customer, assistv1.ParticipantRole_PARTICIPANT_ROLE_CUSTOMER}, {s.advisor, assistv1.ParticipantRole_PARTICIPANT_ROLE_ADVISOR}} {
					stream, err := side.client.Subscribe(ctx, &assistv1.SubscribeRequest{SessionId: s.id, AfterSeq: lastSeq(b, f, s)})
					if err != nil {
						b.Fatal(err)
					}
					ready.Add(1)
					followers.Add(1)
					go func() {
						defer followers.Done()
						defer stream.Close()
						ready.Done()
						for {
							res, err := stream.Receive()
							if err != nil {
								return
							}
							ev := res.GetEvent()
							if ev.GetMessage() == nil || ev.GetAuthor().GetRole() == side.role {
								continue
							}
							if t, ok := sentAt.LoadAndDelete(ev.GetClientMessageId()); ok {
								lat.add(time.Since(t.(time.Time)))
								if delivered.Add(1) == want {
									closeOnce.Do(func() { close(allDelivered) })
								}
							}
						}
					}()
				}
			}
			ready.Wait()

			senders := 2 * len(f.sessions)
			var next atomic.Int64
			var acked atomic.Int64
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for i, s := range f.sessions {
				for _, client := range []assistv1connect.ChatServiceClient{s.customer, s.advisor} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							if next.Add(1) > want {
								return
							}
							id := uuid.NewString()
							sentAt.Store(id, time.Now())
							_, err := client.Send(ctx, &assistv1.SendRequest{SessionId: s.id, Content: &assistv1.SendRequest_Message{
								Message: &assistv1.ChatSend{ClientMessageId: id, Text: fmt.Sprintf("benchmark message from session %d", i)}}})
							if err != nil {
								b.Error(err)
								return
							}
							acked.Add(1)
						}
					}()
				}
			}
			wg.Wait()
			ackElapsed := time.Since(start)
			select {
			case <-allDelivered:
			case <-time.After(time.Minute):
				b.Errorf("only %d of %d messages delivered", delivered.Load(), want)
			}
			b.StopTimer()
			cancel()
			followers.Wait()

			perSecond := float64(acked.Load()) / ackElapsed.Seconds()
			p50, p99 := lat.quantile(0.50), lat.quantile(0.99)
			b.ReportMetric(perSecond, "msgs/s")
			b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
			record(result{name: fmt.Sprintf("Chat/sessions=%d", n), perSecond: perSecond, p50: p50, p99: p99, hasLatency: true, concurrency: senders})
		})
	}
}

// lastSeq is where a session's log ends now, so followers see only new
// messages.
func lastSeq(b *testing.B, f *chatFixture, s chatSession) int64 {
	res, err := f.env.Services(assisttest.Connect, s.advisorTo).Session.GetSession(context.Background(), &assistv1.GetSessionRequest{SessionId: s.id})
	if err != nil {
		b.Fatal(err)
	}
	return res.GetSession().GetLastSeq()
}
