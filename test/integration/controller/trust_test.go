// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package controller

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/deckhouse/secrets-store-integration/test/badstore"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// otherAudience is allowed besides "vault" by the controller's flags.
const otherAudience = "other-store"

// localhostVault is the test Vault by another name than the module's
// connection (its certificate holds localhost): an address the settings
// allow explicitly.
func localhostVault() string {
	return strings.Replace(env.VaultAddr, "127.0.0.1", "localhost", 1)
}

// No admission webhook runs in this suite: as if it were down or bypassed
// when the import was written, the controller itself must not send a
// token, or probe, where the module settings do not allow.
var _ = Describe("An import asking for more than the module settings allow", func() {
	var trap *badstore.Trap
	BeforeEach(func() {
		trap = badstore.NewTrap()
		DeferCleanup(trap.Close)
	})

	DescribeTable("is refused by the controller, naming the field, and nothing reaches the address",
		func(ctx SpecContext, kind string, edit func(spec map[string]any), field string) {
			ns := newNamespace(ctx, "trust")
			id := newIdentity(ctx, ns, ns+"/db")
			putSecret(ctx, ns+"/db", map[string]any{"password": value("trust")})
			spec := syncSpec(id, "db", keyFile("password", ns+"/db", "password"))
			if kind == "CSI" {
				spec = map[string]any{"type": "CSI", "role": id.role, "files": spec["files"]}
			}
			// The trap's certificate is trusted: only the refusal keeps
			// the controller away from it.
			spec["address"], spec["caCert"] = trap.URL, trap.CAPEM
			edit(spec)
			applyImport(ctx, ns, "db", spec)

			ready := waitCondition(ctx, ns, "db", "Ready", "False", "NotAllowed")
			Expect(ready.Message).To(HavePrefix("SecretsStoreImport " + ns + "/db: "))
			Expect(ready.Message).To(ContainSubstring(field))
			Eventually(ctx, events(ns, "db")).Should(HaveKeyWithValue("NotAllowed", ContainElement(ContainSubstring(field))))
			// The refusal comes before any token or connection: by the time
			// the status says so, nothing may have reached the address.
			Expect(trap.Connections()).To(BeZero(), "connections to the refused address")
			Expect(trap.Requests()).To(BeZero())
			_, err := getSecret(ctx, ns, "db")
			Expect(apierrors.IsNotFound(err)).To(BeTrue(), "no Secret written: %v", err)
		},
		Entry("a Secret import naming another store", "KubernetesSecret", func(map[string]any) {}, `spec.address "https://127.0.0.1:`),
		Entry("a CSI import naming another store (no role probe)", "CSI", func(map[string]any) {}, `spec.address "https://127.0.0.1:`),
		Entry("skipTLSVerify", "KubernetesSecret", func(s map[string]any) {
			s["skipTLSVerify"] = true
			delete(s, "caCert")
		}, `spec.skipTLSVerify "true" is not allowed`),
		Entry("an audience not allowed", "KubernetesSecret", func(s map[string]any) {
			s["audience"] = "kubernetes"
			delete(s, "address")
			delete(s, "caCert")
		}, `spec.audience "kubernetes" is not allowed`),
	)
})

var _ = Describe("An import asking for what the module settings allow", func() {
	It("syncs from an allowed store address and with an allowed second audience", func(ctx SpecContext) {
		ns := newNamespace(ctx, "allowed")
		id := newIdentity(ctx, ns, ns+"/db")
		password := value("allowed")
		putSecret(ctx, ns+"/db", map[string]any{"password": password})
		Expect(env.WriteKubernetesRole(ctx, "other-"+ns, testenv.KubernetesRole{
			ServiceAccounts: []string{id.serviceAccount}, Namespaces: []string{ns},
			Policies: []string{ns}, Audience: otherAudience, TTL: 10 * time.Minute,
		})).To(Succeed())

		byAddress := syncSpec(id, "by-address", keyFile("password", ns+"/db", "password"))
		byAddress["address"], byAddress["caCert"] = localhostVault(), string(env.VaultCAPEM)
		applyImport(ctx, ns, "by-address", byAddress)

		byAudience := syncSpec(identity{namespace: ns, serviceAccount: id.serviceAccount, role: "other-" + ns},
			"by-audience", keyFile("password", ns+"/db", "password"))
		byAudience["audience"] = otherAudience
		applyImport(ctx, ns, "by-audience", byAudience)

		Expect(secretData(ctx, ns, "by-address")).To(Equal(map[string]string{"password": password}))
		Expect(secretData(ctx, ns, "by-audience")).To(Equal(map[string]string{"password": password}))
		waitCondition(ctx, ns, "by-address", "Synced", "True", "Synced")
		waitCondition(ctx, ns, "by-audience", "Synced", "True", "Synced")
	})
})
