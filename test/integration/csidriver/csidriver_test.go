// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package csidriver

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

const (
	ns       = "demo"
	appSA    = "app"
	otherSA  = "other"
	role     = "app"
	policy   = "app-read"
	readHCL  = `path "secret/data/app" { capabilities = ["read"] }`
	denyHCL  = `path "secret/data/app" { capabilities = ["deny"] }`
	fsGroup  = 2000
	password = "s3cr3t-from-vault"
)

var appPod = components.Pod{Name: "web-0", Namespace: ns, UID: "6f2c1d0e-0001", ServiceAccount: appSA, FSGroup: "2000"}

// appImport is the SecretsStoreImport most specs mount.
var appImport = map[string]any{
	"type": "CSI", "role": role, "address": "", "caCert": "",
	"files": []any{
		map[string]any{"name": "password", "mode": 0o440, "source": map[string]any{"path": "secret/data/app", "key": "password"}},
		map[string]any{"name": "db/user", "source": map[string]any{"path": "secret/data/app", "key": "user"}},
		map[string]any{"name": "all.json", "mode": 0o400, "source": map[string]any{"path": "secret/data/app"}},
	},
}

func putApp(ctx context.Context, pass string) {
	GinkgoHelper()
	_, err := env.Vault.KVv2(testenv.KVMount).Put(ctx, "app", map[string]any{"password": pass, "user": "alice"})
	Expect(err).NotTo(HaveOccurred())
}

var _ = Describe("CSI node driver", Ordered, func() {
	BeforeAll(func(ctx SpecContext) {
		for _, sa := range []string{appSA, otherSA} {
			_, err := env.CreateServiceAccount(ctx, ns, sa)
			Expect(err).NotTo(HaveOccurred())
		}
		Expect(env.WritePolicy(ctx, policy, readHCL)).To(Succeed())
		Expect(env.WriteKubernetesRole(ctx, role, testenv.KubernetesRole{
			ServiceAccounts: []string{appSA}, Namespaces: []string{ns}, Policies: []string{policy},
			Audience: "vault", TTL: 10 * time.Minute,
		})).To(Succeed())
		putApp(ctx, password)
		spec := map[string]any{}
		for k, v := range appImport {
			spec[k] = v
		}
		spec["address"], spec["caCert"] = env.VaultAddr, string(env.VaultCAPEM)
		Expect(components.ApplyImport(ctx, env, ns, "app", spec)).To(Succeed())
	})

	var app components.Volume

	It("mounts a tmpfs with the files, their modes and the pod's fsGroup", func(ctx SpecContext) {
		app = newVolume("app")
		Expect(kubelet.Publish(ctx, app, appPod, "app")).To(Succeed())

		Expect(mountType(app.Target)).To(HavePrefix("tmpfs "))
		Expect(mountType(app.Target)).To(And(ContainSubstring("nosuid"), ContainSubstring("nodev")))
		Expect(files(app.Target)).To(Equal([]string{"all.json", "db/user", "password"}))
		Expect(read(filepath.Join(app.Target, "password"))).To(Equal(password))
		Expect(read(filepath.Join(app.Target, "db/user"))).To(Equal("alice"))
		Expect(read(filepath.Join(app.Target, "all.json"))).To(MatchJSON(`{"password":"` + password + `","user":"alice"}`))

		// all.json asks 0400: with an fsGroup the group may always read.
		for name, mode := range map[string]os.FileMode{"password": 0o440, "db/user": 0o644, "all.json": 0o440} {
			info, err := os.Stat(filepath.Join(app.Target, name))
			Expect(err).NotTo(HaveOccurred())
			Expect(info.Mode().Perm()).To(Equal(mode), name)
			Expect(info.Sys().(*syscall.Stat_t).Gid).To(BeEquivalentTo(fsGroup), name)
		}
		link, err := os.Readlink(filepath.Join(app.Target, "..data"))
		Expect(err).NotTo(HaveOccurred())
		Expect(link).To(MatchRegexp(`^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.`))
		link, err = os.Readlink(filepath.Join(app.Target, "password"))
		Expect(err).NotTo(HaveOccurred())
		Expect(link).To(Equal("..data/password"))

		state := read(app.Target + ".secrets-store.json")
		Expect(state).To(ContainSubstring(`"import": "demo/app"`))
		Expect(state).NotTo(ContainSubstring(password))
		Expect(state).NotTo(ContainSubstring("eyJ"), "no token in the state file")
	})

	It("answers a second publish of the mounted target without work", func(ctx SpecContext) {
		before, err := os.Readlink(filepath.Join(app.Target, "..data"))
		Expect(err).NotTo(HaveOccurred())
		Expect(kubelet.Publish(ctx, app, appPod, "app")).To(Succeed())
		after, err := os.Readlink(filepath.Join(app.Target, "..data"))
		Expect(err).NotTo(HaveOccurred())
		Expect(after).To(Equal(before))
	})

	It("shows a changed value after the rotation interval", func(ctx SpecContext) {
		putApp(ctx, "rotated-1")
		Eventually(ctx, func() string {
			Expect(kubelet.Publish(ctx, app, appPod, "app")).To(Succeed())
			return read(filepath.Join(app.Target, "password"))
		}).WithTimeout(30 * time.Second).WithPolling(time.Second).Should(Equal("rotated-1"))
		info, err := os.Stat(filepath.Join(app.Target, "password"))
		Expect(err).NotTo(HaveOccurred())
		Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o440)))
		Expect(info.Sys().(*syscall.Stat_t).Gid).To(BeEquivalentTo(fsGroup))
	})

	It("keeps the last good files while the store refuses, and reports it", func(ctx SpecContext) {
		Expect(env.WritePolicy(ctx, policy, denyHCL)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) { Expect(env.WritePolicy(ctx, policy, readHCL)).To(Succeed()) })
		putApp(ctx, "unseen")
		time.Sleep(rotationInterval + 500*time.Millisecond)
		err := kubelet.Publish(ctx, app, appPod, "app")
		Expect(err).To(HaveOccurred())
		Expect(status.Convert(err).Message()).To(HavePrefix("SecretsStoreImport demo/app: files[0]"))
		Expect(status.Convert(err).Message()).NotTo(ContainSubstring("unseen"))
		Expect(read(filepath.Join(app.Target, "password"))).To(Equal("rotated-1"))
		Expect(mountType(app.Target)).To(HavePrefix("tmpfs "))
	})

	It("keeps the last good files while Vault is down (sealed), and rotates once it is back", func(ctx SpecContext) {
		putApp(ctx, "while-sealed")
		Expect(env.SealVault(ctx)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) { Expect(env.UnsealVault(ctx)).To(Succeed()) })
		time.Sleep(rotationInterval + 500*time.Millisecond)
		err := kubelet.Publish(ctx, app, appPod, "app")
		Expect(status.Code(err)).To(Equal(codes.Unavailable), "%v", err)
		Expect(status.Convert(err).Message()).To(HavePrefix("SecretsStoreImport demo/app: "))
		Expect(status.Convert(err).Message()).NotTo(ContainSubstring("while-sealed"))
		Expect(read(filepath.Join(app.Target, "password"))).To(Equal("rotated-1"))
		Expect(mountType(app.Target)).To(HavePrefix("tmpfs "))

		Expect(env.UnsealVault(ctx)).To(Succeed())
		Eventually(ctx, func() string {
			if err := kubelet.Publish(ctx, app, appPod, "app"); err != nil {
				return err.Error()
			}
			return read(filepath.Join(app.Target, "password"))
		}).WithTimeout(30 * time.Second).WithPolling(time.Second).Should(Equal("while-sealed"))
	})

	It("keeps the last good files while the provider is down", func(ctx SpecContext) {
		Expect(prov.Stop()).To(Succeed())
		DeferCleanup(func(ctx SpecContext) { Expect(prov.Start(ctx)).To(Succeed()) })
		time.Sleep(rotationInterval + 500*time.Millisecond)
		err := kubelet.Publish(ctx, app, appPod, "app")
		Expect(status.Code(err)).To(Equal(codes.Unavailable), "%v", err)
		Expect(status.Convert(err).Message()).To(HavePrefix("SecretsStoreImport demo/app: "))
		Expect(read(filepath.Join(app.Target, "password"))).To(Equal("while-sealed"))
	})

	It("goes on rotating an existing mount after a driver restart", func(ctx SpecContext) {
		Expect(driver.Restart(ctx)).To(Succeed())
		putApp(ctx, "after-restart")
		Eventually(ctx, func() string {
			if err := kubelet.Publish(ctx, app, appPod, "app"); err != nil {
				return err.Error()
			}
			return read(filepath.Join(app.Target, "password"))
		}).WithTimeout(60 * time.Second).WithPolling(time.Second).Should(Equal("after-restart"))
		Expect(read(filepath.Join(app.Target, "db/user"))).To(Equal("alice"))
	})

	It("fails a publish with a wrong role clearly and leaves nothing mounted", func(ctx SpecContext) {
		spec := map[string]any{"type": "CSI", "role": "no-such-role", "address": env.VaultAddr, "caCert": string(env.VaultCAPEM),
			"files": []any{map[string]any{"name": "password", "source": map[string]any{"path": "secret/data/app", "key": "password"}}}}
		Expect(components.ApplyImport(ctx, env, ns, "wrong-role", spec)).To(Succeed())
		v := newVolume("wrong-role")
		err := kubelet.Publish(ctx, v, appPod, "wrong-role")
		Expect(err).To(HaveOccurred())
		GinkgoWriter.Printf("wrong role: %v\n", err)
		// Vault answers an unknown role with 400; for kubelet and the user it
		// is a refusal, not an internal error.
		Expect(status.Code(err)).To(Equal(codes.PermissionDenied))
		Expect(status.Convert(err).Message()).To(HavePrefix("SecretsStoreImport demo/wrong-role: "))
		Expect(status.Convert(err).Message()).To(ContainSubstring("no-such-role"))
		Expect(mountType(v.Target)).To(BeEmpty())
		_, statErr := os.Stat(v.Target + ".secrets-store.json")
		Expect(errors.Is(statErr, os.ErrNotExist)).To(BeTrue())
	})

	It("fails a publish with the wrong service account and leaves nothing mounted", func(ctx SpecContext) {
		v := newVolume("other-sa")
		other := appPod
		other.Name, other.UID, other.ServiceAccount = "intruder", "6f2c1d0e-0002", otherSA
		err := kubelet.Publish(ctx, v, other, "app")
		Expect(err).To(HaveOccurred())
		GinkgoWriter.Printf("wrong service account: %v\n", err)
		Expect(status.Convert(err).Message()).To(HavePrefix("SecretsStoreImport demo/app: "))
		Expect(mountType(v.Target)).To(BeEmpty())
	})

	It("refuses names with '..', absolute paths and the volume's own names at the API", func(ctx SpecContext) {
		// The driver refuses them too (params.ValidateFileName, unit
		// tests); the CRD's rules are the same, so they never reach it.
		for _, name := range []string{"../escape", "/etc/passwd", "a/../../escape", "..data", "a//b", "./a"} {
			spec := map[string]any{"type": "CSI", "role": role,
				"files": []any{map[string]any{"name": name, "source": map[string]any{"path": "secret/data/app", "key": "password"}}}}
			err := components.ApplyImport(ctx, env, ns, "escape", spec)
			Expect(err).To(HaveOccurred(), "the API accepted %q", name)
			Expect(err.Error()).To(ContainSubstring("spec.files[0].name"), "%q", name)
		}
		// What the API cannot refuse, the driver does: a writable volume
		// (counted as invalid_argument in the metrics spec below).
		v := newVolume("writable")
		req, err := kubelet.PublishRequest(ctx, v, appPod, "app")
		Expect(err).NotTo(HaveOccurred())
		req.Readonly = false
		Expect(status.Code(kubelet.Send(ctx, req))).To(Equal(codes.InvalidArgument))
		Expect(mountType(v.Target)).To(BeEmpty())
	})

	It("fails a publish of an unknown SecretsStoreImport with NotFound", func(ctx SpecContext) {
		err := kubelet.Publish(ctx, newVolume("missing"), appPod, "missing")
		Expect(status.Code(err)).To(Equal(codes.NotFound), "%v", err)
		Expect(status.Convert(err).Message()).To(ContainSubstring("SecretsStoreImport demo/missing not found"))
	})

	It("cleans up on unpublish, and a second unpublish succeeds", func(ctx SpecContext) {
		Expect(kubelet.Unpublish(ctx, app)).To(Succeed())
		Expect(mountType(app.Target)).To(BeEmpty())
		_, err := os.Stat(app.Target)
		Expect(errors.Is(err, os.ErrNotExist)).To(BeTrue(), "target stays: %v", err)
		_, err = os.Stat(app.Target + ".secrets-store.json")
		Expect(errors.Is(err, os.ErrNotExist)).To(BeTrue(), "state stays: %v", err)
		Expect(kubelet.Unpublish(ctx, app)).To(Succeed())
		Expect(kubelet.Unpublish(ctx, newVolume("never-mounted"))).To(Succeed())
	})

	It("exports metrics and health", func(ctx SpecContext) {
		get := func(path string) string {
			body, err := driver.Get(ctx, path)
			Expect(err).NotTo(HaveOccurred())
			return body
		}
		Expect(get("/healthz")).To(Equal("ok\n"))
		// Counters start again with the restarted driver.
		body := get("/metrics")
		Expect(body).To(MatchRegexp(`secrets_store_csi_node_publish_total [1-9]`))
		Expect(body).To(ContainSubstring(`secrets_store_csi_rotation_total{result="changed"} 1`))
		Expect(body).To(ContainSubstring(`secrets_store_csi_node_publish_errors_total{reason="provider_permission_denied"} 2`))
		Expect(body).To(ContainSubstring(`secrets_store_csi_node_publish_errors_total{reason="invalid_argument"} 1`))
		Expect(body).To(ContainSubstring(`secrets_store_csi_node_publish_errors_total{reason="import_not_found"} 1`))
		Expect(body).To(MatchRegexp(`secrets_store_csi_node_unpublish_total [1-9]`))
		Expect(body).To(ContainSubstring("secrets_store_csi_node_publish_duration_seconds_bucket"))
		// components.Build stamps no version.
		Expect(body).To(MatchRegexp(`secrets_store_csi_build_info\{goversion="go[^"]+",version="dev"\} 1`))
		Expect(body).NotTo(ContainSubstring(password))
	})
})
