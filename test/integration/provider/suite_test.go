// Package provider tests the vault-provider binary as the upstream
// secrets-store CSI driver uses it: over the provider gRPC protocol on a unix
// socket, with the attributes the driver sends, against a real Vault whose
// Kubernetes auth reviews real service-account tokens.
package provider

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	pb "sigs.k8s.io/secrets-store-csi-driver/provider/v1alpha1"

	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

var (
	env         *testenv.Env
	client      pb.CSIDriverProviderClient
	metricsAddr string
	providerLog logLines
)

// logLines keeps the provider's log for checks on what it reveals.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
}

func (l *logLines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

func TestVaultProvider(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "vault-provider against a real kube-apiserver and Vault")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	var err error
	env, err = testenv.Start(ctx, testenv.Options{Log: GinkgoWriter})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)

	bin := buildProvider(ctx)
	socket := filepath.Join(GinkgoT().TempDir(), "vault.sock")
	// A stale socket from a crashed run must not stop the provider.
	stale, err := net.Listen("unix", socket)
	Expect(err).NotTo(HaveOccurred())
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	Expect(socket).To(BeAnExistingFile())

	metricsAddr = startProvider(bin,
		"--endpoint", socket,
		"--vault-addr", env.VaultAddr,
		"--vault-ca-cert", env.VaultCAPath,
		"--metrics-addr", "127.0.0.1:0",
		"--read-cache-ttl", "2m",
	)
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
}, NodeTimeout(6*time.Minute))

// buildProvider builds the binary from the workspace, as the image does.
func buildProvider(ctx context.Context) string {
	root, err := testenv.RepoRoot()
	Expect(err).NotTo(HaveOccurred())
	bin := filepath.Join(GinkgoT().TempDir(), "vault-provider")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/deckhouse/secrets-store-integration/images/vault-provider")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "go build vault-provider:\n%s", out)
	return bin
}

// startProvider runs the provider, copies its JSON log to GinkgoWriter and
// returns the metrics address it logged once it serves.
func startProvider(bin string, args ...string) string {
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	Expect(err).NotTo(HaveOccurred())
	Expect(cmd.Start()).To(Succeed())
	exited := make(chan error, 1)
	addr := make(chan string, 1)
	serving := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Bytes()
			GinkgoWriter.Printf("vault-provider: %s\n", line)
			providerLog.add(string(line))
			var entry struct{ Msg, Addr string }
			if json.Unmarshal(line, &entry) == nil {
				switch entry.Msg {
				case "serving metrics":
					addr <- entry.Addr
				case "serving provider":
					close(serving)
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	go func() { exited <- cmd.Wait() }()
	DeferCleanup(func() {
		// SIGTERM: the provider must stop gracefully and remove its socket.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			Expect(err).NotTo(HaveOccurred(), "vault-provider exit after SIGTERM")
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			Fail("vault-provider did not stop within 30s of SIGTERM")
		}
	})
	var metrics string
	select {
	case metrics = <-addr:
	case err := <-exited:
		Fail("vault-provider exited at start: " + errString(err))
	case <-time.After(time.Minute):
		Fail("vault-provider did not log its metrics address")
	}
	select {
	case <-serving:
	case err := <-exited:
		Fail("vault-provider exited at start: " + errString(err))
	case <-time.After(time.Minute):
		Fail("vault-provider did not start serving")
	}
	return metrics
}

func errString(err error) string {
	if err == nil {
		return "exit 0"
	}
	return err.Error()
}
