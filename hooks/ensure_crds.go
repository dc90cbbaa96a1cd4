// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"github.com/deckhouse/module-sdk/pkg/registry"

	"github.com/deckhouse/secrets-store-integration/hooks/ensurecrds"
)

// CRDs: crds/ applied before every Helm run.
var _ = registry.RegisterFunc(ensurecrds.Config, ensurecrds.Handle)
