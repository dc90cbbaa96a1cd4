// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package upstream runs our Vault provider under the upstream
// secrets-store-csi-driver (sigs.k8s.io/secrets-store-csi-driver, built by
// test/tools/build.sh secrets-store-csi-driver), on the real kube-apiserver
// and Vault of testenv: the reference driver reads a SecretProviderClass
// with vault-csi-provider parameters, calls our provider over
// <provider dir>/vault.sock and writes the files it returns. The tests call
// NodePublishVolume and NodeUnpublishVolume as kubelet would; no kubelet
// runs, the Pod is only an object in the API.
package upstream

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/suite"
	"github.com/deckhouse/secrets-store-integration/test/supervisor"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

const (
	// upstreamDriverName is the upstream driver's default --drivername.
	upstreamDriverName = "secrets-store.csi.k8s.io"
	upstreamModule     = "sigs.k8s.io/secrets-store-csi-driver"
	nodeID             = "node-1"
)

var (
	env     *testenv.Env
	work    string
	prov    *supervisor.Process
	kubelet *components.Kubelet
	// upstreamDriver is the running upstream driver; its log explains failures.
	upstreamDriver *supervisor.Process
)

func TestUpstreamDriver(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Vault provider under the upstream secrets-store-csi-driver")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	if os.Geteuid() != 0 {
		Skip("the upstream driver mounts tmpfs: run as root")
	}
	driverBin, err := upstreamBinary()
	Expect(err).NotTo(HaveOccurred())
	crds, err := upstreamCRDs(ctx)
	Expect(err).NotTo(HaveOccurred())

	s := suite.Start(ctx, suite.Options{Name: "upstream", Mounts: true})
	work, env = s.Work, s.Env
	bins := s.Bins

	By("installing the upstream CRDs from " + crds)
	for _, name := range []string{
		"secrets-store.csi.x-k8s.io_secretproviderclasses.yaml",
		"secrets-store.csi.x-k8s.io_secretproviderclasspodstatuses.yaml",
	} {
		_, err = env.ApplyFile(ctx, filepath.Join(crds, name))
		Expect(err).NotTo(HaveOccurred())
	}

	providers := filepath.Join(work, "providers")
	Expect(os.MkdirAll(providers, 0o750)).To(Succeed())
	prov, err = components.StartProvider(ctx, components.ProviderConfig{
		Binary: bins.Provider, Socket: filepath.Join(providers, "vault.sock"),
		VaultAddr: env.VaultAddr, VaultCAPath: env.VaultCAPath, Log: GinkgoWriter,
		// vault-csi-provider's custom-audience example (vcpexamples_test.go).
		Args: []string{"--allowed-audiences", "vault," + customAudience},
	})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(prov.Stop)

	By("starting the upstream driver " + driverBin)
	socket := filepath.Join(work, "csi.sock")
	upstreamDriver, err = startUpstream(ctx, driverBin, socket, providers)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(upstreamDriver.Stop)

	kubelet, err = components.NewKubelet(env, socket, work)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(kubelet.Close)
}, NodeTimeout(6*time.Minute))

// upstreamBinary is .cache/bin/secrets-store-csi-driver at the repository
// root, or in $SSI_TEST_BIN_DIR.
func upstreamBinary() (string, error) {
	dir := os.Getenv("SSI_TEST_BIN_DIR")
	if dir == "" {
		root, err := testenv.RepoRoot()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, ".cache", "bin")
	}
	bin := filepath.Join(dir, "secrets-store-csi-driver")
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("upstream driver %s: %w (build it with `test/tools/build.sh secrets-store-csi-driver`)", bin, err)
	}
	return bin, nil
}

// upstreamCRDs is the folder of the upstream CRDs in the module cache: the
// test module requires the driver's module (for the provider protocol), so
// the CRDs are those of the same version.
func upstreamCRDs(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", upstreamModule).Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return "", fmt.Errorf("go list -m %s: %w: %s", upstreamModule, err, exit.Stderr)
		}
		return "", fmt.Errorf("go list -m %s: %w", upstreamModule, err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "bases")
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("upstream CRDs: %w", err)
	}
	return dir, nil
}

// startUpstream runs the upstream driver as its DaemonSet container would
// (the API through $KUBECONFIG, controller-runtime's fallback) and returns
// once it answers GetPluginInfo with its name.
func startUpstream(ctx context.Context, bin, socket, providers string) (*supervisor.Process, error) {
	p := &supervisor.Process{
		Name: "upstream-driver", Socket: socket, Bin: bin, Out: GinkgoWriter,
		Args: []string{
			"--endpoint", "unix://" + socket,
			"--nodeid", nodeID,
			"--provider-volume", providers,
			// The default, /etc/kubernetes/secrets-store-csi-providers, is the host's.
			"--additional-provider-volume-paths", providers,
			// "0" turns controller-runtime's metrics server off: no port to collide.
			"--metrics-addr", "0",
			"-v", "2",
		},
		Env: append(os.Environ(), "KUBECONFIG="+env.Kubeconfig),
		// The driver exits non-zero on SIGTERM in some versions; it is gone
		// either way, which is what matters here.
		AnyExit: true,
	}
	p.Ready = func(ctx context.Context, r *supervisor.Run) error {
		return components.WaitPluginInfo(ctx, r, socket, upstreamDriverName)
	}
	if err := p.Start(ctx); err != nil {
		return nil, err
	}
	return p, nil
}
