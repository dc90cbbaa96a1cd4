// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package csidriver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"google.golang.org/grpc"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/secrets-store-csi-driver/provider/v1alpha1"

	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// The sources the main specs leave out, each read by the real provider
// from the real Vault and written by the driver: a KV v1 key, a pinned KV v2
// version beside the latest one, binary files stored as base64 and as hex,
// and modes other than the default.
var _ = Describe("CSI node driver, remaining sources", func() {
	const (
		srcNS     = "sources"
		srcSA     = "sources-app"
		srcRole   = "sources"
		srcPolicy = "sources-read"
		srcGID    = 3000
	)

	It("delivers a KV v1 key, a pinned KV v2 version (version and path's ?version=N), base64 and hex binaries with their modes, and unpublishes", func(ctx SpecContext) {
		_, err := env.CreateServiceAccount(ctx, srcNS, srcSA)
		Expect(err).NotTo(HaveOccurred())
		Expect(env.WritePolicy(ctx, srcPolicy, `
path "kv1/sources" { capabilities = ["read"] }
path "secret/data/sources" { capabilities = ["read"] }
path "secret/data/sources-bin" { capabilities = ["read"] }
`)).To(Succeed())
		Expect(env.WriteKubernetesRole(ctx, srcRole, testenv.KubernetesRole{
			ServiceAccounts: []string{srcSA}, Namespaces: []string{srcNS}, Policies: []string{srcPolicy},
			Audience: "vault", TTL: 10 * time.Minute,
		})).To(Succeed())

		// Random values: a file left from another run or another spec
		// cannot match by chance.
		kv1Value := "kv1-" + hex.EncodeToString(randomBytes(8))
		first, second := "first-"+hex.EncodeToString(randomBytes(8)), "second-"+hex.EncodeToString(randomBytes(8))
		// 0xff and 0xfe never occur in UTF-8: the bytes must go through
		// as bytes, not as text.
		blob := append([]byte{0xff, 0xfe, 0x00}, randomBytes(61)...)
		hexBlob := append([]byte{0xc3, 0x28, 0x00}, randomBytes(29)...)
		Expect(utf8.Valid(blob)).To(BeFalse())
		Expect(utf8.Valid(hexBlob)).To(BeFalse())

		Expect(env.Vault.KVv1(testenv.KVv1Mount).Put(ctx, "sources", map[string]any{"token": kv1Value})).To(Succeed())
		kv2 := env.Vault.KVv2(testenv.KVMount)
		v, err := kv2.Put(ctx, "sources", map[string]any{"password": first})
		Expect(err).NotTo(HaveOccurred())
		Expect(v.VersionMetadata.Version).To(Equal(1), "the pinned version must be the first one written")
		_, err = kv2.Put(ctx, "sources", map[string]any{"password": second})
		Expect(err).NotTo(HaveOccurred())
		_, err = kv2.Put(ctx, "sources-bin", map[string]any{
			"bin": base64.StdEncoding.EncodeToString(blob),
			"hex": hex.EncodeToString(hexBlob),
		})
		Expect(err).NotTo(HaveOccurred())

		Expect(components.ApplyImport(ctx, env, srcNS, "sources", map[string]any{
			"type": "CSI", "role": srcRole, "address": env.VaultAddr, "caCert": string(env.VaultCAPEM),
			"files": []any{
				map[string]any{"name": "v1/token", "source": map[string]any{"path": testenv.KVv1Mount + "/sources", "key": "token"}},
				map[string]any{"name": "pinned", "source": map[string]any{"path": "secret/data/sources", "key": "password", "version": 1}},
				// vault-csi-provider's form of the same pin.
				map[string]any{"name": "pinned-query", "source": map[string]any{"path": "secret/data/sources?version=1", "key": "password"}},
				// The latest beside the pinned one: pinning is per file.
				map[string]any{"name": "latest", "source": map[string]any{"path": "secret/data/sources", "key": "password"}},
				map[string]any{"name": "keys/blob.bin", "decodeBase64": true, "mode": 0o400,
					"source": map[string]any{"path": "secret/data/sources-bin", "key": "bin"}},
				map[string]any{"name": "keys/blob-hex.bin", "encoding": "hex", "mode": 0o440,
					"source": map[string]any{"path": "secret/data/sources-bin", "key": "hex"}},
			},
		})).To(Succeed())

		pod := components.Pod{Name: "sources-0", Namespace: srcNS, UID: "6f2c1d0e-0101", ServiceAccount: srcSA, FSGroup: fmt.Sprint(srcGID)}
		vol := newVolume("sources")
		// Unpublish is idempotent: after a failed assertion this still
		// leaves nothing mounted.
		DeferCleanup(func(ctx SpecContext) { Expect(kubelet.Unpublish(ctx, vol)).To(Succeed()) })
		Expect(kubelet.Publish(ctx, vol, pod, "sources")).To(Succeed())

		Expect(mountType(vol.Target)).To(HavePrefix("tmpfs "))
		Expect(files(vol.Target)).To(Equal([]string{"keys/blob-hex.bin", "keys/blob.bin", "latest", "pinned", "pinned-query", "v1/token"}))
		Expect(read(filepath.Join(vol.Target, "v1/token"))).To(Equal(kv1Value))
		Expect(read(filepath.Join(vol.Target, "pinned"))).To(Equal(first))
		Expect(read(filepath.Join(vol.Target, "pinned-query"))).To(Equal(first))
		Expect(read(filepath.Join(vol.Target, "latest"))).To(Equal(second))
		for name, want := range map[string][]byte{"keys/blob.bin": blob, "keys/blob-hex.bin": hexBlob} {
			got, err := os.ReadFile(filepath.Join(vol.Target, name))
			Expect(err).NotTo(HaveOccurred())
			// bytes.Equal, not string matchers: the exact bytes, no
			// trailing newline, no UTF-8 replacement characters.
			Expect(bytes.Equal(got, want)).To(BeTrue(), "%s: got %x, want %x", name, got, want)
		}
		modes := map[string]os.FileMode{
			"v1/token": 0o644, "pinned": 0o644, "latest": 0o644, "keys/blob.bin": 0o440, // 0400 asked, g+r from the fsGroup "keys/blob-hex.bin": 0o440,
		}
		for name, mode := range modes {
			info, err := os.Stat(filepath.Join(vol.Target, name))
			Expect(err).NotTo(HaveOccurred())
			Expect(info.Mode().Perm()).To(Equal(mode), name)
			Expect(info.Sys().(*syscall.Stat_t).Gid).To(BeEquivalentTo(srcGID), name)
		}

		Expect(kubelet.Unpublish(ctx, vol)).To(Succeed())
		expectCleanedUp(vol)
	})
})

// The driver under a provider that is not ours: an in-test server of the
// upstream provider protocol, behaving as upstream providers do, on a
// socket folder and under a name of its own, with a second driver process
// configured for it.
var _ = Describe("CSI node driver with an upstream-protocol provider", func() {
	const (
		upNS       = "upstream"
		upSA       = "upstream-app"
		upRole     = "upstream-role"
		upProvider = "fake-upstream"
	)

	It("publishes its files with modes, passes the pod and the parameters, rotates changed content and unpublishes", func(ctx SpecContext) {
		_, err := env.CreateServiceAccount(ctx, upNS, upSA)
		Expect(err).NotTo(HaveOccurred())
		// The provider ignores the role; the driver still requires one.
		Expect(components.ApplyImport(ctx, env, upNS, "upstream", map[string]any{
			"type": "CSI", "role": upRole,
			"files": []any{
				map[string]any{"name": "app.conf", "mode": 0o440, "source": map[string]any{"path": "secret/data/upstream", "key": "conf"}},
				map[string]any{"name": "nested/token", "source": map[string]any{"path": "secret/data/upstream", "key": "token"}},
			},
		})).To(Succeed())

		By("serving the upstream protocol on <dir>/" + upProvider + ".sock")
		// A folder of its own, not the main driver's, so the name and the
		// folder are both what the second driver is told.
		provDir, err := os.MkdirTemp("", "ssi-upstream-*")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(os.RemoveAll, provDir)
		fake := &upstreamProvider{generation: 1}
		lis, err := net.Listen("unix", filepath.Join(provDir, upProvider+".sock"))
		Expect(err).NotTo(HaveOccurred())
		srv := grpc.NewServer()
		v1alpha1.RegisterCSIDriverProviderServer(srv, fake)
		go func() { _ = srv.Serve(lis) }()
		DeferCleanup(srv.Stop)

		By("starting a second driver for that provider")
		drv, err := components.StartDriver(ctx, components.DriverConfig{
			// Build writes the binaries into the suite's work folder under
			// their package names.
			Binary: filepath.Join(work, "csi-driver"), Socket: filepath.Join(work, "upstream-csi.sock"),
			Kubeconfig: env.Kubeconfig, ProviderDir: provDir, Provider: upProvider, NodeID: "node-2",
			RotationInterval: rotationInterval, Log: GinkgoWriter,
		})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(drv.Stop)
		kl, err := components.NewKubelet(env, drv.Socket, filepath.Join(work, "upstream"))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(kl.Close)

		pod := components.Pod{Name: "upstream-0", Namespace: upNS, UID: "6f2c1d0e-0201", ServiceAccount: upSA}
		vol, err := kl.NewVolume("upstream")
		Expect(err).NotTo(HaveOccurred())
		// Registered after drv.Stop, so it runs before it.
		DeferCleanup(func(ctx SpecContext) { Expect(kl.Unpublish(ctx, vol)).To(Succeed()) })

		By("publishing")
		Expect(kl.Publish(ctx, vol, pod, "upstream")).To(Succeed())
		Expect(mountType(vol.Target)).To(HavePrefix("tmpfs "))
		Expect(files(vol.Target)).To(Equal([]string{"app.conf", "nested/token"}))
		Expect(read(filepath.Join(vol.Target, "app.conf"))).To(Equal("secret/data/upstream#conf@v1"))
		Expect(read(filepath.Join(vol.Target, "nested/token"))).To(Equal("secret/data/upstream#token@v1"))
		for name, mode := range map[string]os.FileMode{"app.conf": 0o440, "nested/token": 0o644} {
			info, err := os.Stat(filepath.Join(vol.Target, name))
			Expect(err).NotTo(HaveOccurred())
			Expect(info.Mode().Perm()).To(Equal(mode), name)
		}

		By("checking what the provider was sent")
		reqs := fake.requests()
		Expect(reqs).To(HaveLen(1))
		attrs := reqs[0].attrs
		Expect(attrs).To(HaveKeyWithValue("csi.storage.k8s.io/pod.name", pod.Name))
		Expect(attrs).To(HaveKeyWithValue("csi.storage.k8s.io/pod.namespace", upNS))
		Expect(attrs).To(HaveKeyWithValue("csi.storage.k8s.io/pod.uid", pod.UID))
		Expect(attrs).To(HaveKeyWithValue("csi.storage.k8s.io/serviceAccount.name", upSA))
		var tokens map[string]struct {
			Token string `json:"token"`
		}
		Expect(json.Unmarshal([]byte(attrs["csi.storage.k8s.io/serviceAccount.tokens"]), &tokens)).To(Succeed())
		Expect(tokens).To(HaveKey(components.Audience))
		Expect(tokens[components.Audience].Token).To(HavePrefix("eyJ"), "a JWT from the TokenRequest API")
		Expect(attrs).To(HaveKeyWithValue("roleName", upRole))
		Expect(reqs[0].objects).To(Equal([]upstreamObject{
			{ObjectName: "app.conf", SecretPath: "secret/data/upstream", SecretKey: "conf", FilePermission: 0o440},
			{ObjectName: "nested/token", SecretPath: "secret/data/upstream", SecretKey: "token"},
		}))
		// Our extension is sent; the provider ignores it and returns all
		// files anyway, which the driver must cope with.
		Expect(attrs).To(HaveKeyWithValue("keepUnchangedFiles", "true"))
		Expect(reqs[0].permission).To(Equal(os.FileMode(0o644)))

		By("a republish after the interval with unchanged versions rewrites nothing")
		before, err := os.Readlink(filepath.Join(vol.Target, "..data"))
		Expect(err).NotTo(HaveOccurred())
		time.Sleep(rotationInterval + 500*time.Millisecond)
		Expect(kl.Publish(ctx, vol, pod, "upstream")).To(Succeed())
		reqs = fake.requests()
		Expect(reqs).To(HaveLen(2), "the driver asked again after the interval")
		Expect(reqs[1].current).To(Equal(map[string]string{"app.conf": "v1", "nested/token": "v1"}))
		after, err := os.Readlink(filepath.Join(vol.Target, "..data"))
		Expect(err).NotTo(HaveOccurred())
		Expect(after).To(Equal(before))

		By("the provider's content changes")
		fake.setGeneration(2)
		Eventually(ctx, func() string {
			Expect(kl.Publish(ctx, vol, pod, "upstream")).To(Succeed())
			return read(filepath.Join(vol.Target, "app.conf"))
		}).WithTimeout(30 * time.Second).WithPolling(500 * time.Millisecond).Should(Equal("secret/data/upstream#conf@v2"))
		Expect(read(filepath.Join(vol.Target, "nested/token"))).To(Equal("secret/data/upstream#token@v2"))
		info, err := os.Stat(filepath.Join(vol.Target, "app.conf"))
		Expect(err).NotTo(HaveOccurred())
		Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o440)))

		By("unpublishing")
		Expect(kl.Unpublish(ctx, vol)).To(Succeed())
		expectCleanedUp(vol)
	})
})

// expectCleanedUp checks that an unpublished volume left nothing: no mount,
// no target, no state file.
func expectCleanedUp(v components.Volume) {
	GinkgoHelper()
	Expect(mountType(v.Target)).To(BeEmpty())
	_, err := os.Stat(v.Target)
	Expect(errors.Is(err, os.ErrNotExist)).To(BeTrue(), "target stays: %v", err)
	_, err = os.Stat(v.Target + ".secrets-store.json")
	Expect(errors.Is(err, os.ErrNotExist)).To(BeTrue(), "state stays: %v", err)
}

func randomBytes(n int) []byte {
	GinkgoHelper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	Expect(err).NotTo(HaveOccurred())
	return b
}

// upstreamObject is what an upstream provider (vault-csi-provider) reads of
// each entry of the objects attribute; other fields it does not know.
type upstreamObject struct {
	ObjectName     string      `json:"objectName"`
	SecretPath     string      `json:"secretPath"`
	SecretKey      string      `json:"secretKey,omitempty"`
	FilePermission os.FileMode `json:"filePermission,omitempty"`
}

// upstreamRequest is one Mount call as the provider understood it.
type upstreamRequest struct {
	attrs      map[string]string
	objects    []upstreamObject
	permission os.FileMode
	// current is CurrentObjectVersion by id.
	current map[string]string
}

// upstreamProvider serves the provider protocol as upstream providers do:
// it knows nothing of our extensions, returns every file on every Mount
// and versions each object by its name. A file's content is its secret
// path and key with the generation, so a test sees both the translation
// and a change.
type upstreamProvider struct {
	v1alpha1.UnimplementedCSIDriverProviderServer

	mu         sync.Mutex
	generation int
	calls      []upstreamRequest
}

func (p *upstreamProvider) Version(context.Context, *v1alpha1.VersionRequest) (*v1alpha1.VersionResponse, error) {
	return &v1alpha1.VersionResponse{Version: "v1alpha1", RuntimeName: "fake-upstream", RuntimeVersion: "0.0.1"}, nil
}

func (p *upstreamProvider) Mount(_ context.Context, req *v1alpha1.MountRequest) (*v1alpha1.MountResponse, error) {
	var r upstreamRequest
	if err := json.Unmarshal([]byte(req.GetAttributes()), &r.attrs); err != nil {
		return nil, fmt.Errorf("decode attributes: %w", err)
	}
	if err := json.Unmarshal([]byte(req.GetPermission()), &r.permission); err != nil {
		return nil, fmt.Errorf("decode permission: %w", err)
	}
	if err := utilyaml.Unmarshal([]byte(r.attrs["objects"]), &r.objects); err != nil {
		return nil, fmt.Errorf("decode objects: %w", err)
	}
	r.current = map[string]string{}
	for _, v := range req.GetCurrentObjectVersion() {
		r.current[v.GetId()] = v.GetVersion()
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, r)
	version := fmt.Sprintf("v%d", p.generation)
	resp := &v1alpha1.MountResponse{}
	for _, o := range r.objects {
		mode := r.permission
		if o.FilePermission != 0 {
			mode = o.FilePermission
		}
		resp.Files = append(resp.Files, &v1alpha1.File{
			Path: o.ObjectName, Mode: int32(mode), Contents: []byte(o.SecretPath + "#" + o.SecretKey + "@" + version),
		})
		resp.ObjectVersion = append(resp.ObjectVersion, &v1alpha1.ObjectVersion{Id: o.ObjectName, Version: version})
	}
	return resp, nil
}

func (p *upstreamProvider) setGeneration(g int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.generation = g
}

func (p *upstreamProvider) requests() []upstreamRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]upstreamRequest(nil), p.calls...)
}
