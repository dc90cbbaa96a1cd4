// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package metrics_test

import (
	"testing"

	"github.com/deckhouse/secrets-store-integration/images/controller/internal/metrics"
	"github.com/deckhouse/secrets-store-integration/images/internal/metricstest"
)

// Every secrets_store_controller_* metric that a dashboard or an alert rule in monitoring/
// uses must be one the controller registers.
func TestMonitoringUsesExportedMetrics(t *testing.T) {
	metricstest.Check(t, metrics.New().Registry, "secrets_store_controller_")
}
