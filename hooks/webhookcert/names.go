// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package webhookcert

import "github.com/deckhouse/secrets-store-integration/hooks/module"

const (
	// ServiceName is the webhook's Service in the module's namespace.
	ServiceName = "secrets-store-integration-webhook"
	// SecretName is the Secret the chart renders from internal.webhookCert
	// (keys ca.crt, tls.crt, tls.key), read back to reuse the certificate.
	SecretName = "secrets-store-integration-webhook-tls"
	// DefaultClusterDomain is used when global.discovery.clusterDomain is unset.
	DefaultClusterDomain = "cluster.local"
)

// DNSNames are the names kube-apiserver and in-cluster clients may use for
// the webhook Service, shortest first.
func DNSNames(clusterDomain string) []string {
	if clusterDomain == "" {
		clusterDomain = DefaultClusterDomain
	}
	svc := ServiceName + "." + module.Namespace + ".svc"
	return []string{
		ServiceName,
		ServiceName + "." + module.Namespace,
		svc,
		svc + "." + clusterDomain,
	}
}
