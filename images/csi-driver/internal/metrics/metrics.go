// Package metrics holds the driver's Prometheus metrics and serves them
// with a health endpoint.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "secrets_store_csi"

// Metrics are the driver's counters and histograms.
type Metrics struct {
	Registry *prometheus.Registry

	PublishTotal      prometheus.Counter
	PublishErrors     *prometheus.CounterVec // by reason
	PublishDuration   prometheus.Histogram
	UnpublishTotal    prometheus.Counter
	UnpublishErrors   *prometheus.CounterVec // by reason
	UnpublishDuration prometheus.Histogram
	RotationTotal     *prometheus.CounterVec // by result: changed, unchanged
	RotationErrors    *prometheus.CounterVec // by reason
	RotationDuration  prometheus.Histogram
	VolumeTampering   prometheus.Counter
}

// New makes the metrics on a fresh registry with Go and process collectors.
func New() *Metrics {
	buckets := []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		PublishTotal: prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "node_publish_total",
			Help: "NodePublishVolume calls."}),
		PublishErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "node_publish_errors_total",
			Help: "Failed NodePublishVolume calls by reason."}, []string{"reason"}),
		PublishDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "node_publish_duration_seconds",
			Help: "Duration of NodePublishVolume calls.", Buckets: buckets}),
		UnpublishTotal: prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "node_unpublish_total",
			Help: "NodeUnpublishVolume calls."}),
		UnpublishErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "node_unpublish_errors_total",
			Help: "Failed NodeUnpublishVolume calls by reason."}, []string{"reason"}),
		UnpublishDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "node_unpublish_duration_seconds",
			Help: "Duration of NodeUnpublishVolume calls.", Buckets: buckets}),
		RotationTotal: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "rotation_total",
			Help: "Re-fetches of mounted volumes by result (changed, unchanged)."}, []string{"result"}),
		RotationErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "rotation_errors_total",
			Help: "Failed re-fetches of mounted volumes by reason; the last good files stay."}, []string{"reason"}),
		RotationDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "rotation_duration_seconds",
			Help: "Duration of re-fetches of mounted volumes.", Buckets: buckets}),
		VolumeTampering: prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "volume_tampering_total",
			Help: "Volumes found changed by someone other than the driver (a planted link or file); not followed, not rotated again."}),
	}
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.PublishTotal, m.PublishErrors, m.PublishDuration,
		m.UnpublishTotal, m.UnpublishErrors, m.UnpublishDuration,
		m.RotationTotal, m.RotationErrors, m.RotationDuration,
		m.VolumeTampering,
	)
	return m
}

// Serve serves /metrics and /healthz on addr until ctx ends. healthy
// reports whether the driver can take requests.
func (m *Metrics) Serve(ctx context.Context, addr string, healthy func() error) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if err := healthy(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen for metrics on %s: %w", addr, err)
	}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve metrics: %w", err)
	}
	return nil
}
