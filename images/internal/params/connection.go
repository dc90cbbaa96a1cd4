// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package params

import (
	"github.com/deckhouse/secrets-store-integration/images/internal/secretmodel"
	"github.com/deckhouse/secrets-store-integration/images/internal/store"
)

// Connection returns the store settings and the login of p, with the
// defaults filled in. The login has no token yet: the caller knows where it
// comes from (kubelet's volume context, the TokenRequest API).
func (d Defaults) Connection(p secretmodel.Parameters) (store.Config, store.Login) {
	cfg := store.Config{
		Address:   firstOf(p.Address, d.Address),
		Namespace: firstOf(p.Namespace, d.Namespace),
		TLS: store.TLS{
			CACertPEM: p.CACertPEM, CACertPath: p.CACertPath, ServerName: p.ServerName,
			ClientCert: p.ClientCert, ClientKey: p.ClientKey, SkipVerify: p.SkipVerify,
		},
	}
	// The default CA belongs to the default store only.
	if cfg.TLS.CACertPEM == "" && cfg.TLS.CACertPath == "" && (p.Address == "" || p.Address == d.Address) {
		cfg.TLS.CACertPath = d.CACertPath
	}
	mount := p.AuthMount
	if mount == "" {
		mount = d.AuthMount
		if p.AuthType == AuthJWT {
			mount = AuthJWT
		}
	}
	if mount == "" {
		mount = AuthKubernetes
	}
	return cfg, store.Login{AuthMount: mount, Role: p.Role, PodNamespace: p.PodNamespace, ServiceAccount: p.ServiceAccount}
}
