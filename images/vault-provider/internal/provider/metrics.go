// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package provider

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/deckhouse/secrets-store-integration/images/internal/storemetrics"
)

// Metrics of the provider; also the store's Observer.
type Metrics struct {
	*storemetrics.Observer

	mounts        *prometheus.CounterVec
	mountErrors   *prometheus.CounterVec
	mountDuration prometheus.Histogram
	sharedHits    prometheus.Counter
	leasesKept    prometheus.Counter
}

// NewMetrics registers the provider's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	const ns = "secrets_store_vault_provider"
	m := &Metrics{
		Observer: storemetrics.New(reg, ns),
		mounts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "mount_requests_total", Help: "Mount requests by result (ok or error).",
		}, []string{"result"}),
		mountErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "mount_errors_total",
			Help: "Failed mount requests by reason: invalid_request, denied, not_found, render, store_unavailable, store_error.",
		}, []string{"reason"}),
		mountDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Name: "mount_duration_seconds", Help: "Time to answer a mount request.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		sharedHits: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Name: "shared_read_hits_total",
			Help: "Object reads answered by another pod's read of the same identity (cache or in-flight).",
		}),
		leasesKept: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Name: "lease_objects_kept_total",
			Help: "Leased objects not read again because the driver keeps them and their lease is fresh.",
		}),
	}
	reg.MustRegister(m.mounts, m.mountErrors, m.mountDuration, m.sharedHits, m.leasesKept)
	// Show the label values before the first event, so dashboards and
	// rate() have series to work on.
	m.mounts.WithLabelValues("ok")
	m.mounts.WithLabelValues("error")
	return m
}

func (m *Metrics) mount(reason string, took time.Duration) {
	m.mountDuration.Observe(took.Seconds())
	if reason == "" {
		m.mounts.WithLabelValues("ok").Inc()
		return
	}
	m.mounts.WithLabelValues("error").Inc()
	m.mountErrors.WithLabelValues(reason).Inc()
}
