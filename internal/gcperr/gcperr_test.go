package gcperr

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/api/googleapi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestPermanent(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain error", errors.New("boom"), false},
		{"canceled", context.Canceled, false},
		{"deadline", fmt.Errorf("read: %w", context.DeadlineExceeded), false},
		{"permission denied", status.Error(codes.PermissionDenied, "no bigtable.tables.mutateRows"), true},
		{"invalid argument", status.Error(codes.InvalidArgument, "row key too long"), true},
		{"failed precondition: app profile refuses transactions", status.Error(codes.FailedPrecondition, "single-row transactions are not allowed by this app profile"), true},
		{"not found", status.Error(codes.NotFound, "table not found"), true},
		{"unauthenticated", status.Error(codes.Unauthenticated, "token expired"), true},
		{"unimplemented", status.Error(codes.Unimplemented, "method"), true},
		{"wrapped permanent", fmt.Errorf("btsink: apply: %w", status.Error(codes.PermissionDenied, "x")), true},
		{"unavailable", status.Error(codes.Unavailable, "transient"), false},
		{"aborted", status.Error(codes.Aborted, "conflict"), false},
		{"resource exhausted", status.Error(codes.ResourceExhausted, "quota"), false},
		{"internal", status.Error(codes.Internal, "oops"), false},
		{"grpc deadline", status.Error(codes.DeadlineExceeded, "slow"), false},
		{"http 403", &googleapi.Error{Code: 403}, true},
		{"http 400 wrapped", fmt.Errorf("launch: %w", &googleapi.Error{Code: 400}), true},
		{"http 429", &googleapi.Error{Code: 429}, false},
		{"http 503", &googleapi.Error{Code: 503}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Permanent(tc.err); got != tc.want {
				t.Errorf("Permanent(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestCode(t *testing.T) {
	tests := []struct {
		err  error
		want codes.Code
	}{
		{nil, codes.OK},
		{errors.New("x"), codes.Unknown},
		{fmt.Errorf("w: %w", status.Error(codes.NotFound, "x")), codes.NotFound},
	}
	for _, tc := range tests {
		if got := Code(tc.err); got != tc.want {
			t.Errorf("Code(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
