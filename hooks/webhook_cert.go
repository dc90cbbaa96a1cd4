// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"github.com/deckhouse/module-sdk/pkg/registry"

	"github.com/deckhouse/secrets-store-integration/hooks/webhookcert"
)

// Webhook TLS: internal.webhookCert, renewed before expiry.
var _ = registry.RegisterFunc(webhookcert.Config, webhookcert.Handle)
