// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package daemon starts the module's long-running binaries (csi-driver,
// vault-provider, webhook, controller) the same way: JSON logs on stderr at
// the --log-level, also as slog's default, a first line with the version, a
// context that SIGTERM (kubelet stopping the container) or SIGINT ends, and
// the exit code kubelet reports.
package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/deckhouse/secrets-store-integration/images/internal/buildinfo"
)

// Exit codes: 2 for a bad command line, 1 when the component stops on an
// error.
const (
	exitFailed = 1
	exitUsage  = 2
)

// Logger returns the JSON logger of level ("debug", "info", "warn",
// "error") writing to w.
func Logger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// Main runs component name until a signal or an error and exits the
// process with the matching code. It does not return.
func Main(name, level string, run func(ctx context.Context, log *slog.Logger) error) {
	os.Exit(main(name, level, os.Stderr, run))
}

func main(name, level string, stderr io.Writer, run func(ctx context.Context, log *slog.Logger) error) int {
	log, err := Logger(stderr, level)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return exitUsage
	}
	slog.SetDefault(log)
	log.Info(name+" starting", "version", buildinfo.Version(), "go", runtime.Version())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, log); err != nil {
		log.Error(name+" stopped", "error", err.Error())
		return exitFailed
	}
	return 0
}
