// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package ensurecrds applies the module's crds/ to the cluster before every
// Helm run. Helm installs a chart's crds/ once and never upgrades them, so
// without this a changed CRD would never reach a running cluster.
//
// It runs module-sdk's ensure_crds handler (the CRD installer Deckhouse's
// modules use: creates or updates each CRD, skips doc-* files, labels them
// heritage: deckhouse) but registers it OnBeforeHelm instead of the common
// hook's OnStartup, so that every converge applies crds/, not only the first
// one after addon-operator starts.
package ensurecrds

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	ensurecrds "github.com/deckhouse/module-sdk/common-hooks/ensure_crds"
	"github.com/deckhouse/module-sdk/pkg"
)

// Config runs first of the module's hooks on every converge.
var Config = &pkg.HookConfig{
	OnBeforeHelm: &pkg.OrderedConfig{Order: 1},
}

// Handle applies the CRDs of the module the hooks binary belongs to.
func Handle(ctx context.Context, input *pkg.HookInput) error {
	glob, err := Glob()
	if err != nil {
		return err
	}
	return ensurecrds.EnsureCRDs(ctx, input, glob)
}

// Glob is the pattern of the module's CRD files: the binary lives in the
// module's hooks/ folder, crds/ is its sibling.
func Glob() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("locating the hooks binary to find crds/: %w", err)
	}
	return GlobFor(exe), nil
}

// GlobFor is Glob for a hooks binary at exe.
func GlobFor(exe string) string {
	return filepath.Join(filepath.Dir(exe), "..", "crds", "*.yaml")
}
