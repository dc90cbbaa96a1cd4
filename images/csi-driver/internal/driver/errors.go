// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package driver

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// failure is an error kubelet gets as a gRPC status, with a reason for
// the metrics. Messages never carry secret values or tokens.
type failure struct {
	code   codes.Code
	reason string
	msg    string
}

func (f *failure) Error() string { return f.msg }

// GRPCStatus lets grpc send the code kubelet acts on.
func (f *failure) GRPCStatus() *status.Status { return status.New(f.code, f.msg) }

func fail(code codes.Code, reason, format string, args ...any) error {
	return &failure{code: code, reason: reason, msg: fmt.Sprintf(format, args...)}
}

func invalid(format string, args ...any) error {
	return fail(codes.InvalidArgument, "invalid_argument", format, args...)
}

func internal(reason, format string, args ...any) error {
	return fail(codes.Internal, reason, format, args...)
}

// reasonOf is the metrics label of err.
func reasonOf(err error) string {
	var f *failure
	if errors.As(err, &f) {
		return f.reason
	}
	return "other"
}
