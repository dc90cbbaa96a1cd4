// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package components

import (
	"context"
	"io"
	"strconv"
	"time"

	"github.com/deckhouse/secrets-store-integration/test/supervisor"
)

// ControllerConfig is how the SecretsStoreImport controller runs.
type ControllerConfig struct {
	// Binary is the controller executable (Binaries.Controller).
	Binary string
	// Kubeconfig is its access to the API (testenv's admin).
	Kubeconfig string
	// Namespace is the controller's own namespace: the leader election
	// Lease and the HMAC key Secret live there. It must exist.
	Namespace string
	// VaultAddr and VaultCAPath are the default store and its CA.
	VaultAddr, VaultCAPath string
	// RetryMaxDelay caps the backoff after failures; zero keeps the
	// controller's default (5m). Tests that stop the store use seconds.
	RetryMaxDelay time.Duration
	// CSICheckInterval is how often CSI imports' roles are checked; zero
	// keeps the default (10m).
	CSICheckInterval time.Duration
	// Workers is how many imports sync at once; zero keeps the default.
	Workers int
	// Args are more flags, such as --allowed-store-addresses.
	Args []string
	// Log receives a copy of each log line; nil drops the copy.
	Log io.Writer
}

// StartController runs the controller with leader election, its metrics on
// a loopback port it picks, and returns once its caches have synced
// (/readyz). It reconciles once it holds the Lease, a moment later.
func StartController(ctx context.Context, c ControllerConfig) (*supervisor.Process, error) {
	args := []string{
		"--kubeconfig", c.Kubeconfig, "--namespace", c.Namespace,
		"--vault-addr", c.VaultAddr, "--vault-ca-cert", c.VaultCAPath,
		"--metrics-addr", "127.0.0.1:0", "--retry-base-delay", "500ms",
	}
	if c.RetryMaxDelay > 0 {
		args = append(args, "--retry-max-delay", c.RetryMaxDelay.String())
	}
	if c.CSICheckInterval > 0 {
		args = append(args, "--csi-check-interval", c.CSICheckInterval.String())
	}
	if c.Workers > 0 {
		args = append(args, "--workers", strconv.Itoa(c.Workers))
	}
	args = append(args, c.Args...)
	p := &supervisor.Process{Name: "controller", Bin: c.Binary, Args: args, Out: c.Log}
	p.Ready = func(ctx context.Context, r *supervisor.Run) error {
		if err := r.WaitMetrics(ctx); err != nil {
			return err
		}
		return r.WaitHTTP(ctx, "/readyz")
	}
	if err := p.Start(ctx); err != nil {
		return nil, err
	}
	return p, nil
}
