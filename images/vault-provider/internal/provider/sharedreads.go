// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package provider

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/deckhouse/secrets-store-integration/images/internal/store"
)

// sharedReads lets pods of one identity share a GET of the same object made
// within a TTL, and joins concurrent identical reads. The identity is part of
// the key, so a pod only ever gets what its own policies allow. Leased
// (dynamic) secrets are never shared.
type sharedReads struct {
	ttl time.Duration
	now func() time.Time
	hit func()

	mu       sync.Mutex
	done     map[string]sharedEntry
	inflight map[string]*sharedCall
}

type sharedEntry struct {
	secret *store.Secret
	until  time.Time
}

type sharedCall struct {
	done    chan struct{}
	waiters int // under sharedReads.mu; tests watch it
	secret  *store.Secret
	err     error
}

func newSharedReads(ttl time.Duration, now func() time.Time, hit func()) *sharedReads {
	return &sharedReads{ttl: ttl, now: now, hit: hit,
		done: map[string]sharedEntry{}, inflight: map[string]*sharedCall{}}
}

func sharedKey(id store.Identity, tls store.TLS, path string, version int) string {
	return id.String() + "|" + tls.Key() + "|" + path + "|" + strconv.Itoa(version)
}

// read returns the secret under key, calling read at most once for
// concurrent callers and for callers within the TTL.
func (s *sharedReads) read(ctx context.Context, key string, read func(context.Context) (*store.Secret, error)) (*store.Secret, error) {
	if s.ttl <= 0 {
		return read(ctx)
	}
	s.mu.Lock()
	s.expire()
	if e, ok := s.done[key]; ok {
		s.mu.Unlock()
		s.hit()
		return e.secret, nil
	}
	if c, ok := s.inflight[key]; ok {
		c.waiters++
		s.mu.Unlock()
		select {
		case <-c.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if c.err == nil && c.secret.LeaseID != "" {
			// A dynamic secret: this caller needs its own.
			return read(ctx)
		}
		s.hit()
		return c.secret, c.err
	}
	c := &sharedCall{done: make(chan struct{})}
	s.inflight[key] = c
	s.mu.Unlock()

	c.secret, c.err = read(ctx)
	s.mu.Lock()
	delete(s.inflight, key)
	if c.err == nil && c.secret.LeaseID == "" {
		s.done[key] = sharedEntry{secret: c.secret, until: s.now().Add(s.ttl)}
	}
	s.mu.Unlock()
	close(c.done)
	return c.secret, c.err
}

// expire drops old entries; the caller holds mu. The map holds at most the
// objects read within one TTL, so a scan is cheap.
func (s *sharedReads) expire() {
	now := s.now()
	for k, e := range s.done {
		if !now.Before(e.until) {
			delete(s.done, k)
		}
	}
}
