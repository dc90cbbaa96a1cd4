// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// appLogin is the login of ServiceAccount demo/app as role app.
func appLogin() Login {
	return Login{AuthMount: "kubernetes", Role: "app",
		JWT: jwtFor("system:serviceaccount:demo:app"), PodNamespace: "demo", ServiceAccount: "app"}
}

func jwtFor(sub string) string {
	enc := base64.RawURLEncoding
	claims, _ := json.Marshal(map[string]any{"sub": sub})
	return enc.EncodeToString([]byte(`{"alg":"RS256"}`)) + "." + enc.EncodeToString(claims) + ".c2ln"
}

func TestCheckSubject(t *testing.T) {
	cases := []struct {
		name, jwt, want string
	}{
		{"match", jwtFor("system:serviceaccount:demo:app"), ""},
		{"other account", jwtFor("system:serviceaccount:demo:other"), `is for "demo:other", not for pod service account demo/app`},
		{"not a service account", jwtFor("alice"), "not a service account"},
		{"subject without a name", jwtFor("system:serviceaccount:demo"), "not a service account"},
		{"not a JWT", "abc", "not a JWT"},
		{"garbage claims", "a.!!!.c", "undecodable claims"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checkSubject(c.jwt, "demo", "app")
			if c.want == "" {
				if err != nil {
					t.Fatalf("checkSubject: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), c.jwt) {
				t.Errorf("error echoes the token")
			}
		})
	}
}

func TestTokenCache(t *testing.T) {
	now := time.Unix(0, 0)
	var revoked []string
	c := NewTokenCache(func() time.Time { return now }, 3, func(d dropped) { revoked = append(revoked, d.token+" "+d.reason) })
	via := func(context.Context, string) error { return nil }
	id := Identity{Address: "a", Role: "r", PodNamespace: "n", ServiceAccount: "s"}
	other := id
	other.ServiceAccount = "t"
	c.Put(id, "tok", 60*time.Second, 0, via)
	if tok, ok := c.Get(id); !ok || tok != "tok" {
		t.Fatalf("Get = %q, %t", tok, ok)
	}
	if _, ok := c.Get(other); ok {
		t.Fatal("another identity got the token")
	}
	now = now.Add(39 * time.Second)
	if _, ok := c.Get(id); !ok {
		t.Fatal("token dropped before two thirds of its lease")
	}
	now = now.Add(time.Second)
	if _, ok := c.Get(id); ok {
		t.Fatal("token kept in the last third of its lease")
	}
	c.Put(id, "new", 0, 0, via)
	c.Forget(id, "old")
	if tok, _ := c.Get(id); tok != "new" {
		t.Fatal("Forget of a replaced token dropped the new one")
	}
	c.Put(id, "newer", 0, 0, via)
	c.Forget(id, "newer")
	if _, ok := c.Get(id); ok {
		t.Fatal("Forget kept the token")
	}
	c.Put(other, "t", time.Second, 0, via)
	now = now.Add(time.Hour)
	c.Put(id, "later", time.Minute, 10*time.Second, via)
	if len(c.m) != 1 {
		t.Errorf("expired tokens kept: %d entries", len(c.m))
	}
	now = now.Add(10 * time.Second)
	if _, ok := c.Get(id); ok {
		t.Error("token used past the reuse cap")
	}
	want := []string{"tok near expiry", "new replaced", "t near expiry", "later near expiry"}
	if fmt.Sprint(revoked) != fmt.Sprint(want) {
		t.Errorf("revoked %q, want %q", revoked, want)
	}
}

func TestTokenCacheBoundAndLeases(t *testing.T) {
	now := time.Unix(0, 0)
	var revoked []string
	c := NewTokenCache(func() time.Time { return now }, 2, func(d dropped) { revoked = append(revoked, d.token+" "+d.reason) })
	via := func(context.Context, string) error { return nil }
	ids := make([]Identity, 4)
	for i := range ids {
		ids[i] = Identity{Address: "a", Role: "r", PodNamespace: "n", ServiceAccount: fmt.Sprint(i)}
	}
	c.Put(ids[0], "t0", time.Hour, 0, via)
	now = now.Add(time.Second)
	c.Put(ids[1], "t1", time.Hour, 0, via)
	now = now.Add(time.Second)
	c.Get(ids[0]) // t1 is now the least recently used
	c.MarkLeased(ids[0], "t0")
	c.Put(ids[2], "t2", time.Hour, 0, via)
	if _, ok := c.Get(ids[1]); ok || len(c.m) != 2 {
		t.Fatalf("cache of 2 holds %d tokens, t1 kept: %t", len(c.m), ok)
	}
	now = now.Add(time.Second)
	c.Get(ids[2])
	c.Put(ids[3], "t3", time.Hour, 0, via) // evicts t0, which holds a lease
	c.Close()
	want := []string{"t1 evicted", "t2 shutdown", "t3 shutdown"}
	slices.Sort(revoked)
	if fmt.Sprint(revoked) != fmt.Sprint(want) {
		t.Errorf("revoked %q, want %q (a token that read a lease is never revoked by the cache)", revoked, want)
	}
}

func TestParseMountInfo(t *testing.T) {
	cases := []struct {
		name    string
		data    map[string]any
		path    string
		version int
	}{
		{"kv v2", map[string]any{"path": "secret/", "type": "kv", "options": map[string]any{"version": "2"}}, "secret", 2},
		{"kv v1", map[string]any{"path": "kv1/", "type": "kv", "options": map[string]any{"version": "1"}}, "kv1", 1},
		{"kv without options", map[string]any{"path": "old/", "type": "kv", "options": nil}, "old", 1},
		{"generic", map[string]any{"path": "g/", "type": "generic"}, "g", 1},
		{"pki", map[string]any{"path": "pki/", "type": "pki"}, "pki", 0},
		{"nested mount", map[string]any{"path": "team/a/kv/", "type": "kv", "options": map[string]any{"version": json.Number("2")}}, "team/a/kv", 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mi := parseMountInfo(c.data)
			if mi.path != c.path || mi.version != c.version {
				t.Errorf("parseMountInfo = %+v, want path %q version %d", mi, c.path, c.version)
			}
		})
	}
}

func TestCleanReasons(t *testing.T) {
	got := cleanReasons([]string{"1 error occurred:\n\t* permission denied\n\n", "2 errors occurred:\n\t* a\n\t* b\n\n", "plain"})
	want := []string{"permission denied", "a", "b", "plain"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("cleanReasons = %q, want %q", got, want)
	}
}

func TestErrorWording(t *testing.T) {
	cases := []struct {
		err  *Error
		want string
	}{
		{&Error{Op: "read", Path: "secret/data/x", Status: 403, Reasons: []string{"permission denied"}}, "read secret/data/x: permission denied"},
		{&Error{Op: "write", Path: "auth/kubernetes/login", Status: 403, Reasons: []string{"service account name not authorized"}},
			"write auth/kubernetes/login: permission denied (service account name not authorized)"},
		{&Error{Op: "read", Path: "kv1/x", Status: 404}, "read kv1/x: HTTP 404"},
	}
	for _, c := range cases {
		if got := c.err.Error(); got != c.want {
			t.Errorf("Error() = %q, want %q", got, c.want)
		}
	}
}

// fakeVault answers login, mount discovery, KV v2 reads and a PUT, and can
// revoke tokens, to check the session's protocol: one login per identity,
// one mount lookup per mount, one re-login on 403.
type fakeVault struct {
	// loginGate and mountGate, when set, hold every login or mount
	// lookup until they are closed.
	loginGate, mountGate chan struct{}
	mu                   sync.Mutex
	logins               int
	mounts               int
	revokes              int
	tokenSeq             int
	valid                map[string]bool
	calls                []string
}

func (f *fakeVault) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.loginGate != nil && r.URL.Path == "/v1/auth/kubernetes/login" {
		<-f.loginGate
	}
	if f.mountGate != nil && strings.HasPrefix(r.URL.Path, "/v1/sys/internal/ui/mounts/") {
		<-f.mountGate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Method+" "+r.URL.RequestURI())
	reply := func(code int, body any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(body)
	}
	if r.URL.Path == "/v1/auth/kubernetes/login" {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		if body["role"] == "refused" {
			reply(400, map[string]any{"errors": []string{"invalid role name \"refused\""}})
			return
		}
		f.logins++
		f.tokenSeq++
		tok := fmt.Sprintf("hvs.%d", f.tokenSeq)
		f.valid[tok] = true
		reply(200, map[string]any{"auth": map[string]any{"client_token": tok, "lease_duration": 600}})
		return
	}
	if r.URL.Path == "/v1/auth/token/revoke-self" {
		f.revokes++ // attempts, of live tokens or not
	}
	if !f.valid[r.Header.Get("X-Vault-Token")] {
		reply(403, map[string]any{"errors": []string{"permission denied"}})
		return
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/v1/sys/internal/ui/mounts/kv1/"):
		f.mounts++
		reply(200, map[string]any{"data": map[string]any{"path": "kv1/", "type": "kv", "options": map[string]any{"version": "1"}}})
	case r.URL.Path == "/v1/kv1/data/app":
		reply(200, map[string]any{"data": map[string]any{"token": "t"}})
	case r.URL.Path == "/v1/secret/data/deleted":
		reply(404, map[string]any{"data": map[string]any{"data": nil, "metadata": map[string]any{"version": 2, "deletion_time": "2026-01-01T00:00:00Z"}}})
	case r.URL.Path == "/v1/secret/team/data/app":
		reply(404, map[string]any{"errors": []string{}, "warnings": []string{"Invalid path for a versioned K/V secrets engine."}})
	case r.URL.Path == "/v1/secret/data/team/data/app":
		reply(200, map[string]any{"data": map[string]any{"data": map[string]any{"password": "team"}, "metadata": map[string]any{"version": 1}}})
	case strings.HasPrefix(r.URL.Path, "/v1/sys/internal/ui/mounts/"):
		f.mounts++
		reply(200, map[string]any{"data": map[string]any{"path": "secret/", "type": "kv", "options": map[string]any{"version": "2"}}})
	case r.URL.Path == "/v1/secret/data/app":
		v := r.URL.Query().Get("version")
		reply(200, map[string]any{"data": map[string]any{"data": map[string]any{"password": "p" + v}, "metadata": map[string]any{"version": 1}}})
	case r.URL.Path == "/v1/auth/token/lookup-self":
		reply(200, map[string]any{"data": map[string]any{"ttl": 600}})
	case r.URL.Path == "/v1/secret/data/forbidden":
		reply(403, map[string]any{"errors": []string{"1 error occurred:\n\t* permission denied\n\n"}})
	case r.URL.Path == "/v1/secret/data/huge":
		reply(200, map[string]any{"data": map[string]any{"data": map[string]any{"blob": strings.Repeat("x", 8<<10)}, "metadata": map[string]any{"version": 1}}})
	case r.URL.Path == "/v1/auth/token/renew-self":
		reply(200, map[string]any{"auth": map[string]any{"client_token": r.Header.Get("X-Vault-Token"), "lease_duration": 300}})
	case r.URL.Path == "/v1/sys/leases/renew":
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		if body["lease_id"] != "db/creds/ro/1" {
			reply(400, map[string]any{"errors": []string{"lease not found"}})
			return
		}
		reply(200, map[string]any{"lease_id": body["lease_id"], "lease_duration": body["increment"], "renewable": true})
	case r.URL.Path == "/v1/auth/token/revoke-self":
		delete(f.valid, r.Header.Get("X-Vault-Token"))
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/v1/pki/issue/web" && r.Method == http.MethodPut:
		reply(200, map[string]any{"lease_id": "", "data": map[string]any{"certificate": "CERT"}})
	default:
		reply(404, map[string]any{"errors": []string{}})
	}
}

func (f *fakeVault) revokeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.valid = map[string]bool{}
}

func TestSessionProtocol(t *testing.T) {
	fv := &fakeVault{valid: map[string]bool{}}
	srv := httptest.NewServer(fv)
	defer srv.Close()
	var hits, misses int
	obs := observerFunc{cache: func(hit bool) {
		if hit {
			hits++
		} else {
			misses++
		}
	}}
	st := New(Options{Observer: obs})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	session := func() *Session {
		s, err := st.Session(Config{Address: srv.URL}, appLogin())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	sec, err := session().Read(ctx, Request{Path: "secret/app"})
	if err != nil {
		t.Fatalf("read secret/app: %v", err)
	}
	if sec.Path != "secret/data/app" || sec.Data["password"] != "p" {
		t.Errorf("KV v2 read = %+v", sec)
	}
	sec, err = session().Read(ctx, Request{Path: "secret/data/app", Version: 3})
	if err != nil || sec.Data["password"] != "p3" {
		t.Fatalf("pinned read = %+v, %v", sec, err)
	}
	if fv.logins != 1 || fv.mounts != 1 || hits != 1 || misses != 1 {
		t.Fatalf("logins %d mounts %d hits %d misses %d; want one login and one mount lookup", fv.logins, fv.mounts, hits, misses)
	}

	fv.revokeAll()
	if _, err := session().Read(ctx, Request{Path: "secret/app"}); err != nil {
		t.Fatalf("read after revocation: %v", err)
	}
	if fv.logins != 2 {
		t.Errorf("logins after a 403 with a cached token: %d, want 2", fv.logins)
	}

	sec, err = session().Read(ctx, Request{Path: "pki/issue/web", Method: "PUT", Args: map[string]any{"common_name": "a"}})
	if err != nil || sec.Data["certificate"] != "CERT" {
		t.Fatalf("PUT = %+v, %v", sec, err)
	}
	_, err = session().Read(ctx, Request{Path: "secret/data/missing"})
	if !IsNotFound(err) || !strings.Contains(err.Error(), "secret/data/missing") {
		t.Errorf("missing secret error: %v", err)
	}
	if _, err := st.Session(Config{Address: srv.URL}, Login{AuthMount: "kubernetes", Role: "app",
		JWT: jwtFor("system:serviceaccount:demo:other"), PodNamespace: "demo", ServiceAccount: "app"}); err == nil {
		t.Error("a token of another service account opened a session of demo/app")
	}
}

// TestDeniedReadKeepsAGoodToken: a path the policy denies must neither log
// in again nor drop the token, however often it is retried; a token the store
// no longer honours is replaced, and the old one revoked.
func TestDeniedReadKeepsAGoodToken(t *testing.T) {
	fv := &fakeVault{valid: map[string]bool{}}
	srv := httptest.NewServer(fv)
	defer srv.Close()
	var logins []string
	st := New(Options{Observer: observerFunc{cache: func(bool) {}, login: func(r string) { logins = append(logins, r) }}})
	s, err := st.Session(Config{Address: srv.URL}, appLogin())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 20 {
		if _, err := s.Read(ctx, Request{Path: "secret/data/forbidden"}); !IsDenied(err) || err.Error() != "read secret/data/forbidden: permission denied" {
			t.Fatalf("read = %v, want permission denied", err)
		}
	}
	if fv.logins != 1 || fv.revokes != 0 || len(fv.valid) != 1 {
		t.Fatalf("20 denied reads: %d logins, %d revocations, %d live tokens; want 1, 0, 1", fv.logins, fv.revokes, len(fv.valid))
	}
	fv.revokeAll() // the token is gone from the store: a new login is due
	if _, err := s.Read(ctx, Request{Path: "secret/data/app"}); err != nil {
		t.Fatalf("read with a revoked cached token: %v", err)
	}
	if fv.logins != 2 || fv.revokes != 1 {
		t.Fatalf("after the token went bad: %d logins, %d revocations; want 2, 1", fv.logins, fv.revokes)
	}
	if fmt.Sprint(logins) != "[ok ok]" {
		t.Errorf("login results %v", logins)
	}
}

// TestLoginRateLimit: an identity whose token keeps going bad logs in at most
// LoginBurst times, then gets an error naming the identity, and once more
// after LoginEvery; another identity is not held up.
func TestLoginRateLimit(t *testing.T) {
	fv := &fakeVault{valid: map[string]bool{}}
	srv := httptest.NewServer(fv)
	defer srv.Close()
	now := time.Unix(0, 0)
	var logins []string
	st := New(Options{LoginBurst: 2, LoginEvery: time.Minute, Now: func() time.Time { return now },
		Observer: observerFunc{cache: func(bool) {}, login: func(r string) { logins = append(logins, r) }}})
	ctx := context.Background()
	read := func(l Login) error {
		s, err := st.Session(Config{Address: srv.URL}, l)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Read(ctx, Request{Path: "secret/data/app"})
		return err
	}
	for i := range 2 {
		fv.revokeAll()
		if err := read(appLogin()); err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
	}
	fv.revokeAll()
	err := read(appLogin())
	var rl *LoginRateLimitError
	if !errors.As(err, &rl) || !strings.Contains(err.Error(), `login rate limit for identity role "app" at auth/kubernetes of `+srv.URL+` (service account demo/app) was reached; next login allowed in 1m0s`) {
		t.Fatalf("third login in a minute: %v", err)
	}
	other := Login{AuthMount: "kubernetes", Role: "app", JWT: jwtFor("system:serviceaccount:demo:other"), PodNamespace: "demo", ServiceAccount: "other"}
	if err := read(other); err != nil {
		t.Fatalf("another identity: %v", err)
	}
	now = now.Add(time.Minute)
	if err := read(appLogin()); err != nil {
		t.Fatalf("a minute later: %v", err)
	}
	if strings.Contains(err.Error(), "the last login failed") {
		t.Errorf("a limit after good logins names a failure: %v", err)
	}
	if fv.logins != 4 || fmt.Sprint(logins) != "[ok ok rate_limited ok ok]" {
		t.Errorf("%d logins sent, results %v", fv.logins, logins)
	}
}

// TestLoginRateLimitNamesTheRefusal: refused logins count too, and the limit
// says why the last one failed, which is what the user has to fix.
func TestLoginRateLimitNamesTheRefusal(t *testing.T) {
	fv := &fakeVault{valid: map[string]bool{}}
	srv := httptest.NewServer(fv)
	defer srv.Close()
	st := New(Options{LoginBurst: 2, LoginEvery: time.Minute})
	l := appLogin()
	l.Role = "refused"
	s, err := st.Session(Config{Address: srv.URL}, l)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.LogIn(context.Background()); !IsLoginRefused(err) {
			t.Fatalf("login = %v, want refused", err)
		}
	}
	err = s.LogIn(context.Background())
	if !strings.Contains(err.Error(), `login rate limit for identity role "refused"`) ||
		!strings.Contains(err.Error(), `the last login failed: log in as role "refused": write auth/kubernetes/login: HTTP 400 (invalid role name "refused")`) {
		t.Fatalf("third login: %v", err)
	}
}

// TestAnswerSizeLimit: an answer longer than MaxAnswerBytes is an error
// that names the path and the limit, for reads and for logins.
func TestAnswerSizeLimit(t *testing.T) {
	fv := &fakeVault{valid: map[string]bool{}}
	srv := httptest.NewServer(fv)
	defer srv.Close()
	st := New(Options{MaxAnswerBytes: 4 << 10})
	s, err := st.Session(Config{Address: srv.URL}, appLogin())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Read(ctx, Request{Path: "secret/data/app"}); err != nil {
		t.Fatalf("a small answer: %v", err)
	}
	_, err = s.Read(ctx, Request{Path: "secret/data/huge"})
	var big *AnswerTooLargeError
	if !errors.As(err, &big) || !strings.Contains(err.Error(), "store answer for secret/data/huge exceeds 4096 bytes") {
		t.Fatalf("huge answer: %v", err)
	}
}

func TestLimitedBody(t *testing.T) {
	for _, c := range []struct {
		size, limit int
		fail        bool
	}{{0, 4, false}, {4, 4, false}, {5, 4, true}, {100, 4, true}, {100, 1000, false}} {
		b := &limitedBody{rc: io.NopCloser(strings.NewReader(strings.Repeat("a", c.size))), left: int64(c.limit), err: errors.New("too long")}
		got, err := io.ReadAll(b)
		if (err != nil) != c.fail || len(got) > c.limit {
			t.Errorf("size %d limit %d: read %d bytes, error %v", c.size, c.limit, len(got), err)
		}
	}
}

func TestClientCacheIsBounded(t *testing.T) {
	st := New(Options{MaxClients: 3})
	for i := range 10 {
		if _, err := st.client(Config{Address: fmt.Sprintf("https://store-%d.example:8200", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.clients.len(); n != 3 {
		t.Fatalf("%d clients kept, want 3", n)
	}
	if _, ok := st.clients.get("https://store-9.example:8200|" + (TLS{}).key()); !ok {
		t.Error("the most recent client was evicted")
	}
}

func TestMountCacheIsBounded(t *testing.T) {
	now := time.Unix(0, 0)
	m := newMountCache(func() time.Time { return now })
	for i := range maxMountKeys + 10 {
		now = now.Add(time.Millisecond)
		m.put(fmt.Sprintf("https://a%d|", i), mountInfo{path: "secret", version: 2})
	}
	for i := range maxMountsPerKey + 10 {
		m.put("https://b|", mountInfo{path: fmt.Sprintf("m%d", i), version: 1})
	}
	if len(m.m) > maxMountKeys || len(m.m["https://b|"]) > maxMountsPerKey {
		t.Fatalf("%d keys, %d mounts of one key", len(m.m), len(m.m["https://b|"]))
	}
	if _, ok := m.lookup(fmt.Sprintf("https://a%d|", maxMountKeys+9), "secret/x"); !ok {
		t.Error("the newest key was evicted")
	}
}

func TestTokenAndLeaseLifecycle(t *testing.T) {
	fv := &fakeVault{valid: map[string]bool{}}
	srv := httptest.NewServer(fv)
	defer srv.Close()
	st := New(Options{})
	s, err := st.Session(Config{Address: srv.URL}, appLogin())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ttl, err := s.RenewToken(ctx, 0)
	if err != nil || ttl != 300*time.Second {
		t.Fatalf("RenewToken = %s, %v; want 5m", ttl, err)
	}
	ttl, err = s.RenewLease(ctx, "db/creds/ro/1", time.Hour)
	if err != nil || ttl != time.Hour {
		t.Fatalf("RenewLease = %s, %v; want the increment asked", ttl, err)
	}
	if _, err := s.RenewLease(ctx, "db/creds/ro/gone", time.Hour); StatusCode(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "lease not found") {
		t.Fatalf("renew of an unknown lease = %v", err)
	}
	if err := s.RevokeToken(ctx); err != nil {
		t.Fatal(err)
	}
	if len(fv.valid) != 0 {
		t.Fatalf("tokens still valid after RevokeToken: %v", fv.valid)
	}
	if err := s.RevokeToken(ctx); err != nil {
		t.Fatalf("a second RevokeToken: %v (nothing to revoke is not an error)", err)
	}
	if fv.logins != 1 {
		t.Fatalf("%d logins, want 1", fv.logins)
	}
}

// TestConcurrentSessionsShareOneLogin starts sessions of one identity
// together, holds the store's login answer until all of them have missed
// the token cache, and checks that the store saw one login.
func TestConcurrentSessionsShareOneLogin(t *testing.T) {
	const n = 20
	fv := &fakeVault{valid: map[string]bool{}, loginGate: make(chan struct{})}
	srv := httptest.NewServer(fv)
	defer srv.Close()
	var (
		mu     sync.Mutex
		misses int
	)
	allMissed := make(chan struct{})
	st := New(Options{Observer: observerFunc{cache: func(hit bool) {
		mu.Lock()
		defer mu.Unlock()
		if !hit {
			if misses++; misses == n {
				close(allMissed)
			}
		}
	}}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errs := make(chan error, n)
	for i := range n {
		go func() {
			s, err := st.Session(Config{Address: srv.URL}, appLogin())
			if err != nil {
				errs <- err
				return
			}
			_, err = s.Read(ctx, Request{Path: "secret/data/app"})
			errs <- fmt.Errorf("session %d: %w", i, err)
		}()
	}
	select {
	case <-allMissed:
	case <-ctx.Done():
		t.Fatalf("only %d of %d sessions reached the token cache", misses, n)
	}
	close(fv.loginGate)
	for range n {
		if err := <-errs; errors.Unwrap(err) != nil {
			t.Error(err)
		}
	}
	if fv.logins != 1 {
		t.Errorf("%d concurrent sessions of one identity logged in %d times, want 1", n, fv.logins)
	}
}

type observerFunc struct {
	cache func(bool)
	login func(string)
}

func (observerFunc) StoreRequest(string, string, time.Duration) {}
func (o observerFunc) TokenCache(hit bool)                      { o.cache(hit) }
func (o observerFunc) Login(r string) {
	if o.login != nil {
		o.login(r)
	}
}
func (observerFunc) TokenRevoked(string, string) {}

// TestSessionSendsVaultNamespace checks that the login, the mount lookup and
// the read all carry the session's Vault namespace. Open-source Vault, which
// the integration tests run, has no namespaces, so a recording server is the
// only check here.
func TestSessionSendsVaultNamespace(t *testing.T) {
	var (
		mu   sync.Mutex
		seen = map[string]string{}
	)
	fv := &fakeVault{valid: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path] = r.Header.Get("X-Vault-Namespace")
		mu.Unlock()
		fv.ServeHTTP(w, r)
	}))
	defer srv.Close()
	st := New(Options{Observer: observerFunc{cache: func(bool) {}}})
	s, err := st.Session(Config{Address: srv.URL, Namespace: "team-a"}, appLogin())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Read(ctx, Request{Path: "secret/app"}); err != nil {
		t.Fatalf("read: %v", err)
	}
	for _, path := range []string{"/v1/auth/kubernetes/login", "/v1/sys/internal/ui/mounts/secret/app", "/v1/secret/data/app"} {
		ns, ok := seen[path]
		if !ok {
			t.Errorf("no request to %s (saw %v)", path, seen)
		} else if ns != "team-a" {
			t.Errorf("%s sent X-Vault-Namespace %q, want team-a", path, ns)
		}
	}
}

// TestConcurrentReadsShareOneMountLookup holds the store's first mount
// lookup while other sessions of the node read the same path, and checks
// that the store answered one lookup.
func TestConcurrentReadsShareOneMountLookup(t *testing.T) {
	const n = 10
	fv := &fakeVault{valid: map[string]bool{}, mountGate: make(chan struct{})}
	srv := httptest.NewServer(fv)
	defer srv.Close()
	st := New(Options{Observer: observerFunc{cache: func(bool) {}}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errs := make(chan error, n)
	for i := range n {
		go func() {
			s, err := st.Session(Config{Address: srv.URL}, appLogin())
			if err == nil {
				_, err = s.Read(ctx, Request{Path: "secret/app"})
			}
			if err != nil {
				err = fmt.Errorf("session %d: %w", i, err)
			}
			errs <- err
		}()
	}
	// Let the sessions log in and reach the held lookup; one that comes
	// later finds the cache filled, which is as good.
	time.Sleep(200 * time.Millisecond)
	close(fv.mountGate)
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if fv.mounts != 1 {
		t.Errorf("%d concurrent reads of one path made %d mount lookups, want 1", n, fv.mounts)
	}
}

// TestReadRequests checks the requests one read costs a fresh store: a
// path that is already a KV v2 API path is read as written, and the mount
// is looked up only for a pinned version, a path without data/, or a miss.
func TestReadRequests(t *testing.T) {
	const (
		login  = "PUT /v1/auth/kubernetes/login"
		mounts = "GET /v1/sys/internal/ui/mounts/"
	)
	cases := []struct {
		name    string
		req     Request
		want    []string
		data    map[string]any // nil: an error containing err
		wantErr string
	}{
		{"API path of KV v2", Request{Path: "secret/data/app"},
			[]string{login, "GET /v1/secret/data/app"}, map[string]any{"password": "p"}, ""},
		{"KV v2 without data/", Request{Path: "secret/app"},
			[]string{login, mounts + "secret/app", "GET /v1/secret/data/app"}, map[string]any{"password": "p"}, ""},
		{"pinned version", Request{Path: "secret/data/app", Version: 3},
			[]string{login, mounts + "secret/data/app", "GET /v1/secret/data/app?version=3"}, map[string]any{"password": "p3"}, ""},
		{"KV v1 secret under a data folder", Request{Path: "kv1/data/app"},
			[]string{login, "GET /v1/kv1/data/app"}, map[string]any{"token": "t"}, ""},
		{"data/ not after the mount", Request{Path: "secret/team/data/app"},
			[]string{login, "GET /v1/secret/team/data/app", mounts + "secret/team/data/app", "GET /v1/secret/data/team/data/app"},
			map[string]any{"password": "team"}, ""},
		{"missing", Request{Path: "secret/data/missing"},
			[]string{login, "GET /v1/secret/data/missing", mounts + "secret/data/missing"}, nil, "read secret/data/missing: HTTP 404"},
		{"deleted version", Request{Path: "secret/data/deleted"},
			[]string{login, "GET /v1/secret/data/deleted"}, nil, "version deleted or destroyed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fv := &fakeVault{valid: map[string]bool{}}
			srv := httptest.NewServer(fv)
			defer srv.Close()
			s, err := New(Options{}).Session(Config{Address: srv.URL}, appLogin())
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			sec, err := s.Read(ctx, c.req)
			switch {
			case c.data == nil && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Errorf("error %v, want %q", err, c.wantErr)
			case c.data != nil && err != nil:
				t.Errorf("read: %v", err)
			case c.data != nil && fmt.Sprint(sec.Data) != fmt.Sprint(c.data):
				t.Errorf("data %v, want %v", sec.Data, c.data)
			}
			if !slices.Equal(fv.calls, c.want) {
				t.Errorf("requests\n%s\nwant\n%s", strings.Join(fv.calls, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

// TestCloseLetsIdleConnectionsGo: a Store made for one request (the NRI
// plugin's) leaves no connection open behind it once closed.
func TestCloseLetsIdleConnectionsGo(t *testing.T) {
	var open sync.WaitGroup
	srv := httptest.NewUnstartedServer(&fakeVault{valid: map[string]bool{}})
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Done()
		}
	}
	srv.Start()
	defer srv.Close()
	st := New(Options{})
	sess, err := st.Session(Config{Address: srv.URL}, appLogin())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := sess.Read(ctx, Request{Path: "secret/app"}); err != nil {
		t.Fatalf("read: %v", err)
	}
	if err := st.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// Without Close letting them go, the idle connection would stay for
	// the transport's idle timeout (90s), past the test's deadline.
	done := make(chan struct{})
	go func() { open.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("a connection to the store is still open after Close")
	}
}
