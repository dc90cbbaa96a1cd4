// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	vault "github.com/hashicorp/vault/api"
)

// TLS says how to trust the store and how to present ourselves to it.
type TLS struct {
	// CACertPEM is an inline PEM bundle; it wins over CACertPath.
	CACertPEM  string
	CACertPath string
	ServerName string
	// ClientCert and ClientKey are paths of a client certificate.
	ClientCert, ClientKey string
	// SkipVerify turns verification off; only when a user asked for it.
	SkipVerify bool
}

// Key tells TLS settings apart: two sessions share a store read only when
// they would reach the store the same way, so a wrong CA is not hidden by
// another pod's good answer.
func (t TLS) Key() string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%q", []string{t.CACertPEM, t.CACertPath, t.ServerName,
		t.ClientCert, t.ClientKey, strconv.FormatBool(t.SkipVerify)}))
	return hex.EncodeToString(sum[:8])
}

func (t TLS) apply(cfg *vault.Config) error {
	in := &vault.TLSConfig{
		TLSServerName: t.ServerName,
		ClientCert:    t.ClientCert,
		ClientKey:     t.ClientKey,
		Insecure:      t.SkipVerify,
	}
	if t.CACertPEM != "" {
		in.CACertBytes = []byte(t.CACertPEM)
	} else {
		in.CACert = t.CACertPath
	}
	if err := cfg.ConfigureTLS(in); err != nil {
		return fmt.Errorf("configure TLS: %w", err)
	}
	return nil
}

// key identifies the TLS settings without keeping the PEM in a map key.
func (t TLS) key() string {
	sum := sha256.Sum256([]byte(t.CACertPEM))
	return fmt.Sprintf("%s|%s|%s|%s|%s|%t", hex.EncodeToString(sum[:8]), t.CACertPath, t.ServerName,
		t.ClientCert, t.ClientKey, t.SkipVerify)
}
