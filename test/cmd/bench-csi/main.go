// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

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
	"os"
	"path/filepath"
	"time"

	"github.com/deckhouse/secrets-store-integration/test/bench"
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
}

func main() {
	var o options
	cmd := bench.NewCommand("bench-csi", 20*time.Minute)
	files := bench.Counts("files", "1,10,100", "comma-separated numbers of files per volume, one run each")
	concurrency := bench.Counts("concurrency", "1,50", "comma-separated numbers of concurrent publishes, one run each")
	flag.IntVar(&o.volumes, "volumes", 100, "volumes published in each run")
	flag.IntVar(&o.sharedSAs, "service-accounts", 4, "service accounts the pods of a run share (round robin)")
	flag.IntVar(&o.ownSAFiles, "own-sa-files", 10, "files per volume of the extra run where every pod has its own service account; 0 skips it")
	flag.Parse()
	o.files, o.concurrency = *files, *concurrency
	if o.volumes < 1 || o.sharedSAs < 1 || o.ownSAFiles < 0 {
		bench.Usage("-volumes and -service-accounts must be at least 1, -own-sa-files at least 0")
	}
	cmd.Run(func(ctx context.Context) (string, error) { return run(ctx, cmd, o) })
}

// setup is the running environment the runs share.
type setup struct {
	o        options
	env      *testenv.Env
	driver   *supervisor.Process
	provider *supervisor.Process
	kubelet  *components.Kubelet
	work     string
}

func run(ctx context.Context, cmd *bench.Command, o options) (report string, err error) {
	if os.Geteuid() != 0 {
		return "", errors.New("the driver mounts tmpfs: run as root")
	}
	h, err := bench.Start(ctx, "csi")
	if err != nil {
		return "", err
	}
	defer func() { err = errors.Join(err, h.Close()) }()
	env, work := h.Env, h.Work

	runs := plan(o)
	bench.Step("writing secrets, service accounts and SecretsStoreImports")
	if err := prepare(ctx, env, o, runs); err != nil {
		return "", err
	}

	b := &setup{o: o, env: env, work: work}
	b.provider, err = components.StartProvider(ctx, components.ProviderConfig{
		Binary: h.Bins.Provider, Socket: filepath.Join(work, "providers", "vault.sock"),
		VaultAddr: env.VaultAddr, VaultCAPath: env.VaultCAPath,
		// The production default: pods of one identity share reads.
		ReadCacheTTL: 2 * time.Minute,
	})
	if err != nil {
		return "", err
	}
	defer func() { err = errors.Join(err, b.provider.Stop()) }()
	b.driver, err = components.StartDriver(ctx, components.DriverConfig{
		Binary: h.Bins.Driver, Socket: filepath.Join(work, "csi.sock"), Kubeconfig: env.Kubeconfig,
		ProviderDir: filepath.Join(work, "providers"), Provider: "vault",
	})
	if err != nil {
		return "", err
	}
	defer func() { err = errors.Join(err, b.driver.Stop()) }()
	b.kubelet, err = components.NewKubelet(env, b.driver.Socket, work)
	if err != nil {
		return "", err
	}
	defer b.kubelet.Close()

	var results []result
	for i, r := range runs {
		bench.Step(fmt.Sprintf("run %d/%d: %d volumes, %d files each, %d concurrent, %d service accounts",
			i+1, len(runs), o.volumes, r.files, r.concurrency, len(r.serviceAccounts)))
		res, err := b.run(ctx, i, r)
		if err != nil {
			return "", fmt.Errorf("run %d (%d files, %d concurrent): %w", i+1, r.files, r.concurrency, err)
		}
		fmt.Fprintf(os.Stderr, "   %s\n", res.summary())
		results = append(results, res)
	}

	report = markdown(cmd, o, results)
	var failed int
	for _, r := range results {
		failed += r.publishErrors + r.unpublishErrors
	}
	if failed > 0 {
		return report, fmt.Errorf("%d calls failed; first: %s", failed, firstError(results))
	}
	return report, nil
}
