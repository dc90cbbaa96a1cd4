// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package satoken requests short-lived tokens of application ServiceAccounts
// through the TokenRequest API, for the store's audience, and reuses each
// until near its expiry. The controller logs in to the store with these
// tokens only: the store's policies for that application apply, never an
// identity of the controller's own.
package satoken

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// MinTTL is the shortest lifetime the TokenRequest API grants.
const MinTTL = 10 * time.Minute

// Cache requests and keeps tokens by namespace, ServiceAccount and audience.
type Cache struct {
	client kubernetes.Interface
	ttl    time.Duration
	now    func() time.Time
	// observe is told the result of each TokenRequest; may be nil.
	observe func(error)
	// audiences are the only audiences tokens are requested for: a token
	// the store cannot be meant to receive is never made.
	audiences []string

	mu       sync.Mutex
	tokens   map[key]token
	requests singleflight.Group
}

type key struct{ namespace, serviceAccount, audience string }

type token struct {
	jwt      string
	useUntil time.Time
}

// New returns a Cache whose tokens live ttl (at least MinTTL), for the
// audiences given only. observe, if not nil, is called after each
// TokenRequest.
func New(client kubernetes.Interface, ttl time.Duration, audiences []string, observe func(error)) *Cache {
	return &Cache{client: client, ttl: max(ttl, MinTTL), now: time.Now, observe: observe, audiences: audiences, tokens: map[key]token{}}
}

// ErrAudience is the error of a token asked for an audience not allowed.
var ErrAudience = errors.New("audience not allowed")

// Token returns a token of ServiceAccount namespace/name for audience.
// Errors wrap the API's, so apierrors.IsNotFound tells a missing
// ServiceAccount.
func (c *Cache) Token(ctx context.Context, namespace, name, audience string) (string, error) {
	if !slices.Contains(c.audiences, audience) {
		return "", fmt.Errorf("request a token of ServiceAccount %s/%s for audience %q: %w (allowed: %s)",
			namespace, name, audience, ErrAudience, strings.Join(c.audiences, ", "))
	}
	k := key{namespace, name, audience}
	if jwt, ok := c.cached(k); ok {
		return jwt, nil
	}
	// Imports of one ServiceAccount reconciled together share a request.
	v, err, _ := c.requests.Do(fmt.Sprintf("%q", []string{namespace, name, audience}), func() (any, error) {
		if jwt, ok := c.cached(k); ok {
			return jwt, nil
		}
		return c.request(ctx, k)
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

func (c *Cache) cached(k key) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.tokens[k]
	if !ok || !c.now().Before(t.useUntil) {
		return "", false
	}
	return t.jwt, true
}

func (c *Cache) request(ctx context.Context, k key) (string, error) {
	seconds := int64(c.ttl / time.Second)
	issued := c.now()
	resp, err := c.client.CoreV1().ServiceAccounts(k.namespace).CreateToken(ctx, k.serviceAccount, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: []string{k.audience}, ExpirationSeconds: &seconds},
	}, metav1.CreateOptions{})
	if c.observe != nil {
		c.observe(err)
	}
	if err != nil {
		return "", fmt.Errorf("request a token of ServiceAccount %s/%s for audience %q: %w", k.namespace, k.serviceAccount, k.audience, err)
	}
	expiry := resp.Status.ExpirationTimestamp.Time
	if expiry.IsZero() || expiry.Before(issued) {
		expiry = issued.Add(c.ttl)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for old, t := range c.tokens {
		if !now.Before(t.useUntil) {
			delete(c.tokens, old)
		}
	}
	// Four fifths of the lifetime: a login never sends a token about to
	// expire, and the store's own token outlives the reuse anyway.
	c.tokens[k] = token{jwt: resp.Status.Token, useUntil: issued.Add(expiry.Sub(issued) * 4 / 5)}
	return resp.Status.Token, nil
}
