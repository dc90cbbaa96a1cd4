// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package plugin

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace is the prefix of the plugin's metrics.
const Namespace = "secrets_store_nri"

// Metrics of the plugin.
type Metrics struct {
	Registry *prometheus.Registry

	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	connected prometheus.Gauge
}

// NewMetrics makes the metrics on a fresh registry with Go and process
// collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "requests_total",
			Help: "CreateContainer requests by result: adjusted (references resolved), untouched (not opted in, a skipped container, or no references), failed (creation refused)."},
			[]string{"result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "request_duration_seconds",
			Help:    "Time to answer one CreateContainer, store requests included, by result.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"result"}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "connected",
			Help: "1 while the plugin is registered with the runtime's NRI, 0 otherwise."}),
	}
	m.Registry.MustRegister(m.requests, m.latency, m.connected,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, r := range []string{Untouched, Adjusted, Failed} {
		m.requests.WithLabelValues(r)
	}
	return m
}

func (m *Metrics) observe(result string, took time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(result).Inc()
	m.latency.WithLabelValues(result).Observe(took.Seconds())
}

// Connected records whether the plugin is registered with the runtime.
func (m *Metrics) Connected(yes bool) {
	if m == nil {
		return
	}
	if yes {
		m.connected.Set(1)
	} else {
		m.connected.Set(0)
	}
}
