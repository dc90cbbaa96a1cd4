// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// The env injector keeps its store token (and with it the leases it read,
// which the store revokes together with the token) alive for as long as the
// application runs; it revokes the token when it is done.

// RenewToken renews the session's token for increment (0: its usual TTL)
// and returns the TTL
// the store granted, which is shorter than asked near the token's max TTL.
func (s *Session) RenewToken(ctx context.Context, increment time.Duration) (time.Duration, error) {
	tok, _, err := s.token(ctx)
	if err != nil {
		return 0, err
	}
	body := map[string]any{}
	if increment > 0 {
		body["increment"] = int(increment.Seconds())
	}
	sec, err := s.do(ctx, tok, "renew", "auth/token/renew-self", body)
	if err != nil {
		return 0, err
	}
	if sec.Auth == nil {
		return 0, fmt.Errorf("renew auth/token/renew-self: the store returned no token lease")
	}
	ttl := time.Duration(sec.Auth.LeaseDuration) * time.Second
	// A renewal keeps the token for as long as the store does: the
	// caller renews it because leases read with it must live on.
	s.store.tokens.Put(s.id, tok, ttl, 0, s.revokeToken)
	return ttl, nil
}

// RenewLease renews a lease of a secret the session read and returns the TTL
// the store granted.
func (s *Session) RenewLease(ctx context.Context, leaseID string, increment time.Duration) (time.Duration, error) {
	tok, _, err := s.token(ctx)
	if err != nil {
		return 0, err
	}
	sec, err := s.do(ctx, tok, "renew", "sys/leases/renew", map[string]any{"lease_id": leaseID, "increment": int(increment.Seconds())})
	if err != nil {
		return 0, err
	}
	return time.Duration(sec.LeaseDuration) * time.Second, nil
}

// RevokeToken revokes the session's token, and with it every lease read
// with it, and drops it from the cache. A session without a token has
// nothing to revoke.
func (s *Session) RevokeToken(ctx context.Context) error {
	tok, ok := s.store.tokens.Get(s.id)
	if !ok {
		return nil
	}
	s.store.tokens.Forget(s.id, tok)
	return s.revokeToken(ctx, tok)
}

// do sends one PUT with the session's token.
func (s *Session) do(ctx context.Context, token, op, path string, body map[string]any) (*Answer, error) {
	rctx, cancel := context.WithTimeout(ctx, s.store.opts.RequestTimeout)
	defer cancel()
	began := time.Now()
	sec, err := s.call(rctx, http.MethodPut, path, token, nil, body)
	s.store.opts.Observer.StoreRequest(op, result(err), time.Since(began))
	if err != nil {
		return nil, storeError(op, path, err)
	}
	return sec, nil
}
