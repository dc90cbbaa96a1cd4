// Package hooks holds the module's Go hooks, run by Deckhouse's
// addon-operator: they compute the internal values the chart renders (webhook
// TLS, local Stronghold discovery, defaults). The hooks themselves are built
// in the platform-module issue; this module exists so that the workspace, CI
// and the chart layout are in place.
package hooks
