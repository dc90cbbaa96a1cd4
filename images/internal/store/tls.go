// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
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

// config is the client's TLS configuration: the CA (inline PEM, or a file)
// or the system's roots, the client certificate, the server name.
func (t TLS) config() (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.SkipVerify}
	pemBytes := []byte(t.CACertPEM)
	if t.CACertPEM == "" && t.CACertPath != "" {
		var err error
		if pemBytes, err = os.ReadFile(t.CACertPath); err != nil {
			return nil, fmt.Errorf("read the CA: %w", err)
		}
	}
	if len(pemBytes) > 0 {
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pemBytes) {
			return nil, errors.New("the CA holds no PEM certificate")
		}
	}
	switch {
	case t.ClientCert != "" && t.ClientKey != "":
		cert, err := tls.LoadX509KeyPair(t.ClientCert, t.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("load the client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	case t.ClientCert != "" || t.ClientKey != "":
		return nil, errors.New("a client certificate needs both the certificate and the key")
	}
	return c, nil
}

// key identifies the TLS settings without keeping the PEM in a map key.
func (t TLS) key() string {
	sum := sha256.Sum256([]byte(t.CACertPEM))
	return fmt.Sprintf("%s|%s|%s|%s|%s|%t", hex.EncodeToString(sum[:8]), t.CACertPath, t.ServerName,
		t.ClientCert, t.ClientKey, t.SkipVerify)
}
