// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package compatmodule runs the documented examples of the existing
// Deckhouse module (github.com/deckhouse/secrets-store-integration,
// docs/USAGE.md at commit 1e9fa92d305d7301c9fb97cd8f7f800922a541b9) as
// that module's users have them: the objects of testdata/ (the page's YAML
// as data, each file citing its section) applied to a real kube-apiserver,
// annotated pods mutated by our webhook and started through our injector,
// SecretsStoreImport volumes published through our CSI driver and Vault
// provider, against a real Vault holding the page's test data. One
// environment for the whole suite.
package compatmodule

import (
	"encoding/base64"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/suite"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

const (
	// The page's names ("Preparing a test environment").
	ns, sa, role = "myapp-namespace", "myapp-sa", "myapp-role"
	registration = "compat-env-injection"
)

var (
	env      *testenv.Env
	bins     components.Binaries
	work     string
	kubelet  *components.Kubelet
	hook     *components.Webhook
	keytab   = []byte{0x05, 0x02, 0x00, 0x00, 0x00, 0x3b, 0xff, 0x00, '\n', 0x80}
	myappKVs []map[string]any
	dbKVs    []map[string]any
)

func TestCompatModule(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "the existing module's documented examples through our driver, webhook and injector")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	s := suite.Start(ctx, suite.Options{Name: "compatmodule", Mounts: true, ImportCRD: true})
	work, env, bins = s.Work, s.Env, s.Bins

	By("the store as the page prepares it")
	setUpStore(ctx)

	key := s.VersionKey()
	prov, err := components.StartProvider(ctx, components.ProviderConfig{
		Binary: bins.Provider, Socket: filepath.Join(work, "providers", "vault.sock"),
		VaultAddr: env.VaultAddr, VaultCAPath: env.VaultCAPath, VersionKeyFile: key, Log: GinkgoWriter,
	})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(prov.Stop)
	driver, err := components.StartDriver(ctx, components.DriverConfig{
		Binary: bins.Driver, Socket: filepath.Join(work, "csi.sock"), Kubeconfig: env.Kubeconfig,
		ProviderDir: filepath.Join(work, "providers"), Provider: "vault", RotationInterval: time.Minute,
		TmpfsSize: "1Mi", Log: GinkgoWriter,
	})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(driver.Stop)
	kubelet, err = components.NewKubelet(env, driver.Socket, work)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(kubelet.Close)

	caBundle, certFile, keyFile, err := testenv.ServingCertificate(work, "webhook")
	Expect(err).NotTo(HaveOccurred())
	hook, err = components.StartWebhook(ctx, components.WebhookConfig{
		Binary: bins.Webhook, Kubeconfig: env.Kubeconfig, CertFile: certFile, KeyFile: keyFile,
		InjectorImage: "registry.example/secrets-store/env-injector:test",
		StoreAddr:     env.VaultAddr, StoreCAFile: env.VaultCAPath, Log: GinkgoWriter,
	})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(hook.Stop)
	Expect(hook.Register(ctx, env.Kube, registration, caBundle, ns, sa)).To(Succeed())
	DeferCleanup(components.Unregister, env.Kube, registration)
}, NodeTimeout(8*time.Minute))

// setUpStore does the page's "Preparing a test environment" with the
// store's API: a KV v2 engine demo-kv, demo-kv/myapp-secret with DB_USER
// and DB_PASS, the policy myapp-ro-policy and the role myapp-role for
// myapp-sa in myapp-namespace with ttl 10m. The page's auth mount is
// kubernetes_local; here it is testenv's kubernetes, the module's default
// in this environment: no example names it. Beyond the page: the policy
// also reads the other paths its examples name (common-secret,
// database/config), those secrets are written, and each secret has earlier
// versions so that the pinned version 4 is not the latest. The binary
// example's "kv put ... keytab=..." would replace the other keys; here
// keytab is one more key of the latest version.
func setUpStore(ctx SpecContext) {
	GinkgoHelper()
	Expect(env.Vault.Sys().MountWithContext(ctx, "demo-kv", &vault.MountInput{Type: "kv", Options: map[string]string{"version": "2"}})).To(Succeed())
	kv := env.Vault.KVv2("demo-kv")
	for v := 1; v <= 4; v++ {
		myappKVs = append(myappKVs, map[string]any{"DB_USER": "username", "DB_PASS": fmt.Sprintf("password-v%d", v)})
	}
	myappKVs = append(myappKVs, map[string]any{
		"DB_USER": "username", "DB_PASS": "secret-password",
		"password": "from-env", "keytab": base64.StdEncoding.EncodeToString(keytab),
	})
	for _, data := range myappKVs {
		_, err := kv.Put(ctx, "myapp-secret", data)
		Expect(err).NotTo(HaveOccurred())
	}
	for v := 1; v <= 3; v++ {
		dbKVs = append(dbKVs, map[string]any{"username": "app", "password": fmt.Sprintf("old-%d", v), "host": "db.example.com", "port": "5432"})
	}
	// Version 4 is the page's value; version 5 a later change.
	dbKVs = append(dbKVs,
		map[string]any{"username": "app", "password": "s3cr3t", "host": "db.example.com", "port": "5432"},
		map[string]any{"username": "app", "password": "rotated", "host": "db.example.com", "port": "5432"})
	for _, data := range dbKVs {
		_, err := kv.Put(ctx, "database/config", data)
		Expect(err).NotTo(HaveOccurred())
	}
	_, err := kv.Put(ctx, "common-secret", map[string]any{"COMMON": "common-value", "DB_USER": "common-user", "MY_SECRET": "from-annotation"})
	Expect(err).NotTo(HaveOccurred())

	Expect(env.WritePolicy(ctx, "myapp-ro-policy", `
path "demo-kv/data/myapp-secret"    { capabilities = ["read"] }
path "demo-kv/data/common-secret"   { capabilities = ["read"] }
path "demo-kv/data/database/config" { capabilities = ["read"] }
`)).To(Succeed())
	Expect(env.WriteKubernetesRole(ctx, role, testenv.KubernetesRole{
		ServiceAccounts: []string{sa}, Namespaces: []string{ns}, Policies: []string{"myapp-ro-policy"}, TTL: 10 * time.Minute,
	})).To(Succeed())
	_, err = env.CreateServiceAccount(ctx, ns, sa)
	Expect(err).NotTo(HaveOccurred())
}
