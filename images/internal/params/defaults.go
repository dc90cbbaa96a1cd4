// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package params

import (
	"flag"
	"fmt"
	"os"
)

// Defaults are the module's own store: what a request, an import or a pod
// that names no store of its own gets. Every binary that needs them takes
// the same flags (AddFlags).
type Defaults struct {
	Address    string
	CACertPath string // the store's CA bundle file
	// CACertPEM is that file's text, for a binary that hands the CA on
	// inline (the webhook, to the env injector); LoadCA fills it.
	CACertPEM string
	AuthMount string // for Kubernetes auth; JWT auth defaults to "jwt"
	Namespace string
}

// The flags of Defaults. The chart spells the same settings --store-* for
// the webhook (charts up to this one); those spellings stay as aliases.
const (
	FlagAddress   = "vault-addr"
	FlagCACert    = "vault-ca-cert"
	FlagAuthMount = "vault-auth-mount"
	FlagNamespace = "vault-namespace"
)

var flagAliases = map[string]string{
	"store-addr":      FlagAddress,
	"store-ca-file":   FlagCACert,
	"store-auth-path": FlagAuthMount,
	"store-namespace": FlagNamespace,
}

// AddFlags registers the flags of d, with their aliases, on fs.
func (d *Defaults) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&d.Address, FlagAddress, "", "address of the module's store, used where a request, an import or a pod names none")
	fs.StringVar(&d.CACertPath, FlagCACert, "", "CA bundle file (PEM) of the module's store")
	fs.StringVar(&d.AuthMount, FlagAuthMount, AuthKubernetes, "auth method path used where none is named")
	fs.StringVar(&d.Namespace, FlagNamespace, "", "store namespace used where none is named")
	for alias, name := range flagAliases {
		fs.Var(fs.Lookup(name).Value, alias, "the same as --"+name)
	}
}

// LoadCA reads the CA bundle file, if any, into CACertPEM.
func (d *Defaults) LoadCA() error {
	if d.CACertPath == "" {
		return nil
	}
	pem, err := os.ReadFile(d.CACertPath)
	if err != nil {
		return fmt.Errorf("read the store's CA (--%s): %w", FlagCACert, err)
	}
	d.CACertPEM = string(pem)
	return nil
}
