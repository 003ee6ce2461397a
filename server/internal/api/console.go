package api

import (
	"context"

	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/gen/go/assist/v1/assistv1connect"
	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/chat"
)

// WatchAdvisor serves the console's one stream: the queue and the logs of
// the sessions it follows.
func (h sessionHandler) WatchAdvisor(ctx context.Context, req *assistv1.WatchAdvisorRequest, stream assistv1connect.SessionServiceWatchAdvisorServerStream) error {
	w := chat.AdvisorWatch{Queue: req.GetWatchQueue()}
	for _, s := range req.GetPortalIds() {
		id, err := parseID("portal_ids", s)
		if err != nil {
			return err
		}
		w.Portals = append(w.Portals, id)
	}
	var ids []string
	var followed []uuid.UUID
	for _, c := range req.GetSessions() {
		id, err := parseID("sessions.session_id", c.GetSessionId())
		if err != nil {
			return err
		}
		w.Sessions = append(w.Sessions, chat.Cursor{SessionID: id, AfterSeq: c.GetAfterSeq()})
		ids = append(ids, id.String())
		followed = append(followed, id)
	}
	// Losing access to any followed session ends the stream: the console
	// opens it again without that session.
	ctx, finish, cancel := h.guardStream(ctx, followed...)
	defer cancel()
	// Messages go out a run at a time (see flush.go).
	flushes := holdFlushes(ctx)
	flushes.Hold(true)
	opened := func() error {
		if err := stream.Send(&assistv1.WatchAdvisorResponse{Kind: &assistv1.WatchAdvisorResponse_Opened{Opened: &assistv1.WatchAdvisorOpened{SessionIds: ids}}}); err != nil {
			return err
		}
		return flushes.Flush()
	}
	return finish(h.Conversation.WatchAdvisor(ctx, auth.FromContext(ctx), w, opened, advisorStream{stream, flushes}))
}

// advisorStream is the console's stream with its flushes held.
type advisorStream struct {
	assistv1connect.SessionServiceWatchAdvisorServerStream
	flushes streamFlushes
}

func (s advisorStream) Flush() error { return s.flushes.Flush() }
