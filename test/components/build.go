// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package components holds the module's own binaries as the tests run them:
// built from the workspace (Build) and started as the processes they are in
// production (the CSI driver, the Vault provider, the controller and the
// webhook, under test/supervisor), with kubelet's part played against them
// (CSI volumes, the mount table, the containers of a mutated pod). The
// integration suites, the demo and the benchmark commands share it, so every
// one of them starts, stops and calls the binaries the same way.
package components

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// module is the Go module of the product binaries.
const module = "github.com/deckhouse/secrets-store-integration/images"

// Binaries are the built executables.
type Binaries struct {
	Driver, Provider string
	// Injector is the env injector, static as in its image.
	Injector string
	// Controller is the SecretsStoreImport controller (Secret sync, status).
	Controller string
	// Webhook is the mutating admission webhook of env injection.
	Webhook string
	// NRIPlugin is containerd delivery's NRI plugin.
	NRIPlugin string
}

// InjectorBuildTags are the env injector image's build tags: HTTP/1.1 only,
// for a smaller binary.
const InjectorBuildTags = "nethttpomithttp2"

// Build compiles the product binaries (images/csi-driver, vault-provider,
// env-injector, ...) from the workspace into dir, as the images do, and
// returns their paths.
func Build(ctx context.Context, dir string) (Binaries, error) {
	root, err := testenv.RepoRoot()
	if err != nil {
		return Binaries{}, err
	}
	// A cold build cache on a busy machine takes minutes, not hours.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	// One go invocation builds them all: the shared packages compile once. With a
	// trailing slash -o names each binary after its package folder.
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(filepath.Separator),
		module+"/csi-driver", module+"/vault-provider", module+"/controller", module+"/webhook", module+"/nri-plugin")
	// From the repository root go.work ties the product modules together.
	cmd.Dir = root
	// Static, as the images build them: the injector runs in any image.
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return Binaries{}, fmt.Errorf("go build the product binaries: %w\n%s", err, out)
	}
	// The injector with its image's build tags (images/env-injector/Dockerfile).
	cmd = exec.CommandContext(ctx, "go", "build", "-tags", InjectorBuildTags, "-o", dir+string(filepath.Separator), module+"/env-injector")
	cmd.Dir = root
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return Binaries{}, fmt.Errorf("go build the env injector: %w\n%s", err, out)
	}
	return Binaries{
		Driver:     filepath.Join(dir, "csi-driver"),
		Provider:   filepath.Join(dir, "vault-provider"),
		Injector:   filepath.Join(dir, "env-injector"),
		Controller: filepath.Join(dir, "controller"),
		Webhook:    filepath.Join(dir, "webhook"),
		NRIPlugin:  filepath.Join(dir, "nri-plugin"),
	}, nil
}

// BuildStrippedInjector builds the env injector into out as its image does:
// static, stripped, with the image's build tags; the size is what every
// mutated pod copies.
func BuildStrippedInjector(ctx context.Context, out string) error {
	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", InjectorBuildTags, "-ldflags=-s -w", "-o", out, module+"/env-injector")
	cmd.Dir = root
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build env-injector: %w\n%s", err, b)
	}
	return nil
}
