// Package gcperr classifies errors from Google Cloud clients (gRPC status
// codes, as the Bigtable, Pub/Sub and BigQuery Storage clients return them,
// and googleapi HTTP errors from the REST clients) into permanent ones,
// which no retry can fix and which must fail loudly, and the rest, which a
// caller may retry with backoff.
package gcperr

import (
	"context"
	"errors"
	"net/http"

	"google.golang.org/api/googleapi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// permanentCodes are the gRPC codes a retry of the same call cannot change:
// the caller lacks a permission or credentials, asked for something that
// does not exist or is not supported, or sent a request the service will
// always refuse (Bigtable answers FailedPrecondition to a conditional write
// through an app profile without transactional writes).
var permanentCodes = map[codes.Code]bool{
	codes.InvalidArgument:    true,
	codes.FailedPrecondition: true,
	codes.PermissionDenied:   true,
	codes.Unauthenticated:    true,
	codes.NotFound:           true,
	codes.Unimplemented:      true,
}

// permanentHTTP are the same conditions as HTTP statuses (googleapi.Error).
var permanentHTTP = map[int]bool{
	http.StatusBadRequest:            true,
	http.StatusUnauthorized:          true,
	http.StatusForbidden:             true,
	http.StatusNotFound:              true,
	http.StatusNotImplemented:        true,
	http.StatusPreconditionFailed:    true,
	http.StatusMethodNotAllowed:      true,
	http.StatusRequestEntityTooLarge: true,
}

// Permanent reports whether err is one that retrying the same call cannot
// fix: gRPC InvalidArgument, FailedPrecondition, PermissionDenied,
// Unauthenticated, NotFound or Unimplemented, or the HTTP statuses 400,
// 401, 403, 404, 405, 412, 413 and 501. Wrapped errors are unwrapped.
// nil, context cancellation and deadlines, and every other code
// (Unavailable, Aborted, DeadlineExceeded, ResourceExhausted, Internal,
// Unknown, ...) are not permanent.
func Permanent(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return permanentHTTP[ge.Code]
	}
	if s, ok := status.FromError(err); ok {
		return permanentCodes[s.Code()]
	}
	return false
}

// Code returns the gRPC code of err (codes.Unknown when err carries none,
// codes.OK for nil), for logs and counters.
func Code(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	if s, ok := status.FromError(err); ok {
		return s.Code()
	}
	return codes.Unknown
}
