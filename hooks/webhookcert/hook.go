package webhookcert

import (
	"time"

	"github.com/flant/addon-operator/pkg/module_manager/go_hook"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/deckhouse/secrets-store-integration/hooks/module"
	"github.com/deckhouse/secrets-store-integration/hooks/secretbinding"
)

const (
	// SecretBinding is the snapshot holding the webhook's TLS Secret.
	SecretBinding = "webhook-tls-secret"
	// ExpiryMetric is the serving certificate's NotAfter as a Unix time, for
	// an alert before expiry should renewal keep failing.
	ExpiryMetric = "d8_secrets_store_integration_webhook_cert_expiry_timestamp_seconds"
)

// valuesPath is where the chart reads the bundle (ca, crt, key).
var valuesPath = module.InternalPath("webhookCert")

// Config runs the hook before every Helm run and daily, so that renewal does
// not wait for some other event. The Secret is only a snapshot: the chart
// writes it from the values, so its events must not trigger the hook again.
var Config = &go_hook.HookConfig{
	OnBeforeHelm: &go_hook.OrderedConfig{Order: 5},
	Schedule: []go_hook.ScheduleConfig{
		{Name: "daily-renewal-check", Crontab: "17 3 * * *"},
	},
	Kubernetes: []go_hook.KubernetesConfig{secretSnapshot()},
}

func secretSnapshot() go_hook.KubernetesConfig {
	b := secretbinding.Named(SecretBinding, module.Namespace, SecretName, FilterSecret)
	b.ExecuteHookOnEvents = go_hook.Bool(false)
	b.ExecuteHookOnSynchronization = go_hook.Bool(false)
	return b
}

// Handle is the hook's handler with the real clock.
var Handle = NewHandler(time.Now)

// FilterSecret keeps only the PEM data of the TLS Secret, so that the
// snapshot's checksum changes with the certificate and nothing else.
func FilterSecret(obj *unstructured.Unstructured) (go_hook.FilterResult, error) {
	data, err := secretbinding.Data(obj)
	if err != nil {
		return nil, err
	}
	return Bundle{
		CA:  string(data["ca.crt"]),
		Crt: string(data[corev1.TLSCertKey]),
		Key: string(data[corev1.TLSPrivateKeyKey]),
	}, nil
}

// NewHandler returns the hook's handler reading the time from now.
func NewHandler(now func() time.Time) func(*go_hook.HookInput) error {
	return func(input *go_hook.HookInput) error {
		clusterDomain := input.Values.Get("global.discovery.clusterDomain").String()
		names := DNSNames(clusterDomain)

		bundle, reused := reusable(input, names, now())
		if !reused {
			var err error
			if bundle, err = Generate(names, now()); err != nil {
				return err
			}
			input.Logger.Info("generated a new webhook certificate", "notAfter", bundle.NotAfter().UTC().Format(time.RFC3339))
		}
		input.Values.Set(valuesPath, bundle)
		input.MetricsCollector.Set(ExpiryMetric, float64(bundle.NotAfter().Unix()), nil)
		return nil
	}
}

// reusable returns the first candidate that passes Check: the Secret in the
// cluster (what the webhook serves now), then the values (a bundle generated
// by an earlier run whose Helm release has not written the Secret yet).
func reusable(input *go_hook.HookInput, names []string, now time.Time) (Bundle, bool) {
	var candidates []Bundle
	for _, snap := range input.NewSnapshots.Get(SecretBinding) {
		var b Bundle
		if err := snap.UnmarshalTo(&b); err != nil {
			input.Logger.Warn("skipping unreadable webhook TLS snapshot", "error", err)
			continue
		}
		candidates = append(candidates, b)
	}
	current := input.Values.Get(valuesPath)
	candidates = append(candidates, Bundle{
		CA:  current.Get("ca").String(),
		Crt: current.Get("crt").String(),
		Key: current.Get("key").String(),
	})

	for _, b := range candidates {
		if b.Empty() {
			continue
		}
		err := Check(b, names, now)
		if err == nil {
			return b, true
		}
		input.Logger.Info("webhook certificate needs renewal", "reason", err.Error())
	}
	return Bundle{}, false
}
