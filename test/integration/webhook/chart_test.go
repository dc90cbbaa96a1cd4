// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package webhook

import (
	"context"
	"os"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/helmchart"
)

// The module's rendered registration, not only components'
// WebhookConfiguration: the chart test checks the two agree, this one shows
// the rendered object itself works with the running webhook.
//
// The suite's registration calls the same webhook with the same selectors
// and conditions, so with both present an opted-in pod would come back
// mutated even if the rendered one never worked (the webhook is idempotent:
// the second call leaves the mutated pod alone). The spec therefore takes
// the suite's registration away for its duration and puts it back after;
// Serial keeps the other specs from running meanwhile under `ginkgo -p`.
var _ = Describe("the chart's rendered webhook registration", Serial, func() {
	It("sends opted-in pods to the running webhook and no others", func(ctx SpecContext) {
		crt, err := os.ReadFile(certFile)
		Expect(err).NotTo(HaveOccurred())
		key, err := os.ReadFile(keyFile)
		Expect(err).NotTo(HaveOccurred())
		objs, err := helmchart.Render(map[string]any{
			"secretsStoreIntegration": map[string]any{
				"connectionConfiguration": "Manual",
				"connection":              map[string]any{"url": env.VaultAddr},
				// As the webhookcert hook fills it: the webhook's own
				// serving certificate, so the rendered caBundle trusts it.
				"internal": map[string]any{"webhookCert": map[string]any{
					"ca": string(caBundle), "crt": string(crt), "key": string(key),
				}},
			},
		}, nil)
		Expect(err).NotTo(HaveOccurred())
		var rendered *admissionregistrationv1.MutatingWebhookConfiguration
		for _, obj := range objs {
			if obj.GetKind() == "MutatingWebhookConfiguration" {
				Expect(rendered).To(BeNil(), "one MutatingWebhookConfiguration")
				rendered = &admissionregistrationv1.MutatingWebhookConfiguration{}
				Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, rendered)).To(Succeed())
			}
		}
		Expect(rendered).NotTo(BeNil())
		Expect(rendered.Webhooks).To(HaveLen(1))
		Expect(rendered.Webhooks[0].ClientConfig.CABundle).To(Equal(caBundle))

		By("taking the suite's registration away until the API server stops calling the webhook")
		Expect(components.Unregister(ctx, env.Kube, registration)).To(Succeed())
		DeferCleanup(func(ctx context.Context) {
			By("putting the suite's registration back")
			Expect(hook.Register(ctx, env.Kube, registration, caBundle, team, sa)).To(Succeed())
		})
		Expect(components.WaitCalled(ctx, env.Kube, team, sa, false)).To(Succeed())

		By("registering the rendered configuration with the webhook's URL in place of its Service")
		// Only clientConfig changes: kube-apiserver runs without a cluster
		// network, so it cannot reach the Service the chart names
		// (secrets-store-integration-webhook in the module's namespace);
		// it reaches the webhook on loopback. caBundle stays the rendered one.
		rendered.Name = "rendered-env-injection"
		rendered.Webhooks[0].ClientConfig.Service = nil
		rendered.Webhooks[0].ClientConfig.URL = &hook.URL
		hooks := env.Kube.AdmissionregistrationV1().MutatingWebhookConfigurations()
		_, err = hooks.Create(ctx, rendered, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		// Registered after the restore above, so it runs first: the
		// suite's registration never exists alongside this one.
		DeferCleanup(func(ctx context.Context) {
			Expect(components.Unregister(ctx, env.Kube, rendered.Name)).To(Succeed())
			Expect(components.WaitCalled(ctx, env.Kube, team, sa, false)).To(Succeed())
		})
		Expect(components.WaitCalled(ctx, env.Kube, team, sa, true)).To(Succeed())

		By("mutating an opted-in pod created through the API")
		before := admissions(ctx)
		pod := mustCreate(ctx, team, optedIn("rendered", withCommand(appImage, "/app", "serve")))
		Expect(pod.Spec.InitContainers).To(ConsistOf(HaveField("Name", initName)))
		runs(pod, "/app", "serve")
		Expect(admissions(ctx)).To(Equal(before + 1))

		By("leaving a pod without the annotation untouched, without calling the webhook")
		before = admissions(ctx)
		plain := mustCreate(ctx, team, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "rendered-plain"},
			Spec:       corev1.PodSpec{ServiceAccountName: sa, Containers: []corev1.Container{withCommand(appImage, "/app")}},
		})
		Expect(plain.Spec.InitContainers).To(BeEmpty())
		Expect(plain.Spec.Containers[0].Command).To(Equal([]string{"/app"}))
		Expect(admissions(ctx)).To(Equal(before))
	})
})
