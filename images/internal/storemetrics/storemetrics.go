// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package storemetrics counts what a binary asks of the store: HTTP requests
// by operation and result, their latency, and token cache lookups. It is the
// store.Observer of the Vault provider and of the controller, each under its
// own metric prefix, so dashboards read the same series names from both.
package storemetrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Observer implements store.Observer with Prometheus metrics.
type Observer struct {
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	tokenCache *prometheus.CounterVec
	logins     *prometheus.CounterVec
	revoked    *prometheus.CounterVec
}

// New registers the store metrics with reg, named <namespace>_store_requests_total,
// <namespace>_store_request_duration_seconds and
// <namespace>_token_cache_requests_total.
func New(reg prometheus.Registerer, namespace string) *Observer {
	o := &Observer{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "store_requests_total",
			Help: "HTTP requests to the store by operation (login, read, write, mounts, ...) and result (ok, denied, not_found, error).",
		}, []string{"operation", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "store_request_duration_seconds", Help: "Latency of requests to the store by operation.",
			Buckets: []float64{.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 15},
		}, []string{"operation"}),
		tokenCache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "token_cache_requests_total", Help: "Store token lookups by result (hit or miss).",
		}, []string{"result"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "store_logins_total",
			Help: "Logins to the store by result: ok, refused (the store said no), rate_limited (refused here: the identity logged in too often) or error.",
		}, []string{"result"}),
		revoked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "store_tokens_revoked_total",
			Help: "Store tokens the token cache dropped and revoked, by reason (replaced, near expiry, evicted, shutdown, bad token) and result (ok, error).",
		}, []string{"reason", "result"}),
	}
	reg.MustRegister(o.requests, o.latency, o.tokenCache, o.logins, o.revoked)
	// Show the label values before the first event, so dashboards and
	// rate() have series to work on.
	o.tokenCache.WithLabelValues("hit")
	o.tokenCache.WithLabelValues("miss")
	for _, r := range []string{"ok", "refused", "rate_limited", "error"} {
		o.logins.WithLabelValues(r)
	}
	return o
}

// StoreRequest implements store.Observer.
func (o *Observer) StoreRequest(op, result string, took time.Duration) {
	o.requests.WithLabelValues(op, result).Inc()
	o.latency.WithLabelValues(op).Observe(took.Seconds())
}

// TokenCache implements store.Observer.
func (o *Observer) TokenCache(hit bool) {
	if hit {
		o.tokenCache.WithLabelValues("hit").Inc()
	} else {
		o.tokenCache.WithLabelValues("miss").Inc()
	}
}

// Login implements store.Observer.
func (o *Observer) Login(result string) { o.logins.WithLabelValues(result).Inc() }

// TokenRevoked implements store.Observer.
func (o *Observer) TokenRevoked(reason, result string) {
	o.revoked.WithLabelValues(reason, result).Inc()
}
