package api

import (
	"context"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"connectrpc.com/connect/v2"

	"github.com/assist-chat/assist/gen/go/assist/v1/assistv1connect"
	"github.com/assist-chat/assist/server/internal/auth"
)

// anonymous lists the procedures callable without a credential. Every
// other procedure, streaming ones included, is rejected before its first
// message is read.
var anonymous = map[string]bool{
	assistv1connect.AuthServiceLoginProcedure:                        true,
	assistv1connect.PortalServiceGetPortalProcedure:                  true,
	assistv1connect.PortalServiceStartSessionProcedure:               true,
	assistv1connect.CustomerAppServiceRedeemOpenerProcedure:          true,
	"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo":      true,
	"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": true,
}

// recoverInterceptor turns a panic into Internal, so one bad request never
// takes the server down or shows a stack to the client.
func recoverInterceptor(logger *slog.Logger) connect.ServerInterceptor {
	return func(next connect.ServerFunc) connect.ServerFunc {
		return func(ctx context.Context, spec connect.Spec, stream connect.ServerStream) (err error) {
			defer func() {
				if r := recover(); r != nil {
					logger.ErrorContext(ctx, "panic", "procedure", spec.Procedure, "panic", r, "stack", string(debug.Stack()))
					err = connect.NewError(connect.CodeInternal, "internal error")
				}
			}()
			return next(ctx, spec, stream)
		}
	}
}

// logInterceptor logs one line per call: info for calls, debug for the
// chatty streams' details.
func logInterceptor(logger *slog.Logger) connect.ServerInterceptor {
	return func(next connect.ServerFunc) connect.ServerFunc {
		return func(ctx context.Context, spec connect.Spec, stream connect.ServerStream) error {
			start := time.Now()
			err := next(ctx, spec, stream)
			level := slog.LevelDebug
			if err != nil && connect.CodeOf(err) == connect.CodeInternal {
				level = slog.LevelError
			}
			attrs := []any{"procedure", spec.Procedure, "duration", time.Since(start).Round(time.Microsecond)}
			if err != nil {
				attrs = append(attrs, "code", connect.CodeOf(err).String())
			}
			if p := auth.FromContext(ctx); p != nil {
				attrs = append(attrs, "caller", p.Kind.String())
			}
			logger.Log(ctx, level, "rpc", attrs...)
			return err
		}
	}
}

// authInterceptor resolves the bearer token before the handler reads any
// message. It surrounds streams as well as unary calls.
func authInterceptor(authn *auth.Service) connect.ServerInterceptor {
	return func(next connect.ServerFunc) connect.ServerFunc {
		return func(ctx context.Context, spec connect.Spec, stream connect.ServerStream) error {
			info, _ := connect.CallInfoForServerContext(ctx)
			header := ""
			if info != nil {
				header = info.RequestHeader().Get("Authorization")
			}
			token, hasBearer := strings.CutPrefix(header, "Bearer ")
			if anonymous[spec.Procedure] {
				// Anonymous procedures ignore credentials, except an API key:
				// an integrator acts as itself (StartSession checks its scope
				// and account).
				if hasBearer && auth.IsAPIKey(token) {
					p, err := authn.Resolve(ctx, token)
					if err != nil {
						return err
					}
					ctx = auth.WithPrincipal(ctx, p)
				}
				return next(ctx, spec, stream)
			}
			if !hasBearer || token == "" {
				return connect.NewError(connect.CodeUnauthenticated, "missing bearer token (Authorization: Bearer <token>)")
			}
			p, err := authn.Resolve(ctx, token)
			if err != nil {
				return err
			}
			return next(auth.WithPrincipal(ctx, p), spec, stream)
		}
	}
}
