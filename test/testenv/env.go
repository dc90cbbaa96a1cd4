// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package testenv runs the real servers the integration tests need: etcd, a
// kube-apiserver with TLS, RBAC and service-account tokens, and a Vault server
// whose Kubernetes auth method reviews tokens through that kube-apiserver.
// Everything listens on loopback ports picked at start and lives in one
// temporary folder that Stop removes.
//
// With ginkgo:
//
//	BeforeSuite(func(ctx SpecContext) {
//		env, err := testenv.Start(ctx, testenv.Options{})
//		Expect(err).NotTo(HaveOccurred())
//		DeferCleanup(env.Stop)
//	})
package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	vault "github.com/hashicorp/vault/api"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/deckhouse/secrets-store-integration/test/supervisor"
)

// Options tune Start. The zero value is what most tests want.
type Options struct {
	// BinDir holds the etcd, kube-apiserver and vault binaries. Default:
	// $SSI_TEST_BIN_DIR, else .cache/bin at the repository root, where
	// test/tools/build.sh links them.
	BinDir string
	// Log receives the start-up timings. Default: os.Stderr.
	Log io.Writer
	// Timeout bounds the whole start. Default: 2 minutes.
	Timeout time.Duration
	// WithoutVault starts only etcd and kube-apiserver, for suites that
	// test what runs in the cluster and never the store (the Vault fields
	// stay empty and the vault binary is not needed).
	WithoutVault bool
	// ServiceRouting makes kube-apiserver reach a webhook's Service through
	// its EndpointSlices (--enable-aggregator-routing) instead of its
	// cluster IP, which nothing routes here: a test then publishes an
	// EndpointSlice with the address its webhook listens on.
	ServiceRouting bool
}

// Env is a running environment. Its fields are read-only.
type Env struct {
	// Dir is the environment's temporary folder.
	Dir string

	// APIServerURL is kube-apiserver's https address.
	APIServerURL string
	// KubeCAPEM is the CA that signed kube-apiserver's serving certificate.
	KubeCAPEM []byte
	// Kubeconfig is a kubeconfig file of the cluster admin.
	Kubeconfig string
	// Config is the cluster admin's client configuration.
	Config *rest.Config
	// Kube is a clientset of the cluster admin.
	Kube kubernetes.Interface

	// VaultAddr is Vault's https address.
	VaultAddr string
	// VaultCAPEM and VaultCAPath are the CA that signed Vault's certificate.
	VaultCAPEM  []byte
	VaultCAPath string
	// VaultRootToken is Vault's root token.
	VaultRootToken string
	// Vault is a client of Vault holding the root token.
	Vault *vault.Client
	// VaultMTLSAddr is a second Vault listener that requires a client
	// certificate; VaultClientCertPath and VaultClientKeyPath are one,
	// signed by the Vault CA.
	VaultMTLSAddr                           string
	VaultClientCertPath, VaultClientKeyPath string

	// Startup is how long each part took to become ready.
	Startup Timings

	vaultUnsealKey string

	procs    []*supervisor.Process
	stopOnce sync.Once

	mapperMu sync.Mutex
	mapper   *restmapper.DeferredDiscoveryRESTMapper // nil until first Apply
}

// Timings records start-up durations.
type Timings struct {
	Etcd, APIServer, Vault, KubernetesAuth, Total time.Duration
}

func (t Timings) String() string {
	return fmt.Sprintf("etcd %s, kube-apiserver %s, vault %s, kubernetes auth %s; total %s",
		t.Etcd.Round(time.Millisecond), t.APIServer.Round(time.Millisecond),
		t.Vault.Round(time.Millisecond), t.KubernetesAuth.Round(time.Millisecond),
		t.Total.Round(time.Millisecond))
}

const dirPattern = "ssi-testenv-*"

// Start runs the environment and returns once every part is ready. On error
// nothing is left running. Call Stop when done, also after a failed test.
func Start(ctx context.Context, opts Options) (_ *Env, err error) {
	began := time.Now()
	if opts.Log == nil {
		opts.Log = os.Stderr
	}
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Minute
	}
	bins, err := findBinaries(opts.BinDir, !opts.WithoutVault)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	sweepStale(os.TempDir(), dirPattern)
	dir, err := os.MkdirTemp("", dirPattern)
	if err != nil {
		return nil, fmt.Errorf("make environment folder: %w", err)
	}
	env := &Env{Dir: dir}
	defer func() {
		if err != nil {
			env.Stop()
		}
	}()
	if err := markOwner(dir); err != nil {
		return nil, fmt.Errorf("mark environment folder: %w", err)
	}
	kubeCA, err := newAuthority("testenv-kube-ca")
	if err != nil {
		return nil, err
	}
	caPath := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(caPath, kubeCA.certPEM, 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", caPath, err)
	}

	// Vault starts beside etcd and kube-apiserver; only its Kubernetes auth
	// configuration waits for the API server.
	var (
		wg       sync.WaitGroup
		vs       *vaultServer
		vaultErr error
	)
	if !opts.WithoutVault {
		wg.Go(func() {
			start := time.Now()
			vs, vaultErr = startVault(ctx, bins.vault, dir)
			env.Startup.Vault = time.Since(start)
		})
	}
	kubeErr := func() error {
		start := time.Now()
		etcd, etcdURL, err := startEtcd(ctx, bins.etcd, dir)
		if err != nil {
			return err
		}
		env.procs = append(env.procs, etcd)
		env.Startup.Etcd = time.Since(start)
		start = time.Now()
		var extra []string
		if opts.ServiceRouting {
			extra = append(extra, "--enable-aggregator-routing=true")
		}
		api, err := startAPIServer(ctx, bins.apiServer, dir, etcdURL, kubeCA, extra...)
		if err != nil {
			return err
		}
		env.procs = append(env.procs, api.proc)
		env.Startup.APIServer = time.Since(start)
		env.APIServerURL, env.Config, env.Kubeconfig = api.url, api.config, api.kubeconfig
		env.KubeCAPEM = kubeCA.certPEM
		env.Kube, err = kubernetes.NewForConfig(api.config)
		if err != nil {
			return fmt.Errorf("make kubernetes client: %w", err)
		}
		return nil
	}()
	wg.Wait()
	if vs != nil {
		env.procs = append(env.procs, vs.proc)
	}
	if err := errors.Join(kubeErr, vaultErr); err != nil {
		return nil, err
	}
	if opts.WithoutVault {
		env.Startup.Total = time.Since(began)
		fmt.Fprintf(opts.Log, "testenv: ready without Vault in %s (%s)\n", env.Startup.Total.Round(time.Millisecond), env.Startup)
		return env, nil
	}
	env.VaultAddr, env.VaultCAPEM, env.VaultCAPath = vs.addr, vs.caPEM, vs.caPath
	env.VaultRootToken, env.Vault, env.vaultUnsealKey = vs.rootToken, vs.client, vs.unsealKey
	env.VaultMTLSAddr, env.VaultClientCertPath, env.VaultClientKeyPath = vs.mtlsAddr, vs.clientCert, vs.clientKey

	start := time.Now()
	reviewer, err := env.tokenReviewer(ctx)
	if err != nil {
		return nil, err
	}
	if err := vs.configureKubernetesAuth(ctx, env.APIServerURL, env.KubeCAPEM, reviewer); err != nil {
		return nil, err
	}
	env.Startup.KubernetesAuth = time.Since(start)
	env.Startup.Total = time.Since(began)
	fmt.Fprintf(opts.Log, "testenv: ready in %s (%s)\n", env.Startup.Total.Round(time.Millisecond), env.Startup)
	return env, nil
}

// Stop ends every process of the environment and removes its folder. It is
// safe to call more than once.
func (e *Env) Stop() {
	e.stopOnce.Do(func() {
		// Reverse order: Vault and kube-apiserver before the etcd they use.
		for i := len(e.procs) - 1; i >= 0; i-- {
			_ = e.procs[i].Stop()
		}
		if e.Dir != "" {
			_ = os.RemoveAll(e.Dir)
		}
	})
}

// NewVaultClient returns a Vault client that trusts the environment's CA and
// holds no token, as an application would start.
func (e *Env) NewVaultClient() (*vault.Client, error) {
	return newVaultClient(e.VaultAddr, e.VaultCAPEM)
}

type binaries struct{ etcd, apiServer, vault string }

func findBinaries(dir string, withVault bool) (binaries, error) {
	if dir == "" {
		var err error
		if dir, err = BinDir(); err != nil {
			return binaries{}, err
		}
	}
	b := binaries{
		etcd:      filepath.Join(dir, "etcd"),
		apiServer: filepath.Join(dir, "kube-apiserver"),
		vault:     filepath.Join(dir, "vault"),
	}
	needed := []string{b.etcd, b.apiServer}
	if withVault {
		needed = append(needed, b.vault)
	}
	for _, path := range needed {
		if _, err := os.Stat(path); err != nil {
			return binaries{}, fmt.Errorf("test server %s: %w (build the servers with `make test-servers`)", path, err)
		}
	}
	return b, nil
}

// BinDir is where the test servers are (etcd, kube-apiserver, vault,
// containerd, runc, ...): $SSI_TEST_BIN_DIR, else .cache/bin at the
// repository root, where test/tools/build.sh links them.
func BinDir() (string, error) {
	if dir := os.Getenv("SSI_TEST_BIN_DIR"); dir != "" {
		return dir, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".cache", "bin"), nil
}

// RepoRoot walks up from the working directory to the folder that holds
// test/tools/build.sh.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "test", "tools", "build.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no test/tools/build.sh above the working directory; set SSI_TEST_BIN_DIR")
		}
		dir = parent
	}
}
