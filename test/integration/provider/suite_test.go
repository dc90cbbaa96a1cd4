// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package provider tests the vault-provider binary as the upstream
// secrets-store CSI driver uses it: over the provider gRPC protocol on a unix
// socket, with the attributes the driver sends, against a real Vault whose
// Kubernetes auth reviews real service-account tokens.
package provider

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	pb "sigs.k8s.io/secrets-store-csi-driver/provider/v1alpha1"

	"github.com/deckhouse/secrets-store-integration/test/badstore"
	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/suite"
	"github.com/deckhouse/secrets-store-integration/test/supervisor"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

var (
	env    *testenv.Env
	client pb.CSIDriverProviderClient
	prov   *supervisor.Process
	// silent is an allowed store address that never answers.
	silent *badstore.Silent
)

func TestVaultProvider(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "vault-provider against a real kube-apiserver and Vault")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	s := suite.Start(ctx, suite.Options{Name: "provider"})
	env = s.Env
	dir, bins := s.Work, s.Bins
	socket := filepath.Join(dir, "vault.sock")
	// A stale socket from a crashed run must not stop the provider.
	stale, err := net.Listen("unix", socket)
	Expect(err).NotTo(HaveOccurred())
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	Expect(socket).To(BeAnExistingFile())

	// A store that accepts connections and never answers, which the
	// settings allow (bounds_test.go): an allowed store can still hang.
	silent, err = badstore.StartSilent()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(silent.Close)
	prov, err = components.StartProvider(ctx, components.ProviderConfig{
		Binary: bins.Provider, Socket: socket,
		VaultAddr: env.VaultAddr, VaultCAPath: env.VaultCAPath,
		ReadCacheTTL: 2 * time.Minute, Log: GinkgoWriter,
		// The mTLS listener is another address of the store: allowed.
		Args: []string{"--allowed-store-addresses", env.VaultMTLSAddr + "," + silent.URL()},
	})
	Expect(err).NotTo(HaveOccurred())
	// SIGTERM: the provider must stop gracefully and remove its socket.
	DeferCleanup(prov.Stop)
	info, err := os.Stat(socket)
	Expect(err).NotTo(HaveOccurred())
	Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o600)), "socket mode")

	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(conn.Close)
	client = pb.NewCSIDriverProviderClient(conn)
	v, err := client.Version(ctx, &pb.VersionRequest{Version: "v1alpha1"})
	Expect(err).NotTo(HaveOccurred())
	Expect(v.RuntimeName).To(Equal("secrets-store-integration-vault-provider"))
	// components.Build stamps no version: the provider reports buildinfo's.
	Expect(v.RuntimeVersion).To(Equal("dev"))
}, NodeTimeout(6*time.Minute))
