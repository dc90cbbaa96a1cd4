// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package metrics holds the controller's Prometheus metrics, all named
// secrets_store_controller_*; it is also the store's Observer.
package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/deckhouse/secrets-store-integration/images/internal/storemetrics"
)

// Namespace prefixes every metric of the controller.
const Namespace = "secrets_store_controller"

// Reconcile results.
const (
	ResultOK      = "ok"      // the object is as it should be
	ResultError   = "error"   // a failure that is retried with backoff
	ResultInvalid = "invalid" // the spec is refused; retried when it changes
)

// Metrics of the controller.
type Metrics struct {
	*storemetrics.Observer
	Registry *prometheus.Registry

	reconciles    *prometheus.CounterVec
	syncDuration  prometheus.Histogram
	secretWrites  *prometheus.CounterVec
	tokenRequests *prometheus.CounterVec
	roleChecks    *prometheus.CounterVec
	managed       prometheus.Gauge

	mu          sync.Mutex
	managedKeys map[string]bool
}

// New makes the metrics on a fresh registry with Go and process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		Observer: storemetrics.New(reg, Namespace),
		Registry: reg,
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "reconciles_total",
			Help: "Reconciles of SecretsStoreImports by controller (secret-sync, csi-check) and result (ok, error, invalid).",
		}, []string{"controller", "result"}),
		syncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "sync_duration_seconds",
			Help:    "Time of a Secret sync that read the store: token, login, reads and the Secret's write.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		secretWrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "secret_writes_total",
			Help: "Writes of synced Secrets by operation (create, update, restore, delete, release).",
		}, []string{"operation"}),
		tokenRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "serviceaccount_token_requests_total",
			Help: "TokenRequests for the ServiceAccounts that log in to the store, by result (ok, error).",
		}, []string{"result"}),
		roleChecks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "role_checks_total",
			Help: "Checks that the role of a CSI SecretsStoreImport exists, by result (found, not_found, error, cached).",
		}, []string{"result"}),
		managed: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "secrets_managed",
			Help: "Secrets this controller keeps in sync (KubernetesSecret imports whose Secret holds synced data).",
		}),
		managedKeys: map[string]bool{},
	}
	reg.MustRegister(m.reconciles, m.syncDuration, m.secretWrites, m.tokenRequests, m.roleChecks, m.managed)
	for _, c := range []string{"secret-sync", "csi-check"} {
		for _, r := range []string{ResultOK, ResultError, ResultInvalid} {
			m.reconciles.WithLabelValues(c, r)
		}
	}
	return m
}

// Reconciled counts one reconcile of controller with result.
func (m *Metrics) Reconciled(controller, result string) {
	m.reconciles.WithLabelValues(controller, result).Inc()
}

// Synced records the duration of a sync that read the store.
func (m *Metrics) Synced(took time.Duration) { m.syncDuration.Observe(took.Seconds()) }

// SecretWritten counts a write of a synced Secret.
func (m *Metrics) SecretWritten(operation string) { m.secretWrites.WithLabelValues(operation).Inc() }

// TokenRequested counts a TokenRequest.
func (m *Metrics) TokenRequested(err error) {
	if err != nil {
		m.tokenRequests.WithLabelValues("error").Inc()
		return
	}
	m.tokenRequests.WithLabelValues("ok").Inc()
}

// RoleChecked counts a role check.
func (m *Metrics) RoleChecked(result string) { m.roleChecks.WithLabelValues(result).Inc() }

// Managed says whether the import key (namespace/name) has a synced Secret.
func (m *Metrics) Managed(key string, managed bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if managed {
		m.managedKeys[key] = true
	} else {
		delete(m.managedKeys, key)
	}
	m.managed.Set(float64(len(m.managedKeys)))
}
