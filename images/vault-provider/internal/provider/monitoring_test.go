// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package provider_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/deckhouse/secrets-store-integration/images/internal/metricstest"
	"github.com/deckhouse/secrets-store-integration/images/vault-provider/internal/provider"
)

// Every secrets_store_vault_provider_* metric that a dashboard or an alert
// rule in monitoring/ uses must be one the provider registers.
func TestMonitoringUsesExportedMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	provider.NewMetrics(reg)
	metricstest.Check(t, reg, "secrets_store_vault_provider_")
}
