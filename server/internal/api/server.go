package api

import (
	"context"

	"connectrpc.com/connect/v2"

	"github.com/assist-chat/assist/gen/go/assist/v1/assistv1connect"
	"github.com/assist-chat/assist/server/internal/auth"
)

// NewConnectServer returns the connect server with every service
// registered. Interceptors run outermost first: recover, log, authenticate
// (before any message is read), then validate each message.
func NewConnectServer(d *Domain, authn *auth.Service, validator connect.ServerInterceptor) *connect.Server {
	server := connect.NewServer(
		recoverInterceptor(d.Logger),
		logInterceptor(d.Logger),
		authInterceptor(authn, d.Logger),
		except(assistv1connect.ChatServiceChatProcedure, validator),
	)
	Register(server, d)
	return server
}

// except applies interceptor to every procedure but one. The Chat stream
// validates its own requests: a malformed message there is refused on its
// own, without ending the conversation.
func except(procedure string, interceptor connect.ServerInterceptor) connect.ServerInterceptor {
	return func(next connect.ServerFunc) connect.ServerFunc {
		wrapped := interceptor(next)
		return func(ctx context.Context, spec connect.Spec, stream connect.ServerStream) error {
			if spec.Procedure == procedure {
				return next(ctx, spec, stream)
			}
			return wrapped(ctx, spec, stream)
		}
	}
}

// ServiceNames lists the contract's services, for health checks.
func ServiceNames() []string {
	return []string{
		assistv1connect.AuthServiceName,
		assistv1connect.PortalServiceName,
		assistv1connect.ChatServiceName,
		assistv1connect.SessionServiceName,
		assistv1connect.CustomerAppServiceName,
		assistv1connect.ReportServiceName,
		assistv1connect.AdminServiceName,
		assistv1connect.EventServiceName,
		assistv1connect.WebhookServiceName,
	}
}
