// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"github.com/deckhouse/module-sdk/pkg/registry"

	"github.com/deckhouse/secrets-store-integration/hooks/connection"
)

// Store connection: internal.connection, from the local Stronghold or the
// Manual settings.
var _ = registry.RegisterFunc(connection.Config, connection.Handle)
