// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package daemon

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestMainExitCodes(t *testing.T) {
	tests := []struct {
		name, level string
		err         error
		code        int
		want        string
	}{
		{"stops cleanly", "info", nil, 0, `"msg":"webhook starting","version":"dev"`},
		{"stops on an error", "info", errors.New("listen :8443: address in use"), exitFailed, `"msg":"webhook stopped","error":"listen :8443: address in use"`},
		{"a bad level", "verbose", nil, exitUsage, `webhook: --log-level "verbose"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			ran := false
			code := main("webhook", tt.level, &stderr, func(ctx context.Context, log *slog.Logger) error {
				ran = true
				if ctx.Err() != nil {
					t.Error("the context is done before any signal")
				}
				return tt.err
			})
			if code != tt.code || !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("exit %d, stderr %q; want %d with %q", code, stderr.String(), tt.code, tt.want)
			}
			if ran == (tt.code == exitUsage) {
				t.Fatalf("run called: %v, with exit %d", ran, code)
			}
		})
	}
}

func TestLoggerLevel(t *testing.T) {
	var buf bytes.Buffer
	log, err := Logger(&buf, "warn")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown")
	if strings.Contains(buf.String(), "hidden") || !strings.Contains(buf.String(), `"msg":"shown"`) {
		t.Fatalf("log %q: want only the warning, as JSON", buf.String())
	}
}
