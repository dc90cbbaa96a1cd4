// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Observer receives what the store does, for metrics. Methods must be cheap
// and safe for concurrent use.
type Observer interface {
	// StoreRequest is called after each HTTP request to the store; op is
	// "login", "read", "write", "mounts", "renew" or "revoke"; result is "ok", "denied",
	// "not_found" or "error".
	StoreRequest(op, result string, took time.Duration)
	// TokenCache is called on each token lookup.
	TokenCache(hit bool)
	// Login is called on each login the store is asked for or that the
	// rate limit refused; result is "ok", "refused" (the store said no),
	// "rate_limited" (not sent) or "error".
	Login(result string)
	// TokenRevoked is called for each token the cache dropped and
	// revoked; reason is "replaced", "near expiry", "evicted",
	// "shutdown" or "bad token"; result is "ok" or "error".
	TokenRevoked(reason, result string)
}

type nopObserver struct{}

func (nopObserver) StoreRequest(string, string, time.Duration) {}
func (nopObserver) TokenCache(bool)                            {}
func (nopObserver) Login(string)                               {}
func (nopObserver) TokenRevoked(string, string)                {}

// Options tune a Store.
type Options struct {
	// RequestTimeout bounds one HTTP request to the store. Default 15s.
	RequestTimeout time.Duration
	// Observer gets request and cache events; nil ignores them.
	Observer Observer
	// Now is the clock; nil means time.Now (tests replace it).
	Now func() time.Time
	// MaxAnswerBytes bounds the body of one answer of the store; a longer
	// one is an error. Default 4 MiB.
	MaxAnswerBytes int64
	// MaxClients bounds the HTTP clients kept, one per address and TLS
	// settings; the least recently used goes first. Default 64.
	MaxClients int
	// MaxTokens bounds the store tokens kept, one per identity; the least
	// recently used is revoked and dropped. Default 4096.
	MaxTokens int
	// LoginBurst logins of one identity may happen at once, then one per
	// LoginEvery. Defaults 4 and 15s; LoginBurst < 0 turns the limit off.
	LoginBurst int
	LoginEvery time.Duration
	// TokenMaxReuse caps how long a token is used before logging in again
	// (and revoking it): a token keeps the role's policies of its login,
	// so a role given more policies takes effect at the latest then.
	// Default 15m; < 0: no cap.
	TokenMaxReuse time.Duration
}

// Store holds what is shared between requests: HTTP clients per address and
// TLS settings, logged-in tokens per identity and the KV version of mounts.
type Store struct {
	opts   Options
	tokens *TokenCache
	mounts *mountCache
	logins *loginLimiter

	mu      sync.Mutex
	clients *lru[*httpClient]

	// revoking tracks revocations of dropped tokens, which run in the
	// background so that no read waits for them.
	revoking sync.WaitGroup
}

// New returns a Store.
func New(opts Options) *Store {
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 15 * time.Second
	}
	if opts.Observer == nil {
		opts.Observer = nopObserver{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxAnswerBytes <= 0 {
		opts.MaxAnswerBytes = 4 << 20
	}
	if opts.MaxClients <= 0 {
		opts.MaxClients = 64
	}
	if opts.LoginBurst == 0 {
		opts.LoginBurst = 4
	}
	if opts.LoginEvery <= 0 {
		opts.LoginEvery = 15 * time.Second
	}
	if opts.TokenMaxReuse == 0 {
		opts.TokenMaxReuse = 15 * time.Minute
	}
	s := &Store{
		opts:   opts,
		mounts: newMountCache(opts.Now),
		logins: newLoginLimiter(opts.Now, opts.LoginBurst, opts.LoginEvery),
		clients: newLRU(opts.MaxClients, func(c *httpClient) {
			// Sessions still holding it finish their requests; only idle
			// connections go.
			c.closeIdle()
		}),
	}
	s.tokens = NewTokenCache(opts.Now, opts.MaxTokens, s.revokeDropped)
	return s
}

// revokeDropped revokes a token the cache let go of, in the background.
func (s *Store) revokeDropped(d dropped) {
	s.revoking.Add(1)
	go func() {
		defer s.revoking.Done()
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.RequestTimeout)
		defer cancel()
		res := "ok"
		if err := d.via(ctx, d.token); err != nil {
			// Not fatal: the token ends with its TTL.
			res = "error"
		}
		s.opts.Observer.TokenRevoked(d.reason, res)
	}()
}

// Close revokes every cached token that holds no lease and waits, at most
// until ctx ends, for the revocations under way; then it lets the idle
// connections go (a Store per request, as the NRI plugin keeps, would
// otherwise leave them open until their idle timeout).
func (s *Store) Close(ctx context.Context) error {
	s.tokens.Close()
	done := make(chan struct{})
	go func() {
		s.revoking.Wait()
		close(done)
	}()
	defer func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.clients.each((*httpClient).closeIdle)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("revoke cached store tokens: %w", ctx.Err())
	}
}

// Config is where the store is and how to reach it.
type Config struct {
	Address string
	// Namespace is the Vault namespace ("" for the root).
	Namespace string
	TLS       TLS
}

// Login is who logs in: the pod's service-account token at an auth mount.
type Login struct {
	// AuthMount is the auth method's path without "auth/", e.g. "kubernetes".
	AuthMount string
	Role      string
	// JWT is the pod's service-account token for the store's audience.
	JWT string
	// PodNamespace and ServiceAccount name the token's subject; they key the
	// token cache.
	PodNamespace, ServiceAccount string
}

// Identity keys everything that is safe to share between pods: the same
// identity gets the same policies.
type Identity struct {
	Address, Namespace, AuthMount, Role, PodNamespace, ServiceAccount string
}

// key is an unambiguous map key of the identity.
func (id Identity) key() string {
	return fmt.Sprintf("%q", []string{id.Address, id.Namespace, id.AuthMount, id.Role, id.PodNamespace, id.ServiceAccount})
}

func (id Identity) String() string {
	return strings.Join([]string{id.Address, id.Namespace, id.AuthMount, id.Role, id.PodNamespace, id.ServiceAccount}, "|")
}

// Session reads from the store as one identity.
type Session struct {
	store  *Store
	client *httpClient // shared by the sessions of the address and TLS settings
	cfg    Config
	login  Login
	id     Identity
}

// Session returns a session of the identity; it logs in lazily, on the first
// read, unless the token cache has a token.
func (s *Store) Session(cfg Config, login Login) (*Session, error) {
	if cfg.Address == "" {
		return nil, errors.New("no store address")
	}
	if login.AuthMount == "" || login.Role == "" || login.JWT == "" {
		return nil, errors.New("login needs an auth mount, a role and a token")
	}
	if err := checkSubject(login.JWT, login.PodNamespace, login.ServiceAccount); err != nil {
		return nil, err
	}
	c, err := s.client(cfg)
	if err != nil {
		return nil, err
	}
	return &Session{
		store: s, client: c, cfg: cfg, login: login,
		id: Identity{
			Address: cfg.Address, Namespace: cfg.Namespace, AuthMount: strings.Trim(login.AuthMount, "/"),
			Role: login.Role, PodNamespace: login.PodNamespace, ServiceAccount: login.ServiceAccount,
		},
	}, nil
}

// Identity returns the session's identity.
func (s *Session) Identity() Identity { return s.id }

// TLS returns the TLS settings the session reaches the store with.
func (s *Session) TLS() TLS { return s.cfg.TLS }

func (s *Store) client(cfg Config) (*httpClient, error) {
	key := cfg.Address + "|" + cfg.TLS.key()
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clients.get(key); ok {
		return c, nil
	}
	// No retries: kubelet retries a failed mount; retrying here too would
	// only hide the store's state from metrics and slow the answer.
	c, err := newHTTPClient(cfg.Address, cfg.TLS, s.opts.RequestTimeout, s.opts.MaxAnswerBytes)
	if err != nil {
		return nil, err
	}
	s.clients.put(key, c)
	return c, nil
}

// call sends one request of the session with token ("" for none, as a
// login does).
func (s *Session) call(ctx context.Context, method, path, token string, query url.Values, body any) (*Answer, error) {
	return s.client.call(ctx, method, path, token, s.cfg.Namespace, query, body)
}

// StatusCode returns the HTTP status of a store error, 0 if there is none.
func StatusCode(err error) int {
	var re *ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	var se *Error
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}

// Error is a refusal of the store, worded without its URL or body so that it
// can be shown to users.
type Error struct {
	Op, Path string
	Status   int
	Reasons  []string
}

func (e *Error) Error() string {
	what := "HTTP " + fmt.Sprint(e.Status)
	if e.Status == http.StatusForbidden {
		what = "permission denied"
	}
	msg := fmt.Sprintf("%s %s: %s", e.Op, e.Path, what)
	if len(e.Reasons) > 0 && !(len(e.Reasons) == 1 && e.Reasons[0] == "permission denied") {
		msg += " (" + strings.Join(e.Reasons, "; ") + ")"
	}
	return msg
}

// storeError rewords a vault API error; other errors (network, TLS) keep
// their text, which holds neither tokens nor values.
func storeError(op, path string, err error) error {
	var own *Error
	if errors.As(err, &own) {
		return err
	}
	var re *ResponseError
	if errors.As(err, &re) {
		return &Error{Op: op, Path: path, Status: re.StatusCode, Reasons: cleanReasons(re.Errors)}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s %s: store did not answer in time: %w", op, path, err)
	}
	return fmt.Errorf("%s %s: %w", op, path, err)
}

func result(err error) string {
	switch StatusCode(err) {
	case 0:
		if err == nil {
			return "ok"
		}
		return "error"
	case http.StatusForbidden:
		return "denied"
	case http.StatusNotFound:
		return "not_found"
	default:
		return "error"
	}
}

// cleanReasons flattens Vault's multierror texts ("1 error occurred:\n\t*
// permission denied\n\n") into their items.
func cleanReasons(in []string) []string {
	var out []string
	for _, r := range in {
		for _, line := range strings.Split(r, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasSuffix(line, "error occurred:") || strings.HasSuffix(line, "errors occurred:") {
				continue
			}
			line = strings.TrimSpace(strings.TrimPrefix(line, "* "))
			if line != "" && !slices.Contains(out, line) {
				out = append(out, line)
			}
		}
	}
	return out
}
