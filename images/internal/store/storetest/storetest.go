// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package storetest is a small Vault-like store for unit tests of code that
// reads through package store: it logs in every role but "refused",
// answers a KV v2 secret (two versions), a dynamic secret with a lease and a
// PKI issue, takes revocations of its token, and counts the requests it
// got. Integration tests use a real Vault; this is for one function's
// behaviour, such as which reads a request makes.
package storetest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Answers of the fake store.
const (
	// KVPath holds {"password": Password} (version 2, the latest) and
	// {"password": OldPassword} (version 1).
	KVPath      = "secret/data/app"
	Password    = "s3cr3t"
	OldPassword = "old-s3cr3t"
	// DynamicPath answers {"user": "u<n>"}, a new user with a lease on
	// every read.
	DynamicPath = "dynamic/creds"
	// PKIPath answers {"certificate": "CERT", "private_key": "KEY"} to PUT.
	PKIPath = "pki/issue/web"
	// RefusedRole may not log in.
	RefusedRole = "refused"
)

// Store is the fake store.
type Store struct {
	// URL is the store's address.
	URL string

	mu    sync.Mutex
	calls map[string]int
	seq   int
}

// New starts a fake store, closed when the test ends.
func New(t testing.TB) *Store {
	s := &Store{calls: map[string]int{}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Count is how many requests of method and path ("GET /v1/secret/data/app")
// the store got.
func (s *Store) Count(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[key]
}

// Logins is how many logins with Kubernetes auth the store got.
func (s *Store) Logins() int {
	return s.Count("PUT /v1/auth/kubernetes/login") + s.Count("POST /v1/auth/kubernetes/login")
}

// ServeHTTP answers as the package comment says.
func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls[r.Method+" "+r.URL.Path]++
	s.seq++
	seq := s.seq
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/v1/auth/kubernetes/login":
		var body struct{ Role string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body.Role == RefusedRole {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"errors":["permission denied"]}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"auth": map[string]any{"client_token": "hvs.x", "lease_duration": 600}})
	case "/v1/sys/internal/ui/mounts/" + KVPath:
		json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"path": "secret/", "type": "kv", "options": map[string]any{"version": "2"}}})
	case "/v1/" + KVPath:
		password, version := Password, 2
		if r.URL.Query().Get("version") == "1" {
			password, version = OldPassword, 1
		}
		json.NewEncoder(w).Encode(map[string]any{"request_id": "req-1", "lease_id": "", "lease_duration": 0, "renewable": false,
			"data": map[string]any{"data": map[string]any{"password": password}, "metadata": map[string]any{"version": version}}})
	case "/v1/" + DynamicPath:
		json.NewEncoder(w).Encode(map[string]any{"lease_id": DynamicPath + "/1", "lease_duration": 3600,
			"data": map[string]any{"user": fmt.Sprintf("u%d", seq)}})
	case "/v1/auth/token/revoke-self":
		w.WriteHeader(http.StatusNoContent)
	case "/v1/" + PKIPath:
		json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"certificate": "CERT", "private_key": "KEY"}})
	default:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"errors":[]}`)
	}
}

// JWT is an unsigned service-account token of namespace/serviceAccount, as
// far as the store package reads one (it names the identity).
func JWT(namespace, serviceAccount string) string {
	claims := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"system:serviceaccount:` + namespace + `:` + serviceAccount + `"}`))
	return "e30." + claims + ".c2ln"
}
