// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package connection

import (
	"context"
	"fmt"

	"github.com/deckhouse/module-sdk/pkg"
	"github.com/deckhouse/module-sdk/pkg/metric/operation"
	objectpatch "github.com/deckhouse/module-sdk/pkg/object-patch"

	"github.com/deckhouse/secrets-store-integration/hooks/module"
	"github.com/deckhouse/secrets-store-integration/hooks/secretbinding"
)

const (
	// StrongholdBinding is the snapshot of d8-stronghold/stronghold-tls.
	StrongholdBinding = "local-stronghold-tls"
	// DiscoveredMetric is 1 when the local Stronghold's CA was found, 0 when
	// DiscoverLocalStronghold is chosen and it was not; absent with Manual.
	DiscoveredMetric = "d8_secrets_store_integration_local_stronghold_discovered"
	metricGroup      = "local_stronghold_discovery"
)

var valuesPath = module.InternalPath("connection")

// Config runs the hook before every Helm run and whenever the Stronghold
// Secret appears, changes (CA rotation) or goes away, so the components
// follow the local Stronghold without waiting for another event. The
// binding's filter keeps the certificates and drops the private key.
var Config = &pkg.HookConfig{
	OnBeforeHelm: &pkg.OrderedConfig{Order: 10},
	Kubernetes: []pkg.KubernetesConfig{
		secretbinding.Named(StrongholdBinding, StrongholdNamespace, StrongholdSecret, map[string]string{
			"caCrt":  "ca.crt",
			"tlsCrt": "tls.crt",
		}),
	},
}

// strongholdData is the snapshot of the Stronghold Secret (base64 decoded by
// encoding/json into the []byte fields).
type strongholdData struct {
	CACrt  []byte `json:"caCrt"`
	TLSCrt []byte `json:"tlsCrt"`
}

// Handle writes internal.connection. A missing local Stronghold does not
// fail the hook (the rest of the module still installs and reports the
// store as unreachable); it is logged as an error and exported as
// DiscoveredMetric 0. A Manual configuration without a URL fails it.
func Handle(_ context.Context, input *pkg.HookInput) error {
	settings := readSettings(input)
	local, err := strongholdSnapshots(input)
	if err != nil {
		return err
	}

	conn, err := Resolve(settings, local)
	input.MetricsCollector.Expire(metricGroup)
	if conn.Discovered != nil {
		input.MetricsCollector.Set(DiscoveredMetric, boolGauge(*conn.Discovered), nil, operation.WithGroup(metricGroup))
	}
	switch {
	case err != nil && conn.Discovered == nil:
		return fmt.Errorf("computing the store connection: %w", err)
	case err != nil:
		input.Logger.Error(err.Error(), "connectionConfiguration", ModeDiscover)
	}
	input.Values.Set(valuesPath, conn)
	return nil
}

func readSettings(input *pkg.HookInput) Settings {
	get := func(keys ...string) string { return input.Values.Get(module.ValuesPath(keys...)).String() }
	return Settings{
		Mode:      get("connectionConfiguration"),
		URL:       get("connection", "url"),
		CACert:    get("connection", "caCert"),
		AuthPath:  get("connection", "authPath"),
		Namespace: get("connection", "namespace"),
	}
}

func strongholdSnapshots(input *pkg.HookInput) ([]StrongholdTLS, error) {
	var out []StrongholdTLS
	for snap, err := range objectpatch.SnapshotIter[strongholdData](input.Snapshots.Get(StrongholdBinding)) {
		if err != nil {
			return nil, fmt.Errorf("reading the snapshot of Secret %s/%s: %w", StrongholdNamespace, StrongholdSecret, err)
		}
		out = append(out, StrongholdTLS{CACrt: string(snap.CACrt), TLSCrt: string(snap.TLSCrt)})
	}
	return out, nil
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
