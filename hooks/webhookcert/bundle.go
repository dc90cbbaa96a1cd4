// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package webhookcert keeps the TLS certificate of the module's mutating
// webhook: a self-signed CA (its PEM becomes the caBundle of the webhook
// configuration) and a serving certificate for the webhook Service's DNS
// names. A certificate already in the cluster is reused while it stays valid
// for the renewal margin and names exactly the Service; otherwise a new pair
// is made.
package webhookcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"
)

const (
	// Lifetime of a new CA and serving certificate.
	Lifetime = 365 * 24 * time.Hour
	// RenewBefore is the margin: a certificate that would expire within it
	// is replaced, so that the webhook never serves an expired one even if
	// a few daily runs fail.
	RenewBefore = 30 * 24 * time.Hour
	// backdate covers clocks of API servers that run slightly behind.
	backdate = time.Hour
)

// Bundle is the webhook's TLS material as PEM, in the shape of the values
// section internal.webhookCert.
type Bundle struct {
	CA  string `json:"ca"`
	Crt string `json:"crt"`
	Key string `json:"key"`
}

// Empty reports whether the bundle holds nothing at all (no Secret yet, no
// values yet), which is not worth a log line.
func (b Bundle) Empty() bool {
	return b.CA == "" && b.Crt == "" && b.Key == ""
}

// NotAfter is the end of the serving certificate's validity, or the zero time
// when it cannot be parsed.
func (b Bundle) NotAfter() time.Time {
	leaf, err := parseCertificate(b.Crt)
	if err != nil {
		return time.Time{}
	}
	return leaf.NotAfter
}

// Generate makes a new CA and a serving certificate for names, valid from
// now for Lifetime.
func Generate(names []string, now time.Time) (Bundle, error) {
	if len(names) == 0 {
		return Bundle{}, errors.New("generating webhook certificate: no DNS names")
	}
	notBefore, notAfter := now.Add(-backdate), now.Add(Lifetime)

	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Bundle{}, fmt.Errorf("generating webhook CA key: %w", err)
	}
	caTemplate := &x509.Certificate{
		Subject:               pkix.Name{CommonName: names[0] + "-ca"},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	caDER, ca, err := sign(caTemplate, nil, &caKey.PublicKey, caKey)
	if err != nil {
		return Bundle{}, fmt.Errorf("signing webhook CA: %w", err)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Bundle{}, fmt.Errorf("generating webhook serving key: %w", err)
	}
	leafTemplate := &x509.Certificate{
		Subject:     pkix.Name{CommonName: names[0]},
		DNSNames:    slices.Clone(names),
		NotBefore:   notBefore,
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, _, err := sign(leafTemplate, ca, &key.PublicKey, caKey)
	if err != nil {
		return Bundle{}, fmt.Errorf("signing webhook serving certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Bundle{}, fmt.Errorf("encoding webhook serving key: %w", err)
	}
	return Bundle{
		CA:  encode("CERTIFICATE", caDER),
		Crt: encode("CERTIFICATE", leafDER),
		Key: encode("PRIVATE KEY", keyDER),
	}, nil
}

// sign issues template with parent (nil: self-signed) and returns the DER and
// the parsed certificate.
func sign(template, parent *x509.Certificate, pub *ecdsa.PublicKey, signer *ecdsa.PrivateKey) ([]byte, *x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, fmt.Errorf("drawing serial number: %w", err)
	}
	template.SerialNumber = serial
	if parent == nil {
		parent = template
	}
	der, err := x509.CreateCertificate(rand.Reader, template, parent, pub, signer)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return der, cert, nil
}

func encode(blockType string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}))
}

// Check tells why b cannot serve the webhook for names from now until
// RenewBefore later, or nil when it can be reused as it is.
func Check(b Bundle, names []string, now time.Time) error {
	if _, err := tls.X509KeyPair([]byte(b.Crt), []byte(b.Key)); err != nil {
		return fmt.Errorf("certificate and key do not form a pair: %w", err)
	}
	leaf, err := parseCertificate(b.Crt)
	if err != nil {
		return fmt.Errorf("reading serving certificate: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(b.CA)) {
		return errors.New("no CA certificate in PEM")
	}
	if !sameNames(leaf.DNSNames, names) {
		return fmt.Errorf("certificate names %v, the Service needs %v", leaf.DNSNames, names)
	}
	// Verifying at both ends of the margin covers the CA and the serving
	// certificate alike: either expiring within it fails the second check.
	for _, at := range []time.Time{now, now.Add(RenewBefore)} {
		opts := x509.VerifyOptions{
			Roots:       roots,
			CurrentTime: at,
			KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			DNSName:     names[0],
		}
		if _, err := leaf.Verify(opts); err != nil {
			return fmt.Errorf("certificate does not verify at %s: %w", at.UTC().Format(time.RFC3339), err)
		}
	}
	return nil
}

func parseCertificate(pemText string) (*x509.Certificate, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no CERTIFICATE block in PEM")
	}
	return x509.ParseCertificate(block.Bytes)
}

// sameNames compares as sets: a certificate with a missing name fails TLS for
// some client, one with an extra name is for some other Service.
func sameNames(got, want []string) bool {
	a, b := slices.Clone(got), slices.Clone(want)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
