// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package badstore holds store addresses that misbehave, for tests that
// point an import or a setting at them: one the module must never contact
// (Trap) and one that accepts connections and never answers (Silent).
package badstore

import (
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
)

// Trap is an HTTPS server at an address the module's settings do not
// allow: it counts every connection and request, so a test can show that
// no token was sent there. Its certificate is trusted through CAPEM, so
// that only the module's refusal, not TLS, keeps a client away.
type Trap struct {
	URL string
	// CAPEM is the PEM of its certificate, for spec.caCert.
	CAPEM string

	srv                   *httptest.Server
	connections, requests atomic.Int64
}

// NewTrap starts a Trap on a loopback port; Close stops it.
func NewTrap() *Trap {
	t := &Trap{}
	t.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		t.requests.Add(1)
		http.Error(w, `{"errors":["trap"]}`, http.StatusForbidden)
	}))
	t.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			t.connections.Add(1)
		}
	}
	t.srv.StartTLS()
	t.URL = t.srv.URL
	t.CAPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: t.srv.Certificate().Raw}))
	return t
}

// Connections is how many connections were opened to the trap.
func (t *Trap) Connections() int64 { return t.connections.Load() }

// Requests is how many HTTP requests reached it.
func (t *Trap) Requests() int64 { return t.requests.Load() }

// Close stops the trap.
func (t *Trap) Close() { t.srv.Close() }
