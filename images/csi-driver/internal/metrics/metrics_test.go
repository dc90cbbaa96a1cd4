// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The registry holds the driver's metrics under their names and the
// process collectors; healthserver serves it.
func TestNew(t *testing.T) {
	m := New()
	m.PublishTotal.Inc()
	m.PublishErrors.WithLabelValues("provider_permission_denied").Inc()
	m.RotationTotal.WithLabelValues("changed").Inc()
	m.PublishDuration.Observe(0.1)
	counters := []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"node_publish_total", m.PublishTotal, 1},
		{"node_publish_errors_total{provider_permission_denied}", m.PublishErrors.WithLabelValues("provider_permission_denied"), 1},
		{"node_unpublish_total", m.UnpublishTotal, 0},
		{"rotation_total{changed}", m.RotationTotal.WithLabelValues("changed"), 1},
	}
	for _, c := range counters {
		if got := testutil.ToFloat64(c.c); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
	}
	for _, want := range []string{
		"secrets_store_csi_node_publish_total",
		"secrets_store_csi_node_publish_errors_total",
		"secrets_store_csi_node_publish_duration_seconds",
		"secrets_store_csi_rotation_total",
		"process_resident_memory_bytes",
	} {
		if !names[want] {
			t.Errorf("the registry lacks %s", want)
		}
	}
}
