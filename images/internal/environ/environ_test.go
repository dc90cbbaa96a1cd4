// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package environ

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/deckhouse/secrets-store-integration/images/internal/envref"
	"github.com/deckhouse/secrets-store-integration/images/internal/store"
)

// fakeStore answers reads from a map; it stands in for the store only in
// these unit tests of Build (the injector's integration suite runs Vault).
type fakeStore struct {
	secrets  map[string]*store.Secret // key: path or path#version
	denied   map[string]bool
	reads    []string
	requests []store.Request
}

func (f *fakeStore) Read(_ context.Context, req store.Request) (*store.Secret, error) {
	key := envref.Secret{Path: req.Path, Version: req.Version, Method: req.Method}.String()
	f.reads = append(f.reads, key)
	f.requests = append(f.requests, req)
	if f.denied[req.Path] {
		return nil, &store.Error{Op: "read", Path: req.Path, Status: http.StatusForbidden, Reasons: []string{"permission denied"}}
	}
	s, ok := f.secrets[key]
	if !ok {
		return nil, &store.Error{Op: "read", Path: req.Path, Status: http.StatusNotFound, Reasons: []string{"no secret at this path"}}
	}
	return s, nil
}

func newFake() *fakeStore {
	return &fakeStore{secrets: map[string]*store.Secret{
		"secret/data/db":     {Data: map[string]any{"user": "app", "password": "s3cr3t"}},
		"secret/data/db#1":   {Data: map[string]any{"user": "app", "password": "first"}},
		"secret/data/common": {Data: map[string]any{"LOG_LEVEL": "debug", "REGION": "eu", "bad-name": "x", "DB_USER": "common"}},
		"secret/data/team":   {Data: map[string]any{"REGION": "us"}},
		"secret/data/loader": {Data: map[string]any{"LD_PRELOAD": "/tmp/evil.so", "REGION": "eu"}},
		"secret/data/path":   {Data: map[string]any{"PATH": "/tmp/evil"}},
		"secret/data/gconv":  {Data: map[string]any{"GCONV_PATH": "/tmp"}},
		"secret/data/malloc": {Data: map[string]any{"MALLOC_ARENA_MAX": "2"}},
		"kv1/ttl":            {Data: map[string]any{"k": "v"}, LeaseDuration: 3 * time.Second},
		">>pki/issue/web":    {Data: map[string]any{"certificate": "CERT", "private_key": "KEY"}, LeaseID: "pki/issue/web/1", LeaseDuration: time.Hour},
		"db/creds/ro":        {Data: map[string]any{"username": "u1"}, LeaseID: "db/creds/ro/abc", LeaseDuration: time.Hour, Renewable: true},
	}, denied: map[string]bool{"secret/data/admin": true}}
}

func TestBuild(t *testing.T) {
	tests := []struct {
		name     string
		environ  []string
		fromPath []envref.Secret
		ignore   bool
		want     []string
		leases   int
		skipped  []string
	}{
		{
			name:    "references, versions, templates, inline; config dropped; plain kept",
			environ: []string{"PATH=/bin", "VAULT_ADDR=https://v", "VAULT_ROLE=app", "A=secrets-store:secret/data/db#password", "B=secrets-store:secret/data/db#password#1", "C=secrets-store:secret/data/db#${ .user }@${ .password | upper }", "DSN=pg://${secrets-store:secret/data/db#user}:${secrets-store:secret/data/db#password}@db"},
			want:    []string{"A=s3cr3t", "B=first", "C=app@S3CR3T", "DSN=pg://app:s3cr3t@db", "PATH=/bin"},
		},
		{
			name:     "env-from-path: later paths win, and win over the container's variables (plain or references), as in the existing module; bad names left out",
			environ:  []string{"LOG_LEVEL=info", "DB_USER=secrets-store:secret/data/db#user", "KEPT=yes"},
			fromPath: []envref.Secret{{Path: "secret/data/common"}, {Path: "secret/data/team"}},
			want:     []string{"DB_USER=common", "KEPT=yes", "LOG_LEVEL=debug", "REGION=us"},
		},
		{
			name:    "ignore-missing-secrets leaves out missing paths and keys",
			environ: []string{"A=secrets-store:secret/data/gone#x", "B=secrets-store:secret/data/db#nokey", "C=secrets-store:secret/data/db#user"},
			ignore:  true, want: []string{"C=app"}, skipped: []string{"A", "B"},
		},
		{
			name:    "leases are reported",
			environ: []string{"U=secrets-store:db/creds/ro#username", "K=secrets-store:kv1/ttl#k"},
			want:    []string{"K=v", "U=u1"}, leases: 2,
		},
		{
			name:    "the last definition of a name wins",
			environ: []string{"A=1", "A=secrets-store:secret/data/db#user"},
			want:    []string{"A=app"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			res, err := Build(context.Background(), f, tt.environ, Options{EnvFromPath: tt.fromPath, IgnoreMissing: tt.ignore})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(res.Env, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("env\n got %q\nwant %q", res.Env, tt.want)
			}
			if len(res.Leases) != tt.leases {
				t.Errorf("leases %+v, want %d", res.Leases, tt.leases)
			}
			if strings.Join(res.Skipped, ",") != strings.Join(tt.skipped, ",") {
				t.Errorf("skipped %q, want %q", res.Skipped, tt.skipped)
			}
			reads := map[string]int{}
			for _, r := range f.reads {
				reads[r]++
				if reads[r] > 1 {
					t.Errorf("%s read %d times", r, reads[r])
				}
			}
		})
	}
}

func TestBuildErrorsNameVariableAndPath(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		from    []envref.Secret
		want    []string
	}{
		{"denied", []string{"A=secrets-store:secret/data/admin#x", "B=${secrets-store:secret/data/admin#y}"}, nil,
			[]string{"variable A, B: read secret/data/admin: permission denied"}},
		{"missing path", []string{"A=secrets-store:secret/data/gone#x"}, nil, []string{"variable A: read secret/data/gone: HTTP 404 (no secret at this path)"}},
		{"missing key", []string{"A=secrets-store:secret/data/db#nokey"}, nil, []string{`variable A: key not found: "nokey" at secret/data/db`}},
		{"bad references all reported", []string{"A=secrets-store:secret/data/db", "B=secrets-store:/abs#k"}, nil,
			[]string{"variable A: reference", "has no key", "variable B: reference", "must be relative"}},
		{"env-from-path denied", nil, []envref.Secret{{Path: "secret/data/admin"}}, []string{"env-from-path secret/data/admin: read secret/data/admin: permission denied"}},
		{"env-from-path sets LD_PRELOAD", nil, []envref.Secret{{Path: "secret/data/loader"}}, []string{`env-from-path secret/data/loader: key "LD_PRELOAD" may not be set from the store: it changes what the dynamic loader loads`}},
		{"env-from-path sets PATH", nil, []envref.Secret{{Path: "secret/data/team"}, {Path: "secret/data/path"}}, []string{`env-from-path secret/data/path: key "PATH" may not be set from the store: it chooses which program runs`}},
		{"env-from-path sets GCONV_PATH", nil, []envref.Secret{{Path: "secret/data/gconv"}}, []string{`key "GCONV_PATH" may not be set from the store: it makes libc load or read a file`}},
		{"env-from-path sets MALLOC_*", nil, []envref.Secret{{Path: "secret/data/malloc"}}, []string{`key "MALLOC_ARENA_MAX" may not be set from the store: it configures the C allocator`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Build(context.Background(), newFake(), tt.environ, Options{EnvFromPath: tt.from})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error holds a value: %v", err)
			}
		})
	}
}

func TestDigestFollowsStoreValuesOnly(t *testing.T) {
	f := newFake()
	environ := []string{"A=secrets-store:secret/data/db#password", "PLAIN=1"}
	first, err := Build(context.Background(), f, environ, Options{})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Build(context.Background(), f, environ, Options{})
	if first.Digest != again.Digest {
		t.Fatal("digest differs for the same values")
	}
	f.secrets["secret/data/db"].Data["user"] = "unused key changed"
	unused, _ := Build(context.Background(), f, environ, Options{})
	if unused.Digest != first.Digest {
		t.Fatal("a key no variable uses changed the digest")
	}
	f.secrets["secret/data/db"].Data["password"] = "rotated"
	changed, _ := Build(context.Background(), f, environ, Options{})
	if changed.Digest == first.Digest {
		t.Fatal("digest did not change with the value")
	}
}

// secrets-store:login hands the store token over, whole or inline; the
// result says so (the injector then keeps the token) and a new token is
// not a change of the data.
func TestBuildLogin(t *testing.T) {
	environ := []string{"VAULT_TOKEN=secrets-store:login", "AUTH=Bearer ${secrets-store:login}", "U=secrets-store:secret/data/db#user"}
	build := func(tok string) Result {
		t.Helper()
		res, err := Build(context.Background(), newFake(), environ, Options{
			Token: func(context.Context) (string, error) { return tok, nil },
		})
		if err != nil {
			t.Fatalf("Build: %v", err)
		}
		return res
	}
	first, second := build("hvs.first"), build("hvs.second")
	want := []string{"AUTH=Bearer hvs.first", "U=app", "VAULT_TOKEN=hvs.first"}
	if strings.Join(first.Env, "\n") != strings.Join(want, "\n") {
		t.Errorf("Env = %q, want %q", first.Env, want)
	}
	if !first.TokenHanded {
		t.Errorf("TokenHanded = false")
	}
	if first.Digest != second.Digest {
		t.Errorf("a new store token changed the digest: watch-for-data would restart the application every poll")
	}
	if res, _ := Build(context.Background(), newFake(), []string{"U=secrets-store:secret/data/db#user"}, Options{}); res.TokenHanded {
		t.Errorf("TokenHanded without secrets-store:login")
	}
	if _, err := Build(context.Background(), newFake(), environ, Options{}); err == nil {
		t.Errorf("Build without a token source succeeded")
	}
}

// A write is one PUT with its JSON body, however many variables use it;
// its lease is kept like a read's, and a new certificate at a rebuild is
// not a change.
func TestBuildWrite(t *testing.T) {
	environ := []string{
		`CERT=>>secrets-store:pki/issue/web#certificate#{"common_name":"a.example.com"}`,
		`KEY=k:${>>secrets-store:pki/issue/web#private_key#{"common_name":"a.example.com"}}`,
	}
	f := newFake()
	res, err := Build(context.Background(), f, environ, Options{})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if want := []string{"CERT=CERT", "KEY=k:KEY"}; strings.Join(res.Env, "\n") != strings.Join(want, "\n") {
		t.Errorf("Env = %q, want %q", res.Env, want)
	}
	if len(f.requests) != 1 || f.requests[0].Method != "PUT" || f.requests[0].Args["common_name"] != "a.example.com" {
		t.Fatalf("requests = %+v, want one PUT with the body", f.requests)
	}
	if len(res.Leases) != 1 || res.Leases[0].ID != "pki/issue/web/1" {
		t.Errorf("leases = %+v", res.Leases)
	}
	f.secrets[">>pki/issue/web"].Data["certificate"] = "NEW-CERT"
	again, err := Build(context.Background(), f, environ, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Digest != res.Digest {
		t.Errorf("a newly issued certificate changed the digest: watch-for-data would restart at every poll")
	}
}
