// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"container/list"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// What the store shares between tenants is bounded: logins per identity,
// the size of an answer, and the number of clients, tokens and mount
// entries kept, since a tenant chooses addresses, roles and paths.

// LoginRateLimitError is a login refused here, before the store is asked,
// because the identity logged in too often: each login creates a store
// token that lives for the role's TTL.
type LoginRateLimitError struct {
	Identity Identity
	// RetryAfter is when the next login of the identity is allowed.
	RetryAfter time.Duration
	// Last is why the last login failed, if it did: the reason to fix.
	Last error
}

func (e *LoginRateLimitError) Error() string {
	id := e.Identity
	msg := fmt.Sprintf("login rate limit for identity role %q at auth/%s of %s (service account %s/%s) was reached; next login allowed in %s",
		id.Role, id.AuthMount, id.Address, id.PodNamespace, id.ServiceAccount, e.RetryAfter.Round(time.Second))
	if e.Last != nil {
		msg += "; the last login failed: " + e.Last.Error()
	}
	return msg
}

// loginLimiter is a token bucket per identity: burst logins at once, then
// one per every. Buckets that are full again are forgotten, so the map
// holds only identities that logged in lately.
type loginLimiter struct {
	now   func() time.Time
	burst float64
	every time.Duration
	mu    sync.Mutex
	m     map[Identity]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
	last   error
}

func newLoginLimiter(now func() time.Time, burst int, every time.Duration) *loginLimiter {
	return &loginLimiter{now: now, burst: float64(burst), every: every, m: map[Identity]*bucket{}}
}

// allow takes one login from id's bucket, or says when one will be there.
func (l *loginLimiter) allow(id Identity) error {
	if l.burst <= 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for k, b := range l.m {
		if l.fill(b, now) >= l.burst {
			delete(l.m, k)
		}
	}
	b, ok := l.m[id]
	if !ok {
		b = &bucket{tokens: l.burst, at: now}
		l.m[id] = b
	}
	b.tokens, b.at = l.fill(b, now), now
	if b.tokens < 1 {
		wait := time.Duration((1 - b.tokens) * float64(l.every))
		return &LoginRateLimitError{Identity: id, RetryAfter: max(wait, time.Second), Last: b.last}
	}
	b.tokens--
	return nil
}

// failed records the outcome of a login allowed by allow: its error, or
// nil for a success.
func (l *loginLimiter) failed(id Identity, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.m[id]; ok {
		b.last = err
	}
}

func (l *loginLimiter) fill(b *bucket, now time.Time) float64 {
	return min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.every))
}

// AnswerTooLargeError is an answer of the store longer than the limit: the
// client reads a whole answer into memory before decoding it.
type AnswerTooLargeError struct {
	Path  string
	Limit int64
}

func (e *AnswerTooLargeError) Error() string {
	return fmt.Sprintf("store answer for %s exceeds %d bytes", e.Path, e.Limit)
}

// limitTransport cuts every answer body at limit bytes with an
// *AnswerTooLargeError.
type limitTransport struct {
	base  http.RoundTripper
	limit int64
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	path := strings.TrimPrefix(req.URL.Path, "/v1/")
	if resp.ContentLength > t.limit {
		resp.Body.Close()
		return nil, &AnswerTooLargeError{Path: path, Limit: t.limit}
	}
	resp.Body = &limitedBody{rc: resp.Body, left: t.limit, err: &AnswerTooLargeError{Path: path, Limit: t.limit}}
	return resp, nil
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// pooled transport when the client is evicted.
func (t *limitTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

type limitedBody struct {
	rc   io.ReadCloser
	left int64
	err  error
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, b.err
	}
	// One byte past the limit tells a body of exactly limit bytes from a
	// longer one.
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n - int(-b.left), b.err
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// lru is a map of at most max entries that drops the least recently used
// one, calling evicted on it.
type lru[V any] struct {
	max     int
	order   *list.List // front: most recent; values: *lruEntry[V]
	m       map[string]*list.Element
	evicted func(V)
}

type lruEntry[V any] struct {
	key string
	val V
}

func newLRU[V any](max int, evicted func(V)) *lru[V] {
	return &lru[V]{max: max, order: list.New(), m: map[string]*list.Element{}, evicted: evicted}
}

func (l *lru[V]) get(key string) (V, bool) {
	e, ok := l.m[key]
	if !ok {
		var zero V
		return zero, false
	}
	l.order.MoveToFront(e)
	return e.Value.(*lruEntry[V]).val, true
}

func (l *lru[V]) put(key string, val V) {
	if e, ok := l.m[key]; ok {
		e.Value.(*lruEntry[V]).val = val
		l.order.MoveToFront(e)
		return
	}
	l.m[key] = l.order.PushFront(&lruEntry[V]{key: key, val: val})
	for l.order.Len() > l.max {
		last := l.order.Back()
		l.order.Remove(last)
		ent := last.Value.(*lruEntry[V])
		delete(l.m, ent.key)
		if l.evicted != nil {
			l.evicted(ent.val)
		}
	}
}

func (l *lru[V]) len() int { return l.order.Len() }

// each calls f on every value, most recent first.
func (l *lru[V]) each(f func(V)) {
	for e := l.order.Front(); e != nil; e = e.Next() {
		f(e.Value.(*lruEntry[V]).val)
	}
}
