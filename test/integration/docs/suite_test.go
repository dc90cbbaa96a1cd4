// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package docs checks the module's documentation: every page has its Russian
// twin and front matter, every YAML example parses, and the examples that are
// whole Kubernetes objects (ours and core ones) pass server-side dry-run on a
// real kube-apiserver that has the module's CRD. It also runs the way 1
// example program (docs/examples/app) against a real Vault.
package docs

import (
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

var (
	env  *testenv.Env
	root string
)

func TestDocs(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "docs: twins, front matter, YAML examples dry-run on a real kube-apiserver, way 1 program")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	var err error
	root, err = testenv.RepoRoot()
	Expect(err).NotTo(HaveOccurred())

	env, err = testenv.Start(ctx, testenv.Options{Log: GinkgoWriter})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)

	err = env.ApplyImportCRD(ctx)
	Expect(err).NotTo(HaveOccurred())
	// The identity of every example: namespace myapp and ServiceAccount
	// myapp (a pod's ServiceAccount must exist for its dry-run, and the way 1
	// program logs in as it).
	_, err = env.CreateServiceAccount(ctx, "myapp", "myapp")
	Expect(err).NotTo(HaveOccurred())
}, NodeTimeout(4*time.Minute))
