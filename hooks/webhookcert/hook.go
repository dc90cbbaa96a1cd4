// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package webhookcert

import (
	"context"
	"time"

	"github.com/deckhouse/module-sdk/pkg"
	objectpatch "github.com/deckhouse/module-sdk/pkg/object-patch"

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
//
// This is our own hook, not module-sdk's common tls-certificate hook
// (common-hooks/tls-certificate), because that one cannot express three
// things the module needs: it exports no expiry metric (ExpiryMetric feeds
// the alert in monitoring/prometheus-rules), it judges a certificate by its
// dates and names only (Check also proves that key and certificate pair and
// that the chain verifies for the Service's name), and it forgets a bundle
// made by a run whose Helm release then failed (reusable also takes the
// values), so a failing release would get a new CA on every retry.
var Config = &pkg.HookConfig{
	OnBeforeHelm: &pkg.OrderedConfig{Order: 5},
	Schedule: []pkg.ScheduleConfig{
		{Name: "daily-renewal-check", Crontab: "17 3 * * *"},
	},
	Kubernetes: []pkg.KubernetesConfig{secretSnapshot()},
}

func secretSnapshot() pkg.KubernetesConfig {
	b := secretbinding.Named(SecretBinding, module.Namespace, SecretName, map[string]string{
		"ca":  "ca.crt",
		"crt": "tls.crt",
		"key": "tls.key",
	})
	no := false
	b.ExecuteHookOnEvents = &no
	b.ExecuteHookOnSynchronization = &no
	return b
}

// secretData is the snapshot of the TLS Secret: base64 as the API serves it,
// decoded by encoding/json into the []byte fields.
type secretData struct {
	CA  []byte `json:"ca"`
	Crt []byte `json:"crt"`
	Key []byte `json:"key"`
}

// Handle is the hook's handler with the real clock.
var Handle = NewHandler(time.Now)

// NewHandler returns the hook's handler reading the time from now.
func NewHandler(now func() time.Time) pkg.HookFunc[*pkg.HookInput] {
	return func(_ context.Context, input *pkg.HookInput) error {
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
func reusable(input *pkg.HookInput, names []string, now time.Time) (Bundle, bool) {
	var candidates []Bundle
	for snap, err := range objectpatch.SnapshotIter[secretData](input.Snapshots.Get(SecretBinding)) {
		if err != nil {
			input.Logger.Warn("skipping unreadable webhook TLS snapshot", "secret", module.Namespace+"/"+SecretName, "error", err.Error())
			continue
		}
		candidates = append(candidates, Bundle{CA: string(snap.CA), Crt: string(snap.Crt), Key: string(snap.Key)})
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
