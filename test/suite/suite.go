// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package suite is the common start of the integration suites, called from
// a Ginkgo BeforeSuite: a work folder, the module's binaries built into it
// and the real test environment, each removed or stopped when the suite
// ends (DeferCleanup).
package suite

import (
	"context"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// Options say what a suite needs besides the environment and the binaries.
type Options struct {
	// Name names the work folder (ssi-<Name>-*).
	Name string
	// Mounts: the suite mounts tmpfs (a CSI driver), so it runs as root
	// and whatever is still mounted under the work folder is unmounted
	// before the folder is removed.
	Mounts bool
	// ImportCRD installs the SecretsStoreImport CRD.
	ImportCRD bool
}

// Suite is what the suite runs with.
type Suite struct {
	Work string
	Bins components.Binaries
	Env  *testenv.Env
}

// Start builds the binaries and starts the environment. It skips the suite
// when it mounts and does not run as root.
func Start(ctx context.Context, o Options) Suite {
	if o.Mounts && os.Geteuid() != 0 {
		Skip("the suite mounts tmpfs: run as root")
	}
	work, err := os.MkdirTemp("", "ssi-"+o.Name+"-*")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		if o.Mounts {
			Expect(components.UnmountAll(work)).To(Succeed())
		}
		Expect(os.RemoveAll(work)).To(Succeed())
	})

	By("building the module's binaries")
	bins, err := components.Build(ctx, work)
	Expect(err).NotTo(HaveOccurred())

	env, err := testenv.Start(ctx, testenv.Options{Log: GinkgoWriter})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)
	if o.ImportCRD {
		Expect(env.ApplyImportCRD(ctx)).To(Succeed())
	}
	return Suite{Work: work, Bins: bins, Env: env}
}

// VersionKey writes the provider's --version-key-file (a fixed key: the
// suites compare versions only within one run) and returns its path.
func (s Suite) VersionKey() string {
	key := filepath.Join(s.Work, "version.key")
	Expect(os.WriteFile(key, []byte("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"), 0o600)).To(Succeed())
	return key
}
