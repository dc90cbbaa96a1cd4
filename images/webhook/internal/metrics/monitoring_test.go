// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package metrics_test

import (
	"testing"

	"github.com/deckhouse/secrets-store-integration/images/internal/metricstest"
	"github.com/deckhouse/secrets-store-integration/images/webhook/internal/metrics"
)

// Every secrets_store_webhook_* metric that a dashboard or an alert rule in monitoring/
// uses must be one the webhook registers.
func TestMonitoringUsesExportedMetrics(t *testing.T) {
	metricstest.Check(t, metrics.New().Registry, "secrets_store_webhook_")
}
