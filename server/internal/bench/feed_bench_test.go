package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/gen/go/assist/v1/assistv1connect"
	"github.com/assist-chat/assist/server/internal/assisttest"
	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/demo"
)

// BenchmarkAccountFeed measures what an integrator sees while customers of
// many sessions chat: acknowledged messages per second, and the latency
// from a send to the message's arrival on the account event stream (the
// sequencer's lag included).
func BenchmarkAccountFeed(b *testing.B) {
	const n = 100
	f := fixture(b, n)
	b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		st := f.env.Server.Store()
		account, err := st.Q.AccountGetByName(ctx, st.Pool, demo.AccountName)
		if err != nil {
			b.Fatal(err)
		}
		key, _, err := auth.NewService(st, 4).CreateAPIKey(ctx, st.Pool, account.ID, "bench", []assistv1.ApiKeyScope{assistv1.ApiKeyScope_API_KEY_SCOPE_SESSIONS_READ})
		if err != nil {
			b.Fatal(err)
		}
		var after int64
		_ = st.Pool.QueryRow(ctx, "SELECT coalesce((SELECT last_pos FROM feed_accounts WHERE account_id = $1), 0)", account.ID).Scan(&after)
		stream, err := assistv1connect.NewEventServiceClient(f.env.Client(assisttest.Connect, key)).StreamAccountEvents(ctx,
			&assistv1.StreamAccountEventsRequest{AfterPosition: after, Types: []assistv1.AccountEventType{assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_MESSAGE}})
		if err != nil {
			b.Fatal(err)
		}
		defer stream.Close()

		var sentAt sync.Map
		lat := &latencies{}
		want := int64(b.N)
		var seen atomic.Int64
		allSeen := make(chan struct{})
		go func() {
			for {
				res, err := stream.Receive()
				if err != nil {
					return
				}
				if t, ok := sentAt.LoadAndDelete(res.GetEvent().GetEvent().GetClientMessageId()); ok {
					lat.add(time.Since(t.(time.Time)))
					if seen.Add(1) == want {
						close(allSeen)
					}
				}
			}
		}()

		var next, acked atomic.Int64
		b.ResetTimer()
		start := time.Now()
		var wg sync.WaitGroup
		for i, s := range f.sessions {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= want {
					id := uuid.NewString()
					sentAt.Store(id, time.Now())
					_, err := s.customer.Send(ctx, &assistv1.SendRequest{SessionId: s.id, Content: &assistv1.SendRequest_Message{
						Message: &assistv1.ChatSend{ClientMessageId: id, Text: fmt.Sprintf("feed benchmark message from session %d", i)}}})
					if err != nil {
						b.Error(err)
						return
					}
					acked.Add(1)
				}
			}()
		}
		wg.Wait()
		ackElapsed := time.Since(start)
		select {
		case <-allSeen:
		case <-time.After(time.Minute):
			b.Errorf("only %d of %d messages reached the account stream", seen.Load(), want)
		}
		b.StopTimer()
		perSecond := float64(acked.Load()) / ackElapsed.Seconds()
		p50, p99 := lat.quantile(0.50), lat.quantile(0.99)
		b.ReportMetric(perSecond, "msgs/s")
		b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
		record(result{name: fmt.Sprintf("AccountFeed/sessions=%d", n), perSecond: perSecond, p50: p50, p99: p99, hasLatency: true, concurrency: n})
	})
}
