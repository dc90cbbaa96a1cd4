// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Request is one read of the store.
type Request struct {
	// Path is the API path as the user wrote it: "secret/data/app" and
	// "secret/app" both read KV v2 mount "secret".
	Path string
	// Method is GET, PUT or POST; PUT and POST send Args (dynamic secrets,
	// PKI issue).
	Method string
	Args   map[string]any
	// Version pins a KV v2 version; 0 is the latest.
	Version int
}

// Secret is what a read returned.
type Secret struct {
	// Path is the API path that was read, e.g. "secret/data/app".
	Path string
	Data map[string]any
	// LeaseID and LeaseDuration are set for dynamic secrets. KV v1 gives a
	// LeaseDuration without a LeaseID when the secret has a ttl: a hint of
	// when to read it again.
	LeaseID       string
	LeaseDuration time.Duration
	Renewable     bool
	// Response is the store's whole answer as decoded (for KV v2 its data
	// holds data and metadata): what vault-csi-provider writes for an
	// object without secretKey.
	Response *Answer
}

// Read reads req as the session's identity, logging in if needed. A 403 to
// a cached token is checked with auth/token/lookup-self: only a token the
// store no longer honours is dropped (and revoked, in case it lives on) and
// replaced by a new login; a good token that the policy denies the path
// stays, and the denial is the answer. Logging in again on every denial
// would leave one live token in the store per retry.
func (s *Session) Read(ctx context.Context, req Request) (*Secret, error) {
	tok, cached, err := s.token(ctx)
	if err != nil {
		return nil, err
	}
	sec, err := s.read(ctx, tok, req)
	if err != nil && cached && StatusCode(err) == http.StatusForbidden && !s.tokenAlive(ctx, tok) {
		s.store.tokens.Forget(s.id, tok)
		// The lookup was refused; a token whose policies lack
		// lookup-self may still be alive, and revoking a dead one
		// costs one refused request.
		res := "ok"
		if rerr := s.revokeToken(ctx, tok); rerr != nil {
			res = "error"
		}
		s.store.opts.Observer.TokenRevoked("bad token", res)
		var lerr error
		if tok, _, lerr = s.token(ctx); lerr != nil {
			return nil, lerr
		}
		sec, err = s.read(ctx, tok, req)
	}
	if err == nil && sec.LeaseID != "" {
		s.store.tokens.MarkLeased(s.id, tok)
	}
	return sec, err
}

func (s *Session) read(ctx context.Context, token string, req Request) (*Secret, error) {
	path := strings.Trim(req.Path, "/")
	method := strings.ToUpper(req.Method)
	if method == "" {
		method = http.MethodGet
	}
	if method != http.MethodGet {
		// Dynamic secrets and PKI: the path is what the engine expects.
		return s.write(ctx, token, method, path, req.Args)
	}
	_, known := s.store.mounts.lookup(s.mountKey(), path)
	if !known && req.Version == 0 && hasDataSegment(path) {
		// Already the API path of a KV v2 secret (or a KV v1 secret under
		// a "data" folder): read it as written and tell the two apart by
		// the answer's shape, without asking for the mount first. Only a
		// miss asks, since the "data" may not follow the mount
		// (kv/team/data/app on mount kv).
		sec, err := s.get(ctx, token, path, nil)
		if err == nil {
			return unwrapKV(sec, 0)
		}
		if !IsNotFound(err) {
			return nil, err
		}
		if _, mount := s.kvVersion(ctx, token, path); apiPathOf(path, mount) == path {
			return nil, err
		}
	}
	kv, mount := s.kvVersion(ctx, token, path)
	apiPath := path
	var query url.Values
	if kv == 2 {
		apiPath = apiPathOf(path, mount)
		if req.Version > 0 {
			query = url.Values{"version": {strconv.Itoa(req.Version)}}
		}
	} else if req.Version > 0 {
		return nil, fmt.Errorf("read %s: a pinned version needs a KV v2 mount", path)
	}
	sec, err := s.get(ctx, token, apiPath, query)
	if err != nil {
		return nil, err
	}
	return unwrapKV(sec, kv)
}

// unwrapKV gives a KV v2 answer's inner data: always on a KV v2 mount, by
// the answer's shape where the mount is unknown (kv 0), never on KV v1.
func unwrapKV(sec *Secret, kv int) (*Secret, error) {
	var inner map[string]any
	switch kv {
	case 1:
		return sec, nil
	case 2:
		inner, _ = sec.Data["data"].(map[string]any)
	default:
		var v2 bool
		if inner, v2 = kvv2Data(sec.Data); !v2 {
			return sec, nil
		}
	}
	if inner == nil {
		// A deleted or destroyed version: metadata without data.
		return nil, &Error{Op: "read", Path: sec.Path, Status: http.StatusNotFound, Reasons: []string{"version deleted or destroyed"}}
	}
	sec.Data = inner
	return sec, nil
}

// hasDataSegment reports whether a segment after the first is "data", as
// in the API path of a KV v2 secret.
func hasDataSegment(path string) bool {
	_, rest, _ := strings.Cut(path, "/")
	return rest != "" && strings.Contains("/"+rest+"/", "/data/")
}

// apiPathOf is the KV v2 API path of path on mount: "data/" after the
// mount unless it is there already.
func apiPathOf(path, mount string) string {
	if mount == "" {
		return path
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(path, mount), "/")
	if strings.HasPrefix(rest, "data/") {
		return path
	}
	return mount + "/data/" + rest
}

// get sends one GET of apiPath and returns the answer as it is.
func (s *Session) get(ctx context.Context, token, apiPath string, query url.Values) (*Secret, error) {
	rctx, cancel := context.WithTimeout(ctx, s.store.opts.RequestTimeout)
	defer cancel()
	began := time.Now()
	sec, err := s.call(rctx, http.MethodGet, apiPath, token, query, nil)
	if IsNotFound(err) && sec != nil && len(sec.Data) > 0 {
		// A deleted KV v2 version: its metadata comes with the 404.
		err = nil
	}
	if (err == nil && sec.Data == nil) || IsNotFound(err) {
		// No secret, or warnings only (a KV v2 mount read outside
		// data/).
		reasons := []string{"no secret at this path"}
		if sec != nil && len(sec.Warnings) > 0 {
			reasons = sec.Warnings
		}
		err = &Error{Op: "read", Path: apiPath, Status: http.StatusNotFound, Reasons: reasons}
	}
	s.store.opts.Observer.StoreRequest("read", result(err), time.Since(began))
	if err != nil {
		return nil, storeError("read", apiPath, err)
	}
	return &Secret{Path: apiPath, Data: sec.Data, LeaseID: sec.LeaseID,
		LeaseDuration: time.Duration(sec.LeaseDuration) * time.Second, Renewable: sec.Renewable, Response: sec}, nil
}

func (s *Session) write(ctx context.Context, token, method, path string, args map[string]any) (*Secret, error) {
	rctx, cancel := context.WithTimeout(ctx, s.store.opts.RequestTimeout)
	defer cancel()
	var body any
	if args != nil {
		body = args
	}
	began := time.Now()
	sec, err := s.call(rctx, method, path, token, nil, body)
	s.store.opts.Observer.StoreRequest("write", result(err), time.Since(began))
	if err != nil {
		return nil, storeError(strings.ToLower(method), path, err)
	}
	return &Secret{Path: path, Data: sec.Data, LeaseID: sec.LeaseID,
		LeaseDuration: time.Duration(sec.LeaseDuration) * time.Second, Renewable: sec.Renewable, Response: sec}, nil
}

// kvv2Data tells a KV v2 answer by its shape: exactly "data" (an object,
// or null for a deleted version) and "metadata" with the version's number.
// It returns the secret's data, nil for a deleted version.
func kvv2Data(data map[string]any) (map[string]any, bool) {
	meta, ok := data["metadata"].(map[string]any)
	if !ok || len(data) != 2 {
		return nil, false
	}
	if _, ok := meta["version"]; !ok {
		return nil, false
	}
	switch d := data["data"].(type) {
	case map[string]any:
		return d, true
	case nil:
		return nil, true
	}
	return nil, false
}

// mountCache remembers the KV version of mounts, per store and namespace.
type mountCache struct {
	now     func() time.Time
	mu      sync.Mutex
	m       map[string][]mountInfo // key: address|namespace
	lookups singleflight.Group     // in-flight lookups by key|path
}

type mountInfo struct {
	path    string // without trailing slash
	version int    // 0: not KV
	until   time.Time
}

// mountInfoTTL bounds how long a mount's KV version is trusted: mounts are
// rarely upgraded, but it happens.
const mountInfoTTL = 10 * time.Minute

func newMountCache(now func() time.Time) *mountCache {
	return &mountCache{now: now, m: map[string][]mountInfo{}}
}

func (m *mountCache) lookup(key, path string) (mountInfo, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for _, mi := range m.m[key] {
		if (path == mi.path || strings.HasPrefix(path, mi.path+"/")) && now.Before(mi.until) {
			return mi, true
		}
	}
	return mountInfo{}, false
}

// Bounds of the mount cache: addresses and namespaces come from tenants,
// mount paths from the store's answers.
const (
	maxMountKeys    = 256
	maxMountsPerKey = 256
)

func (m *mountCache) put(key string, mi mountInfo) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if _, ok := m.m[key]; !ok && len(m.m) >= maxMountKeys {
		m.evict(now)
	}
	list := m.m[key][:0:0]
	for _, old := range m.m[key] {
		if old.path != mi.path && now.Before(old.until) {
			list = append(list, old)
		}
	}
	if len(list) >= maxMountsPerKey {
		list = list[1:] // the oldest entry
	}
	mi.until = now.Add(mountInfoTTL)
	m.m[key] = append(list, mi)
}

// evict drops the entries of keys whose mounts all expired, or, if none
// did, of the key whose newest entry is the oldest.
func (m *mountCache) evict(now time.Time) {
	var oldest string
	var oldestAt time.Time
	for k, list := range m.m {
		newest := time.Time{}
		for _, mi := range list {
			if mi.until.After(newest) {
				newest = mi.until
			}
		}
		if !now.Before(newest) {
			delete(m.m, k)
			continue
		}
		if oldest == "" || newest.Before(oldestAt) {
			oldest, oldestAt = k, newest
		}
	}
	if len(m.m) >= maxMountKeys {
		delete(m.m, oldest)
	}
}

// kvVersion returns the KV version (1, 2; 0 if not KV or unknown) and the
// mount path of path. It asks sys/internal/ui/mounts, which any token with a
// capability under the mount may call, once per mount.
func (s *Session) kvVersion(ctx context.Context, token, path string) (int, string) {
	key := s.mountKey()
	if mi, ok := s.store.mounts.lookup(key, path); ok {
		return mi.version, mi.path
	}
	// Pods starting together ask about the same path at once: one lookup
	// answers them all, as the cache does afterwards.
	v, _, _ := s.store.mounts.lookups.Do(key+"|"+path, func() (any, error) {
		if mi, ok := s.store.mounts.lookup(key, path); ok {
			return mi, nil
		}
		rctx, cancel := context.WithTimeout(ctx, s.store.opts.RequestTimeout)
		defer cancel()
		began := time.Now()
		sec, err := s.call(rctx, http.MethodGet, "sys/internal/ui/mounts/"+path, token, nil, nil)
		s.store.opts.Observer.StoreRequest("mounts", result(err), time.Since(began))
		if err != nil || sec == nil {
			// Not cached: the read decides by the answer's shape, and a
			// later request may be allowed to ask.
			return mountInfo{}, nil
		}
		mi := parseMountInfo(sec.Data)
		if mi.path != "" {
			s.store.mounts.put(key, mi)
		}
		return mi, nil
	})
	mi := v.(mountInfo)
	if mi.path == "" {
		return 0, ""
	}
	return mi.version, mi.path
}

// mountKey keys the mount cache: mounts are per store and namespace.
func (s *Session) mountKey() string { return s.cfg.Address + "|" + s.cfg.Namespace }

func parseMountInfo(data map[string]any) mountInfo {
	mountPath, _ := data["path"].(string)
	mi := mountInfo{path: strings.Trim(mountPath, "/")}
	if t, _ := data["type"].(string); t != "kv" && t != "generic" {
		return mi
	}
	mi.version = 1
	if opts, ok := data["options"].(map[string]any); ok {
		switch v := opts["version"].(type) {
		case string:
			if v == "2" {
				mi.version = 2
			}
		case json.Number:
			if v.String() == "2" {
				mi.version = 2
			}
		}
	}
	return mi
}

// IsNotFound reports whether err says the store has nothing at the path.
func IsNotFound(err error) bool { return StatusCode(err) == http.StatusNotFound }

// IsDenied reports whether err is the store refusing the identity.
func IsDenied(err error) bool {
	return StatusCode(err) == http.StatusForbidden || StatusCode(err) == http.StatusUnauthorized
}

// ValidatePath refuses store paths that are empty, absolute or climb with
// '..' (the store would resolve them to another mount).
func ValidatePath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("empty secret path")
	case strings.HasPrefix(p, "/") || strings.Contains("/"+p+"/", "/../"):
		return fmt.Errorf("%q: must be relative, without '..'", p)
	}
	return nil
}
