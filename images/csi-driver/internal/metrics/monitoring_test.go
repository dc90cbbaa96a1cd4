// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package metrics_test

import (
	"testing"

	"github.com/deckhouse/secrets-store-integration/images/csi-driver/internal/metrics"
	"github.com/deckhouse/secrets-store-integration/images/internal/metricstest"
)

// Every secrets_store_csi_* metric that a dashboard or an alert rule in monitoring/
// uses must be one the driver registers.
func TestMonitoringUsesExportedMetrics(t *testing.T) {
	metricstest.Check(t, metrics.New().Registry, "secrets_store_csi_")
}
