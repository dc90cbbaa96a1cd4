// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package provider

import (
	"github.com/deckhouse/secrets-store-integration/test/badstore"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The provider is where kubelet's token leaves the node, for our driver and
// for the upstream driver with a SecretProviderClass alike: it refuses what
// the module settings do not allow before it looks at the token.
var _ = Describe("A SecretProviderClass asking for more than the module settings allow", Ordered, func() {
	const spcSA = "spc-app"
	objects := `[{objectName: password, secretPath: secret/data/app, secretKey: password}]`
	BeforeAll(func(ctx SpecContext) {
		_, err := env.CreateServiceAccount(ctx, ns, spcSA)
		Expect(err).NotTo(HaveOccurred())
	})

	DescribeTable("is refused, naming the attribute, and nothing reaches the address",
		func(ctx SpecContext, attrs func(trap *badstore.Trap) map[string]string, want string) {
			trap := badstore.NewTrap()
			DeferCleanup(trap.Close)
			_, err := mount(ctx, podAttributes(ctx, "spc", spcSA, attrs(trap)), "420", nil)
			Expect(status.Code(err)).To(Equal(codes.PermissionDenied), "%v", err)
			Expect(status.Convert(err).Message()).To(ContainSubstring(want))
			Expect(trap.Connections()).To(BeZero(), "connections to the refused address")
		},
		Entry("another store address", func(trap *badstore.Trap) map[string]string {
			return map[string]string{"objects": objects, "vaultAddress": trap.URL, "vaultCACert": trap.CAPEM}
		}, `vaultAddress "https://127.0.0.1:`),
		Entry("skipping TLS verification", func(trap *badstore.Trap) map[string]string {
			return map[string]string{"objects": objects, "vaultAddress": trap.URL, "vaultSkipTLSVerify": "true"}
		}, `vaultSkipTLSVerify "true" is not allowed`),
		Entry("an audience not allowed", func(*badstore.Trap) map[string]string {
			return map[string]string{"objects": objects, "audience": "kubernetes"}
		}, `audience "kubernetes" is not allowed`),
	)
})
