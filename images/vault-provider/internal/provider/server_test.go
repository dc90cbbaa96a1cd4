// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package provider

import (
	"context"
	"errors"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deckhouse/secrets-store-integration/images/internal/render"
	"github.com/deckhouse/secrets-store-integration/images/internal/secretmodel"
	"github.com/deckhouse/secrets-store-integration/images/internal/store"
)

func TestSharedKeySeparatesIdentities(t *testing.T) {
	base := store.Identity{Address: "https://v", Namespace: "ns1", AuthMount: "kubernetes", Role: "app", PodNamespace: "demo", ServiceAccount: "app"}
	k := sharedKey(base, store.TLS{}, "secret/data/app", 0)
	variants := map[string]func(*store.Identity){
		"address":         func(i *store.Identity) { i.Address = "https://w" },
		"vault namespace": func(i *store.Identity) { i.Namespace = "ns2" },
		"auth mount":      func(i *store.Identity) { i.AuthMount = "k8s" },
		"role":            func(i *store.Identity) { i.Role = "other" },
		"pod namespace":   func(i *store.Identity) { i.PodNamespace = "prod" },
		"service account": func(i *store.Identity) { i.ServiceAccount = "default" },
	}
	for name, change := range variants {
		t.Run(name, func(t *testing.T) {
			id := base
			change(&id)
			if sharedKey(id, store.TLS{}, "secret/data/app", 0) == k {
				t.Errorf("identity with another %s shares the key", name)
			}
		})
	}
	if sharedKey(base, store.TLS{}, "secret/data/app", 1) == k || sharedKey(base, store.TLS{}, "secret/data/other", 0) == k {
		t.Error("another version or path shares the key")
	}
	for name, tls := range map[string]store.TLS{
		"CA":          {CACertPEM: "-----BEGIN CERTIFICATE-----"},
		"CA file":     {CACertPath: "/ca.pem"},
		"server name": {ServerName: "vault"},
		"client cert": {ClientCert: "/c", ClientKey: "/k"},
		"skip verify": {SkipVerify: true},
	} {
		if sharedKey(base, tls, "secret/data/app", 0) == k {
			t.Errorf("a session with another %s shares the key", name)
		}
	}
}

func TestSharedReads(t *testing.T) {
	now := time.Unix(1000, 0)
	var hits atomic.Int32
	s := newSharedReads(time.Minute, func() time.Time { return now }, func() { hits.Add(1) })
	var reads atomic.Int32
	static := func(context.Context) (*store.Secret, error) {
		reads.Add(1)
		return &store.Secret{Data: map[string]any{"k": "v"}}, nil
	}
	ctx := context.Background()
	for range 3 {
		if _, err := s.read(ctx, "a", static); err != nil {
			t.Fatal(err)
		}
	}
	if reads.Load() != 1 || hits.Load() != 2 {
		t.Fatalf("within TTL: reads %d hits %d, want 1 and 2", reads.Load(), hits.Load())
	}
	now = now.Add(time.Minute)
	if _, err := s.read(ctx, "a", static); err != nil || reads.Load() != 2 {
		t.Fatalf("after TTL: reads %d, err %v; want a new read", reads.Load(), err)
	}

	leased := func(context.Context) (*store.Secret, error) {
		reads.Add(1)
		return &store.Secret{LeaseID: "database/creds/x/123", LeaseDuration: time.Hour}, nil
	}
	reads.Store(0)
	s.read(ctx, "dyn", leased)
	s.read(ctx, "dyn", leased)
	if reads.Load() != 2 {
		t.Errorf("leased secret was shared: %d reads", reads.Load())
	}

	failing := func(context.Context) (*store.Secret, error) {
		reads.Add(1)
		return nil, errors.New("boom")
	}
	reads.Store(0)
	s.read(ctx, "err", failing)
	s.read(ctx, "err", failing)
	if reads.Load() != 2 {
		t.Errorf("an error was cached: %d reads", reads.Load())
	}

	off := newSharedReads(0, time.Now, func() {})
	reads.Store(0)
	off.read(ctx, "a", static)
	off.read(ctx, "a", static)
	if reads.Load() != 2 {
		t.Errorf("TTL 0 shared reads: %d reads", reads.Load())
	}
}

func TestSharedReadsJoinsConcurrentReads(t *testing.T) {
	s := newSharedReads(time.Minute, time.Now, func() {})
	release := make(chan struct{})
	var reads atomic.Int32
	slow := func(context.Context) (*store.Secret, error) {
		reads.Add(1)
		<-release
		return &store.Secret{Data: map[string]any{}}, nil
	}
	var wg sync.WaitGroup
	started := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		close(started)
		s.read(context.Background(), "k", slow)
	}()
	<-started
	// Wait until the first read is in flight, then join it.
	for {
		s.mu.Lock()
		n := len(s.inflight)
		s.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	wg.Add(1)
	go func() { defer wg.Done(); s.read(context.Background(), "k", slow) }()
	for {
		s.mu.Lock()
		n := s.inflight["k"].waiters
		s.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if reads.Load() != 1 {
		t.Errorf("concurrent reads: %d, want 1", reads.Load())
	}
}

func TestKeepGroupNeedsEveryMemberFresh(t *testing.T) {
	v := versioner{key: []byte("0123456789abcdef")}
	now := time.Unix(10_000, 0)
	fresh := v.version("x", nil, now, now.Add(time.Hour))
	stale := v.version("x", nil, now.Add(-time.Hour), now.Add(time.Minute))
	group := []secretmodel.Object{{ObjectName: "tls.crt"}, {ObjectName: "tls.key"}}
	cases := []struct {
		name    string
		current map[string]string
		keep    bool
	}{
		{"both fresh", map[string]string{"tls.crt": fresh, "tls.key": fresh}, true},
		{"one stale", map[string]string{"tls.crt": fresh, "tls.key": stale}, false},
		{"one missing", map[string]string{"tls.crt": fresh}, false},
		{"plain versions", map[string]string{"tls.crt": "abc", "tls.key": "def"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := keepGroup(group, c.current, now); got != c.keep {
				t.Errorf("keepGroup = %t, want %t", got, c.keep)
			}
		})
	}
}

func TestRequestMode(t *testing.T) {
	cases := []struct {
		in      string
		want    os.FileMode
		wantErr bool
	}{
		{"", 0o644, false},
		{"420", 0o644, false},
		{"384", 0o600, false},
		{`"0644"`, 0, true},
		{"4096", 0, true},
	}
	for _, c := range cases {
		got, err := requestMode(c.in)
		if (err != nil) != c.wantErr || (!c.wantErr && got != c.want) {
			t.Errorf("requestMode(%q) = %#o, %v", c.in, got, err)
		}
	}
}

func TestReasonAndCode(t *testing.T) {
	cases := []struct {
		err    error
		reason string
	}{
		{renderErr(), "render"},
		{&store.Error{Status: http.StatusForbidden}, "denied"},
		{&store.Error{Status: http.StatusNotFound}, "not_found"},
		{&store.Error{Status: http.StatusServiceUnavailable}, "store_unavailable"},
		{&store.Error{Status: http.StatusBadRequest}, "store_error"},
		{errors.New("dial tcp: connection refused"), "store_unavailable"},
		// Vault answers an unknown login role with 400: still a refusal.
		{&store.LoginError{Role: "r", Err: &store.Error{Status: http.StatusBadRequest}}, "denied"},
		{&store.LoginError{Role: "r", Err: &store.Error{Status: http.StatusBadGateway}}, "store_unavailable"},
	}
	for _, c := range cases {
		if got := reasonOf(c.err); got != c.reason {
			t.Errorf("reasonOf(%v) = %q, want %q", c.err, got, c.reason)
		}
	}
}

// renderErr is a render.Error, as a missing key gives.
func renderErr() error {
	_, err := render.Content(context.Background(), secretmodel.Object{SecretKey: "x"}, "secret/data/app", map[string]any{}, render.NewBudget(1, 1))
	return err
}
