package aetheris

import (
	"context"
	"errors"
	"io"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrorDomain is the ErrorInfo.domain of every error the server sends.
const ErrorDomain = "aetheris.dev"

// ErrorInfo reasons sent by the server (docs/errors.md).
const (
	ReasonInvalidField        = "INVALID_FIELD"
	ReasonNotFound            = "NOT_FOUND"
	ReasonUnauthenticated     = "UNAUTHENTICATED"
	ReasonPermissionDenied    = "PERMISSION_DENIED"
	ReasonWrongExpectedSeq    = "WRONG_EXPECTED_SEQ"
	ReasonIdempotencyConflict = "IDEMPOTENCY_CONFLICT"
	ReasonLeaseLost           = "LEASE_LOST"
	ReasonJobTerminal         = "JOB_TERMINAL"
	ReasonToolCallNotStarted  = "TOOL_CALL_NOT_STARTED"
	ReasonToolCallNotInDoubt  = "TOOL_CALL_NOT_IN_DOUBT"
	ReasonDatabaseUnavailable = "DATABASE_UNAVAILABLE"
	ReasonShuttingDown        = "SHUTTING_DOWN"
	ReasonInternal            = "INTERNAL"
)

// Error is a gRPC error of the server with its details decoded: the status code, the
// google.rpc.ErrorInfo (reason, domain, metadata) and the google.rpc.BadRequest field
// violations carried in grpc-status-details-bin. Every call through a Client returns it, so
// errors.As(err, &e) works; it implements GRPCStatus, so status.FromError and status.Code work
// too.
type Error struct {
	// The gRPC status code.
	Code codes.Code
	// The status message.
	Message string
	// ErrorInfo.reason, e.g. NOT_FOUND, LEASE_LOST; empty when the server sent none (e.g. an
	// error raised by the transport).
	Reason string
	// ErrorInfo.domain (`aetheris.dev`).
	Domain string
	// ErrorInfo.metadata: facts such as `field`, `job_id`, `actual_seq`.
	Metadata map[string]string
	// BadRequest field violations (INVALID_ARGUMENT).
	FieldViolations []FieldViolation

	status *status.Status
}

// FieldViolation names an invalid request field.
type FieldViolation struct {
	Field       string
	Description string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("aetheris: ")
	b.WriteString(e.Code.String())
	if e.Reason != "" {
		b.WriteString("/")
		b.WriteString(e.Reason)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// GRPCStatus returns the original status (details included).
func (e *Error) GRPCStatus() *status.Status { return e.status }

// Field is the first invalid field named by the server (BadRequest, else ErrorInfo metadata
// `field`), or "".
func (e *Error) Field() string {
	if len(e.FieldViolations) > 0 {
		return e.FieldViolations[0].Field
	}
	return e.Metadata["field"]
}

// ErrorFromStatus decodes a gRPC error: nil when err is nil or carries no gRPC status (a
// context error, io.EOF…). An *Error anywhere in err's chain is returned as is.
func ErrorFromStatus(err error) *Error {
	if err == nil {
		return nil
	}
	var decoded *Error
	if errors.As(err, &decoded) {
		return decoded
	}
	st, ok := status.FromError(err)
	if !ok {
		return nil
	}
	return errorFromGRPCStatus(st)
}

func errorFromGRPCStatus(st *status.Status) *Error {
	e := &Error{Code: st.Code(), Message: st.Message(), Metadata: map[string]string{}, status: st}
	for _, detail := range st.Details() {
		switch d := detail.(type) {
		case *errdetails.ErrorInfo:
			if e.Reason == "" {
				e.Reason = d.GetReason()
				e.Domain = d.GetDomain()
				for k, v := range d.GetMetadata() {
					e.Metadata[k] = v
				}
			}
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				e.FieldViolations = append(e.FieldViolations, FieldViolation{Field: v.GetField(), Description: v.GetDescription()})
			}
		}
	}
	return e
}

// CodeOf is err's gRPC code: OK for nil, Unknown for an error without a status.
func CodeOf(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	if e := ErrorFromStatus(err); e != nil {
		return e.Code
	}
	return codes.Unknown
}

// Reason is err's ErrorInfo.reason, or "".
func Reason(err error) string {
	if e := ErrorFromStatus(err); e != nil {
		return e.Reason
	}
	return ""
}

// IsNotFound: the resource does not exist, or belongs to another tenant.
func IsNotFound(err error) bool { return CodeOf(err) == codes.NotFound }

// IsInvalidArgument: a request field is missing, malformed or out of range (see Error.Field).
func IsInvalidArgument(err error) bool { return CodeOf(err) == codes.InvalidArgument }

// IsPermissionDenied: the key's role does not allow the call.
func IsPermissionDenied(err error) bool { return CodeOf(err) == codes.PermissionDenied }

// IsUnauthenticated: no, unknown or revoked API key.
func IsUnauthenticated(err error) bool { return CodeOf(err) == codes.Unauthenticated }

// IsUnavailable: the server or its database cannot be reached now; retry with backoff.
func IsUnavailable(err error) bool { return CodeOf(err) == codes.Unavailable }

// IsFailedPrecondition: the request conflicts with the current state (see Reason).
func IsFailedPrecondition(err error) bool { return CodeOf(err) == codes.FailedPrecondition }

// IsAlreadyExists reports codes.AlreadyExists.
func IsAlreadyExists(err error) bool { return CodeOf(err) == codes.AlreadyExists }

// IsLeaseLost: the fencing token is stale (FAILED_PRECONDITION / LEASE_LOST); the attempt must
// stop writing.
func IsLeaseLost(err error) bool {
	return CodeOf(err) == codes.FailedPrecondition && Reason(err) == ReasonLeaseLost
}

// IsIdempotencyConflict: an idempotency key or id was reused for a different request.
func IsIdempotencyConflict(err error) bool {
	return CodeOf(err) == codes.FailedPrecondition && Reason(err) == ReasonIdempotencyConflict
}

// wrapError turns a status-bearing error into an *Error; others pass through.
func wrapError(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	if e := ErrorFromStatus(err); e != nil {
		return e
	}
	return err
}

func errorUnaryInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return wrapError(invoker(ctx, method, req, reply, cc, opts...))
}

func errorStreamInterceptor(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	stream, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, wrapError(err)
	}
	return errorStream{stream}, nil
}

// errorStream decodes the errors of a stream's messages (io.EOF, the normal end, passes).
type errorStream struct{ grpc.ClientStream }

func (s errorStream) RecvMsg(m any) error { return wrapError(s.ClientStream.RecvMsg(m)) }
func (s errorStream) SendMsg(m any) error { return wrapError(s.ClientStream.SendMsg(m)) }
func (s errorStream) CloseSend() error    { return wrapError(s.ClientStream.CloseSend()) }
