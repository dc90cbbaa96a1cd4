// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package addonoperator runs the module under its real host: addon-operator
// v1.9.1 (built from the module proxy by test/tools/build.sh) against the
// real kube-apiserver of testenv, with MODULES_DIR holding the module as its
// image ships it (chart, schemas, CRDs and the module-sdk hooks program).
// The module is enabled and configured through addon-operator's ConfigMap,
// what Deckhouse writes from a ModuleConfig, and every check reads the API
// server: addon-operator's hooks and Helm are the only writers.
package addonoperator

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/deckhouse/secrets-store-integration/test/addonop"
	"github.com/deckhouse/secrets-store-integration/test/bench"
	"github.com/deckhouse/secrets-store-integration/test/supervisor"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

var (
	env       *testenv.Env
	operator  *supervisor.Process
	moduleDir string
	// strongholdCA is the CA in the stand-in of the local Stronghold's
	// Secret d8-stronghold/stronghold-tls.
	strongholdCA string
)

func TestAddonOperator(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "the module run by a real addon-operator")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	var err error
	env, err = testenv.Start(ctx, testenv.Options{Log: GinkgoWriter, WithoutVault: true, ServiceRouting: true})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)

	dir := GinkgoT().TempDir()
	began := time.Now()
	moduleDir, err = addonop.PrepareModule(ctx, filepath.Join(dir, "modules"))
	Expect(err).NotTo(HaveOccurred())
	fmt.Fprintf(GinkgoWriter, "module laid out with its hooks program in %s\n", time.Since(began).Round(time.Millisecond))

	By("putting the local Stronghold's TLS Secret in place, as the stronghold module would")
	caPEM, certPath, _, err := testenv.ServingCertificate(dir, "stronghold")
	Expect(err).NotTo(HaveOccurred())
	strongholdCA = string(caPEM)
	Expect(createNamespace(ctx, "d8-stronghold")).To(Succeed())
	_, err = env.Kube.CoreV1().Secrets("d8-stronghold").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "stronghold-tls", Namespace: "d8-stronghold"},
		Data:       map[string][]byte{"ca.crt": caPEM, "tls.crt": mustRead(certPath), "tls.key": []byte("not for the hooks")},
	}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())

	By("enabling the module with default settings, as a ModuleConfig with spec.enabled: true does")
	Expect(addonop.SetModuleConfig(ctx, env, true, map[string]any{})).To(Succeed())

	By("starting addon-operator")
	began = time.Now()
	operator, err = addonop.Start(ctx, addonop.Config{
		Env: env, ModulesDir: filepath.Dir(moduleDir), Dir: filepath.Join(dir, "addon-operator"), Log: GinkgoWriter,
	})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { Expect(operator.Stop()).To(Succeed()) })
	rel := waitRelease(ctx, 0)
	fmt.Fprintf(GinkgoWriter, "first converge: addon-operator start to release revision %d deployed in %s (load %s)\n",
		rel.Revision, time.Since(began).Round(time.Millisecond), bench.LoadAverage())
}, NodeTimeout(15*time.Minute))

func createNamespace(ctx context.Context, name string) error {
	_, err := env.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	return err
}
