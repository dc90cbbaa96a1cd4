// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package addonoperator

import (
	"context"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/helmchart"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// serveWebhookThroughRelease starts the module's webhook with the
// certificate the hook made and lets the webhook configurations
// addon-operator installed reach it: kube-apiserver runs with
// ServiceRouting, so it resolves the webhook's Service through an
// EndpointSlice, which the test publishes with the address the webhook
// listens on (there is no kube-proxy or kubelet to do it). kube-apiserver
// then checks the webhook's certificate for the Service's name against the
// release's caBundle, as in a cluster. The webhook stops when the spec ends.
func serveWebhookThroughRelease(ctx SpecContext) {
	GinkgoHelper()
	host := hostAddress()
	if host == "" {
		Skip("this machine has no non-loopback IPv4 address for an EndpointSlice to hold")
	}
	root, err := testenv.RepoRoot()
	Expect(err).NotTo(HaveOccurred())
	dir := GinkgoT().TempDir()
	bin := filepath.Join(dir, "webhook")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/deckhouse/secrets-store-integration/images/webhook")
	build.Dir = root
	out, err := build.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "go build the webhook: %s", out)

	tls := readWebhookTLS(ctx)
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	Expect(os.WriteFile(certFile, tls.Crt, 0o600)).To(Succeed())
	Expect(os.WriteFile(keyFile, tls.Key, 0o600)).To(Succeed())
	wh, err := components.StartWebhook(ctx, components.WebhookConfig{
		Binary: bin, Kubeconfig: env.Kubeconfig, CertFile: certFile, KeyFile: keyFile,
		InjectorImage: "registry.example/secrets-store-integration/env-injector:v1",
		StoreAddr:     "https://vault.example.com:8200", ListenHost: host, Log: GinkgoWriter,
	})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { Expect(wh.Stop()).To(Succeed()) })

	By("publishing the webhook's address as the Service's endpoint")
	u, err := url.Parse(wh.URL)
	Expect(err).NotTo(HaveOccurred())
	port, err := strconv.Atoi(u.Port())
	Expect(err).NotTo(HaveOccurred())
	ready := true
	slices := env.Kube.DiscoveryV1().EndpointSlices(helmchart.ModuleNamespace)
	slice, err := slices.Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Name:   "secrets-store-integration-webhook-test",
			Labels: map[string]string{discoveryv1.LabelServiceName: "secrets-store-integration-webhook"},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{host}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr("https"), Port: ptr(int32(port)), Protocol: ptr(corev1.ProtocolTCP)}},
	}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func(ctx context.Context) {
		Expect(slices.Delete(ctx, slice.Name, metav1.DeleteOptions{})).To(Succeed())
	})
}

// webhookMutatesThroughRelease serves the webhook through the release and
// creates pods through the API server: an opted-in one is mutated, a plain
// one is not.
func webhookMutatesThroughRelease(ctx SpecContext) {
	serveWebhookThroughRelease(ctx)

	By("creating an opted-in pod through the API server")
	Expect(createNamespace(ctx, "team-b")).To(Succeed())
	_, err := env.Kube.CoreV1().ServiceAccounts("team-b").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "app"}}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	Expect(components.WaitCalled(ctx, env.Kube, "team-b", "app", true)).To(Succeed())
	pod, err := env.Kube.CoreV1().Pods("team-b").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Annotations: map[string]string{components.OptInAnnotation: "app"}},
		Spec: corev1.PodSpec{ServiceAccountName: "app", Containers: []corev1.Container{
			{Name: "app", Image: "registry.example/app:v1", Command: []string{"/app", "serve"}},
		}},
	}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	Expect(pod.Spec.InitContainers).To(ConsistOf(HaveField("Name", "secrets-store-env-injector")))
	Expect(pod.Spec.Containers[0].Command).NotTo(Equal([]string{"/app", "serve"}), "the container's entrypoint is not wrapped")

	By("leaving a pod without the annotation alone")
	plain, err := env.Kube.CoreV1().Pods("team-b").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "plain"},
		Spec: corev1.PodSpec{ServiceAccountName: "app", Containers: []corev1.Container{
			{Name: "app", Image: "registry.example/app:v1", Command: []string{"/app"}},
		}},
	}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	Expect(plain.Spec.InitContainers).To(BeEmpty())
}

// hostAddress is this machine's first non-loopback IPv4 address, or "".
func hostAddress() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	return ""
}

func ptr[T any](v T) *T { return &v }
