// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package csidriver tests the CSI node driver as kubelet uses it: the
// driver and the Vault provider run as the processes they are in
// production, on the real kube-apiserver and Vault of testenv, and the
// tests call NodePublishVolume and NodeUnpublishVolume over the driver's
// socket with the volume context kubelet sends.
package csidriver

import (
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/suite"
	"github.com/deckhouse/secrets-store-integration/test/supervisor"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

var (
	env  *testenv.Env
	root string
	// work holds the binaries, sockets and volume targets.
	work    string
	driver  *supervisor.Process
	prov    *supervisor.Process
	kubelet *components.Kubelet
)

const (
	rotationInterval = 2 * time.Second
	// tmpfsSize is small so that an oversized volume needs only a
	// moderate secret: files may take half of it.
	tmpfsSize = "256Ki"
)

func TestCSIDriver(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "CSI node driver against a real kube-apiserver and Vault")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	s := suite.Start(ctx, suite.Options{Name: "csidriver", Mounts: true, ImportCRD: true})
	work, env = s.Work, s.Env
	bins := s.Bins
	key := s.VersionKey()
	var err error
	root, err = testenv.RepoRoot()
	Expect(err).NotTo(HaveOccurred())
	prov, err = components.StartProvider(ctx, components.ProviderConfig{
		Binary: bins.Provider, Socket: filepath.Join(work, "providers", "vault.sock"),
		VaultAddr: env.VaultAddr, VaultCAPath: env.VaultCAPath,
		// No shared reads: the tests change values and expect them at once.
		ReadCacheTTL: 0, VersionKeyFile: key, Log: GinkgoWriter,
		// A second audience besides "vault" (trust_test.go).
		Args: []string{"--allowed-audiences", "vault," + otherAudience},
	})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(prov.Stop)
	driver, err = components.StartDriver(ctx, components.DriverConfig{
		Binary: bins.Driver, Socket: filepath.Join(work, "csi.sock"), Kubeconfig: env.Kubeconfig,
		ProviderDir: filepath.Join(work, "providers"), Provider: "vault",
		RotationInterval: rotationInterval, TmpfsSize: tmpfsSize, Log: GinkgoWriter,
	})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(driver.Stop)

	kubelet, err = components.NewKubelet(env, driver.Socket, work)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(kubelet.Close)
}, NodeTimeout(6*time.Minute))
