// Package api is the thin protocol layer: it decodes requests, calls the
// domain, and maps domain errors to connect codes in one place.
package api

import (
	"context"
	"errors"
	"log/slog"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connectproto"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/assist-chat/assist/server/internal/failure"
)

var kindCodes = map[failure.Kind]connect.Code{
	failure.KindInvalidArgument:    connect.CodeInvalidArgument,
	failure.KindNotFound:           connect.CodeNotFound,
	failure.KindAlreadyExists:      connect.CodeAlreadyExists,
	failure.KindPermissionDenied:   connect.CodePermissionDenied,
	failure.KindUnauthenticated:    connect.CodeUnauthenticated,
	failure.KindFailedPrecondition: connect.CodeFailedPrecondition,
	failure.KindResourceExhausted:  connect.CodeResourceExhausted,
	failure.KindUnimplemented:      connect.CodeUnimplemented,
	failure.KindOutOfRange:         connect.CodeOutOfRange,
	failure.KindUnavailable:        connect.CodeUnavailable,
}

// errorInterceptor is the one place where what a handler returns becomes
// what the client sees: handlers return domain errors as they are.
func errorInterceptor(logger *slog.Logger) connect.ServerInterceptor {
	return func(next connect.ServerFunc) connect.ServerFunc {
		return func(ctx context.Context, spec connect.Spec, stream connect.ServerStream) error {
			return toConnect(ctx, logger, spec.Procedure, next(ctx, spec, stream))
		}
	}
}

// toConnect is the one place where domain errors become protocol errors.
// Deliberate failures keep their message; anything else is logged and
// reaches the client as a bare Internal, so no database error or stack
// leaks.
func toConnect(ctx context.Context, logger *slog.Logger, procedure string, err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return err
	}
	if fe, ok := failure.As(err); ok {
		if fe.Kind == failure.KindUnavailable {
			logger.WarnContext(ctx, "transient failure", "procedure", procedure, "error", err)
		}
		cerr := connect.NewError(kindCodes[fe.Kind], fe.Error()).WithCause(err)
		if fe.RetryAfter > 0 {
			if detail, err := connectproto.NewErrorDetail(&errdetails.RetryInfo{RetryDelay: durationpb.New(fe.RetryAfter)}); err == nil {
				cerr = cerr.WithDetail(detail)
			}
		}
		if fe.Field != "" {
			// The field at fault, for programs: the message is for people.
			if detail, err := connectproto.NewErrorDetail(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
				{Field: fe.Field, Description: fe.Message},
			}}); err == nil {
				cerr = cerr.WithDetail(detail)
			}
		}
		return cerr
	}
	if errors.Is(err, context.Canceled) {
		return connect.NewError(connect.CodeCanceled, "canceled")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return connect.NewError(connect.CodeDeadlineExceeded, "deadline exceeded")
	}
	// The client left while the handler was writing to it: the write says
	// so in transport terms ("http2: stream closed"), the call's context
	// says why. Nobody reads the answer, and it is no bug.
	switch ctxErr := ctx.Err(); {
	case errors.Is(ctxErr, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, "deadline exceeded")
	case ctxErr != nil:
		return connect.NewError(connect.CodeCanceled, "canceled")
	}
	logger.ErrorContext(ctx, "internal error", "procedure", procedure, "error", err)
	return connect.NewError(connect.CodeInternal, "internal error").WithCause(err)
}
