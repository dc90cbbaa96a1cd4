// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package chart tests the module's Helm chart: it renders the templates with
// the Helm v3 library for a matrix of values (Deckhouse's and plain Helm's),
// checks what each case renders, lints the chart, and sends every rendered
// object to a real kube-apiserver with server-side dry-run.
package chart

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/deckhouse/secrets-store-integration/test/helmchart"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

const moduleNamespace = helmchart.ModuleNamespace

var (
	env  *testenv.Env
	root string
	// webhookCert stands for the webhookcert hook's values.
	webhookCert map[string]any
	// storeCA is a PEM CA standing for a store's (or Stronghold's) CA.
	storeCA string
)

func TestChart(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "module chart rendered with Helm and dry-run on a real kube-apiserver")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	var err error
	root, err = testenv.RepoRoot()
	Expect(err).NotTo(HaveOccurred())

	dir := GinkgoT().TempDir()
	webhookCert, err = hookCert(dir)
	Expect(err).NotTo(HaveOccurred())
	caPEM, _, _, err := testenv.ServingCertificate(dir, "store")
	Expect(err).NotTo(HaveOccurred())
	storeCA = string(caPEM)

	// The chart never talks to the store: no Vault.
	env, err = testenv.Start(ctx, testenv.Options{Log: GinkgoWriter, WithoutVault: true})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)

	// The module's CRD for real (Helm installs crds/ before the templates),
	// the stand-ins of the optional CRDs, and the namespace: a dry-run
	// create in a namespace that does not exist is refused.
	err = env.ApplyImportCRD(ctx)
	Expect(err).NotTo(HaveOccurred())
	_, err = env.ApplyFile(ctx, filepath.Join("testdata", "optional-crds.yaml"))
	Expect(err).NotTo(HaveOccurred())
	objs, err := helmchart.Render(map[string]any{}, nil)
	Expect(err).NotTo(HaveOccurred())
	ns := find(objs, "Namespace", moduleNamespace)
	Expect(ns).NotTo(BeNil())
	_, err = env.Apply(ctx, ns)
	Expect(err).NotTo(HaveOccurred())
}, NodeTimeout(4*time.Minute))

// hookCert makes a CA and a serving certificate as the webhookcert hook
// puts them into internal.webhookCert.
func hookCert(dir string) (map[string]any, error) {
	ca, certPath, keyPath, err := testenv.ServingCertificate(dir, "webhook")
	if err != nil {
		return nil, fmt.Errorf("make webhook certificate: %w", err)
	}
	crt, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("read webhook certificate: %w", err)
	}
	key, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("read webhook key: %w", err)
	}
	return map[string]any{"ca": string(ca), "crt": string(crt), "key": string(key)}, nil
}
