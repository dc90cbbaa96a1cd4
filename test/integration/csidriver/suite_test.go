// Package csidriver tests the CSI node driver as kubelet uses it: the
// driver and the Vault provider run as the processes they are in
// production, on the real kube-apiserver and Vault of testenv, and the
// tests call NodePublishVolume and NodeUnpublishVolume over the driver's
// socket with the volume context kubelet sends.
package csidriver

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

var (
	env  *testenv.Env
	root string
	// work holds the binaries, sockets and volume targets.
	work   string
	driver *process
	prov   *process
	node   csi.NodeClient
	// metricsAddr is where the driver serves /metrics and /healthz.
	metricsAddr string
)

const (
	module           = "github.com/deckhouse/secrets-store-integration/images"
	rotationInterval = 2 * time.Second
)

func TestCSIDriver(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "CSI node driver against a real kube-apiserver and Vault")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	if os.Geteuid() != 0 {
		Skip("the driver mounts tmpfs: run as root")
	}
	var err error
	root, err = testenv.RepoRoot()
	Expect(err).NotTo(HaveOccurred())
	work, err = os.MkdirTemp("", "ssi-csidriver-*")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { unmountAll(work); _ = os.RemoveAll(work) })

	By("building the driver and the provider")
	for _, name := range []string{"csi-driver", "vault-provider"} {
		build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(work, name), module+"/"+name)
		build.Dir = filepath.Join(root, "test")
		out, err := build.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "go build %s: %s", name, out)
	}

	env, err = testenv.Start(ctx, testenv.Options{Log: GinkgoWriter})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)
	_, err = env.ApplyFile(ctx, filepath.Join(root, "crds", "secrets-store-import.yaml"))
	Expect(err).NotTo(HaveOccurred())

	metricsAddr = freeAddr()
	key := filepath.Join(work, "version.key")
	Expect(os.WriteFile(key, []byte("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"), 0o600)).To(Succeed())
	prov = &process{name: "vault-provider", bin: filepath.Join(work, "vault-provider"), args: []string{
		"--endpoint", providerSocket(), "--vault-addr", env.VaultAddr, "--vault-ca-cert", env.VaultCAPath,
		// No shared reads: the tests change values and expect them at once.
		"--read-cache-ttl", "0", "--metrics-addr", "", "--version-key-file", key,
	}}
	driver = &process{name: "csi-driver", bin: filepath.Join(work, "csi-driver"), args: []string{
		"--endpoint", "unix://" + driverSocket(), "--nodeid", "node-1", "--kubeconfig", env.Kubeconfig,
		"--provider-dir", filepath.Join(work, "providers"), "--provider", "vault",
		"--rotation-interval", rotationInterval.String(), "--metrics-addr", metricsAddr,
	}}
	prov.start()
	DeferCleanup(prov.stop)
	driver.start()
	DeferCleanup(driver.stop)
	waitForSocket(ctx, providerSocket())

	conn, err := grpc.NewClient("unix://"+driverSocket(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(conn.Close)
	node = csi.NewNodeClient(conn)
	waitForDriver(ctx, conn)
}, NodeTimeout(6*time.Minute))

func providerSocket() string { return filepath.Join(work, "providers", "vault.sock") }
func driverSocket() string   { return filepath.Join(work, "csi.sock") }

// process is a binary the suite runs, as its DaemonSet container would.
type process struct {
	name, bin string
	args      []string
	cmd       *exec.Cmd
}

func (p *process) start() {
	GinkgoHelper()
	p.cmd = exec.Command(p.bin, p.args...)
	p.cmd.Stdout = GinkgoWriter
	p.cmd.Stderr = GinkgoWriter
	Expect(p.cmd.Start()).To(Succeed(), "start %s", p.name)
}

// stop ends the process with SIGTERM, as kubelet stops a container.
func (p *process) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
	p.cmd = nil
}

func waitForSocket(ctx context.Context, path string) {
	GinkgoHelper()
	Eventually(ctx, func() error {
		c, err := net.Dial("unix", path)
		if err != nil {
			return err
		}
		return c.Close()
	}).WithTimeout(30 * time.Second).Should(Succeed())
}

func waitForDriver(ctx context.Context, conn *grpc.ClientConn) {
	GinkgoHelper()
	identity := csi.NewIdentityClient(conn)
	Eventually(ctx, func() error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		info, err := identity.GetPluginInfo(ctx, &csi.GetPluginInfoRequest{})
		if err != nil {
			return err
		}
		if info.GetName() != "secrets-store.csi.deckhouse.io" {
			return fmt.Errorf("driver name %q", info.GetName())
		}
		return nil
	}).WithTimeout(30 * time.Second).Should(Succeed())
}

// freeAddr is a loopback address with a port nothing listens on.
func freeAddr() string {
	GinkgoHelper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer ln.Close()
	return ln.Addr().String()
}
