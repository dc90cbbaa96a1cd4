// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package metrics holds the webhook's Prometheus metrics.
package metrics

import (
	"crypto/x509"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace is the prefix of the webhook's metrics.
const Namespace = "secrets_store_webhook"

// Results of an admission.
const (
	Mutated = "mutated" // the pod was patched
	Skipped = "skipped" // not opted in, mutated before, or not a pod create
	Refused = "refused" // bad annotations or references, or an image config not read
	Error   = "error"   // a request the webhook could not handle
)

// Metrics of the webhook; also the entrypoint resolver's Observer.
type Metrics struct {
	Registry *prometheus.Registry

	admissions      *prometheus.CounterVec
	latency         prometheus.Histogram
	registryLookups *prometheus.CounterVec
	registryLatency prometheus.Histogram
	imageCache      *prometheus.CounterVec
	certNotAfter    prometheus.Gauge
}

// New makes the metrics on a fresh registry with Go and process collectors.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		admissions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "admissions_total",
			Help: "Admission reviews by result: mutated, skipped, refused, error."}, []string{"result"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "admission_duration_seconds",
			Help:    "Time to answer an admission review, registry lookups included.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}),
		registryLookups: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "registry_lookups_total",
			Help: "Reads of image configs from registries by result: ok, denied, not_found, timeout, credentials, tls, redirect, error."}, []string{"result"}),
		registryLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "registry_lookup_duration_seconds",
			Help:    "Time to read one image config from its registry, pull secrets included.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}),
		imageCache: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "image_cache_requests_total",
			Help: "Image config cache lookups by result: hit or miss."}, []string{"result"}),
		certNotAfter: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "certificate_not_after_timestamp_seconds",
			Help: "Expiry (Unix time) of the serving certificate in use."}),
	}
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.admissions, m.latency, m.registryLookups, m.registryLatency, m.imageCache, m.certNotAfter,
	)
	// Every label value from the start, so that rate() and alerts have
	// series before the first event.
	for _, r := range []string{Mutated, Skipped, Refused, Error} {
		m.admissions.WithLabelValues(r)
	}
	for _, r := range []string{"hit", "miss"} {
		m.imageCache.WithLabelValues(r)
	}
	return m
}

// Admission counts one answered review.
func (m *Metrics) Admission(result string, took time.Duration) {
	m.admissions.WithLabelValues(result).Inc()
	m.latency.Observe(took.Seconds())
}

// RegistryLookup implements entrypoint.Observer.
func (m *Metrics) RegistryLookup(result string, took time.Duration) {
	m.registryLookups.WithLabelValues(result).Inc()
	m.registryLatency.Observe(took.Seconds())
}

// ImageCache implements entrypoint.Observer.
func (m *Metrics) ImageCache(hit bool) {
	if hit {
		m.imageCache.WithLabelValues("hit").Inc()
	} else {
		m.imageCache.WithLabelValues("miss").Inc()
	}
}

// CertificateLoaded records the serving certificate taken into use.
func (m *Metrics) CertificateLoaded(leaf *x509.Certificate) {
	m.certNotAfter.Set(float64(leaf.NotAfter.Unix()))
}
