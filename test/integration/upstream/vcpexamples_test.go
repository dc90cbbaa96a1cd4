// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"time"

	vault "github.com/hashicorp/vault/api"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// customAudience is the audience of vault-csi-provider's custom-audience
// example; the suite's provider allows it.
const customAudience = "custom-audience"

// vault-csi-provider's own example SecretProviderClasses (testdata/vcp,
// each citing its file in hashicorp/vault-csi-provider), applied as they
// are written but for the test Vault's address and CA, mounted through the
// upstream driver with our provider; the files must hold what
// vault-csi-provider's acceptance tests (test/bats/provider.bats) say they
// hold. Its store setup (provider.bats setup) is done here with the API:
// KV v2 at secret/, PKI at pki/ with the role example-dot-com, one role
// per example bound to its ServiceAccount.
//
// Not run: vault-kv-namespace-secretproviderclass.yaml (Vault Enterprise
// namespaces; the test Vault is the open-source one), the database objects
// of vault-all (no database server here), and the sync examples (secretObjects are the upstream driver's own
// feature, not the provider's).
var _ = Describe("vault-csi-provider's documented examples under the upstream driver", Ordered, ContinueOnFailure, func() {
	BeforeAll(func(ctx SpecContext) {
		kv := env.Vault.KVv2(testenv.KVMount)
		for path, data := range map[string]map[string]any{
			"kv1": {"bar1": "hello1"}, "kv2": {"bar2": "hello2"}, "kv-custom-audience": {"bar": "hello-custom-audience"},
		} {
			_, err := kv.Put(ctx, path, data)
			Expect(err).NotTo(HaveOccurred())
		}
		Expect(env.Vault.Sys().MountWithContext(ctx, "pki", &vault.MountInput{Type: "pki"})).To(Succeed())
		for path, data := range map[string]map[string]any{
			"pki/root/generate/internal": {"common_name": "example.com"},
			"pki/roles/example-dot-com":  {"allowed_domains": "example.com", "allow_subdomains": true},
		} {
			_, err := env.Vault.Logical().WriteWithContext(ctx, path, data)
			Expect(err).NotTo(HaveOccurred())
		}
		policies := map[string]string{
			"kv-policy": `path "secret/data/kv1" { capabilities = ["read"] }
path "secret/data/kv2" { capabilities = ["read"] }`,
			"pki-policy":                `path "pki/issue/example-dot-com" { capabilities = ["update"] }`,
			"kv-custom-audience-policy": `path "secret/data/kv-custom-audience" { capabilities = ["read"] }`,
		}
		for name, hcl := range policies {
			Expect(env.WritePolicy(ctx, name, hcl)).To(Succeed())
		}
		roles := map[string]testenv.KubernetesRole{
			"kv-role":                 {ServiceAccounts: []string{"nginx-kv"}, Policies: []string{"kv-policy"}, Audience: "vault"},
			"pki-role":                {ServiceAccounts: []string{"nginx-pki"}, Policies: []string{"pki-policy"}, Audience: "vault"},
			"all-role":                {ServiceAccounts: []string{"nginx-all"}, Policies: []string{"kv-policy", "pki-policy"}, Audience: "vault"},
			"kv-custom-audience-role": {ServiceAccounts: []string{"nginx-kv-custom-audience"}, Policies: []string{"kv-custom-audience-policy"}, Audience: customAudience},
		}
		for name, r := range roles {
			r.Namespaces, r.TTL = []string{ns}, 20*time.Minute
			Expect(env.WriteKubernetesRole(ctx, name, r)).To(Succeed())
			_, err := env.CreateServiceAccount(ctx, ns, r.ServiceAccounts[0])
			Expect(err).NotTo(HaveOccurred())
		}
		// provider.bats setup: JWT auth at auth/jwt, role jwt-kv-role for
		// the kv example's ServiceAccount.
		Expect(env.EnableJWTAuth(ctx, "jwt")).To(Succeed())
		_, err := env.Vault.Logical().WriteWithContext(ctx, "auth/jwt/role/jwt-kv-role", map[string]any{
			"role_type": "jwt", "bound_audiences": []string{"vault"}, "user_claim": "sub",
			"bound_subject": "system:serviceaccount:" + ns + ":nginx-kv", "token_policies": []string{"kv-policy"}, "token_ttl": "1h",
		})
		Expect(err).NotTo(HaveOccurred())
	})

	// mountExample applies the example's SecretProviderClass and a pod of
	// ServiceAccount sa, and publishes the pod's volume of that class with
	// tokens for audiences; the target, or the driver's error.
	mountExample := func(ctx context.Context, file, sa string, audiences ...string) (string, error) {
		GinkgoHelper()
		data, err := os.ReadFile(filepath.Join("testdata", "vcp", file))
		Expect(err).NotTo(HaveOccurred())
		var spc unstructured.Unstructured
		Expect(yaml.Unmarshal(data, &spc.Object)).To(Succeed())
		spc.SetNamespace(ns)
		params, _, err := unstructured.NestedStringMap(spc.Object, "spec", "parameters")
		Expect(err).NotTo(HaveOccurred())
		// The example's Vault is https://vault:8200 with its CA at
		// /mnt/tls/ca.crt in the provider's pod; here, the test Vault's.
		for k, v := range map[string]string{"vaultAddress": env.VaultAddr, "vaultCACertPath": env.VaultCAPath} {
			if _, ok := params[k]; ok {
				Expect(unstructured.SetNestedField(spc.Object, v, "spec", "parameters", k)).To(Succeed())
			}
		}
		_, err = env.Apply(ctx, &spc)
		Expect(err).NotTo(HaveOccurred())
		pod, err := applyPod(ctx, spc.GetName()+"-pod", sa)
		Expect(err).NotTo(HaveOccurred())
		vol, err := kubelet.NewVolume(pod.UID)
		Expect(err).NotTo(HaveOccurred())
		req, err := publishRequest(ctx, pod, vol, spc.GetName(), true, audiences...)
		Expect(err).NotTo(HaveOccurred())
		if err := sendAsKubelet(ctx, req); err != nil {
			return "", err
		}
		DeferCleanup(func(ctx SpecContext) { Expect(kubelet.Unpublish(ctx, vol)).To(Succeed()) })
		return vol.Target, nil
	}

	file := func(target, name string, mode os.FileMode) string {
		GinkgoHelper()
		info, err := os.Stat(filepath.Join(target, name))
		Expect(err).NotTo(HaveOccurred())
		Expect(info.Mode().Perm()).To(Equal(mode), "mode of %s", name)
		data, err := os.ReadFile(filepath.Join(target, name))
		Expect(err).NotTo(HaveOccurred())
		return string(data)
	}

	// certs checks the whole PUT response of pki/issue as provider.bats
	// does: .data.certificate and .data.issuing_ca are certificates, the
	// first for test.example.com.
	certs := func(raw string) {
		GinkgoHelper()
		var resp struct {
			RequestID string `json:"request_id"`
			Data      struct {
				Certificate string `json:"certificate"`
				IssuingCA   string `json:"issuing_ca"`
			} `json:"data"`
		}
		Expect(json.Unmarshal([]byte(raw), &resp)).To(Succeed())
		Expect(resp.RequestID).NotTo(BeEmpty(), "the store's whole response")
		cert := parseCert(resp.Data.Certificate)
		Expect(cert.DNSNames).To(ContainElement("test.example.com"))
		ca := parseCert(resp.Data.IssuingCA)
		Expect(cert.CheckSignatureFrom(ca)).To(Succeed())
	}

	It("kv (Hello World): secret-1 is hello1 with mode 0624, secret-2 hello2 with the default 0644", func(ctx SpecContext) {
		target, err := mountExample(ctx, "kv.yaml", "nginx-kv")
		Expect(err).NotTo(HaveOccurred(), "upstream driver log:\n%s", upstreamDriver.Tail(30))
		Expect(file(target, "secret-1", 0o624)).To(Equal("hello1"))
		Expect(file(target, "secret-2", 0o644)).To(Equal("hello2"))
	})

	It("kv with JWT auth: secret-1 is hello1, logged in at auth/jwt", func(ctx SpecContext) {
		target, err := mountExample(ctx, "kv-jwt-auth.yaml", "nginx-kv")
		Expect(err).NotTo(HaveOccurred(), "upstream driver log:\n%s", upstreamDriver.Tail(30))
		Expect(file(target, "secret-1", 0o644)).To(Equal("hello1"))
	})

	It("pki: certs is the whole JSON response of the PUT with secretArgs", func(ctx SpecContext) {
		target, err := mountExample(ctx, "pki.yaml", "nginx-pki")
		Expect(err).NotTo(HaveOccurred(), "upstream driver log:\n%s", upstreamDriver.Tail(30))
		certs(file(target, "certs", 0o644))
	})

	It("all: a certificate and a KV value in one volume", func(ctx SpecContext) {
		target, err := mountExample(ctx, "all.yaml", "nginx-all")
		Expect(err).NotTo(HaveOccurred(), "upstream driver log:\n%s", upstreamDriver.Tail(30))
		certs(file(target, "certs", 0o644))
		Expect(file(target, "secret-1", 0o644)).To(Equal("hello1"))
	})

	It("custom audience: secret holds hello-custom-audience when the CSIDriver requests that audience", func(ctx SpecContext) {
		target, err := mountExample(ctx, "custom-audience.yaml", "nginx-kv-custom-audience", components.Audience, customAudience)
		Expect(err).NotTo(HaveOccurred(), "upstream driver log:\n%s", upstreamDriver.Tail(30))
		Expect(file(target, "secret", 0o644)).To(Equal("hello-custom-audience"))
	})

	// DIFFERS: vault-csi-provider requests a token for an audience the
	// CSIDriver's tokenRequests lack; ours holds no right to request tokens
	// and needs the audience in tokenRequests (docs/USAGE.md).
	It("custom audience: refused, naming the audience, when the CSIDriver does not request it (differs)", func(ctx SpecContext) {
		_, err := mountExample(ctx, "custom-audience.yaml", "nginx-kv-custom-audience")
		Expect(err).To(MatchError(ContainSubstring(customAudience)))
	})
})

func parseCert(data string) *x509.Certificate {
	GinkgoHelper()
	block, _ := pem.Decode([]byte(data))
	Expect(block).NotTo(BeNil(), "a PEM certificate")
	cert, err := x509.ParseCertificate(block.Bytes)
	Expect(err).NotTo(HaveOccurred())
	return cert
}
