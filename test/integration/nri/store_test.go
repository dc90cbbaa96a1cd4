// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package nri

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("a store that is down", func() {
	It("fails the container's creation, and kubelet's next attempt succeeds once the store is back", func(ctx SpecContext) {
		pod := admit(ctx, annotations(role), envVar("DB_PASSWORD", "secrets-store:secret/data/nri/db#password"))
		s := start(ctx, pod)
		c := container(pod)

		Expect(env.SealVault(ctx)).To(Succeed())
		// Unsealed again even if the spec fails half-way: the other specs
		// need the store.
		DeferCleanup(env.UnsealVault)
		_, err := rt.CreateContainer(ctx, s, c)
		Expect(err).To(MatchError(SatisfyAll(
			ContainSubstring("pod "+ns+"/"+pod.Name), ContainSubstring(`container "app"`), ContainSubstring(env.VaultAddr),
		)))
		Expect(rt.Containers(ctx, s)).To(BeEmpty())

		Expect(env.UnsealVault(ctx)).To(Succeed())
		out, err := rt.RunContainer(ctx, s, c)
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainElement("DB_PASSWORD=" + dbPassword))
	})

	// NRI drops a plugin that misses containerd's plugin_request_timeout
	// and creates the container unadjusted (its references literal): the
	// plugin must answer first.
	It("refuses the container of a store that never answers before containerd's deadline, and stays connected", func(ctx SpecContext) {
		pod := admit(ctx, annotations(role, "secrets-store.deckhouse.io/addr", hung.URL()),
			envVar("DB_PASSWORD", "secrets-store:secret/data/nri/db#password"))
		s := start(ctx, pod)
		_, err := rt.CreateContainer(ctx, s, container(pod))
		Expect(err).To(MatchError(SatisfyAll(ContainSubstring("pod "+ns+"/"+pod.Name), ContainSubstring(`container "app"`))))
		Expect(rt.Containers(ctx, s)).To(BeEmpty(), "not created without its secrets")

		ok := admit(ctx, annotations(role), envVar("DB_PASSWORD", "secrets-store:secret/data/nri/db#password"))
		Expect(run(ctx, ok)).To(ContainElement("DB_PASSWORD="+dbPassword), "the plugin is still connected")
	})
})
