package connection

import (
	"fmt"

	"github.com/flant/addon-operator/pkg/module_manager/go_hook"
	"github.com/flant/addon-operator/pkg/module_manager/go_hook/metrics"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

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
// follow the local Stronghold without waiting for another event.
var Config = &go_hook.HookConfig{
	OnBeforeHelm: &go_hook.OrderedConfig{Order: 10},
	Kubernetes: []go_hook.KubernetesConfig{
		secretbinding.Named(StrongholdBinding, StrongholdNamespace, StrongholdSecret, FilterStrongholdSecret),
	},
}

// FilterStrongholdSecret keeps the certificates of the Stronghold Secret and
// drops its private key.
func FilterStrongholdSecret(obj *unstructured.Unstructured) (go_hook.FilterResult, error) {
	data, err := secretbinding.Data(obj)
	if err != nil {
		return nil, err
	}
	return StrongholdTLS{
		CACrt:  string(data["ca.crt"]),
		TLSCrt: string(data[corev1.TLSCertKey]),
	}, nil
}

// Handle writes internal.connection. A missing local Stronghold does not
// fail the hook (the rest of the module still installs and reports the
// store as unreachable); it is logged as an error and exported as
// DiscoveredMetric 0. A Manual configuration without a URL fails it.
func Handle(input *go_hook.HookInput) error {
	settings := readSettings(input)
	local, err := strongholdSnapshots(input)
	if err != nil {
		return err
	}

	conn, err := Resolve(settings, local)
	input.MetricsCollector.Expire(metricGroup)
	if conn.Discovered != nil {
		input.MetricsCollector.Set(DiscoveredMetric, boolGauge(*conn.Discovered), nil, metrics.WithGroup(metricGroup))
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

func readSettings(input *go_hook.HookInput) Settings {
	get := func(keys ...string) string { return input.Values.Get(module.ValuesPath(keys...)).String() }
	return Settings{
		Mode:      get("connectionConfiguration"),
		URL:       get("connection", "url"),
		CACert:    get("connection", "caCert"),
		AuthPath:  get("connection", "authPath"),
		Namespace: get("connection", "namespace"),
	}
}

func strongholdSnapshots(input *go_hook.HookInput) ([]StrongholdTLS, error) {
	var out []StrongholdTLS
	for _, snap := range input.NewSnapshots.Get(StrongholdBinding) {
		var s StrongholdTLS
		if err := snap.UnmarshalTo(&s); err != nil {
			return nil, fmt.Errorf("reading the Stronghold Secret snapshot: %w", err)
		}
		out = append(out, s)
	}
	return out, nil
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
