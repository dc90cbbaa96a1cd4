// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Command bench-controller measures the SecretsStoreImport controller's
// Secret sync (way 4): the controller built from this repository runs as a
// process, with leader election, on the real kube-apiserver and Vault of
// testenv. It creates N imports of type KubernetesSecret, each syncing one
// key of its own KV v2 secret, waits until every Secret is written, then
// watches some refresh intervals with nothing changed in the store, then
// changes every secret and waits until every Secret has the new value. It
// prints the reconciles and store requests per interval (from the
// controller's metrics), the sync latency and the controller's memory.
//
// Run it from the test module:
//
//	go run ./cmd/bench-controller -imports 200 -refresh 30s -intervals 3 -out bench.md
//
// -namespaces spreads the imports over namespaces (a large cluster); -json
// writes the phases for the charts.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/deckhouse/secrets-store-integration/test/bench"
	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/storeproxy"
)

const (
	namespace           = "bench"
	controllerNamespace = "d8-secrets-store-integration"
	role                = "bench"
	policy              = "bench-read"
)

type options struct {
	imports, serviceAccounts, intervals, workers, namespaces, slowImports int
	refresh, slowDelay                                                    time.Duration
	restart                                                               bool
}

func main() {
	var o options
	cmd := bench.NewCommand("bench-controller", 15*time.Minute)
	cmd.JSON()
	flag.IntVar(&o.imports, "imports", 200, "KubernetesSecret imports, one Secret and one store secret each")
	flag.IntVar(&o.serviceAccounts, "service-accounts", 4, "ServiceAccounts the imports log in as (round robin), in each namespace")
	flag.IntVar(&o.namespaces, "namespaces", 1, "namespaces the imports are spread over (round robin)")
	flag.DurationVar(&o.refresh, "refresh", 30*time.Second, "refreshInterval of every import")
	flag.IntVar(&o.intervals, "intervals", 3, "refresh intervals measured with nothing changed in the store")
	flag.IntVar(&o.workers, "workers", 16, "the controller's --workers")
	flag.IntVar(&o.slowImports, "slow-imports", 0, "imports of a slow tenant, in a namespace of their own, whose store answers after -slow-delay")
	flag.BoolVar(&o.restart, "restart", false, "at the end, restart the controller with every import in place and measure until it has read each once more")
	flag.DurationVar(&o.slowDelay, "slow-delay", time.Minute, "how long the slow tenant's store holds each request (beyond the controller's 15 s --store-timeout: it never answers in time)")
	flag.Parse()
	if o.imports < 1 || o.serviceAccounts < 1 || o.intervals < 1 || o.workers < 1 || o.namespaces < 1 || o.slowImports < 0 || o.refresh < 30*time.Second {
		bench.Usage("-imports, -service-accounts, -intervals, -workers and -namespaces must be at least 1, -slow-imports at least 0, -refresh at least 30s (the CRD's minimum)")
	}
	cmd.Run(func(ctx context.Context) (string, error) { return run(ctx, cmd, o) })
}

func run(ctx context.Context, cmd *bench.Command, o options) (report string, err error) {
	h, err := bench.Start(ctx, "controller")
	if err != nil {
		return "", err
	}
	defer func() { err = errors.Join(err, h.Close()) }()
	env := h.Env
	// The controller's namespace, for its Lease and HMAC key Secret.
	if _, err := env.CreateServiceAccount(ctx, controllerNamespace, "controller"); err != nil {
		return "", err
	}
	bench.Step(fmt.Sprintf("writing %d store secrets, %d service accounts, a policy and a role", o.imports, o.serviceAccounts))
	if err := prepare(ctx, env, o); err != nil {
		return "", err
	}
	s := &setup{o: o, env: env}
	var args []string
	if o.slowImports > 0 {
		ca, err := os.ReadFile(env.VaultCAPath)
		if err != nil {
			return "", fmt.Errorf("read the store's CA: %w", err)
		}
		if s.slow, err = storeproxy.Start(env.VaultAddr, ca); err != nil {
			return "", err
		}
		defer s.slow.Close()
		s.slow.SetDelay(o.slowDelay)
		args = append(args, "--allowed-store-addresses", s.slow.URL())
	}
	bench.Step("starting the controller")
	s.cfg = components.ControllerConfig{
		Binary: h.Bins.Controller, Kubeconfig: env.Kubeconfig, Namespace: controllerNamespace,
		VaultAddr: env.VaultAddr, VaultCAPath: env.VaultCAPath, Workers: o.workers, Args: args,
	}
	if s.ctl, err = components.StartController(ctx, s.cfg); err != nil {
		return "", err
	}
	// The one running at the end: -restart replaces it.
	defer func() { err = errors.Join(err, s.ctl.Stop()) }()

	res, err := s.measure(ctx)
	if err != nil {
		return "", err
	}
	return markdown(cmd, o, res), cmd.WriteJSON(newResultsJSON(cmd.Info(), o, res))
}
