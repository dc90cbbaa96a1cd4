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
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/deckhouse/secrets-store-integration/test/components"
)

const (
	namespace           = "bench"
	controllerNamespace = "d8-secrets-store-integration"
	role                = "bench"
	policy              = "bench-read"
)

type options struct {
	imports, serviceAccounts, intervals, workers, namespaces int
	refresh, timeout                                         time.Duration
	out, jsonOut                                             string
}

func main() {
	var o options
	flag.IntVar(&o.imports, "imports", 200, "KubernetesSecret imports, one Secret and one store secret each")
	flag.IntVar(&o.serviceAccounts, "service-accounts", 4, "ServiceAccounts the imports log in as (round robin), in each namespace")
	flag.IntVar(&o.namespaces, "namespaces", 1, "namespaces the imports are spread over (round robin)")
	flag.DurationVar(&o.refresh, "refresh", 30*time.Second, "refreshInterval of every import")
	flag.IntVar(&o.intervals, "intervals", 3, "refresh intervals measured with nothing changed in the store")
	flag.IntVar(&o.workers, "workers", 4, "the controller's --workers")
	flag.StringVar(&o.out, "out", "", "also write the results as markdown to this file")
	flag.StringVar(&o.jsonOut, "json", "", "also write the results as JSON to this file")
	flag.DurationVar(&o.timeout, "timeout", 15*time.Minute, "bound of the whole benchmark")
	flag.Parse()
	if o.imports < 1 || o.serviceAccounts < 1 || o.intervals < 1 || o.workers < 1 || o.namespaces < 1 || o.refresh < 30*time.Second {
		fmt.Fprintln(os.Stderr, "-imports, -service-accounts, -intervals, -workers and -namespaces must be at least 1, -refresh at least 30s (the CRD's minimum)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		slog.Error("bench-controller failed", "error", err.Error())
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) (err error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	loadBefore := components.LoadAverage()
	b, err := components.StartBench(ctx, "controller", step)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, b.Close()) }()
	env := b.Env
	// The controller's namespace, for its Lease and HMAC key Secret.
	if _, err := env.CreateServiceAccount(ctx, controllerNamespace, "controller"); err != nil {
		return err
	}
	step(fmt.Sprintf("writing %d store secrets, %d service accounts, a policy and a role", o.imports, o.serviceAccounts))
	if err := prepare(ctx, env, o); err != nil {
		return err
	}
	step("starting the controller")
	ctl, err := components.StartController(ctx, components.ControllerConfig{
		Binary: b.Bins.Controller, Kubeconfig: env.Kubeconfig, Namespace: controllerNamespace,
		VaultAddr: env.VaultAddr, VaultCAPath: env.VaultCAPath, Workers: o.workers,
	})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, ctl.Stop()) }()

	res, err := (&bench{o: o, env: env, ctl: ctl}).measure(ctx)
	if err != nil {
		return err
	}
	loadAfter := components.LoadAverage()
	return components.WriteReport(markdown(o, res, loadBefore, loadAfter), o.out, resultsJSON(o, res, loadBefore, loadAfter), o.jsonOut)
}

func step(msg string) { fmt.Fprintf(os.Stderr, "==> %s\n", msg) }

func hostInfo() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s (%d CPUs, %s)", host, runtime.NumCPU(), runtime.Version())
}
