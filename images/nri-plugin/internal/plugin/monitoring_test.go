// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package plugin_test

import (
	"testing"

	"github.com/deckhouse/secrets-store-integration/images/internal/metricstest"
	"github.com/deckhouse/secrets-store-integration/images/internal/storemetrics"
	"github.com/deckhouse/secrets-store-integration/images/nri-plugin/internal/plugin"
)

// Every secrets_store_nri_* metric that a dashboard or an alert rule in
// monitoring/ uses must be one the plugin registers (main adds the store's).
func TestMonitoringUsesExportedMetrics(t *testing.T) {
	m := plugin.NewMetrics()
	storemetrics.New(m.Registry, plugin.Namespace)
	metricstest.Check(t, m.Registry, "secrets_store_nri_")
}
