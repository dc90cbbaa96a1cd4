// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package connection computes, once for all templates, how the module's
// components reach the secrets store: its address, the CA to trust, the
// Kubernetes auth mount and the store namespace. With
// connectionConfiguration DiscoverLocalStronghold they come from the
// cluster's own Stronghold (its CA from the Secret d8-stronghold/stronghold-tls);
// with Manual, from the settings' connection section.
package connection

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

const (
	// ModeDiscover uses the Stronghold running in this cluster.
	ModeDiscover = "DiscoverLocalStronghold"
	// ModeManual uses the store described in the settings.
	ModeManual = "Manual"

	// StrongholdURL is the local Stronghold's Service address.
	StrongholdURL = "https://stronghold.d8-stronghold:8300"
	// StrongholdNamespace and StrongholdSecret name the Secret holding the
	// local Stronghold's TLS certificate and CA.
	StrongholdNamespace = "d8-stronghold"
	StrongholdSecret    = "stronghold-tls"
	// DefaultAuthPath is the usual mount of the Kubernetes auth method.
	DefaultAuthPath = "kubernetes"
)

// Settings are the user's choices from the ModuleConfig.
type Settings struct {
	Mode      string
	URL       string
	CACert    string
	AuthPath  string
	Namespace string
}

// StrongholdTLS is the part of the Secret d8-stronghold/stronghold-tls that
// matters here: never its private key.
type StrongholdTLS struct {
	CACrt  string `json:"caCrt"`
	TLSCrt string `json:"tlsCrt"`
}

// Connection is the values section internal.connection.
type Connection struct {
	URL string `json:"url"`
	// CACert and Namespace are left out when empty: addon-operator's
	// validator takes an empty string for null.
	CACert    string `json:"caCert,omitempty"`
	AuthPath  string `json:"authPath"`
	Namespace string `json:"namespace,omitempty"`
	// Discovered is set only with DiscoverLocalStronghold: whether the
	// local Stronghold's CA was found.
	Discovered *bool `json:"discovered,omitempty"`
}

// ErrStrongholdAbsent means DiscoverLocalStronghold is chosen but the
// cluster has no Secret d8-stronghold/stronghold-tls.
var ErrStrongholdAbsent = errors.New("local Stronghold not found: Secret " +
	StrongholdNamespace + "/" + StrongholdSecret + " does not exist; enable the stronghold module or set connectionConfiguration: Manual")

// Resolve computes the connection. local holds the Stronghold Secret's
// snapshot (empty when it does not exist). With DiscoverLocalStronghold a
// missing or unusable Secret is reported as an error next to a connection
// with Discovered false and no CA: the address is known, the trust is not,
// and a CA is never made up.
func Resolve(s Settings, local []StrongholdTLS) (Connection, error) {
	authPath := s.AuthPath
	if authPath == "" {
		authPath = DefaultAuthPath
	}
	switch s.Mode {
	case ModeManual:
		if s.URL == "" {
			return Connection{}, errors.New("connectionConfiguration is Manual but connection.url is empty")
		}
		return Connection{URL: s.URL, CACert: s.CACert, AuthPath: authPath, Namespace: s.Namespace}, nil
	case ModeDiscover, "":
		conn := Connection{URL: StrongholdURL, AuthPath: authPath, Namespace: s.Namespace, Discovered: new(bool)}
		if len(local) == 0 {
			return conn, ErrStrongholdAbsent
		}
		ca, err := LocalCA(local[0])
		if err != nil {
			return conn, fmt.Errorf("local Stronghold's CA: Secret %s/%s: %w", StrongholdNamespace, StrongholdSecret, err)
		}
		conn.CACert, *conn.Discovered = ca, true
		return conn, nil
	default:
		return Connection{}, fmt.Errorf("unknown connectionConfiguration %q", s.Mode)
	}
}

// LocalCA picks the CA to trust for the local Stronghold: its ca.crt when
// present; otherwise the CA certificates in the tls.crt chain; otherwise a
// self-signed tls.crt itself. A leaf issued by a CA the Secret does not carry
// is refused: trusting only that leaf would break at its next rotation.
func LocalCA(s StrongholdTLS) (string, error) {
	if strings.TrimSpace(s.CACrt) != "" {
		certs, err := parseCertificates(s.CACrt)
		if err != nil {
			return "", fmt.Errorf("ca.crt: %w", err)
		}
		return encode(certs), nil
	}
	if strings.TrimSpace(s.TLSCrt) == "" {
		return "", errors.New("neither ca.crt nor tls.crt is set")
	}
	chain, err := parseCertificates(s.TLSCrt)
	if err != nil {
		return "", fmt.Errorf("tls.crt: %w", err)
	}
	var cas []*x509.Certificate
	for _, c := range chain {
		if c.IsCA {
			cas = append(cas, c)
		}
	}
	if len(cas) > 0 {
		return encode(cas), nil
	}
	if len(chain) == 1 && selfSigned(chain[0]) {
		return encode(chain), nil
	}
	return "", errors.New("no ca.crt, and tls.crt holds no CA certificate to trust")
}

// selfSigned checks the signature with the certificate's own key; Go's
// CheckSignatureFrom would refuse a leaf as its own parent for not being a CA.
func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

func parseCertificates(pemText string) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := []byte(pemText)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificate")
	}
	return certs, nil
}

func encode(certs []*x509.Certificate) string {
	var b strings.Builder
	for _, c := range certs {
		b.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	}
	return b.String()
}
