// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package provider

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"google.golang.org/grpc/status"

	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// What one tenant may not do to the provider every pod of the node shares:
// leak store tokens by retrying a denied read, make it render without
// bound, read a huge answer, or hold it on a store that never answers.
var _ = Describe("vault-provider bounds", Ordered, func() {
	const (
		leakSA   = "leaker"
		leakRole = "leak"
		// maxTokenGrowth is how many live tokens of the role 100 denied
		// publishes may add: the one login of the identity, and one more
		// should its token be replaced.
		maxTokenGrowth = 2
		publishes      = 100
	)
	objects := func(path string) string {
		return fmt.Sprintf(`[{"objectName":"x","secretPath":%q,"secretKey":"k","ref":"files[0]"}]`, path)
	}

	BeforeAll(func(ctx SpecContext) {
		_, err := env.CreateServiceAccount(ctx, ns, leakSA)
		Expect(err).NotTo(HaveOccurred())
		Expect(env.WritePolicy(ctx, leakRole, `
path "secret/data/bounded/*" { capabilities = ["read"] }
`)).To(Succeed())
		Expect(env.WriteKubernetesRole(ctx, leakRole, testenv.KubernetesRole{
			ServiceAccounts: []string{leakSA}, Namespaces: []string{ns},
			Policies: []string{leakRole}, Audience: "vault", TTL: time.Hour,
		})).To(Succeed())
		kv := env.Vault.KVv2(testenv.KVMount)
		_, err = kv.Put(ctx, "bounded/small", map[string]any{"k": "small-value"})
		Expect(err).NotTo(HaveOccurred())
		// Over the provider's 4 MiB limit of one answer.
		_, err = kv.Put(ctx, "bounded/huge", map[string]any{"k": strings.Repeat("h", 5<<20)})
		Expect(err).NotTo(HaveOccurred())
	})

	It("does not leave a store token behind for each publish of a volume whose policy denies the path", func(ctx SpecContext) {
		attrs := podAttributes(ctx, "leak-1", leakSA, map[string]string{
			"source": source, "roleName": leakRole, "objects": objects("secret/data/forbidden"),
		})
		before, err := env.LiveTokens(ctx, leakRole)
		Expect(err).NotTo(HaveOccurred())
		for i := range publishes {
			_, err := mount(ctx, attrs, "420", nil)
			Expect(err).To(HaveOccurred(), "publish %d", i)
			Expect(status.Convert(err).Message()).To(Equal("SecretsStoreImport prov/app: files[0]: read secret/data/forbidden: permission denied"), "publish %d", i)
		}
		after, err := env.LiveTokens(ctx, leakRole)
		Expect(err).NotTo(HaveOccurred())
		Expect(after-before).To(BeNumerically("<=", maxTokenGrowth),
			"%d denied publishes left %d live store tokens of role %s", publishes, after-before, leakRole)
	})

	It("refuses a template that would allocate without bound, naming the function", func(ctx SpecContext) {
		attrs := podAttributes(ctx, "tmpl-1", leakSA, map[string]string{
			"source": source, "roleName": leakRole,
			"objects": `[{"objectName":"x","secretPath":"secret/data/bounded/small","template":"{{ repeat 1000000000 .k }}","ref":"files[0]"}]`,
		})
		_, err := mount(ctx, attrs, "420", nil)
		Expect(err).To(HaveOccurred())
		Expect(status.Convert(err).Message()).To(ContainSubstring(`function "repeat" is not allowed: it allocates as much as its argument asks`))

		By("and a loop whose output passes the limit of a file")
		// 264 bytes an iteration: the output limit comes long before the
		// limit of iterations.
		attrs["objects"] = `[{"objectName":"x","secretPath":"secret/data/bounded/small","template":"{{ range 100000000 }}` +
			strings.Repeat("{{ $.k }}", 24) + `{{ end }}","ref":"files[0]"}]`
		_, err = mount(ctx, attrs, "420", nil)
		Expect(err).To(HaveOccurred())
		Expect(status.Convert(err).Message()).To(ContainSubstring("files[0]: template output exceeds 2097152 bytes"))
	})

	It("refuses a store answer over the limit, naming the path", func(ctx SpecContext) {
		attrs := podAttributes(ctx, "huge-1", leakSA, map[string]string{
			"source": source, "roleName": leakRole, "objects": objects("secret/data/bounded/huge"),
		})
		_, err := mount(ctx, attrs, "420", nil)
		Expect(err).To(HaveOccurred())
		Expect(status.Convert(err).Message()).To(ContainSubstring("store answer for secret/data/bounded/huge exceeds 4194304 bytes"))
	})

	It("mounts another tenant's volume while volumes of a store that never answers hang", func(ctx SpecContext) {
		const hung = 8
		var wg sync.WaitGroup
		errs := make(chan error, hung)
		for i := range hung {
			attrs := podAttributes(ctx, fmt.Sprintf("hung-%d", i), leakSA, map[string]string{
				"source": source, "roleName": leakRole, "vaultAddress": silent.URL(), "objects": objects("secret/data/bounded/small"),
			})
			wg.Add(1)
			go func() {
				defer GinkgoRecover()
				defer wg.Done()
				_, err := mount(context.Background(), attrs, "420", nil)
				errs <- err
			}()
		}
		// The mounts share the client of the address: one connection (its
		// TLS handshake unanswered) is enough to hold them all.
		Eventually(func() int { open, _ := silent.Counts(); return open }).
			WithTimeout(10 * time.Second).Should(BeNumerically(">=", 1))

		resp, err := mount(ctx, podAttributes(ctx, "other-tenant", leakSA, map[string]string{
			"source": source, "roleName": leakRole, "objects": objects("secret/data/bounded/small"),
		}), "420", nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(resp.Files[0].Contents)).To(Equal("small-value"))
		_, closed := silent.Counts()
		Expect(closed).To(BeZero(), "the other tenant's mount waited for a hung one to give up")

		wg.Wait()
		close(errs)
		for err := range errs {
			Expect(err).To(HaveOccurred(), "a mount from a store that never answers")
		}
	})
})
