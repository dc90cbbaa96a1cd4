// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package csidriver

import (
	"fmt"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/container-storage-interface/spec/lib/go/csi"

	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/supervisor"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// A rotation sweep of a node costs the store at most one read per identity
// and object, however many volumes hold it: pods of one identity share a
// read (the provider's read cache, as in production). Counted from the
// provider's metrics, so the bound holds whatever the machine's load; the
// cache lives far longer than a sweep of these few volumes takes.
var _ = Describe("A rotation sweep of a node", Ordered, func() {
	const (
		ns         = "sweep"
		identities = 3
		perSA      = 4
		objects    = 2
		cacheTTL   = 8 * time.Second
		sweepRole  = "sweep"
	)
	var (
		sweepProv *supervisor.Process
		sweepKube *components.Kubelet
		vols      []components.Volume
		reqs      []*csi.NodePublishVolumeRequest
	)

	BeforeAll(func(ctx SpecContext) {
		dir := filepath.Join(work, "sweep")
		var err error
		sweepProv, err = components.StartProvider(ctx, components.ProviderConfig{
			Binary: filepath.Join(work, "vault-provider"), Socket: filepath.Join(dir, "providers", "vault.sock"),
			VaultAddr: env.VaultAddr, VaultCAPath: env.VaultCAPath, ReadCacheTTL: cacheTTL, Log: GinkgoWriter,
		})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(sweepProv.Stop)
		sweepDriver, err := components.StartDriver(ctx, components.DriverConfig{
			Binary: filepath.Join(work, "csi-driver"), Socket: filepath.Join(dir, "csi.sock"), Kubeconfig: env.Kubeconfig,
			ProviderDir: filepath.Join(dir, "providers"), Provider: "vault", NodeID: "node-sweep",
			RotationInterval: rotationInterval, Log: GinkgoWriter,
		})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(sweepDriver.Stop)
		sweepKube, err = components.NewKubelet(env, sweepDriver.Socket, dir)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(sweepKube.Close)

		for i := range identities {
			_, err := env.CreateServiceAccount(ctx, ns, fmt.Sprintf("sa-%d", i))
			Expect(err).NotTo(HaveOccurred())
		}
		Expect(env.GrantRead(ctx, testenv.ReadGrant{Role: sweepRole, Policy: sweepRole, Path: "secret/data/sweep/*",
			Namespace: ns, ServiceAccounts: []string{"*"}, TTL: time.Hour})).To(Succeed())
		files := make([]any, objects)
		for i := range objects {
			_, err := env.Vault.KVv2(testenv.KVMount).Put(ctx, fmt.Sprintf("sweep/s%d", i), map[string]any{"value": fmt.Sprint(i)})
			Expect(err).NotTo(HaveOccurred())
			files[i] = map[string]any{"name": fmt.Sprintf("f%d", i), "source": map[string]any{
				"path": fmt.Sprintf("secret/data/sweep/s%d", i), "key": "value"}}
		}
		Expect(components.ApplyImport(ctx, env, ns, "two", map[string]any{
			"type": "CSI", "role": sweepRole, "address": env.VaultAddr, "caCert": string(env.VaultCAPEM), "files": files,
		})).To(Succeed())
		for i := range identities * perSA {
			name := fmt.Sprintf("sweep-%02d", i)
			v, err := sweepKube.NewVolume(name)
			Expect(err).NotTo(HaveOccurred())
			req, err := sweepKube.PublishRequest(ctx, v, components.Pod{Name: name, Namespace: ns,
				UID: fmt.Sprintf("00000000-0000-4000-8000-5%011d", i), ServiceAccount: fmt.Sprintf("sa-%d", i%identities)}, "two")
			Expect(err).NotTo(HaveOccurred())
			vols, reqs = append(vols, v), append(reqs, req)
		}
		DeferCleanup(func(ctx SpecContext) {
			for _, v := range vols {
				Expect(sweepKube.Unpublish(ctx, v)).To(Succeed())
			}
		})
	})

	// sweep republishes every volume, as kubelet does, and returns the
	// provider's store reads it caused.
	sweep := func(ctx SpecContext) (reads float64) {
		GinkgoHelper()
		const requests = "secrets_store_vault_provider_store_requests_total"
		read := map[string]string{"operation": "read"}
		before, err := sweepProv.Scrape(ctx)
		Expect(err).NotTo(HaveOccurred())
		for _, r := range reqs {
			Expect(sweepKube.Send(ctx, r)).To(Succeed())
		}
		after, err := sweepProv.Scrape(ctx)
		Expect(err).NotTo(HaveOccurred())
		return after.Sum(requests, read) - before.Sum(requests, read)
	}

	It("reads each object once per identity to publish the volumes", func(ctx SpecContext) {
		Expect(sweep(ctx)).To(Equal(float64(identities*objects)), "%d volumes", len(reqs))
	})

	It("reads nothing again while the shared reads are fresh", func(ctx SpecContext) {
		time.Sleep(rotationInterval + 500*time.Millisecond)
		Expect(sweep(ctx)).To(BeZero())
	})

	It("reads each object once per identity in a sweep after the shared reads expired", func(ctx SpecContext) {
		time.Sleep(cacheTTL + time.Second)
		Expect(sweep(ctx)).To(Equal(float64(identities*objects)), "%d volumes", len(reqs))
	})
})
