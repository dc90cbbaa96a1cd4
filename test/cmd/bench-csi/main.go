// Command bench-csi measures the file delivery path: the CSI node driver and
// the Vault provider, built from this repository and run as processes, on
// the real kube-apiserver and Vault of testenv. For each number of files per
// volume and each concurrency it publishes N volumes as kubelet would, then
// unpublishes them, and prints publish latency, throughput, the requests the
// provider made to Vault and both processes' memory.
//
// Run it as root (the driver mounts tmpfs) from the test module:
//
//	go run ./cmd/bench-csi -volumes 100 -files 1,10,100 -concurrency 1,50 -out bench.md
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/supervisor"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

const (
	namespace = "bench"
	role      = "bench"
	policy    = "bench-read"
)

type options struct {
	volumes     int
	files       []int
	concurrency []int
	sharedSAs   int
	ownSAFiles  int
	out         string
	timeout     time.Duration
}

func main() {
	var o options
	files, concurrency := "1,10,100", "1,50"
	flag.IntVar(&o.volumes, "volumes", 100, "volumes published in each run")
	flag.StringVar(&files, "files", files, "comma-separated numbers of files per volume, one run each")
	flag.StringVar(&concurrency, "concurrency", concurrency, "comma-separated numbers of concurrent publishes, one run each")
	flag.IntVar(&o.sharedSAs, "service-accounts", 4, "service accounts the pods of a run share (round robin)")
	flag.IntVar(&o.ownSAFiles, "own-sa-files", 10, "files per volume of the extra run where every pod has its own service account; 0 skips it")
	flag.StringVar(&o.out, "out", "", "also write the results as markdown to this file")
	flag.DurationVar(&o.timeout, "timeout", 20*time.Minute, "bound of the whole benchmark")
	flag.Parse()
	var err error
	if o.files, err = components.ParseCounts(files); err != nil {
		fmt.Fprintf(os.Stderr, "-files: %v\n", err)
		os.Exit(2)
	}
	if o.concurrency, err = components.ParseCounts(concurrency); err != nil {
		fmt.Fprintf(os.Stderr, "-concurrency: %v\n", err)
		os.Exit(2)
	}
	if o.volumes < 1 || o.sharedSAs < 1 || o.ownSAFiles < 0 {
		fmt.Fprintln(os.Stderr, "-volumes and -service-accounts must be at least 1, -own-sa-files at least 0")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		slog.Error("bench-csi failed", "error", err.Error())
		os.Exit(1)
	}
}

// bench is the running environment the runs share.
type bench struct {
	o        options
	env      *testenv.Env
	driver   *supervisor.Process
	provider *supervisor.Process
	kubelet  *components.Kubelet
	work     string
}

func run(ctx context.Context, o options) (err error) {
	if os.Geteuid() != 0 {
		return errors.New("the driver mounts tmpfs: run as root")
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	loadBefore := components.LoadAverage()

	work, err := os.MkdirTemp("", "ssi-bench-*")
	if err != nil {
		return fmt.Errorf("make work folder: %w", err)
	}
	defer func() {
		// Whatever a failed run left mounted goes before the folder does.
		err = errors.Join(err, components.UnmountAll(work), os.RemoveAll(work))
	}()

	step("building csi-driver and vault-provider")
	bins, err := components.Build(ctx, filepath.Join(work, "bin"))
	if err != nil {
		return err
	}
	step("starting etcd, kube-apiserver and Vault")
	env, err := testenv.Start(ctx, testenv.Options{Log: os.Stderr})
	if err != nil {
		return err
	}
	defer env.Stop()
	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	if _, err := env.ApplyFile(ctx, filepath.Join(root, "crds", "secrets-store-import.yaml")); err != nil {
		return err
	}

	runs := plan(o)
	step("writing secrets, service accounts and SecretsStoreImports")
	if err := prepare(ctx, env, o, runs); err != nil {
		return err
	}

	b := &bench{o: o, env: env, work: work}
	b.provider, err = components.StartProvider(ctx, components.ProviderConfig{
		Binary: bins.Provider, Socket: filepath.Join(work, "providers", "vault.sock"),
		VaultAddr: env.VaultAddr, VaultCAPath: env.VaultCAPath,
		// The production default: pods of one identity share reads.
		ReadCacheTTL: 2 * time.Minute,
	})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, b.provider.Stop()) }()
	b.driver, err = components.StartDriver(ctx, components.DriverConfig{
		Binary: bins.Driver, Socket: filepath.Join(work, "csi.sock"), Kubeconfig: env.Kubeconfig,
		ProviderDir: filepath.Join(work, "providers"), Provider: "vault",
	})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, b.driver.Stop()) }()
	b.kubelet, err = components.NewKubelet(env, b.driver.Socket, work)
	if err != nil {
		return err
	}
	defer b.kubelet.Close()

	var results []result
	for i, r := range runs {
		step(fmt.Sprintf("run %d/%d: %d volumes, %d files each, %d concurrent, %d service accounts",
			i+1, len(runs), o.volumes, r.files, r.concurrency, len(r.serviceAccounts)))
		res, err := b.run(ctx, i, r)
		if err != nil {
			return fmt.Errorf("run %d (%d files, %d concurrent): %w", i+1, r.files, r.concurrency, err)
		}
		fmt.Fprintf(os.Stderr, "   %s\n", res.summary())
		results = append(results, res)
	}

	report := markdown(o, results, loadBefore, components.LoadAverage())
	fmt.Print(report)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(report), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", o.out, err)
		}
	}
	var failed int
	for _, r := range results {
		failed += r.publishErrors + r.unpublishErrors
	}
	if failed > 0 {
		return fmt.Errorf("%d calls failed; first: %s", failed, firstError(results))
	}
	return nil
}

func step(msg string) { fmt.Fprintf(os.Stderr, "==> %s\n", msg) }

func nprocs() int { return runtime.NumCPU() }

// goVersion is the toolchain that built the bench, and so the binaries.
func goVersion() string { return runtime.Version() }
