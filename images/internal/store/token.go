package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// defaultTokenReuse is how long a token without a lease (a periodic or root
// token) is reused before logging in again.
const defaultTokenReuse = 5 * time.Minute

// TokenCache keeps store tokens per Identity until near their expiry.
type TokenCache struct {
	now    func() time.Time
	mu     sync.Mutex
	m      map[Identity]cachedToken
	logins singleflight.Group // by Identity.key
}

type cachedToken struct {
	token string
	// useUntil is when the token is considered too close to expiry: two
	// thirds of its lease, so a read never races the expiry.
	useUntil time.Time
}

// NewTokenCache returns an empty cache; now nil means time.Now.
func NewTokenCache(now func() time.Time) *TokenCache {
	if now == nil {
		now = time.Now
	}
	return &TokenCache{now: now, m: map[Identity]cachedToken{}}
}

// Get returns the token of id if it is not near expiry.
func (c *TokenCache) Get(id Identity) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.m[id]
	if !ok {
		return "", false
	}
	if !c.now().Before(t.useUntil) {
		delete(c.m, id)
		return "", false
	}
	return t.token, true
}

// Put stores a token with its lease (0: no lease).
func (c *TokenCache) Put(id Identity, token string, lease time.Duration) {
	reuse := defaultTokenReuse
	if lease > 0 {
		reuse = lease * 2 / 3
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	// Drop what is too old to use, so identities gone from the node do not
	// pile up; a node has at most a few hundred.
	for k, t := range c.m {
		if !now.Before(t.useUntil) {
			delete(c.m, k)
		}
	}
	c.m[id] = cachedToken{token: token, useUntil: now.Add(reuse)}
}

// Forget drops the token of id only if it is still token (another request
// may have replaced it already).
func (c *TokenCache) Forget(id Identity, token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.m[id]; ok && t.token == token {
		delete(c.m, id)
	}
}

// LogIn makes sure the session has a store token, from the cache or by
// logging in, so that a refused identity is reported as such and not as a
// failure of some object.
func (s *Session) LogIn(ctx context.Context) error {
	_, _, err := s.token(ctx)
	return err
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
		t, lease, err := s.logIn(ctx)
		if err != nil {
			return "", err
		}
		s.store.tokens.Put(s.id, t, lease)
		return t, nil
	})
	if err != nil {
		return "", false, err
	}
	return v.(string), false, nil
}

// logIn sends the pod's token to auth/<mount>/login; Kubernetes and JWT auth
// take the same body.
func (s *Session) logIn(ctx context.Context) (string, time.Duration, error) {
	path := "auth/" + s.id.AuthMount + "/login"
	ctx, cancel := context.WithTimeout(ctx, s.store.opts.RequestTimeout)
	defer cancel()
	c, err := requestClient(s.client, "", s.cfg.Namespace)
	if err != nil {
		return "", 0, err
	}
	began := time.Now()
	secret, err := c.Logical().WriteWithContext(ctx, path, map[string]any{"role": s.login.Role, "jwt": s.login.JWT})
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
