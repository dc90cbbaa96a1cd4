// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package mlog stands in for monis.app/mlog: the few calls the upstream
// secrets-store-csi-driver makes, done with klog.
package mlog

import (
	"context"
	"fmt"
	"os"

	"k8s.io/klog/v2"
)

// Format is the log output format.
type Format string

const (
	FormatText Format = "text"
	FormatJSON Format = "json"
)

// Setup returns the function that flushes the logs.
func Setup() func() { return klog.Flush }

// ValidateAndSetKlogLevelAndFormatGlobally accepts the level klog already
// has; only text output is supported.
func ValidateAndSetKlogLevelAndFormatGlobally(_ context.Context, level klog.Level, format Format) error {
	if level < 0 {
		return fmt.Errorf("invalid log level %d", level)
	}
	if format != FormatText && format != FormatJSON {
		return fmt.Errorf("invalid log format %q", format)
	}
	return nil
}

// Error logs err with msg.
func Error(msg string, err error, keysAndValues ...interface{}) {
	klog.ErrorS(err, msg, keysAndValues...)
}

// Fatal logs err and exits.
func Fatal(err error, keysAndValues ...interface{}) {
	klog.ErrorS(err, "fatal error", keysAndValues...)
	klog.Flush()
	os.Exit(1)
}
