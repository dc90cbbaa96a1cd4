// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package provider

import (
	"context"
	"encoding/json"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

var _ = Describe("vault-provider with JWT auth", Ordered, func() {
	const jwtMount, jwtRole = "jwt", "app-jwt"

	BeforeAll(func(ctx SpecContext) {
		_, err := env.CreateServiceAccount(ctx, "prov-jwt", "app")
		Expect(err).NotTo(HaveOccurred())
		// Vault checks the tokens' signatures with the API server's own
		// service-account keys.
		Expect(env.EnableJWTAuth(ctx, jwtMount)).To(Succeed())
		Expect(env.WritePolicy(ctx, "prov-jwt", `path "secret/data/jwt-app" { capabilities = ["read"] }`)).To(Succeed())
		_, err = env.Vault.Logical().WriteWithContext(ctx, "auth/"+jwtMount+"/role/"+jwtRole, map[string]any{
			"role_type":       "jwt",
			"bound_audiences": []string{"vault"},
			"user_claim":      "sub",
			"bound_subject":   "system:serviceaccount:prov-jwt:app",
			"token_policies":  []string{"prov-jwt"},
			"token_ttl":       "10m",
		})
		Expect(err).NotTo(HaveOccurred())
		_, err = env.Vault.KVv2(testenv.KVMount).Put(ctx, "jwt-app", map[string]any{"password": "jwt-value"})
		Expect(err).NotTo(HaveOccurred())
	})

	It("logs in at auth/jwt with the pod's token and reads the secret", func(ctx SpecContext) {
		attrs := jwtPodAttributes(ctx, "app", map[string]string{
			"vaultAuthType": "jwt",
			"roleName":      jwtRole,
			"objects":       `[{"objectName":"p","secretPath":"secret/data/jwt-app","secretKey":"password"}]`,
		})
		resp, err := mount(ctx, attrs, "420", nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(byPath(resp.Files)["p"].Contents)).To(Equal("jwt-value"))
	})

	It("is refused when the token's subject is not the role's", func(ctx SpecContext) {
		_, err := env.CreateServiceAccount(ctx, "prov-jwt", "intruder")
		Expect(err).NotTo(HaveOccurred())
		attrs := jwtPodAttributes(ctx, "intruder", map[string]string{
			"vaultAuthType": "jwt",
			"roleName":      jwtRole,
			"objects":       `[{"objectName":"p","secretPath":"secret/data/jwt-app","secretKey":"password"}]`,
		})
		_, err = mount(ctx, attrs, "420", nil)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring(`log in as role "app-jwt"`))
		Expect(err.Error()).To(ContainSubstring("auth/jwt/login"))
		Expect(err.Error()).NotTo(ContainSubstring("jwt-value"))
	})
})

func jwtPodAttributes(ctx context.Context, sa string, extra map[string]string) map[string]string {
	jwt, err := env.ServiceAccountToken(ctx, "prov-jwt", sa, "vault", 10*time.Minute)
	Expect(err).NotTo(HaveOccurred())
	tok, err := json.Marshal(map[string]any{"vault": map[string]string{"token": jwt}})
	Expect(err).NotTo(HaveOccurred())
	attrs := map[string]string{
		"csi.storage.k8s.io/pod.name":              "jwt-pod",
		"csi.storage.k8s.io/pod.namespace":         "prov-jwt",
		"csi.storage.k8s.io/pod.uid":               "uid-jwt-pod",
		"csi.storage.k8s.io/serviceAccount.name":   sa,
		"csi.storage.k8s.io/serviceAccount.tokens": string(tok),
	}
	for k, v := range extra {
		attrs[k] = v
	}
	return attrs
}
