// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package params

import (
	"testing"

	"github.com/deckhouse/secrets-store-integration/images/internal/secretmodel"
)

func TestConnectionDefaults(t *testing.T) {
	d := Defaults{Address: "https://vault:8200", CACertPath: "/ca.pem", AuthMount: "k8s", Namespace: "team"}
	cfg, login := d.Connection(secretmodel.Parameters{Role: "app", AuthType: AuthKubernetes, PodNamespace: "demo", ServiceAccount: "app"})
	if cfg.Address != "https://vault:8200" || cfg.TLS.CACertPath != "/ca.pem" || cfg.Namespace != "team" || login.AuthMount != "k8s" {
		t.Errorf("defaults: %+v %+v", cfg, login)
	}
	if login.Role != "app" || login.PodNamespace != "demo" || login.ServiceAccount != "app" || login.JWT != "" {
		t.Errorf("login: %+v", login)
	}
	cfg, login = d.Connection(secretmodel.Parameters{Role: "app", AuthType: AuthJWT, Address: "https://other:8200", Namespace: "x"})
	if cfg.Address != "https://other:8200" || cfg.TLS.CACertPath != "" || cfg.Namespace != "x" || login.AuthMount != "jwt" {
		t.Errorf("another store must not get the default CA: %+v %+v", cfg, login)
	}
	cfg, _ = d.Connection(secretmodel.Parameters{Role: "app", CACertPEM: "PEM"})
	if cfg.TLS.CACertPath != "" || cfg.TLS.CACertPEM != "PEM" {
		t.Errorf("inline CA: %+v", cfg.TLS)
	}
	if _, login := (Defaults{}).Connection(secretmodel.Parameters{Role: "app"}); login.AuthMount != AuthKubernetes {
		t.Errorf("no default mount: %q, want %q", login.AuthMount, AuthKubernetes)
	}
}
