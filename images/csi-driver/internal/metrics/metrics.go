// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package metrics holds the driver's Prometheus metrics; healthserver
// serves them.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace is the prefix of the driver's metrics.
const Namespace = "secrets_store_csi"

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
		PublishTotal: prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "node_publish_total",
			Help: "NodePublishVolume calls."}),
		PublishErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "node_publish_errors_total",
			Help: "Failed NodePublishVolume calls by reason."}, []string{"reason"}),
		PublishDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "node_publish_duration_seconds",
			Help: "Duration of NodePublishVolume calls.", Buckets: buckets}),
		UnpublishTotal: prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "node_unpublish_total",
			Help: "NodeUnpublishVolume calls."}),
		UnpublishErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "node_unpublish_errors_total",
			Help: "Failed NodeUnpublishVolume calls by reason."}, []string{"reason"}),
		UnpublishDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "node_unpublish_duration_seconds",
			Help: "Duration of NodeUnpublishVolume calls.", Buckets: buckets}),
		RotationTotal: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "rotation_total",
			Help: "Re-fetches of mounted volumes by result (changed, unchanged)."}, []string{"result"}),
		RotationErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "rotation_errors_total",
			Help: "Failed re-fetches of mounted volumes by reason; the last good files stay."}, []string{"reason"}),
		RotationDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "rotation_duration_seconds",
			Help: "Duration of re-fetches of mounted volumes.", Buckets: buckets}),
		VolumeTampering: prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "volume_tampering_total",
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
