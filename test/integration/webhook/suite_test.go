// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package webhook tests the mutating webhook binary as the API server calls
// it: registered with a real kube-apiserver through a
// MutatingWebhookConfiguration, Pods created through the API, entrypoints
// read from a real OCI registry served in this process with basic auth.
// No scheduler or kubelet runs: the created Pods stay Pending, and the
// tests read the spec the API server stored.
package webhook

import (
	"slices"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/ociregistry"
	"github.com/deckhouse/secrets-store-integration/test/suite"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

const (
	// registration is the suite's registration of the webhook.
	registration = "secrets-store-env-injection"
	// injectorImage never gets pulled: no kubelet runs.
	injectorImage = "registry.example/secrets-store/env-injector:test"
	// team has the registry's pull secret; stranger has none.
	team, stranger = "team-a", "team-b"
	// pullSecret is in team; saWithPull is a service account of team whose
	// imagePullSecrets name saPullSecret.
	pullSecret, saPullSecret = "regcred", "sa-regcred"
	sa, saWithPull           = "app", "app-with-pull"
)

var (
	env      *testenv.Env
	binaries components.Binaries
	hook     *components.Webhook
	// caBundle, certFile and keyFile are the webhook's serving CA and
	// certificate.
	caBundle          []byte
	certFile, keyFile string
	reg               *ociregistry.Registry
	// Image references in reg.
	appImage, cmdOnlyImage, multiImage string
	// warned is a client whose warnings land in warnings.
	warned   kubernetes.Interface
	warnings warningLog
)

func TestWebhook(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "mutating webhook against a real kube-apiserver and OCI registry")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	s := suite.Start(ctx, suite.Options{Name: "webhook"})
	env, binaries = s.Env, s.Bins
	dir := s.Work
	var err error

	reg, err = ociregistry.Start(dir)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(reg.Close)
	appImage, err = reg.Push("team/app:v1", v1.Config{Entrypoint: []string{"/app"}, Cmd: []string{"serve"}})
	Expect(err).NotTo(HaveOccurred())
	cmdOnlyImage, err = reg.Push("team/shell:v1", v1.Config{Cmd: []string{"/bin/sh", "-c", "echo $HOME"}})
	Expect(err).NotTo(HaveOccurred())
	multiImage, err = reg.PushIndex("team/multi:v1", map[string]v1.Config{
		"linux/amd64": {Entrypoint: []string{"/app-amd64"}},
		"linux/arm64": {Entrypoint: []string{"/app-arm64"}},
	})
	Expect(err).NotTo(HaveOccurred())

	caBundle, certFile, keyFile, err = testenv.ServingCertificate(dir, "webhook")
	Expect(err).NotTo(HaveOccurred())
	hook, err = components.StartWebhook(ctx, components.WebhookConfig{
		Binary: binaries.Webhook, Kubeconfig: env.Kubeconfig, CertFile: certFile, KeyFile: keyFile,
		InjectorImage: injectorImage, StoreAddr: env.VaultAddr, StoreCAFile: env.VaultCAPath,
		RegistryCAFile: reg.CAFile, Log: GinkgoWriter,
		// What imports may name besides the module's store (imports_test.go).
		Args: []string{"--allowed-audiences", "vault," + otherAudience, "--allowed-store-addresses", allowedAddress,
			// Pods of containerd delivery (containerd_test.go).
			"--containerd-delivery"},
	})
	Expect(err).NotTo(HaveOccurred())
	// SIGTERM: the webhook must stop cleanly.
	DeferCleanup(hook.Stop)

	for _, ns := range []string{team, stranger} {
		_, err = env.CreateServiceAccount(ctx, ns, sa)
		Expect(err).NotTo(HaveOccurred())
	}
	_, err = env.Kube.CoreV1().Secrets(team).Create(ctx, reg.PullSecret(team, pullSecret), metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	_, err = env.Kube.CoreV1().Secrets(team).Create(ctx, reg.PullSecret(team, saPullSecret), metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	_, err = env.Kube.CoreV1().ServiceAccounts(team).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta:       metav1.ObjectMeta{Name: saWithPull},
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: saPullSecret}},
	}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())

	Expect(hook.Register(ctx, env.Kube, registration, caBundle, team, sa)).To(Succeed())
	DeferCleanup(components.Unregister, env.Kube, registration)

	cfg := rest.CopyConfig(env.Config)
	cfg.WarningHandler = &warnings
	warned, err = kubernetes.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())
}, NodeTimeout(8*time.Minute))

// warningLog keeps the warnings the API server sent.
type warningLog struct {
	mu   sync.Mutex
	list []string
}

func (w *warningLog) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

// since returns the warnings after the first n.
func (w *warningLog) since(n int) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.list[n:])
}

func (w *warningLog) len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.list)
}
