// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package driver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	provider "sigs.k8s.io/secrets-store-csi-driver/provider/v1alpha1"

	"github.com/deckhouse/secrets-store-integration/images/api/v1alpha1"
	"github.com/deckhouse/secrets-store-integration/images/csi-driver/internal/imports"
	"github.com/deckhouse/secrets-store-integration/images/csi-driver/internal/metrics"
	"github.com/deckhouse/secrets-store-integration/images/csi-driver/internal/state"
	"github.com/deckhouse/secrets-store-integration/images/internal/params"
)

// fakeMounter only records mount points, so these tests need no root.
type fakeMounter struct {
	mu      sync.Mutex
	mounted map[string]bool
	mounts  int
}

func (f *fakeMounter) Mount(dir string, _ int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mounted[dir] = true
	f.mounts++
	return nil
}

func (f *fakeMounter) Unmount(dir string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.mounted, dir)
	// A real unmount drops the tmpfs content.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		_ = os.RemoveAll(filepath.Join(dir, e.Name()))
	}
	return nil
}

func (f *fakeMounter) IsMounted(dir string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mounted[dir], nil
}

type fakeImports map[string]*v1alpha1.SecretsStoreImport

func (f fakeImports) Get(_ context.Context, ns, name string) (*v1alpha1.SecretsStoreImport, error) {
	if s, ok := f[ns+"/"+name]; ok {
		return s, nil
	}
	return nil, imports.ErrNotFound
}

// fakeProvider serves values by file name, with a version per value, and
// leaves out unchanged files as our provider does with keepUnchangedFiles.
type fakeProvider struct {
	mu       sync.Mutex
	values   map[string]string
	files    []string // names to return, in order
	err      error
	calls    int
	lastReq  *provider.MountRequest
	badNames []string
}

func (f *fakeProvider) Mount(_ context.Context, req *provider.MountRequest) (*provider.MountResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.lastReq = req
	if f.err != nil {
		return nil, f.err
	}
	current := map[string]string{}
	for _, v := range req.GetCurrentObjectVersion() {
		current[v.GetId()] = v.GetVersion()
	}
	resp := &provider.MountResponse{}
	for _, name := range f.files {
		v := "v-" + f.values[name]
		resp.ObjectVersion = append(resp.ObjectVersion, &provider.ObjectVersion{Id: name, Version: v})
		if current[name] == v {
			continue
		}
		resp.Files = append(resp.Files, &provider.File{Path: name, Mode: 0o440, Contents: []byte(f.values[name])})
	}
	for _, name := range f.badNames {
		resp.Files = append(resp.Files, &provider.File{Path: name, Contents: []byte("x")})
	}
	return resp, nil
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

type fixture struct {
	node     *Node
	mounter  *fakeMounter
	provider *fakeProvider
	clock    *clock
	dir      string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		mounter:  &fakeMounter{mounted: map[string]bool{}},
		provider: &fakeProvider{values: map[string]string{"a": "1", "db/b": "2"}, files: []string{"a", "db/b"}},
		clock:    &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		dir:      t.TempDir(),
	}
	ssi := &v1alpha1.SecretsStoreImport{
		ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "app"},
		Spec: v1alpha1.Spec{Type: "CSI", Role: "app", Files: []v1alpha1.File{
			{Name: "a", Source: v1alpha1.Source{Path: "secret/data/a", Key: "k"}},
			{Name: "db/b", Source: v1alpha1.Source{Path: "secret/data/b", Key: "k"}},
		}},
	}
	f.node = NewNode(Config{
		NodeID: "node-1", ProviderName: "provider fake", RotationInterval: 2 * time.Minute,
		Imports: fakeImports{"demo/app": ssi}, Provider: f.provider, Mounter: f.mounter,
		Metrics: metrics.New(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: f.clock.now,
	})
	return f
}

func (f *fixture) request(target string) *csi.NodePublishVolumeRequest {
	return &csi.NodePublishVolumeRequest{
		VolumeId:   "csi-vol-1",
		TargetPath: target,
		Readonly:   true,
		VolumeCapability: &csi.VolumeCapability{
			AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{}},
			AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
		},
		VolumeContext: map[string]string{
			"secretsStoreImport": "app", params.PodNamespace: "demo", params.PodName: "web",
			params.PodUID: "uid", params.ServiceAccountName: "app", params.Ephemeral: "true",
			params.ServiceAccountToken: `{"vault":{"token":"jwt-secret-token"}}`,
		},
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return string(data)
}

func TestPublishWritesFilesAndState(t *testing.T) {
	f := newFixture(t)
	target := filepath.Join(f.dir, "mount")
	if _, err := f.node.NodePublishVolume(context.Background(), f.request(target)); err != nil {
		t.Fatalf("publish: %v", err)
	}
	if read(t, filepath.Join(target, "a")) != "1" || read(t, filepath.Join(target, "db/b")) != "2" {
		t.Error("files not written")
	}
	var attrs map[string]string
	if err := json.Unmarshal([]byte(f.provider.lastReq.GetAttributes()), &attrs); err != nil {
		t.Fatal(err)
	}
	if attrs[params.KeepUnchangedFiles] != "true" || attrs[params.Source] != "SecretsStoreImport demo/app" || attrs[params.PodUID] != "uid" {
		t.Errorf("attributes %v", attrs)
	}
	if f.provider.lastReq.GetPermission() != "420" || f.provider.lastReq.GetTargetPath() != target {
		t.Errorf("request %v", f.provider.lastReq)
	}
	st, err := state.Load(target)
	if err != nil {
		t.Fatal(err)
	}
	if st.Import != "demo/app" || st.ObjectVersions["a"] != "v-1" || st.Pod.UID != "uid" {
		t.Errorf("state %+v", st)
	}
	raw := read(t, state.Path(target))
	if strings.Contains(raw, "jwt-secret-token") || strings.Contains(raw, `"1"`) && strings.Contains(raw, "contents") {
		t.Errorf("state holds secrets: %s", raw)
	}
}

func TestPublishIsIdempotentAndRotates(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	target := filepath.Join(f.dir, "mount")
	steps := []struct {
		name      string
		advance   time.Duration
		change    map[string]string
		err       error
		wantCalls int
		wantA     string
		wantCode  codes.Code
	}{
		{"first publish", 0, nil, nil, 1, "1", codes.OK},
		{"within interval: no work", time.Minute, nil, nil, 1, "1", codes.OK},
		{"after interval, unchanged", 2 * time.Minute, nil, nil, 2, "1", codes.OK},
		{"after interval, changed", 3 * time.Minute, map[string]string{"a": "one"}, nil, 3, "one", codes.OK},
		{"store refuses: old files stay", 3 * time.Minute, nil, status.Error(codes.PermissionDenied, "SecretsStoreImport demo/app: files[0]: permission denied"), 4, "one", codes.PermissionDenied},
		{"store back: next call rotates at once", time.Second, map[string]string{"a": "uno"}, nil, 5, "uno", codes.OK},
	}
	for _, s := range steps {
		f.clock.t = f.clock.t.Add(s.advance)
		for k, v := range s.change {
			f.provider.values[k] = v
		}
		f.provider.err = s.err
		_, err := f.node.NodePublishVolume(ctx, f.request(target))
		if status.Code(err) != s.wantCode {
			t.Fatalf("%s: code %v (%v), want %v", s.name, status.Code(err), err, s.wantCode)
		}
		if f.provider.calls != s.wantCalls {
			t.Errorf("%s: provider calls %d, want %d", s.name, f.provider.calls, s.wantCalls)
		}
		if got := read(t, filepath.Join(target, "a")); got != s.wantA {
			t.Errorf("%s: a = %q, want %q", s.name, got, s.wantA)
		}
		if got := read(t, filepath.Join(target, "db/b")); got != "2" {
			t.Errorf("%s: kept file db/b = %q", s.name, got)
		}
	}
	if f.mounter.mounts != 1 {
		t.Errorf("mounted %d times", f.mounter.mounts)
	}
}

func TestPublishFailureLeavesNothingMounted(t *testing.T) {
	cases := []struct {
		name     string
		mutate   func(*fixture, *csi.NodePublishVolumeRequest)
		wantCode codes.Code
		want     string
	}{
		{"provider refuses", func(f *fixture, _ *csi.NodePublishVolumeRequest) {
			f.provider.err = status.Error(codes.PermissionDenied, `SecretsStoreImport demo/app: login as role "app": permission denied`)
		}, codes.PermissionDenied, `SecretsStoreImport demo/app: login as role "app"`},
		{"provider down", func(f *fixture, _ *csi.NodePublishVolumeRequest) {
			f.provider.err = status.Error(codes.Unavailable, "connection refused")
		}, codes.Unavailable, "SecretsStoreImport demo/app: provider fake connection refused"},
		{"provider returns dot dot", func(f *fixture, _ *csi.NodePublishVolumeRequest) {
			f.provider.badNames = []string{"../escape"}
		}, codes.Internal, `returned a bad file name: "../escape" contains '..'`},
		{"provider returns absolute", func(f *fixture, _ *csi.NodePublishVolumeRequest) {
			f.provider.badNames = []string{"/etc/passwd"}
		}, codes.Internal, "is an absolute path"},
		{"unknown import", func(_ *fixture, r *csi.NodePublishVolumeRequest) {
			r.VolumeContext["secretsStoreImport"] = "nope"
		}, codes.NotFound, "SecretsStoreImport demo/nope not found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			target := filepath.Join(f.dir, "mount")
			req := f.request(target)
			c.mutate(f, req)
			_, err := f.node.NodePublishVolume(context.Background(), req)
			if status.Code(err) != c.wantCode || !strings.Contains(status.Convert(err).Message(), c.want) {
				t.Fatalf("error %v, want %v containing %q", err, c.wantCode, c.want)
			}
			if strings.Contains(err.Error(), "jwt-secret-token") {
				t.Error("error holds the token")
			}
			if m, _ := f.mounter.IsMounted(target); m {
				t.Error("target left mounted")
			}
			if _, err := os.Stat(state.Path(target)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("state left: %v", err)
			}
			if _, err := os.Stat(filepath.Join(target, "a")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("files left: %v", err)
			}
		})
	}
}

func TestPublishValidates(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name   string
		mutate func(*csi.NodePublishVolumeRequest)
		want   string
	}{
		{"no volume id", func(r *csi.NodePublishVolumeRequest) { r.VolumeId = "" }, "volume id"},
		{"no target", func(r *csi.NodePublishVolumeRequest) { r.TargetPath = "" }, "target path"},
		{"no capability", func(r *csi.NodePublishVolumeRequest) { r.VolumeCapability = nil }, "capability"},
		{"block", func(r *csi.NodePublishVolumeRequest) {
			r.VolumeCapability.AccessType = &csi.VolumeCapability_Block{Block: &csi.VolumeCapability_BlockVolume{}}
		}, "block"},
		{"no import", func(r *csi.NodePublishVolumeRequest) { delete(r.VolumeContext, "secretsStoreImport") }, "secretsStoreImport is missing"},
		{"no pod namespace", func(r *csi.NodePublishVolumeRequest) { delete(r.VolumeContext, params.PodNamespace) }, "podInfoOnMount"},
		{"bad fsGroup", func(r *csi.NodePublishVolumeRequest) { r.VolumeCapability.GetMount().VolumeMountGroup = "wheel" }, `volume mount group "wheel"`},
		{"writable", func(r *csi.NodePublishVolumeRequest) { r.Readonly = false },
			"SecretsStoreImport demo/app: the volume is not read-only: set readOnly: true on the pod's csi volume"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := f.request(filepath.Join(f.dir, "mount"))
			c.mutate(req)
			_, err := f.node.NodePublishVolume(context.Background(), req)
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want InvalidArgument containing %q", err, c.want)
			}
		})
	}
	if f.provider.calls != 0 || f.mounter.mounts != 0 {
		t.Error("invalid requests reached the provider or mounted")
	}
}

func TestUnpublishIsIdempotent(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	target := filepath.Join(f.dir, "mount")
	if _, err := f.node.NodePublishVolume(ctx, f.request(target)); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := f.node.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: "csi-vol-1", TargetPath: target}); err != nil {
			t.Fatalf("unpublish %d: %v", i, err)
		}
		if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("unpublish %d: target stays: %v", i, err)
		}
		if _, err := os.Stat(state.Path(target)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("unpublish %d: state stays: %v", i, err)
		}
	}
	for _, req := range []*csi.NodeUnpublishVolumeRequest{{TargetPath: target}, {VolumeId: "v"}} {
		if _, err := f.node.NodeUnpublishVolume(ctx, req); status.Code(err) != codes.InvalidArgument {
			t.Errorf("unpublish %v: %v", req, err)
		}
	}
}

func TestRestartKeepsRotating(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	target := filepath.Join(f.dir, "mount")
	if _, err := f.node.NodePublishVolume(ctx, f.request(target)); err != nil {
		t.Fatal(err)
	}
	// A new Node shares nothing in memory with the first: only the mount
	// and the state file beside it.
	restarted := NewNode(f.node.cfg)
	f.clock.t = f.clock.t.Add(time.Minute)
	if _, err := restarted.NodePublishVolume(ctx, f.request(target)); err != nil || f.provider.calls != 1 {
		t.Fatalf("within interval after restart: %v, calls %d", err, f.provider.calls)
	}
	f.clock.t = f.clock.t.Add(2 * time.Minute)
	f.provider.values["db/b"] = "two"
	if _, err := restarted.NodePublishVolume(ctx, f.request(target)); err != nil {
		t.Fatal(err)
	}
	if read(t, filepath.Join(target, "db/b")) != "two" || read(t, filepath.Join(target, "a")) != "1" {
		t.Error("rotation after restart did not apply the change")
	}
	if len(f.provider.lastReq.GetCurrentObjectVersion()) != 2 {
		t.Errorf("current versions not sent: %v", f.provider.lastReq.GetCurrentObjectVersion())
	}
}

func TestKeptFileMissingRefetchesAll(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	target := filepath.Join(f.dir, "mount")
	if _, err := f.node.NodePublishVolume(ctx, f.request(target)); err != nil {
		t.Fatal(err)
	}
	// Lose a file the provider will think we still have.
	data, _ := os.Readlink(filepath.Join(target, "..data"))
	if err := os.Remove(filepath.Join(target, data, "db/b")); err != nil {
		t.Fatal(err)
	}
	f.clock.t = f.clock.t.Add(3 * time.Minute)
	f.provider.values["a"] = "new"
	if _, err := f.node.NodePublishVolume(ctx, f.request(target)); err != nil {
		t.Fatal(err)
	}
	if read(t, filepath.Join(target, "db/b")) != "2" || read(t, filepath.Join(target, "a")) != "new" {
		t.Error("volume not rebuilt")
	}
	if f.provider.calls != 3 {
		t.Errorf("provider calls %d, want 3 (first, rotation, full re-fetch)", f.provider.calls)
	}
}
