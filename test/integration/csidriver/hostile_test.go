// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package csidriver

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	vault "github.com/hashicorp/vault/api"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/deckhouse/secrets-store-integration/images/testsupport/fssnapshot"
	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// A root container in an application pod, and a tenant whose volume is
// too big: neither reaches past its own volume.

const (
	hostileNS     = "hostile"
	hostileRole   = "hostile"
	hostilePolicy = "hostile-read"
	hostileHCL    = `path "secret/data/hostile" { capabilities = ["read"] }
path "pki-hostile/issue/web" { capabilities = ["create", "update"] }
path "secret/data/hostile-big" { capabilities = ["read"] }`
	// canaryGID owns the canary, so a chown through a link would show.
	canaryGID = 4242
)

var hostilePod = components.Pod{Name: "evil-0", Namespace: hostileNS, UID: "6f2c1d0e-0666", ServiceAccount: appSA, FSGroup: "2000"}

func putHostile(ctx context.Context, path string, data map[string]any) {
	GinkgoHelper()
	_, err := env.Vault.KVv2(testenv.KVMount).Put(ctx, path, data)
	Expect(err).NotTo(HaveOccurred())
}

// tree records every entry under dir without following links (mode,
// owner, contents or link target), leaving out the subtree skip.
func tree(dir, skip string) map[string]string {
	GinkgoHelper()
	got, err := fssnapshot.Tree(dir, skip)
	Expect(err).NotTo(HaveOccurred())
	return got
}

// etcTree is /etc's top level and /etc/passwd: what a RemoveAll, chmod,
// chown or write through a link to /etc would change first.
func etcTree() map[string]string {
	GinkgoHelper()
	got, err := fssnapshot.Etc()
	Expect(err).NotTo(HaveOccurred())
	return got
}

// makeCanary is a folder outside every volume holding files with the
// names the driver writes.
func makeCanary(name string) string {
	GinkgoHelper()
	dir := filepath.Join(work, "canary-"+name)
	Expect(os.MkdirAll(filepath.Join(dir, "db"), 0o700)).To(Succeed())
	for _, f := range []string{"password", "db/cert", "other"} {
		p := filepath.Join(dir, f)
		Expect(os.WriteFile(p, []byte("canary "+f), 0o604)).To(Succeed())
		Expect(os.Lchown(p, -1, canaryGID)).To(Succeed())
	}
	Expect(os.Lchown(dir, -1, canaryGID)).To(Succeed())
	return dir
}

func tamperings(ctx context.Context) float64 {
	GinkgoHelper()
	m, err := driver.Scrape(ctx)
	Expect(err).NotTo(HaveOccurred())
	return m.Sum("secrets_store_csi_volume_tampering_total", nil)
}

// replace plays the root container: it swaps name in the volume for a
// symlink to target.
func replace(target, name, link string) {
	GinkgoHelper()
	p := filepath.Join(target, name)
	Expect(os.RemoveAll(p)).To(Succeed())
	Expect(os.Symlink(link, p)).To(Succeed())
}

func dataTarget(target string) string {
	GinkgoHelper()
	ts, err := os.Readlink(filepath.Join(target, "..data"))
	Expect(err).NotTo(HaveOccurred())
	return ts
}

var _ = Describe("Hostile volumes", Ordered, func() {
	BeforeAll(func(ctx SpecContext) {
		_, err := env.CreateServiceAccount(ctx, hostileNS, appSA)
		Expect(err).NotTo(HaveOccurred())
		Expect(env.WritePolicy(ctx, hostilePolicy, hostileHCL)).To(Succeed())
		Expect(env.WriteKubernetesRole(ctx, hostileRole, testenv.KubernetesRole{
			ServiceAccounts: []string{appSA}, Namespaces: []string{hostileNS}, Policies: []string{hostilePolicy},
			Audience: "vault", TTL: 10 * time.Minute,
		})).To(Succeed())
		putHostile(ctx, "hostile", map[string]any{"password": "p-0"})
		// A leased certificate: while only the password changes, the
		// provider leaves db/cert out and the driver reads it back from
		// the volume, where a planted link may wait.
		Expect(env.Vault.Sys().MountWithContext(ctx, "pki-hostile", &vault.MountInput{
			Type: "pki", Config: vault.MountConfigInput{MaxLeaseTTL: "87600h"},
		})).To(Succeed())
		_, err = env.Vault.Logical().WriteWithContext(ctx, "pki-hostile/root/generate/internal",
			map[string]any{"common_name": "hostile-ca", "ttl": "8760h", "key_type": "ec", "key_bits": 256})
		Expect(err).NotTo(HaveOccurred())
		_, err = env.Vault.Logical().WriteWithContext(ctx, "pki-hostile/roles/web", map[string]any{
			"allowed_domains": "example.com", "allow_subdomains": true, "max_ttl": "72h", "key_type": "ec", "key_bits": 256,
		})
		Expect(err).NotTo(HaveOccurred())
		Expect(components.ApplyImport(ctx, env, hostileNS, "app", map[string]any{
			"type": "CSI", "role": hostileRole, "address": env.VaultAddr, "caCert": string(env.VaultCAPEM),
			"files": []any{
				map[string]any{"name": "password", "source": map[string]any{"path": "secret/data/hostile", "key": "password"}},
				map[string]any{"name": "db/cert", "source": map[string]any{"path": "pki-hostile/issue/web", "method": "PUT",
					"args": map[string]any{"common_name": "www.example.com", "ttl": "1h"}, "key": "certificate"}},
			},
		})).To(Succeed())
		Expect(components.ApplyImport(ctx, env, hostileNS, "big", map[string]any{
			"type": "CSI", "role": hostileRole, "address": env.VaultAddr, "caCert": string(env.VaultCAPEM),
			"files": []any{map[string]any{"name": "blob", "source": map[string]any{"path": "secret/data/hostile-big", "key": "blob"}}},
		})).To(Succeed())
	})

	It("refuses a volume that is not read-only, and mounts nothing", func(ctx SpecContext) {
		v := newVolume("writable")
		req, err := kubelet.PublishRequest(ctx, v, hostilePod, "app")
		Expect(err).NotTo(HaveOccurred())
		req.Readonly = false
		err = kubelet.Send(ctx, req)
		Expect(status.Code(err)).To(Equal(codes.InvalidArgument), "%v", err)
		Expect(status.Convert(err).Message()).To(Equal(
			"SecretsStoreImport hostile/app: the volume is not read-only: set readOnly: true on the pod's csi volume"))
		Expect(mountType(v.Target)).To(BeEmpty())
		_, err = os.Stat(v.Target + ".secrets-store.json")
		Expect(err).To(MatchError(fs.ErrNotExist))
	})

	// Each entry plants what a root container could if the volume were
	// writable (or what anything else on the node could), then the value
	// changes in Vault and kubelet republishes after the rotation interval.
	DescribeTable("reports a planted link at the next rotation and follows nothing",
		func(ctx SpecContext, name string, plant func(target, canary string), want string) {
			v := newVolume("planted-" + name)
			Expect(kubelet.Publish(ctx, v, hostilePod, "app")).To(Succeed())
			canary := makeCanary(name)
			parent := filepath.Dir(v.Target)
			outside := tree(canary, "")
			// The state file beside the target is the driver's own: it
			// records the tampering.
			stateFile := v.Target + ".secrets-store.json"
			beside := tree(parent, v.Target)
			delete(beside, stateFile)
			etc := etcTree()
			before := tamperings(ctx)

			plant(v.Target, canary)
			planted := tree(v.Target, "")
			putHostile(ctx, "hostile", map[string]any{"password": "p-" + name})
			time.Sleep(rotationInterval + 500*time.Millisecond)
			err := kubelet.Publish(ctx, v, hostilePod, "app")
			Expect(status.Code(err)).To(Equal(codes.FailedPrecondition), "%v", err)
			msg := status.Convert(err).Message()
			Expect(msg).To(HavePrefix("SecretsStoreImport hostile/app: volume changed by someone other than the driver: " + want))
			Expect(msg).To(HaveSuffix("the driver does not follow it; the volume keeps its current files and is not rotated again: recreate the pod"))
			Expect(msg).NotTo(ContainSubstring("p-" + name))

			Expect(tree(canary, "")).To(Equal(outside), "the canary outside the volume changed")
			after := tree(parent, v.Target)
			delete(after, stateFile)
			Expect(after).To(Equal(beside), "kubelet's folder of the volume changed")
			Expect(etcTree()).To(Equal(etc), "/etc changed")
			Expect(tree(v.Target, "")).To(Equal(planted), "the driver changed the tampered volume")
			Expect(tamperings(ctx)).To(Equal(before + 1))
			logged := false
			for _, line := range driver.Logs() {
				if strings.Contains(line, `"level":"ERROR","msg":"volume changed by someone other than the driver;`) &&
					strings.Contains(line, v.Target) {
					logged = true
				}
				Expect(line).NotTo(ContainSubstring("p-" + name))
			}
			Expect(logged).To(BeTrue(), "no log line names the tampered volume")

			// Later publishes refuse at once: no secret goes into it again.
			time.Sleep(rotationInterval + 500*time.Millisecond)
			err = kubelet.Publish(ctx, v, hostilePod, "app")
			Expect(status.Code(err)).To(Equal(codes.FailedPrecondition), "%v", err)
			Expect(tree(v.Target, "")).To(Equal(planted))
			Expect(tamperings(ctx)).To(Equal(before + 1))

			Expect(kubelet.Unpublish(ctx, v)).To(Succeed())
			Expect(tree(canary, "")).To(Equal(outside), "unpublish changed the canary")
			Expect(etcTree()).To(Equal(etc), "unpublish changed /etc")
		},
		Entry(nil, "dotdot", func(target, _ string) { replace(target, "..data", "..") },
			`..data is a symlink to ".."`),
		Entry(nil, "absolute", func(target, canary string) { replace(target, "..data", canary) },
			`..data is a symlink to "`),
		Entry(nil, "etc", func(target, _ string) { replace(target, "..data", "/etc") },
			`..data is a symlink to "/etc"`),
		Entry(nil, "timestamp-folder", func(target, canary string) { replace(target, dataTarget(target), canary) },
			`..`),
		Entry(nil, "kept-file", func(target, canary string) {
			replace(target, dataTarget(target)+"/db/cert", filepath.Join(canary, "db/cert"))
		}, `..`),
		Entry(nil, "kept-folder", func(target, canary string) {
			replace(target, dataTarget(target)+"/db", filepath.Join(canary, "db"))
		}, `..`),
		Entry(nil, "visible-file", func(target, canary string) {
			replace(target, "password", filepath.Join(canary, "password"))
		}, `password is a symlink to "`),
		Entry(nil, "visible-folder", func(target, canary string) {
			replace(target, "db", filepath.Join(canary, "db"))
		}, `db is a symlink to "`),
	)

	It("fails a volume whose files do not fit, keeps a mounted volume's files, and other volumes still mount", func(ctx SpecContext) {
		big := strings.Repeat("b", 160<<10)
		putHostile(ctx, "hostile-big", map[string]any{"blob": big})
		v := newVolume("too-big")
		err := kubelet.Publish(ctx, v, hostilePod, "big")
		Expect(status.Code(err)).To(Equal(codes.ResourceExhausted), "%v", err)
		Expect(status.Convert(err).Message()).To(Equal("SecretsStoreImport hostile/big: the files take 160 KiB in memory, " +
			"more than half the volume size limit of 256 KiB (module setting volumeSizeLimit; a rotation holds two copies); " +
			"the previous files are kept"))
		Expect(mountType(v.Target)).To(BeEmpty())

		other := newVolume("beside-too-big")
		Expect(kubelet.Publish(ctx, other, hostilePod, "app")).To(Succeed())
		Expect(mountType(other.Target)).To(HavePrefix("tmpfs "))
		var fsStat syscall.Statfs_t
		Expect(syscall.Statfs(other.Target, &fsStat)).To(Succeed())
		Expect(fsStat.Blocks*uint64(fsStat.Bsize)).To(BeEquivalentTo(256<<10), "size= of the tmpfs")
		Expect(fsStat.Files).To(BeEquivalentTo(1024), "nr_inodes= of the tmpfs")
		Expect(files(other.Target)).To(Equal([]string{"db/cert", "password"}))

		putHostile(ctx, "hostile-big", map[string]any{"blob": "small"})
		Expect(kubelet.Publish(ctx, v, hostilePod, "big")).To(Succeed())
		putHostile(ctx, "hostile-big", map[string]any{"blob": big})
		time.Sleep(rotationInterval + 500*time.Millisecond)
		err = kubelet.Publish(ctx, v, hostilePod, "big")
		Expect(status.Code(err)).To(Equal(codes.ResourceExhausted), "%v", err)
		Expect(status.Convert(err).Message()).To(ContainSubstring("module setting volumeSizeLimit"))
		Expect(read(filepath.Join(v.Target, "blob"))).To(Equal("small"))

		Expect(kubelet.Unpublish(ctx, v)).To(Succeed())
		Expect(kubelet.Unpublish(ctx, other)).To(Succeed())
	})
})
