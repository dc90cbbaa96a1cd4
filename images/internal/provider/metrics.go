package provider

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of the provider; also the store's Observer.
type Metrics struct {
	mounts        *prometheus.CounterVec
	mountErrors   *prometheus.CounterVec
	mountDuration prometheus.Histogram
	storeRequests *prometheus.CounterVec
	storeLatency  *prometheus.HistogramVec
	tokenCache    *prometheus.CounterVec
	sharedHits    prometheus.Counter
	leasesKept    prometheus.Counter
}

// NewMetrics registers the provider's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	const ns = "secrets_store_vault_provider"
	m := &Metrics{
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
		storeRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "store_requests_total",
			Help: "HTTP requests to the store by operation (login, read, write, mounts) and result (ok, denied, not_found, error).",
		}, []string{"operation", "result"}),
		storeLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "store_request_duration_seconds", Help: "Latency of requests to the store by operation.",
			Buckets: []float64{.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 15},
		}, []string{"operation"}),
		tokenCache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "token_cache_requests_total", Help: "Store token lookups by result (hit or miss).",
		}, []string{"result"}),
		sharedHits: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Name: "shared_read_hits_total",
			Help: "Object reads answered by another pod's read of the same identity (cache or in-flight).",
		}),
		leasesKept: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Name: "lease_objects_kept_total",
			Help: "Leased objects not read again because the driver keeps them and their lease is fresh.",
		}),
	}
	reg.MustRegister(m.mounts, m.mountErrors, m.mountDuration, m.storeRequests, m.storeLatency,
		m.tokenCache, m.sharedHits, m.leasesKept)
	// Show the label values before the first event, so dashboards and
	// rate() have series to work on.
	m.mounts.WithLabelValues("ok")
	m.mounts.WithLabelValues("error")
	m.tokenCache.WithLabelValues("hit")
	m.tokenCache.WithLabelValues("miss")
	return m
}

// StoreRequest implements store.Observer.
func (m *Metrics) StoreRequest(op, result string, took time.Duration) {
	m.storeRequests.WithLabelValues(op, result).Inc()
	m.storeLatency.WithLabelValues(op).Observe(took.Seconds())
}

// TokenCache implements store.Observer.
func (m *Metrics) TokenCache(hit bool) {
	if hit {
		m.tokenCache.WithLabelValues("hit").Inc()
	} else {
		m.tokenCache.WithLabelValues("miss").Inc()
	}
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
