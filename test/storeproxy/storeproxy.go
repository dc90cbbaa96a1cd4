// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package storeproxy stands a counting proxy between a client and the store
// (Vault): the number of round trips a component makes is exact, whatever
// the machine's load, so tests can assert it where they cannot assert a
// time.
package storeproxy

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

// Proxy forwards to the store and records every request it forwards and
// every connection it accepts.
type Proxy struct {
	srv *httptest.Server

	mu       sync.Mutex
	requests []string // "METHOD /v1/path?query"
	conns    int
	delay    time.Duration
}

// Start forwards to the store at addr, trusting caPEM for it. The proxy
// serves TLS with a certificate of its own (CAPEM), so a client pays the
// handshakes it would pay against the store.
func Start(addr string, caPEM []byte) (*Proxy, error) {
	target, err := url.Parse(addr)
	if err != nil {
		return nil, fmt.Errorf("store address %q: %w", addr, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("store CA: no certificate in the PEM")
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true}
	p := &Proxy{}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.requests = append(p.requests, r.Method+" "+r.URL.RequestURI())
		delay := p.delay
		p.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return // the client gave up: nothing to forward
			}
		}
		rp.ServeHTTP(w, r)
	}))
	p.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			p.mu.Lock()
			p.conns++
			p.mu.Unlock()
		}
	}
	p.srv.StartTLS()
	return p, nil
}

// URL is the address to give the client.
func (p *Proxy) URL() string { return p.srv.URL }

// CAPEM is the certificate the client must trust for the proxy.
func (p *Proxy) CAPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.srv.Certificate().Raw})
}

// Take returns the requests and connections since the last Take and starts
// counting anew.
func (p *Proxy) Take() (requests []string, conns int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	requests, conns = p.requests, p.conns
	p.requests, p.conns = nil, 0
	return requests, conns
}

// SetDelay holds every request that long before forwarding it, as a slow
// store would; a client that gives up first gets no answer.
func (p *Proxy) SetDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

// Close stops the proxy.
func (p *Proxy) Close() { p.srv.Close() }
