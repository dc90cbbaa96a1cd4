// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package provider

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	pb "sigs.k8s.io/secrets-store-csi-driver/provider/v1alpha1"

	"github.com/deckhouse/secrets-store-integration/images/internal/params"
	"github.com/deckhouse/secrets-store-integration/images/internal/store"
	"github.com/deckhouse/secrets-store-integration/images/internal/store/storetest"
	"github.com/deckhouse/secrets-store-integration/images/internal/storepolicy"
)

func attributes(t *testing.T, addr, pod, sa, objects string, extra map[string]string) string {
	t.Helper()
	tokens, _ := json.Marshal(map[string]any{"vault": map[string]string{"token": storetest.JWT("demo", sa)}})
	a := map[string]string{
		"csi.storage.k8s.io/pod.name": pod, "csi.storage.k8s.io/pod.namespace": "demo",
		"csi.storage.k8s.io/serviceAccount.name": sa, "csi.storage.k8s.io/serviceAccount.tokens": string(tokens),
		"roleName": "app", "vaultAddress": addr, "objects": objects, "source": "SecretsStoreImport demo/app",
	}
	for k, v := range extra {
		a[k] = v
	}
	b, _ := json.Marshal(a)
	return string(b)
}

// newTestServer returns a provider whose default store is addr; requests
// may also name audience "other".
func newTestServer(t *testing.T, addr string, ttl time.Duration, now func() time.Time) (*Server, *Metrics) {
	t.Helper()
	m := NewMetrics(prometheus.NewRegistry())
	pol := storepolicy.Policy{DefaultAddress: addr, AllowedAudiences: []string{params.DefaultAudience, "other"}}
	s, err := NewServer(Config{Store: store.New(store.Options{Observer: m}), Metrics: m, ReadCacheTTL: ttl, Policy: pol,
		VersionKey: []byte("0123456789abcdef"), Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return s, m
}

func TestMountSharesStaticReadsNotDynamicOnes(t *testing.T) {
	srv := storetest.New(t)
	s, m := newTestServer(t, srv.URL, time.Minute, nil)
	ctx := context.Background()
	objects := `[{"objectName":"p","secretPath":"secret/data/app","secretKey":"password"},
{"objectName":"u","secretPath":"dynamic/creds","secretKey":"user"}]`
	users := map[string]bool{}
	for _, pod := range []string{"a", "b", "c"} {
		resp, err := s.Mount(ctx, &pb.MountRequest{Attributes: attributes(t, srv.URL, pod, "app", objects, nil), Permission: "420"})
		if err != nil {
			t.Fatalf("Mount %s: %v", pod, err)
		}
		for _, f := range resp.Files {
			if f.Path == "u" {
				users[string(f.Contents)] = true
			}
		}
	}
	if n := srv.Count("GET /v1/secret/data/app"); n != 1 {
		t.Errorf("static secret read %d times for three pods of one identity, want 1", n)
	}
	if n := srv.Count("GET /v1/dynamic/creds"); n != 3 || len(users) != 3 {
		t.Errorf("dynamic secret read %d times, %d distinct users; want 3 and 3", n, len(users))
	}
	if n := srv.Logins(); n != 1 {
		t.Errorf("logins %d, want 1 (token cache)", n)
	}
	if got := testutil.ToFloat64(m.sharedHits); got != 2 {
		t.Errorf("shared read hits %v, want 2", got)
	}

	// Another service account reads for itself.
	if _, err := s.Mount(ctx, &pb.MountRequest{Attributes: attributes(t, srv.URL, "d", "other", objects, nil)}); err != nil {
		t.Fatal(err)
	}
	if n := srv.Count("GET /v1/secret/data/app"); n != 2 {
		t.Errorf("static secret read %d times after another identity, want 2", n)
	}
}

func TestMountKeepsFreshLeasesOnlyWhenAsked(t *testing.T) {
	srv := storetest.New(t)
	now := time.Unix(1_000_000, 0)
	s, _ := newTestServer(t, srv.URL, 0, func() time.Time { return now })
	ctx := context.Background()
	objects := `[{"objectName":"u","secretPath":"dynamic/creds","secretKey":"user"}]`
	first, err := s.Mount(ctx, &pb.MountRequest{Attributes: attributes(t, srv.URL, "a", "app", objects, nil)})
	if err != nil {
		t.Fatal(err)
	}
	v := first.ObjectVersion[0].Version
	if !strings.HasPrefix(v, "lease:1000000:1003600:") {
		t.Fatalf("version %q", v)
	}
	keep := map[string]string{"keepUnchangedFiles": "true"}
	cases := []struct {
		name      string
		extra     map[string]string
		after     time.Duration
		wantFiles int
	}{
		{"our driver, fresh lease", keep, 30 * time.Minute, 0},
		{"our driver, last third", keep, 41 * time.Minute, 1},
		{"upstream driver", nil, 0, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			now = time.Unix(1_000_000, 0).Add(c.after)
			before := srv.Count("GET /v1/dynamic/creds")
			resp, err := s.Mount(ctx, &pb.MountRequest{Attributes: attributes(t, srv.URL, "a", "app", objects, c.extra),
				CurrentObjectVersion: first.ObjectVersion})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Files) != c.wantFiles || srv.Count("GET /v1/dynamic/creds")-before != c.wantFiles {
				t.Errorf("files %d, reads %d; want %d", len(resp.Files), srv.Count("GET /v1/dynamic/creds")-before, c.wantFiles)
			}
			if len(resp.ObjectVersion) != 1 || (c.wantFiles == 0 && resp.ObjectVersion[0].Version != v) {
				t.Errorf("versions %v", resp.ObjectVersion)
			}
		})
	}
}

func TestMountErrors(t *testing.T) {
	srv := storetest.New(t)
	s, m := newTestServer(t, srv.URL, time.Minute, nil)
	cases := []struct {
		name    string
		attrs   string
		code    codes.Code
		message string
	}{
		{"missing key", attributes(t, srv.URL, "a", "app", `[{"objectName":"p","secretPath":"secret/data/app","secretKey":"pass","ref":"files[2]"}]`, nil),
			codes.InvalidArgument, `SecretsStoreImport demo/app: files[2]: key "pass" not found at secret/data/app`},
		{"missing secret", attributes(t, srv.URL, "a", "app", `[{"objectName":"p","secretPath":"nothing/here","ref":"files[0]"}]`, nil),
			codes.NotFound, `SecretsStoreImport demo/app: files[0]: read nothing/here: HTTP 404`},
		{"bad attributes", `{"roleName":""}`, codes.InvalidArgument, "roleName is empty"},
		{"no store address", attributes(t, "", "a", "app", `[{"objectName":"p","secretPath":"x"}]`, nil),
			codes.InvalidArgument, "SecretsStoreImport demo/app: no store address"},
		{"login refused", attributes(t, srv.URL, "a", "app", `[{"objectName":"p","secretPath":"x"}]`, map[string]string{"roleName": storetest.RefusedRole}),
			codes.PermissionDenied, `SecretsStoreImport demo/app: log in as role "refused"`},
		{"address not allowed", attributes(t, "https://elsewhere.example", "a", "app", `[{"objectName":"p","secretPath":"x"}]`, nil),
			codes.PermissionDenied, `SecretsStoreImport demo/app: spec.address "https://elsewhere.example" is not allowed`},
		{"audience not allowed", attributes(t, srv.URL, "a", "app", `[{"objectName":"p","secretPath":"x"}]`, map[string]string{"audience": "kubernetes"}),
			codes.PermissionDenied, `SecretsStoreImport demo/app: spec.audience "kubernetes" is not allowed`},
		{"no token", attributes(t, srv.URL, "a", "app", `[{"objectName":"p","secretPath":"x"}]`, map[string]string{"audience": "other"}),
			codes.InvalidArgument, `no service-account token for audience "other"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Mount(context.Background(), &pb.MountRequest{Attributes: c.attrs})
			if status.Code(err) != c.code || !strings.Contains(status.Convert(err).Message(), c.message) {
				t.Fatalf("error %v, want code %v with %q", err, c.code, c.message)
			}
			if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "c2ln") {
				t.Errorf("error reveals a value or token: %v", err)
			}
		})
	}
	if got := testutil.ToFloat64(m.mountErrors.WithLabelValues("render")); got != 1 {
		t.Errorf("render errors %v, want 1", got)
	}
}

// TestMountVaultCSIProviderForms: a request in vault-csi-provider's form (no
// source attribute) gets its outputs: "?version=N" reads that version, an
// object without secretKey is the whole response. A SecretsStoreImport's
// request keeps the data alone.
func TestMountVaultCSIProviderForms(t *testing.T) {
	srv := storetest.New(t)
	s, _ := newTestServer(t, srv.URL, 0, nil)
	var logs strings.Builder
	s.cfg.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	objects := `[{"objectName":"old","secretPath":"secret/data/app?version=1","secretKey":"password"},
{"objectName":"new","secretPath":"secret/data/app","secretKey":"password"},
{"objectName":"all.json","secretPath":"secret/data/app"}]`
	cases := []struct {
		name    string
		source  string
		wantAll string
	}{
		{"vault-csi-provider's form", "",
			`{"request_id":"req-1","lease_id":"","lease_duration":0,"renewable":false,"data":{"data":{"password":"s3cr3t"},"metadata":{"version":2}},"warnings":null}`},
		{"SecretsStoreImport", "SecretsStoreImport demo/app", `{"password":"s3cr3t"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := s.Mount(context.Background(), &pb.MountRequest{
				Attributes: attributes(t, srv.URL, "a", "app", objects, map[string]string{"source": c.source})})
			if err != nil {
				t.Fatal(err)
			}
			files := map[string]string{}
			for _, f := range resp.Files {
				files[f.Path] = string(f.Contents)
			}
			want := map[string]string{"old": "old-s3cr3t", "new": "s3cr3t", "all.json": c.wantAll}
			for name, content := range want {
				if files[name] != content {
					t.Errorf("file %s = %s, want %s", name, files[name], content)
				}
			}
		})
	}
	if strings.Contains(logs.String(), "s3cr3t") {
		t.Errorf("a value reached the log:\n%s", logs.String())
	}
}
