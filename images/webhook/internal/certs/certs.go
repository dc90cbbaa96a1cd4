// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package certs serves a TLS certificate and key from files and picks up
// new ones when the files change: the module's hook renews the webhook's
// certificate before it expires and kubelet swaps the Secret's files in
// place, so the webhook must not need a restart.
package certs

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Reloader hands out the certificate in its files, reading them again
// whenever either changed since the last read. A new pair that does not
// load (a half-written update) leaves the old one in use.
//
// Own code over controller-runtime's certwatcher: certwatcher.New fails
// when the files are not there yet, where this one starts not ready and
// serves once they appear (the Secret is mounted late or renewed by the
// hook); it learns of a change from fsnotify or a 10 s poll, where a stat
// at each handshake here serves the new pair at once; and it needs a
// goroutine of its own and logs through logr rather than slog.
type Reloader struct {
	certFile, keyFile string
	log               *slog.Logger
	// loaded is told of each certificate taken into use.
	loaded func(leaf *x509.Certificate)

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   [2]stamp
	lastErr error
}

// stamp is what tells a file changed: kubelet's atomic swap makes a new
// file (another inode), an in-place write a new time or size.
type stamp struct {
	info os.FileInfo
}

func (s stamp) same(info os.FileInfo) bool {
	return s.info != nil && os.SameFile(s.info, info) &&
		s.info.ModTime().Equal(info.ModTime()) && s.info.Size() == info.Size()
}

// New makes a Reloader and reads the files once; an error then is returned
// by Ready and GetCertificate until the files load.
func New(certFile, keyFile string, log *slog.Logger, loaded func(leaf *x509.Certificate)) *Reloader {
	r := &Reloader{certFile: certFile, keyFile: keyFile, log: log, loaded: loaded}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reload()
	return r
}

// GetCertificate is tls.Config.GetCertificate.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reload()
	if r.cert == nil {
		return nil, fmt.Errorf("no serving certificate: %w", r.lastErr)
	}
	return r.cert, nil
}

// Ready reports whether a certificate is in use.
func (r *Reloader) Ready() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reload()
	if r.cert == nil {
		return fmt.Errorf("no serving certificate: %w", r.lastErr)
	}
	return nil
}

// reload reads the pair if either file changed; r.mu is held.
func (r *Reloader) reload() {
	var infos [2]os.FileInfo
	for i, f := range []string{r.certFile, r.keyFile} {
		info, err := os.Stat(f)
		if err != nil {
			r.fail(fmt.Errorf("stat serving certificate file: %w", err))
			return
		}
		infos[i] = info
	}
	if r.cert != nil && r.stamp[0].same(infos[0]) && r.stamp[1].same(infos[1]) {
		return
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		r.fail(fmt.Errorf("load serving certificate %s and key %s: %w", r.certFile, r.keyFile, err))
		return
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			r.fail(fmt.Errorf("parse serving certificate %s: %w", r.certFile, err))
			return
		}
	}
	r.cert, r.stamp, r.lastErr = &cert, [2]stamp{{infos[0]}, {infos[1]}}, nil
	r.log.Info("serving certificate loaded", "file", r.certFile, "subject", cert.Leaf.Subject.String(),
		"serial", cert.Leaf.SerialNumber.String(), "not_after", cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	if r.loaded != nil {
		r.loaded(cert.Leaf)
	}
}

// fail records err; it is logged once per distinct error, since every
// handshake retries.
func (r *Reloader) fail(err error) {
	if r.lastErr == nil || r.lastErr.Error() != err.Error() {
		msg := "serving certificate not loaded"
		if r.cert != nil {
			msg = "serving certificate not reloaded; the previous one stays in use"
		}
		r.log.Error(msg, "error", err.Error())
	}
	r.lastErr = err
}
