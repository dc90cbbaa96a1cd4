// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package foundation

import (
	"context"
	"errors"
	"net/http"
	"time"

	vault "github.com/hashicorp/vault/api"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

const (
	ns       = "demo"
	appSA    = "app"
	otherSA  = "other"
	role     = "app"
	audience = "vault"
	password = "s3cr3t-from-vault"
)

var _ = Describe("Kubernetes auth", Ordered, func() {
	BeforeAll(func(ctx SpecContext) {
		for _, sa := range []string{appSA, otherSA} {
			_, err := env.CreateServiceAccount(ctx, ns, sa)
			Expect(err).NotTo(HaveOccurred())
		}
		Expect(env.WritePolicy(ctx, "app-read", `path "secret/data/app" { capabilities = ["read"] }`)).To(Succeed())
		Expect(env.WriteKubernetesRole(ctx, role, testenv.KubernetesRole{
			ServiceAccounts: []string{appSA},
			Namespaces:      []string{ns},
			Policies:        []string{"app-read"},
			Audience:        audience,
			TTL:             time.Minute,
		})).To(Succeed())
		_, err := env.Vault.KVv2(testenv.KVMount).Put(ctx, "app", map[string]any{"password": password})
		Expect(err).NotTo(HaveOccurred())
		_, err = env.Vault.KVv2(testenv.KVMount).Put(ctx, "other", map[string]any{"password": "not-yours"})
		Expect(err).NotTo(HaveOccurred())
	})

	It("runs the versions the build script made", func(ctx SpecContext) {
		v, err := env.Kube.Discovery().ServerVersion()
		Expect(err).NotTo(HaveOccurred())
		Expect(v.GitVersion).To(Equal("v1.37.2"))

		status, err := env.Vault.Sys().SealStatusWithContext(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(status.Version).To(HavePrefix("1.19.5"))
		Expect(status.Sealed).To(BeFalse())
	})

	It("logs in with a TokenRequest token for audience vault and reads the KV v2 secret", func(ctx SpecContext) {
		client := login(ctx, appSA, audience)
		secret, err := client.KVv2(testenv.KVMount).Get(ctx, "app")
		Expect(err).NotTo(HaveOccurred())
		Expect(secret.Data).To(HaveKeyWithValue("password", password))
		Expect(secret.VersionMetadata.Version).To(Equal(1))
	})

	It("enforces the role's policy on what the token reads", func(ctx SpecContext) {
		client := login(ctx, appSA, audience)
		_, err := client.KVv2(testenv.KVMount).Get(ctx, "other")
		expectRefused(err, "permission denied")
	})

	It("refuses a token of another ServiceAccount", func(ctx SpecContext) {
		_, err := tryLogin(ctx, otherSA, audience)
		expectRefused(err, "service account name not authorized")
	})

	It("refuses a token with another audience", func(ctx SpecContext) {
		_, err := tryLogin(ctx, appSA, "not-vault")
		expectRefused(err, "invalid audience (aud) claim")
	})

	It("refuses a token whose ServiceAccount was deleted, through TokenReview", func(ctx SpecContext) {
		const gone = "gone"
		_, err := env.CreateServiceAccount(ctx, ns, gone)
		Expect(err).NotTo(HaveOccurred())
		Expect(env.WriteKubernetesRole(ctx, gone, testenv.KubernetesRole{
			ServiceAccounts: []string{gone}, Namespaces: []string{ns}, Policies: []string{"app-read"}, Audience: audience,
		})).To(Succeed())
		jwt, err := env.ServiceAccountToken(ctx, ns, gone, audience, 10*time.Minute)
		Expect(err).NotTo(HaveOccurred())
		Expect(env.Kube.CoreV1().ServiceAccounts(ns).Delete(ctx, gone, deleteNow)).To(Succeed())

		client, err := env.NewVaultClient()
		Expect(err).NotTo(HaveOccurred())
		_, err = client.Auth().Login(ctx, jwtLogin{role: gone, jwt: jwt})
		// Only the API server knows the ServiceAccount is gone: Vault's
		// refusal proves the login went through a real TokenReview.
		expectRefused(err, "permission denied")
	})
})

// login logs in as ServiceAccount sa with a token for audience and returns a
// client holding the Vault token.
func login(ctx context.Context, sa, aud string) *vault.Client {
	GinkgoHelper()
	client, err := tryLogin(ctx, sa, aud)
	Expect(err).NotTo(HaveOccurred())
	return client
}

func tryLogin(ctx context.Context, sa, aud string) (*vault.Client, error) {
	GinkgoHelper()
	jwt, err := env.ServiceAccountToken(ctx, ns, sa, aud, 10*time.Minute)
	Expect(err).NotTo(HaveOccurred())
	client, err := env.NewVaultClient()
	Expect(err).NotTo(HaveOccurred())
	auth, err := client.Auth().Login(ctx, jwtLogin{role: role, jwt: jwt})
	if err != nil {
		return nil, err
	}
	Expect(auth.Auth.Policies).To(ContainElement("app-read"))
	Expect(auth.Auth.Metadata).To(HaveKeyWithValue("service_account_name", sa))
	return client, nil
}

// expectRefused checks that err is Vault's 403 with a message containing want.
func expectRefused(err error, want string) {
	GinkgoHelper()
	var resp *vault.ResponseError
	Expect(errors.As(err, &resp)).To(BeTrue(), "want a Vault response error, got %v", err)
	Expect(resp.StatusCode).To(Equal(http.StatusForbidden))
	Expect(resp.Errors).To(ContainElement(ContainSubstring(want)))
}
