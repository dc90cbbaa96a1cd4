// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

type pair struct{ cert, key []byte }

// selfSigned is a throwaway certificate for 127.0.0.1 named cn.
func selfSigned(t *testing.T, cn string) pair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pair{
		cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		key:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
}

// swap replaces file with data the way kubelet updates a Secret volume:
// a new file renamed over the old one.
func swap(t *testing.T, file string, data []byte) {
	t.Helper()
	tmp := file + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
}

// served dials a TLS server using r and returns the CN it presents.
func served(t *testing.T, r *Reloader) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: r.GetCertificate, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_ = c.(*tls.Conn).Handshake()
			_, _ = io.Copy(io.Discard, c)
			c.Close()
		}
	}()
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // the test reads what is served
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
}

func TestReloaderFollowsTheFiles(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	var loaded []string
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r := New(certFile, keyFile, log, func(leaf *x509.Certificate) { loaded = append(loaded, leaf.Subject.CommonName) })

	// No files yet (the Secret is not mounted): not ready, no handshake.
	if err := r.Ready(); err == nil {
		t.Fatal("ready without a certificate")
	}
	if _, err := r.GetCertificate(nil); err == nil {
		t.Fatal("a certificate without files")
	}

	first, second := selfSigned(t, "first"), selfSigned(t, "second")
	swap(t, certFile, first.cert)
	swap(t, keyFile, first.key)
	if err := r.Ready(); err != nil {
		t.Fatalf("not ready once the files exist: %v", err)
	}
	if cn := served(t, r); cn != "first" {
		t.Fatalf("serves %q, want first", cn)
	}

	// A half-done update (new certificate, old key) keeps the old pair.
	swap(t, certFile, second.cert)
	if cn := served(t, r); cn != "first" {
		t.Fatalf("with a mismatched pair serves %q, want first still", cn)
	}
	if err := r.Ready(); err != nil {
		t.Fatalf("not ready during an update: %v", err)
	}
	swap(t, keyFile, second.key)
	if cn := served(t, r); cn != "second" {
		t.Fatalf("after the update serves %q, want second", cn)
	}

	// Written in place rather than swapped: picked up too.
	if err := os.WriteFile(certFile, first.cert, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, first.key, 0o600); err != nil {
		t.Fatal(err)
	}
	if cn := served(t, r); cn != "first" {
		t.Fatalf("after an in-place write serves %q, want first", cn)
	}
	if want := []string{"first", "second", "first"}; len(loaded) != len(want) || loaded[0] != want[0] || loaded[1] != want[1] || loaded[2] != want[2] {
		t.Fatalf("loaded %q, want %q: each pair once", loaded, want)
	}
}
