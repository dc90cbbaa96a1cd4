// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package controller

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/supervisor"
)

var _ = Describe("two replicas", Serial, func() {
	It("only the leader reconciles; the other takes over when it stops", func(ctx SpecContext) {
		second, err := components.StartController(ctx, controllerConfig)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(second.Stop)
		reconciles := func(p *supervisor.Process) float64 {
			m, err := p.Scrape(ctx)
			Expect(err).NotTo(HaveOccurred())
			return m.Sum("secrets_store_controller_reconciles_total", nil)
		}

		ns := newNamespace(ctx, "leader")
		id := newIdentity(ctx, ns, ns+"/db")
		password := value("password")
		putSecret(ctx, ns+"/db", map[string]any{"password": password})
		applyImport(ctx, ns, "first", syncSpec(id, "first", keyFile("password", ns+"/db", "password")))
		secretData(ctx, ns, "first")
		Expect(reconciles(second)).To(BeZero(), "the second replica reconciled while the first leads")

		By("the leader stops and releases its Lease")
		Expect(ctl.Stop()).To(Succeed())
		DeferCleanup(func(ctx SpecContext) { Expect(ctl.Start(ctx)).To(Succeed()) })
		applyImport(ctx, ns, "second", syncSpec(id, "second", keyFile("password", ns+"/db", "password")))
		secretData(ctx, ns, "second")
		// The Secret is written before the reconcile that wrote it returns
		// and is counted.
		Eventually(reconciles).WithContext(ctx).WithArguments(second).Should(BeNumerically(">", 0))
		waitCondition(ctx, ns, "second", "Ready", "True", "SecretReady")
		for _, line := range second.Logs() {
			Expect(line).NotTo(ContainSubstring(password))
		}
	}, SpecTimeout(2*time.Minute))
})
