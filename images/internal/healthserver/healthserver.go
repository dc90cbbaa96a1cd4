// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package healthserver serves a binary's /metrics (its own metrics and its
// <namespace>_build_info), /healthz and /readyz on one HTTP listener, apart
// from whatever else the binary serves, and logs the address it bound so
// that ":0" can be used by tests. Every long-running binary uses it.
package healthserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/deckhouse/secrets-store-integration/images/internal/buildinfo"
)

// Check reports whether the binary is healthy or ready; nil means yes.
type Check func(ctx context.Context) error

// Config of the server.
type Config struct {
	Addr     string
	Gatherer prometheus.Gatherer
	// Namespace is the prefix of the binary's metrics, such as
	// "secrets_store_csi": /metrics adds <Namespace>_build_info.
	Namespace string
	// Healthy and Ready back /healthz and /readyz; nil always answers ok.
	Healthy, Ready Check
	Log            *slog.Logger
}

// Serve listens on c.Addr and serves until ctx ends.
func Serve(ctx context.Context, c Config) error {
	mux := http.NewServeMux()
	build := prometheus.NewRegistry()
	if err := build.Register(buildInfoCollector(c.Namespace)); err != nil {
		return fmt.Errorf("register the build info metric: %w", err)
	}
	metrics := prometheus.Gatherers{c.Gatherer, build}
	mux.Handle("/metrics", promhttp.HandlerFor(metrics, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", handler(c.Healthy))
	mux.HandleFunc("/readyz", handler(c.Ready))
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen for metrics on %s: %w", c.Addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	c.Log.Info("serving metrics", "addr", ln.Addr().String())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve metrics: %w", err)
	}
	return nil
}

func handler(check Check) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if check != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			defer cancel()
			if err := check(ctx); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintln(w, "ok")
	}
}

// buildInfoCollector is the gauge <namespace>_build_info, always 1, labelled with
// the version and the Go release that built the binary: dashboards join it
// to tell which version a pod runs.
func buildInfoCollector(namespace string) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace:   namespace,
		Name:        "build_info",
		Help:        "Always 1; the labels say which build is running.",
		ConstLabels: prometheus.Labels{"version": buildinfo.Version(), "goversion": runtime.Version()},
	})
	g.Set(1)
	return g
}
