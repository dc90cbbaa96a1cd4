package hooks

import (
	"github.com/flant/addon-operator/sdk"

	"github.com/deckhouse/secrets-store-integration/hooks/webhookcert"
)

// Webhook TLS: internal.webhookCert, renewed before expiry.
var _ = sdk.RegisterFunc(webhookcert.Config, webhookcert.Handle)
