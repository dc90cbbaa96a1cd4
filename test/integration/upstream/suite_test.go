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
	"syscall"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/deckhouse/secrets-store-integration/test/components"
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
	prov    *components.Process
	kubelet *components.Kubelet
	// driverLog keeps the upstream driver's output, for failures.
	driverLog *syncBuffer
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

	work, err = os.MkdirTemp("", "ssi-upstream-*")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		Expect(components.UnmountAll(work)).To(Succeed())
		Expect(os.RemoveAll(work)).To(Succeed())
	})

	By("building the provider")
	bins, err := components.Build(ctx, work)
	Expect(err).NotTo(HaveOccurred())

	env, err = testenv.Start(ctx, testenv.Options{Log: GinkgoWriter})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)

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
	stop, err := startUpstream(ctx, driverBin, socket, providers)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(stop)

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
// once it answers GetPluginInfo. stop sends SIGTERM and waits.
func startUpstream(ctx context.Context, bin, socket, providers string) (stop func() error, err error) {
	driverLog = &syncBuffer{out: GinkgoWriter, prefix: "upstream-driver: "}
	cmd := exec.Command(bin,
		"--endpoint", "unix://"+socket,
		"--nodeid", nodeID,
		"--provider-volume", providers,
		// The default, /etc/kubernetes/secrets-store-csi-providers, is the host's.
		"--additional-provider-volume-paths", providers,
		// "0" turns controller-runtime's metrics server off: no port to collide.
		"--metrics-addr", "0",
		"-v", "2",
	)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+env.Kubeconfig)
	cmd.Stdout, cmd.Stderr = driverLog, driverLog
	// Own process group; Pdeathsig: a killed test run leaves no driver.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start upstream driver: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stop = func() error {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
			// The driver exits non-zero on SIGTERM in some versions; it is
			// gone either way, which is what matters here.
			return nil
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			return errors.New("upstream driver did not stop within 30s of SIGTERM")
		}
	}

	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		_ = stop()
		return nil, fmt.Errorf("dial %s: %w", socket, err)
	}
	defer conn.Close()
	identity := csi.NewIdentityClient(conn)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var last error
	for {
		callCtx, callCancel := context.WithTimeout(ctx, 2*time.Second)
		info, err := identity.GetPluginInfo(callCtx, &csi.GetPluginInfoRequest{})
		callCancel()
		switch {
		case err != nil:
			last = err
		case info.GetName() != upstreamDriverName:
			_ = stop()
			return nil, fmt.Errorf("upstream driver name %q, want %q", info.GetName(), upstreamDriverName)
		default:
			return stop, nil
		}
		select {
		case err := <-done:
			done <- err
			return nil, fmt.Errorf("upstream driver exited (%v); log:\n%s", err, driverLog.tail(20))
		case <-ctx.Done():
			_ = stop()
			return nil, fmt.Errorf("upstream driver GetPluginInfo: %w (last error: %v)", ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
