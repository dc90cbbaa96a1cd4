package hooks

import (
	"github.com/flant/addon-operator/sdk"

	"github.com/deckhouse/secrets-store-integration/hooks/connection"
)

// Store connection: internal.connection, from the local Stronghold or the
// Manual settings.
var _ = sdk.RegisterFunc(connection.Config, connection.Handle)
