// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Command docsite builds the documentation site from docs/ with Hugo and
// serves it on localhost (make docs), or only builds it (make docs-build).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/deckhouse/secrets-store-integration/test/docsite"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

func main() {
	if err := run(); err != nil {
		slog.Error("docsite", "error", err)
		os.Exit(1)
	}
}

func run() error {
	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	out := flag.String("out", filepath.Join(os.TempDir(), "secrets-store-integration-docs"), "folder of the Hugo project; the site is in its public/")
	listen := flag.String("listen", "127.0.0.1:1313", "address to serve the site on; empty: build only")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	buildCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	public, err := docsite.Build(buildCtx, root, *out)
	if err != nil {
		return fmt.Errorf("build the site: %w", err)
	}
	fmt.Printf("site built in %s\n", public)
	if *listen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("serve the site: %w", err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(public)), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	fmt.Printf("serving the documentation on http://%s/ (Russian: http://%s/ru/); Ctrl-C stops\n", ln.Addr(), ln.Addr())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
