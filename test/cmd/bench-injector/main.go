// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Command bench-injector measures the env injector as a container start
// runs it: the static binary's size, and the time from its start to the end
// of a trivial application (/bin/true) that it execs, with 1 and 10
// references, against the real Vault and kube-apiserver of testenv (each
// start logs in through a real TokenReview, reads, revokes its token).
// Starts run one at a time, as containers of one pod do, and with several
// at once, as a rollout does.
//
//	go run ./cmd/bench-injector -starts 100 -refs 1,10 -concurrency 1,10 -out bench.md
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/deckhouse/secrets-store-integration/test/bench"
	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

const (
	namespace = "bench"
	account   = "app"
	role      = "bench-inj"
)

type options struct {
	starts      int
	refs        []int
	concurrency []int
}

func main() {
	var o options
	cmd := bench.NewCommand("bench-injector", 15*time.Minute)
	refs := bench.Counts("refs", "1,10", "comma-separated numbers of references per container, one run each")
	concurrency := bench.Counts("concurrency", "1,10", "comma-separated numbers of concurrent starts, one run each")
	flag.IntVar(&o.starts, "starts", 100, "injector starts per run")
	flag.Parse()
	o.refs, o.concurrency = *refs, *concurrency
	if o.starts < 1 {
		bench.Usage("-starts must be at least 1")
	}
	cmd.Run(func(ctx context.Context) (string, error) { return run(ctx, cmd, o) })
}

func run(ctx context.Context, cmd *bench.Command, o options) (report string, err error) {
	h, err := bench.Start(ctx, "injector")
	if err != nil {
		return "", err
	}
	defer func() { err = errors.Join(err, h.Close()) }()
	env, dir := h.Env, h.Work
	size, err := strippedSize(ctx, dir)
	if err != nil {
		return "", err
	}
	tokenFile, err := prepare(ctx, env, dir, slices.Max(o.refs))
	if err != nil {
		return "", err
	}
	trueBin, err := exec.LookPath("true")
	if err != nil {
		return "", err
	}

	var b strings.Builder
	b.WriteString(cmd.Header("the env injector"))
	fmt.Fprintf(&b, "env-injector: %d bytes (%.1f MiB) static and stripped as in its image; %d CPUs; %s\n\n", size, float64(size)/(1<<20), runtime.NumCPU(), env.Startup)
	fmt.Fprintln(&b, "| references | concurrent starts | starts | p50 ms | p99 ms | max ms | starts/s |")
	fmt.Fprintln(&b, "| --- | --- | --- | --- | --- | --- | --- |")
	for _, c := range o.concurrency {
		// The floor: exec of the application without the injector.
		if err := measure(ctx, &b, "none (/bin/true alone)", c, o.starts, func() *exec.Cmd { return exec.Command(trueBin) }); err != nil {
			return "", err
		}
		for _, n := range o.refs {
			environ := containerEnv(env, tokenFile, n)
			start := func() *exec.Cmd {
				start := exec.Command(h.Bins.Injector, "--", trueBin)
				start.Env = environ
				return start
			}
			if err := measure(ctx, &b, strconv.Itoa(n), c, o.starts, start); err != nil {
				return "", err
			}
		}
	}
	return b.String(), nil
}

// strippedSize builds the injector as its image does and returns the
// binary's size: what every mutated pod copies.
func strippedSize(ctx context.Context, dir string) (int64, error) {
	out := filepath.Join(dir, "env-injector-stripped")
	if err := components.BuildStrippedInjector(ctx, out); err != nil {
		return 0, err
	}
	info, err := os.Stat(out)
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}

// prepare writes one secret per reference, a role for the service account
// and its token file.
func prepare(ctx context.Context, env *testenv.Env, dir string, refs int) (string, error) {
	if _, err := env.CreateServiceAccount(ctx, namespace, account); err != nil {
		return "", err
	}
	if err := env.GrantRead(ctx, testenv.ReadGrant{
		Role: role, Policy: role, Path: "secret/data/bench-inj/*",
		Namespace: namespace, ServiceAccounts: []string{account}, TTL: time.Hour,
	}); err != nil {
		return "", err
	}
	for i := range refs {
		if _, err := env.Vault.KVv2(testenv.KVMount).Put(ctx, fmt.Sprintf("bench-inj/s%02d", i), map[string]any{"value": fmt.Sprintf("value-%d", i)}); err != nil {
			return "", err
		}
	}
	jwt, err := env.ServiceAccountToken(ctx, namespace, account, "vault", time.Hour)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "token")
	return path, os.WriteFile(path, []byte(jwt), 0o600)
}

// containerEnv is what the webhook gives a container with n references.
func containerEnv(env *testenv.Env, tokenFile string, n int) []string {
	out := []string{
		"PATH=/usr/bin:/bin", "VAULT_ADDR=" + env.VaultAddr, "VAULT_ROLE=" + role, "VAULT_AUTH_PATH=kubernetes",
		"VAULT_CACERT_PEM=" + string(env.VaultCAPEM), "VAULT_SA_TOKEN_PATH=" + tokenFile, "VAULT_LOG_LEVEL=warn",
	}
	for i := range n {
		out = append(out, fmt.Sprintf("SECRET_%02d=secrets-store:secret/data/bench-inj/s%02d#value", i, i))
	}
	return out
}

func measure(ctx context.Context, b *strings.Builder, label string, concurrency, starts int, newCmd func() *exec.Cmd) error {
	lat := make([]time.Duration, starts)
	var mu sync.Mutex
	var errs []error
	wall := bench.Parallel(ctx, starts, concurrency, func(i int) {
		cmd := newCmd()
		began := time.Now()
		out, err := cmd.CombinedOutput()
		lat[i] = time.Since(began)
		if err != nil {
			mu.Lock()
			errs = append(errs, fmt.Errorf("start %d: %w: %s", i, err, out))
			mu.Unlock()
		}
	})
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	slices.Sort(lat)
	fmt.Fprintf(b, "| %s | %d | %d | %s | %s | %s | %.0f |\n", label, concurrency, starts,
		bench.Ms(bench.Percentile(lat, .5)), bench.Ms(bench.Percentile(lat, .99)),
		bench.Ms(lat[len(lat)-1]), float64(starts)/wall.Seconds())
	return nil
}
