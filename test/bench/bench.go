// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package bench is the harness of the benchmark commands (cmd/bench-*): the
// frame of a command (flags, interrupt, report), the environment it measures
// in, and how it measures (nearest-rank percentiles, milliseconds, bounded
// parallel calls), so every command starts, measures and reports the same way.
package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// Bench is what a benchmark command starts with: a work folder, the product
// binaries built into it, and the test environment with the
// SecretsStoreImport CRD installed.
type Bench struct {
	Work string
	Bins components.Binaries
	Env  *testenv.Env
}

// Start builds the binaries into a new work folder named after name, starts
// the environment and installs the CRD, telling progress with Step. Close
// undoes it, also after an error.
func Start(ctx context.Context, name string) (_ *Bench, err error) {
	work, err := os.MkdirTemp("", "ssi-bench-"+name+"-*")
	if err != nil {
		return nil, fmt.Errorf("make work folder: %w", err)
	}
	b := &Bench{Work: work}
	defer func() {
		if err != nil {
			err = errors.Join(err, b.Close())
		}
	}()
	Step("building the product binaries")
	if b.Bins, err = components.Build(ctx, filepath.Join(work, "bin")); err != nil {
		return nil, err
	}
	Step("starting etcd, kube-apiserver and Vault")
	if b.Env, err = testenv.Start(ctx, testenv.Options{Log: os.Stderr}); err != nil {
		return nil, err
	}
	if err := b.Env.ApplyImportCRD(ctx); err != nil {
		return nil, err
	}
	return b, nil
}

// Close stops the environment and removes the work folder; whatever a
// failed run left mounted there goes first.
func (b *Bench) Close() error {
	if b.Env != nil {
		b.Env.Stop()
	}
	return errors.Join(components.UnmountAll(b.Work), os.RemoveAll(b.Work))
}
