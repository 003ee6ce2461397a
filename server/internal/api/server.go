package api

import (
	"context"
	"slices"
	"strings"

	"connectrpc.com/connect/v2"

	"github.com/assist-chat/assist/gen/go/assist/v1/assistv1connect"
	"github.com/assist-chat/assist/server/internal/auth"
)

// NewConnectServer returns the connect server with every service
// registered. Interceptors run outermost first: recover, log, map errors
// to codes, authenticate (before any message is read), then validate each
// message.
func NewConnectServer(d *Domain, authn *auth.Service, validator connect.ServerInterceptor) *connect.Server {
	server := connect.NewServer(
		recoverInterceptor(d.Logger),
		logInterceptor(d.Logger),
		errorInterceptor(d.Logger),
		authInterceptor(authn),
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

// ServiceNames lists the services registered on server, for reflection
// and health checks: one list, read from what is served.
func ServiceNames(server *connect.Server) []string {
	var names []string
	for spec := range server.Specs() {
		svc := spec.Procedure[1:strings.LastIndexByte(spec.Procedure, '/')]
		if !slices.Contains(names, svc) {
			names = append(names, svc)
		}
	}
	return names
}

// UnaryProcedures lists the unary procedures served, whose request body
// must arrive in bounded time.
func UnaryProcedures(server *connect.Server) map[string]bool {
	unary := map[string]bool{}
	for spec := range server.Specs() {
		if spec.StreamType == connect.StreamTypeUnary {
			unary[spec.Procedure] = true
		}
	}
	return unary
}
