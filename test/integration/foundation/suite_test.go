// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package foundation proves the test environment end to end: a ServiceAccount
// token from the TokenRequest API logs in to Vault through a real TokenReview
// and reads a KV v2 secret, and Vault refuses the wrong identities.
package foundation

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

var env *testenv.Env

func TestKubernetesAuth(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Kubernetes auth against a real kube-apiserver and Vault")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	var err error
	env, err = testenv.Start(ctx, testenv.Options{Log: GinkgoWriter})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)
	AddReportEntry("environment startup", env.Startup.String())
}, NodeTimeout(3*60e9))
