package api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"

	"buf.build/go/protovalidate"
	"connectrpc.com/connect/v2"
	"github.com/google/uuid"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/timestamppb"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/gen/go/assist/v1/assistv1connect"
	"github.com/assist-chat/assist/server/internal/accounts"
	"github.com/assist-chat/assist/server/internal/admin"
	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/chat"
	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/feed"
	"github.com/assist-chat/assist/server/internal/reports"
	"github.com/assist-chat/assist/server/internal/sessions"
	"github.com/assist-chat/assist/server/internal/upgrade"
	"github.com/assist-chat/assist/server/internal/webhooks"
)

// Domain is what the handlers call.
type Domain struct {
	Auth     *auth.Service
	Sessions *sessions.Service
	// Conversation is the chat rules (named apart from the Chat RPC).
	Conversation *chat.Service
	Reports      *reports.Service
	Admin        *admin.Service
	Upgrade      *upgrade.Service
	Accounts     *accounts.Service
	// Feed streams account events; Webhooks manages endpoints.
	Feed     *feed.Service
	Webhooks *webhooks.Service
	Logger   *slog.Logger
	// Guard ends open streams whose holder loses access.
	Guard *sessions.Guard
	// Stopping is closed when the server shuts down: streams then end
	// cleanly and clients resume elsewhere from their cursor.
	Stopping <-chan struct{}

	stoppingOnce sync.Once
	stopping     context.Context
}

func parseID(field, value string) (uuid.UUID, error) {
	id, err := uuid.Parse(value)
	if err != nil {
		return uuid.Nil, failure.InvalidArgument(field, "must be a UUID")
	}
	return id, nil
}

// authHandler serves AuthService.
type authHandler struct{ *Domain }

func (h authHandler) Login(ctx context.Context, req *assistv1.LoginRequest) (*assistv1.LoginResponse, error) {
	token, expire, adv, err := h.Auth.Login(ctx, req.GetEmail(), req.GetPassword())
	if err != nil {
		return nil, err
	}
	h.Logger.Info("advisor logged in", "advisor", adv.GetId())
	return &assistv1.LoginResponse{AccessToken: token, ExpireTime: timestamppb.New(expire), Advisor: adv}, nil
}

func (h authHandler) Logout(ctx context.Context, _ *assistv1.LogoutRequest) (*assistv1.LogoutResponse, error) {
	if err := h.Auth.Revoke(ctx, auth.FromContext(ctx)); err != nil {
		return nil, err
	}
	return &assistv1.LogoutResponse{}, nil
}

// portalHandler serves PortalService.
type portalHandler struct{ *Domain }

func (h portalHandler) GetPortal(ctx context.Context, req *assistv1.GetPortalRequest) (*assistv1.GetPortalResponse, error) {
	portal, err := h.Sessions.GetPortal(ctx, req.GetPortalSlug())
	if err != nil {
		return nil, err
	}
	return &assistv1.GetPortalResponse{Portal: portal}, nil
}

func (h portalHandler) StartSession(ctx context.Context, req *assistv1.StartSessionRequest) (*assistv1.StartSessionResponse, error) {
	sess, token, err := h.Sessions.StartSession(ctx, sessions.Start{
		PortalSlug:            req.GetPortalSlug(),
		Customer:              req.GetCustomer(),
		Platform:              req.GetPlatform(),
		SessionCode:           req.GetSessionCode(),
		AdvisorID:             req.GetAdvisorId(),
		FirstAvailableAdvisor: req.GetFirstAvailableAdvisor(),
		FastChat:              req.GetFastChat(),
		RequestID:             req.GetRequestId(),
		Caller:                auth.FromContext(ctx),
		ClientAddress:         peerHost(ctx),
	})
	if err != nil {
		return nil, err
	}
	return &assistv1.StartSessionResponse{Session: sess, CustomerToken: token}, nil
}

// peerHost is the calling client's IP address (proxies are not trusted),
// or "" for an in-process call.
func peerHost(ctx context.Context) string {
	info, ok := connect.CallInfoForServerContext(ctx)
	if !ok {
		return ""
	}
	if host, _, err := net.SplitHostPort(info.PeerAddr); err == nil {
		return host
	}
	return info.PeerAddr
}

// chatHandler serves ChatService.
type chatHandler struct{ *Domain }

func (h chatHandler) Send(ctx context.Context, req *assistv1.SendRequest) (*assistv1.SendResponse, error) {
	sid, err := parseID("session_id", req.GetSessionId())
	if err != nil {
		return nil, err
	}
	p := auth.FromContext(ctx)
	var ev *assistv1.SessionEvent
	if t := req.GetTyping(); t != nil {
		ev, err = h.Conversation.Typing(ctx, p, sid, t.GetActive())
	} else {
		m := req.GetMessage()
		ev, err = h.Conversation.Send(ctx, p, sid, m.GetClientMessageId(), m.GetText())
	}
	if err != nil {
		return nil, err
	}
	return &assistv1.SendResponse{Event: ev}, nil
}

func (h chatHandler) Subscribe(ctx context.Context, req *assistv1.SubscribeRequest, stream assistv1connect.ChatServiceSubscribeServerStream) error {
	sid, err := parseID("session_id", req.GetSessionId())
	if err != nil {
		return err
	}
	ctx, finish, cancel := h.guardStream(ctx, sid)
	defer cancel()
	// Events go out a run at a time (see flush.go); the headers at once.
	flushes := holdFlushes(ctx)
	flushes.Hold(true)
	opened := func() error {
		if err := stream.SendHeaders(); err != nil {
			return err
		}
		return flushes.Flush()
	}
	reader := chat.ReaderFuncs{
		SendFunc: func(ev *assistv1.SessionEvent) error {
			return stream.Send(&assistv1.SubscribeResponse{Event: ev})
		},
		FlushFunc: flushes.Flush,
	}
	if binaryProto(ctx) {
		reader.SendStoredFunc = func(event []byte) error {
			res := storedSubscribeResponse(event)
			defer res.release()
			return stream.Send(&res.SubscribeResponse)
		}
	}
	return finish(h.Conversation.Subscribe(ctx, auth.FromContext(ctx), sid, req.GetAfterSeq(), opened, reader))
}

// binaryProto reports whether the call's messages are binary protobuf.
func binaryProto(ctx context.Context) bool {
	info, ok := connect.CallInfoForServerContext(ctx)
	return ok && info.Codec == connect.CodecNameProto
}

// subscribeEventField is SubscribeResponse's event field.
var subscribeEventField = (&assistv1.SubscribeResponse{}).ProtoReflect().Descriptor().Fields().ByName("event").Number()

// storedSubscribeResponse is a SubscribeResponse carrying a stored event
// as it is stored: the bytes ride as the message's unknown field of the
// event's number, which binary protobuf writes as they are, so the client
// reads exactly a SubscribeResponse with that event. A replay then neither
// decodes nor encodes its events. (JSON drops unknown fields: binary
// calls only.) The response comes from a pool, its bytes copied into a
// buffer of its own; release returns it once sent.
func storedSubscribeResponse(event []byte) *storedResponse {
	res := storedResponses.Get().(*storedResponse)
	res.raw = protowire.AppendTag(res.raw[:0], subscribeEventField, protowire.BytesType)
	res.raw = protowire.AppendBytes(res.raw, event)
	res.ProtoReflect().SetUnknown(res.raw)
	return res
}

type storedResponse struct {
	assistv1.SubscribeResponse
	raw []byte
}

var storedResponses = sync.Pool{New: func() any { return new(storedResponse) }}

func (r *storedResponse) release() {
	r.ProtoReflect().SetUnknown(nil)
	if cap(r.raw) <= 64<<10 {
		storedResponses.Put(r)
	}
}

func (h chatHandler) GetTranscript(ctx context.Context, req *assistv1.GetTranscriptRequest) (*assistv1.GetTranscriptResponse, error) {
	sid, err := parseID("session_id", req.GetSessionId())
	if err != nil {
		return nil, err
	}
	t, err := h.Conversation.GetTranscript(ctx, auth.FromContext(ctx), sid)
	if err != nil {
		return nil, err
	}
	return &assistv1.GetTranscriptResponse{Events: t.Events, Text: t.Text, FileName: t.FileName}, nil
}

// Chat runs the bidi stream: events flow out from the log while the
// client's messages flow in, each acknowledged after it is stored.
func (h chatHandler) Chat(ctx context.Context, stream assistv1connect.ChatServiceChatServerStream) error {
	const proc = assistv1connect.ChatServiceChatProcedure
	first, err := stream.Receive()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return err
	}
	open := first.GetOpen()
	if first.GetAction() == nil {
		return failure.InvalidArgument("action", "the first request must open a session")
	}
	if open == nil {
		return failure.InvalidArgument("open", "the first request must open a session")
	}
	if err := protovalidate.Validate(first); err != nil {
		return failure.InvalidArgument("open", "%s", err.Error())
	}
	sid, err := parseID("open.session_id", open.GetSessionId())
	if err != nil {
		return err
	}
	p := auth.FromContext(ctx)
	// Check access now, so a refused stream fails before anything is sent.
	if _, err := h.Sessions.Load(ctx, p, sid); err != nil {
		return err
	}

	ctx, finish, cancel := h.guardStream(ctx, sid)
	defer cancel()
	sends := &chatSends{stream: stream, flushes: holdFlushes(ctx), sentSeq: open.GetAfterSeq()}
	events := chat.ReaderFuncs{SendFunc: sends.event, FlushFunc: sends.flush}
	defer sends.finish()

	// Headers now: the client knows the stream is open before any event.
	if err := stream.SendHeaders(); err != nil {
		return err
	}

	// The client's messages come in on a goroutine of their own; the log's
	// events go out from this one (a goroutine less per stream). A failed
	// receive stops the events; a client that closed its side (nil) still
	// gets them until the session ends.
	logCtx, stopLog := context.WithCancelCause(ctx)
	defer stopLog(nil)
	go func() {
		if err := runSafely(h.Logger, proc, func() error { return h.receiveLoop(ctx, p, sid, stream, sends.ack) }); err != nil {
			stopLog(err)
		}
	}()
	err = h.Conversation.Subscribe(logCtx, p, sid, open.GetAfterSeq(), nil, events)
	if cause := context.Cause(logCtx); err != nil && cause != nil && ctx.Err() == nil {
		err = cause // the receive's failure, not the cancellation it caused
	}
	return finish(err)
}

// receiveLoop handles the client's messages until it closes its side
// (nil) or something ends the stream. A message the rules refuse is
// answered with a rejection and the conversation goes on.
func (h chatHandler) receiveLoop(ctx context.Context, p *auth.Principal, sid uuid.UUID, stream assistv1connect.ChatServiceChatServerStream, sendAck func(*assistv1.ChatAck) error) error {
	for {
		req, err := stream.Receive()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch a := req.GetAction().(type) {
		case nil:
			return failure.InvalidArgument("action", "a request must open, send or signal typing")
		case *assistv1.ChatRequest_Open:
			return failure.InvalidArgument("open", "the session is already open on this stream")
		case *assistv1.ChatRequest_Typing:
			// Typing is best effort: a refused signal (session ended,
			// read-only caller) is dropped rather than argued about.
			if _, err := h.Conversation.Typing(ctx, p, sid, a.Typing.GetActive()); err != nil && !refusal(err) {
				return err
			}
		case *assistv1.ChatRequest_Send:
			ack := &assistv1.ChatAck{ClientMessageId: a.Send.GetClientMessageId()}
			if err := protovalidate.Validate(req); err != nil {
				ack.Rejection = rejection(failure.InvalidArgument("", "%s", err.Error()))
			} else if ev, err := h.Conversation.Send(ctx, p, sid, a.Send.GetClientMessageId(), a.Send.GetText()); err == nil {
				ack.Seq = ev.GetSeq()
			} else if refusal(err) {
				ack.Rejection = rejection(err)
			} else {
				return err
			}
			if err := sendAck(ack); err != nil {
				return err
			}
		}
	}
}

// refusal reports whether err is the rules saying no to one message, as
// opposed to a failure that ends the stream.
func refusal(err error) bool {
	fe, ok := failure.As(err)
	if !ok {
		return false
	}
	switch fe.Kind {
	case failure.KindInvalidArgument, failure.KindAlreadyExists, failure.KindPermissionDenied,
		failure.KindFailedPrecondition, failure.KindResourceExhausted:
		return true
	}
	return false
}

// rejection tells the client why one message was refused, with the code
// and message ChatService.Send would have returned.
func rejection(err error) *assistv1.ChatRejection {
	fe, _ := failure.As(err)
	return &assistv1.ChatRejection{Code: kindCodes[fe.Kind].String(), Message: fe.Error()}
}

// sessionHandler serves SessionService.
type sessionHandler struct {
	assistv1connect.UnimplementedSessionServiceHandler
	*Domain
}

func (h sessionHandler) WatchQueue(ctx context.Context, req *assistv1.WatchQueueRequest, stream assistv1connect.SessionServiceWatchQueueServerStream) error {
	var portals []uuid.UUID
	for _, s := range req.GetPortalIds() {
		id, err := parseID("portal_ids", s)
		if err != nil {
			return err
		}
		portals = append(portals, id)
	}
	ctx, finish, cancel := h.guardStream(ctx)
	defer cancel()
	return finish(h.Sessions.WatchQueue(ctx, auth.FromContext(ctx), portals, stream.Send))
}

func (h sessionHandler) PickUpSession(ctx context.Context, req *assistv1.PickUpSessionRequest) (*assistv1.PickUpSessionResponse, error) {
	sid, err := parseID("session_id", req.GetSessionId())
	if err != nil {
		return nil, err
	}
	s, err := h.Sessions.PickUp(ctx, auth.FromContext(ctx), sid)
	if err != nil {
		return nil, err
	}
	return &assistv1.PickUpSessionResponse{Session: s}, nil
}

func (h sessionHandler) CreateSessionCode(ctx context.Context, req *assistv1.CreateSessionCodeRequest) (*assistv1.CreateSessionCodeResponse, error) {
	pid, err := parseID("portal_id", req.GetPortalId())
	if err != nil {
		return nil, err
	}
	code, err := h.Sessions.CreateSessionCode(ctx, auth.FromContext(ctx), pid, req.GetCustomerDisplayName())
	if err != nil {
		return nil, err
	}
	return &assistv1.CreateSessionCodeResponse{SessionCode: code}, nil
}

func (h sessionHandler) RevokeSessionCode(ctx context.Context, req *assistv1.RevokeSessionCodeRequest) (*assistv1.RevokeSessionCodeResponse, error) {
	pid, err := parseID("portal_id", req.GetPortalId())
	if err != nil {
		return nil, err
	}
	if err := h.Sessions.RevokeSessionCode(ctx, auth.FromContext(ctx), pid, req.GetCode()); err != nil {
		return nil, err
	}
	return &assistv1.RevokeSessionCodeResponse{}, nil
}

func (h sessionHandler) ListServedPortals(ctx context.Context, _ *assistv1.ListServedPortalsRequest) (*assistv1.ListServedPortalsResponse, error) {
	portals, err := h.Sessions.ServedPortals(ctx, auth.FromContext(ctx))
	if err != nil {
		return nil, err
	}
	return &assistv1.ListServedPortalsResponse{Portals: portals}, nil
}

func (h sessionHandler) ListSessionCodes(ctx context.Context, _ *assistv1.ListSessionCodesRequest) (*assistv1.ListSessionCodesResponse, error) {
	codes, err := h.Sessions.SessionCodes(ctx, auth.FromContext(ctx))
	if err != nil {
		return nil, err
	}
	return &assistv1.ListSessionCodesResponse{SessionCodes: codes}, nil
}

func (h sessionHandler) GetSession(ctx context.Context, req *assistv1.GetSessionRequest) (*assistv1.GetSessionResponse, error) {
	sid, err := parseID("session_id", req.GetSessionId())
	if err != nil {
		return nil, err
	}
	p := auth.FromContext(ctx)
	if err := sessions.RequireAdvisorOrReader(p); err != nil {
		return nil, err
	}
	s, err := h.Sessions.Get(ctx, p, sid)
	if err != nil {
		return nil, err
	}
	return &assistv1.GetSessionResponse{Session: s}, nil
}

func (h sessionHandler) ListSessions(ctx context.Context, req *assistv1.ListSessionsRequest) (*assistv1.ListSessionsResponse, error) {
	list, next, err := h.Sessions.List(ctx, auth.FromContext(ctx), req.GetPageSize(), req.GetPageToken(), req.GetState())
	if err != nil {
		return nil, err
	}
	return &assistv1.ListSessionsResponse{Sessions: list, NextPageToken: next}, nil
}

func (h sessionHandler) EndSession(ctx context.Context, req *assistv1.EndSessionRequest) (*assistv1.EndSessionResponse, error) {
	sid, err := parseID("session_id", req.GetSessionId())
	if err != nil {
		return nil, err
	}
	s, err := h.Sessions.End(ctx, auth.FromContext(ctx), sid, req.GetOutcome(), req.GetNotes())
	if err != nil {
		return nil, err
	}
	return &assistv1.EndSessionResponse{Session: s}, nil
}

func (h sessionHandler) TransferSession(ctx context.Context, req *assistv1.TransferSessionRequest) (*assistv1.TransferSessionResponse, error) {
	sid, err := parseID("session_id", req.GetSessionId())
	if err != nil {
		return nil, err
	}
	to, err := parseID("to_advisor_id", req.GetToAdvisorId())
	if err != nil {
		return nil, err
	}
	s, err := h.Sessions.Transfer(ctx, auth.FromContext(ctx), sid, to, req.GetReason())
	if err != nil {
		return nil, err
	}
	return &assistv1.TransferSessionResponse{Session: s}, nil
}

func (h sessionHandler) ListColleagues(ctx context.Context, _ *assistv1.ListColleaguesRequest) (*assistv1.ListColleaguesResponse, error) {
	colleagues, err := h.Sessions.Colleagues(ctx, auth.FromContext(ctx))
	if err != nil {
		return nil, err
	}
	return &assistv1.ListColleaguesResponse{Colleagues: colleagues}, nil
}

func (h sessionHandler) InviteAdvisor(ctx context.Context, req *assistv1.InviteAdvisorRequest) (*assistv1.InviteAdvisorResponse, error) {
	sid, err := parseID("session_id", req.GetSessionId())
	if err != nil {
		return nil, err
	}
	advisor, err := parseID("advisor_id", req.GetAdvisorId())
	if err != nil {
		return nil, err
	}
	s, err := h.Sessions.Invite(ctx, auth.FromContext(ctx), sid, advisor)
	if err != nil {
		return nil, err
	}
	return &assistv1.InviteAdvisorResponse{Session: s}, nil
}

// Register registers every service on server. Services and RPCs that later
// work implements answer Unimplemented.
func Register(server *connect.Server, d *Domain) {
	assistv1connect.RegisterAuthServiceHandler(server, authHandler{d})
	assistv1connect.RegisterPortalServiceHandler(server, standardStartPortal{portalHandler{Domain: d}})
	assistv1connect.RegisterChatServiceHandler(server, chatHandler{d})
	assistv1connect.RegisterSessionServiceHandler(server, sessionHandler{Domain: d})
	assistv1connect.RegisterCustomerAppServiceHandler(server, customerAppHandler{d})
	assistv1connect.RegisterReportServiceHandler(server, reportHandler{d})
	assistv1connect.RegisterAdminServiceHandler(server, adminHandler{Domain: d})
	assistv1connect.RegisterEventServiceHandler(server, eventHandler{d})
	assistv1connect.RegisterWebhookServiceHandler(server, webhookHandler{d})
}

func (h portalHandler) GetQueuePosition(ctx context.Context, req *assistv1.GetQueuePositionRequest) (*assistv1.GetQueuePositionResponse, error) {
	sid, err := parseID("session_id", req.GetSessionId())
	if err != nil {
		return nil, err
	}
	q, err := h.Sessions.QueuePosition(ctx, auth.FromContext(ctx), sid)
	if err != nil {
		return nil, err
	}
	return &assistv1.GetQueuePositionResponse{Position: q.Position, Waiting: q.Waiting}, nil
}
