// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package injection

import (
	"slices"

	"github.com/deckhouse/secrets-store-integration/images/internal/store"
)

// Variables, of the table in settings.go, that other packages name. The
// injector removes every variable of the table from the app's environment.
const (
	EnvAddr        = "VAULT_ADDR"
	EnvRole        = "VAULT_ROLE"
	EnvCACert      = "VAULT_CACERT"     // a CA file (from tls-secret)
	EnvCACertPEM   = "VAULT_CACERT_PEM" // the module's CA, inline
	EnvTokenPath   = "VAULT_SA_TOKEN_PATH"
	EnvGracePeriod = "VAULT_GRACE_PERIOD"
)

// IsConfigVar reports whether name is one of the injector's own variables.
func IsConfigVar(name string) bool {
	return name != "" && slices.ContainsFunc(settings, func(row setting) bool { return row.env == name })
}

// EnvVar is one variable of a container.
type EnvVar struct{ Name, Value string }

// Env returns the variables that carry c to the injector; unset optional
// settings are left out.
func (c Config) Env() []EnvVar {
	var out []EnvVar
	for _, row := range settings {
		if row.env == "" || row.carried != nil && !row.carried(&c) {
			continue
		}
		if v := row.format(&c); v != "" {
			out = append(out, EnvVar{row.env, v})
		}
	}
	return out
}

// FromEnv reads the injector's configuration from its environment; an
// empty variable counts as unset.
func FromEnv(lookup func(string) (string, bool)) (Config, error) {
	s := defaults()
	_, err := read(&s, func(row setting) string { return row.env }, func(name string) string { return "variable " + name },
		func(name string) (string, bool) {
			v, ok := lookup(name)
			return v, ok && v != ""
		}, nil)
	return s.Config, err
}

// StoreConfig is where and how the injector reaches the store.
func (c Config) StoreConfig() store.Config {
	return store.Config{
		Address: c.Address, Namespace: c.Namespace,
		TLS: store.TLS{CACertPath: c.CACertFile, CACertPEM: c.CACertPEM, SkipVerify: c.SkipVerify},
	}
}
