// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// vault-csi-provider's own forms of an object, each in its own
// SecretProviderClass and pod, so that one failing form does not hide
// another: the files must be what vault-csi-provider writes.
var _ = Describe("vault-csi-provider's object forms under the upstream driver", Ordered, ContinueOnFailure, func() {
	const (
		formsSA     = "forms"
		formsRole   = "forms"
		formsPolicy = "forms-read"
		formsHCL    = `path "secret/data/forms" { capabilities = ["read"] }`
		oldPassword = "first-version-value"
		newPassword = "second-version-value"
	)

	BeforeAll(func(ctx SpecContext) {
		_, err := env.CreateServiceAccount(ctx, ns, formsSA)
		Expect(err).NotTo(HaveOccurred())
		Expect(env.WritePolicy(ctx, formsPolicy, formsHCL)).To(Succeed())
		Expect(env.WriteKubernetesRole(ctx, formsRole, testenv.KubernetesRole{
			ServiceAccounts: []string{formsSA}, Namespaces: []string{ns}, Policies: []string{formsPolicy},
			Audience: components.Audience, TTL: 10 * time.Minute,
		})).To(Succeed())
		kv := env.Vault.KVv2(testenv.KVMount)
		_, err = kv.Put(ctx, "forms", map[string]any{"password": oldPassword})
		Expect(err).NotTo(HaveOccurred())
		_, err = kv.Put(ctx, "forms", map[string]any{"password": newPassword})
		Expect(err).NotTo(HaveOccurred())
	})

	// mount creates pod podName and SecretProviderClass spc with objects,
	// publishes the volume through the upstream driver and returns its
	// target; the volume is unpublished when the spec ends.
	mount := func(ctx SpecContext, podName, spc, objects string) string {
		GinkgoHelper()
		pod, err := applyPodAndClass(ctx, podName, formsSA, spc, formsRole, objects)
		Expect(err).NotTo(HaveOccurred())
		vol, err := kubelet.NewVolume(pod.UID)
		Expect(err).NotTo(HaveOccurred())
		req, err := publishRequest(ctx, pod, vol, spc, true)
		Expect(err).NotTo(HaveOccurred())
		err = sendAsKubelet(ctx, req)
		Expect(err).NotTo(HaveOccurred(), "upstream driver log:\n%s", upstreamDriver.Tail(30))
		DeferCleanup(func(ctx SpecContext) { Expect(kubelet.Unpublish(ctx, vol)).To(Succeed()) })
		return vol.Target
	}

	It("writes the pinned version of secretPath's ?version=N query", func(ctx SpecContext) {
		target := mount(ctx, "forms-version", "vault-forms-version", `
- objectName: old-password
  secretPath: secret/data/forms?version=1
  secretKey: password
- objectName: password
  secretPath: secret/data/forms
  secretKey: password
`)
		Expect(os.ReadFile(filepath.Join(target, "old-password"))).To(BeEquivalentTo(oldPassword))
		Expect(os.ReadFile(filepath.Join(target, "password"))).To(BeEquivalentTo(newPassword))
	})

	It("writes the store's whole response as JSON for an object without secretKey", func(ctx SpecContext) {
		target := mount(ctx, "forms-whole", "vault-forms-whole", `
- objectName: whole.json
  secretPath: secret/data/forms
`)
		raw, err := os.ReadFile(filepath.Join(target, "whole.json"))
		Expect(err).NotTo(HaveOccurred())
		var resp struct {
			RequestID     *string `json:"request_id"`
			LeaseID       *string `json:"lease_id"`
			LeaseDuration *int    `json:"lease_duration"`
			Renewable     *bool   `json:"renewable"`
			Data          struct {
				Data     map[string]any `json:"data"`
				Metadata map[string]any `json:"metadata"`
			} `json:"data"`
		}
		Expect(json.Unmarshal(raw, &resp)).To(Succeed())
		Expect(resp.RequestID).NotTo(BeNil(), "request_id missing")
		Expect(*resp.RequestID).NotTo(BeEmpty())
		Expect(resp.LeaseID).NotTo(BeNil(), "lease_id missing")
		Expect(resp.LeaseDuration).NotTo(BeNil(), "lease_duration missing")
		Expect(resp.Renewable).NotTo(BeNil(), "renewable missing")
		Expect(resp.Data.Data).To(HaveKeyWithValue("password", newPassword))
		Expect(resp.Data.Metadata).To(HaveKeyWithValue("version", BeNumerically("==", 2)))
	})
})
