package assistd

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/assist-chat/assist/server/internal/feed"
	"github.com/assist-chat/assist/server/internal/sessionlog"
	"github.com/assist-chat/assist/server/internal/webhooks"
)

// Integrations configures what integrators rely on. The zero value of each
// field means its documented default.
type Integrations struct {
	// WebhooksAllowPrivate lets webhook endpoints resolve to loopback,
	// private and link-local addresses. Default false.
	WebhooksAllowPrivate bool
	// WebhookRetrySchedule is the wait before each retry of a failed
	// delivery. Default webhooks.DefaultSchedule.
	WebhookRetrySchedule []time.Duration
	// RetentionInterval is how often old chat logs are deleted. Default 1h.
	RetentionInterval time.Duration
	// FeedPollInterval is how often an idle account stream re-reads the
	// table without a wake-up. Default 5s.
	FeedPollInterval time.Duration
}

type integrationServices struct {
	feed      *feed.Service
	webhooks  *webhooks.Service
	retention *feed.Retention
}

// startIntegrations starts the feed's sequencer and listener, the webhook
// dispatcher and the retention job on every replica (leases and advisory
// locks keep each job to one at a time), until ctx ends.
func (s *Server) startIntegrations(ctx context.Context, hub *sessionlog.Hub, cfg Integrations) integrationServices {
	notifier := feed.NewNotifier()
	guard := &webhooks.Guard{AllowPrivate: cfg.WebhooksAllowPrivate}
	dispatcher := webhooks.NewDispatcher(s.store, guard, s.logger)
	if len(cfg.WebhookRetrySchedule) > 0 {
		dispatcher.Schedule = cfg.WebhookRetrySchedule
	}
	hooks := webhooks.NewService(s.store, guard, dispatcher.Wake, s.logger)
	sequencer := feed.NewSequencer(s.store, notifier, hooks.Record, s.logger)
	hub.OnCommitted(sequencer.Hint)
	notifier.OnNewPositions(func(uuid.UUID) { dispatcher.Wake() })
	reader := feed.NewService(s.store, notifier)
	if cfg.FeedPollInterval > 0 {
		reader.PollInterval = cfg.FeedPollInterval
	}
	retention := feed.NewRetention(s.store, s.logger)
	if cfg.RetentionInterval > 0 {
		retention.Interval = cfg.RetentionInterval
	}
	for _, run := range []func(context.Context){
		sequencer.Run,
		func(ctx context.Context) { notifier.Listen(ctx, s.store.URL, s.logger) },
		dispatcher.Run,
		retention.Run,
	} {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			run(ctx)
		}()
	}
	return integrationServices{feed: reader, webhooks: hooks, retention: retention}
}
