// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// defaultTokenReuse is how long a token without a lease (a periodic or root
// token) is reused before logging in again.
const defaultTokenReuse = 5 * time.Minute

// TokenCache keeps store tokens per Identity until near their expiry, at
// most max of them. Every token it drops while the store may still honour
// it (replaced, near expiry, evicted, at Close) goes to revoke, unless a
// lease was read with it: the store revokes a token's leases with the
// token, and those leases are in use (files, Secrets, environments).
type TokenCache struct {
	now    func() time.Time
	max    int
	revoke func(dropped)
	mu     sync.Mutex
	m      map[Identity]*cachedToken
	logins singleflight.Group // by Identity.key
}

type cachedToken struct {
	token string
	// useUntil is when the token is considered too close to expiry: two
	// thirds of its lease, so a read never races the expiry.
	useUntil time.Time
	lastUsed time.Time
	// leased: a lease was read with the token; revoking it would revoke
	// the lease.
	leased bool
	// via revokes the token at the store it came from.
	via func(ctx context.Context, token string) error
}

// dropped is a token the cache let go of, with how to revoke it.
type dropped struct {
	id     Identity
	token  string
	via    func(ctx context.Context, token string) error
	reason string
}

// NewTokenCache returns an empty cache of at most max tokens (0: 4096);
// now nil means time.Now; revoke, if not nil, gets every dropped token that
// may still be alive and holds no lease, outside the cache's lock.
func NewTokenCache(now func() time.Time, max int, revoke func(dropped)) *TokenCache {
	if now == nil {
		now = time.Now
	}
	if max <= 0 {
		max = 4096
	}
	if revoke == nil {
		revoke = func(dropped) {}
	}
	return &TokenCache{now: now, max: max, revoke: revoke, m: map[Identity]*cachedToken{}}
}

// Get returns the token of id if it is not near expiry.
func (c *TokenCache) Get(id Identity) (string, bool) {
	var gone []dropped
	defer func() { c.release(gone) }()
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.m[id]
	if !ok {
		return "", false
	}
	now := c.now()
	if !now.Before(t.useUntil) {
		delete(c.m, id)
		gone = append(gone, t.drop(id, "near expiry"))
		return "", false
	}
	t.lastUsed = now
	return t.token, true
}

// Put stores a token with its lease (0: no lease), capped at maxReuse (0:
// no cap); via revokes it when the cache drops it.
func (c *TokenCache) Put(id Identity, token string, lease, maxReuse time.Duration, via func(context.Context, string) error) {
	reuse := defaultTokenReuse
	if lease > 0 {
		reuse = lease * 2 / 3
	}
	if maxReuse > 0 {
		reuse = min(reuse, maxReuse)
	}
	var gone []dropped
	defer func() { c.release(gone) }()
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	// Drop what is too old to use, so identities gone from the node do not
	// pile up.
	for k, t := range c.m {
		if !now.Before(t.useUntil) {
			delete(c.m, k)
			gone = append(gone, t.drop(k, "near expiry"))
		}
	}
	if old, ok := c.m[id]; ok {
		if old.token == token {
			// A renewal: the same token, a new lease.
			old.useUntil, old.lastUsed = now.Add(reuse), now
			return
		}
		gone = append(gone, old.drop(id, "replaced"))
	}
	for len(c.m) >= c.max {
		// The least recently used identity goes: a tenant who makes up
		// identities must not grow the cache without bound.
		var lru Identity
		var oldest *cachedToken
		for k, t := range c.m {
			if oldest == nil || t.lastUsed.Before(oldest.lastUsed) {
				lru, oldest = k, t
			}
		}
		delete(c.m, lru)
		gone = append(gone, oldest.drop(lru, "evicted"))
	}
	c.m[id] = &cachedToken{token: token, useUntil: now.Add(reuse), lastUsed: now, via: via}
}

// MarkLeased records that a lease was read with token: the cache will not
// revoke it when it drops it.
func (c *TokenCache) MarkLeased(id Identity, token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.m[id]; ok && t.token == token {
		t.leased = true
	}
}

// Forget drops the token of id only if it is still token (another request
// may have replaced it already). It does not revoke it: the caller does, or
// knows the store no longer honours it.
func (c *TokenCache) Forget(id Identity, token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.m[id]; ok && t.token == token {
		delete(c.m, id)
	}
}

// Close drops every token, revoking those without leases.
func (c *TokenCache) Close() {
	var gone []dropped
	c.mu.Lock()
	for k, t := range c.m {
		gone = append(gone, t.drop(k, "shutdown"))
	}
	c.m = map[Identity]*cachedToken{}
	c.mu.Unlock()
	c.release(gone)
}

func (t *cachedToken) drop(id Identity, reason string) dropped {
	if t.leased || t.via == nil {
		return dropped{}
	}
	return dropped{id: id, token: t.token, via: t.via, reason: reason}
}

func (c *TokenCache) release(gone []dropped) {
	for _, d := range gone {
		if d.token != "" {
			c.revoke(d)
		}
	}
}

// LogIn makes sure the session has a store token, from the cache or by
// logging in, so that a refused identity is reported as such and not as a
// failure of some object.
func (s *Session) LogIn(ctx context.Context) error {
	_, _, err := s.token(ctx)
	return err
}

// Token returns the session's store token, logging in if need be, for
// the injector to hand to the application (secrets-store:login).
func (s *Session) Token(ctx context.Context) (string, error) {
	t, _, err := s.token(ctx)
	return t, err
}

// token returns a store token of the session, from the cache or by logging
// in; cached says which.
func (s *Session) token(ctx context.Context) (tok string, cached bool, err error) {
	if t, ok := s.store.tokens.Get(s.id); ok {
		s.store.opts.Observer.TokenCache(true)
		return t, true, nil
	}
	s.store.opts.Observer.TokenCache(false)
	// Pods of one identity starting together (a rollout, a node coming
	// up) share one login: each login creates a store token, and the
	// identity, hence the policies, are the same.
	v, err, _ := s.store.tokens.logins.Do(s.id.key(), func() (any, error) {
		if t, ok := s.store.tokens.Get(s.id); ok {
			return t, nil // a login that ended between Get and Do
		}
		if err := s.store.logins.allow(s.id); err != nil {
			s.store.opts.Observer.Login("rate_limited")
			return "", err
		}
		t, lease, err := s.logIn(ctx)
		s.store.logins.failed(s.id, err)
		if err != nil {
			if IsLoginRefused(err) {
				s.store.opts.Observer.Login("refused")
			} else {
				s.store.opts.Observer.Login("error")
			}
			return "", err
		}
		s.store.opts.Observer.Login("ok")
		s.store.tokens.Put(s.id, t, lease, s.store.opts.TokenMaxReuse, s.revokeToken)
		return t, nil
	})
	if err != nil {
		return "", false, err
	}
	return v.(string), false, nil
}

// revokeToken revokes token at the session's store.
func (s *Session) revokeToken(ctx context.Context, token string) error {
	_, err := s.do(ctx, token, "revoke", "auth/token/revoke-self", nil)
	return err
}

// tokenAlive asks the store whether token is still good: a 403 to a read
// is then the policy's answer, not a revoked or expired token. Only an
// answer that the token is bad (403, 401) counts as bad: a store that does
// not answer keeps the token, since logging in again would not help.
func (s *Session) tokenAlive(ctx context.Context, token string) bool {
	rctx, cancel := context.WithTimeout(ctx, s.store.opts.RequestTimeout)
	defer cancel()
	began := time.Now()
	_, err := s.call(rctx, http.MethodGet, "auth/token/lookup-self", token, nil, nil)
	if err != nil {
		err = storeError("read", "auth/token/lookup-self", err)
	}
	s.store.opts.Observer.StoreRequest("lookup", result(err), time.Since(began))
	return !IsDenied(err)
}

// logIn sends the pod's token to auth/<mount>/login; Kubernetes and JWT auth
// take the same body.
func (s *Session) logIn(ctx context.Context) (string, time.Duration, error) {
	path := "auth/" + s.id.AuthMount + "/login"
	ctx, cancel := context.WithTimeout(ctx, s.store.opts.RequestTimeout)
	defer cancel()
	began := time.Now()
	secret, err := s.call(ctx, http.MethodPut, path, "", nil, map[string]any{"role": s.login.Role, "jwt": s.login.JWT})
	s.store.opts.Observer.StoreRequest("login", result(err), time.Since(began))
	if err != nil {
		return "", 0, &LoginError{Role: s.login.Role, Err: storeError("write", path, err)}
	}
	if secret == nil || secret.Auth == nil || secret.Auth.ClientToken == "" {
		return "", 0, fmt.Errorf("log in as role %q at %s: the store returned no token", s.login.Role, path)
	}
	return secret.Auth.ClientToken, time.Duration(secret.Auth.LeaseDuration) * time.Second, nil
}

// checkSubject refuses a service-account token whose subject is not the
// pod's namespace and service account: the token cache is keyed by those
// names, so a mismatch would hand out another identity's store token. The
// signature is not checked here; the store checks it at login.
func checkSubject(jwt, namespace, serviceAccount string) error {
	ns, name, err := ServiceAccountOf(jwt)
	if err != nil {
		return err
	}
	if ns != namespace || name != serviceAccount {
		// Names only, never the token.
		return fmt.Errorf("service-account token is for %q, not for pod service account %s/%s",
			ns+":"+name, namespace, serviceAccount)
	}
	return nil
}

// ServiceAccountOf returns the namespace and name of a service-account
// token's subject, unverified: for keying and messages, not for trust.
func ServiceAccountOf(jwt string) (namespace, name string, err error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return "", "", fmt.Errorf("service-account token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", "", fmt.Errorf("service-account token: undecodable claims")
	}
	var claims struct {
		Sub string `json:"sub"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", "", fmt.Errorf("service-account token: undecodable claims")
	}
	rest, ok := strings.CutPrefix(claims.Sub, "system:serviceaccount:")
	namespace, name, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 || namespace == "" || name == "" {
		return "", "", fmt.Errorf("service-account token: subject is not a service account")
	}
	return namespace, name, nil
}

// LoginError is the store refusing or failing a login.
type LoginError struct {
	Role string
	Err  error
}

func (e *LoginError) Error() string { return fmt.Sprintf("log in as role %q: %v", e.Role, e.Err) }
func (e *LoginError) Unwrap() error { return e.Err }

// IsLoginRefused reports whether err is the store refusing a login (a 4xx
// answer: unknown role, service account or audience not bound to it), which
// a retry with the same token will not fix.
func IsLoginRefused(err error) bool {
	var le *LoginError
	code := StatusCode(err)
	return errors.As(err, &le) && code >= 400 && code < 500
}
