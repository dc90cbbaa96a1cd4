// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package chart

import (
	"context"
	"fmt"

	"github.com/deckhouse/secrets-store-integration/test/helmchart"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// The controller's RBAC lets it patch every Deployment, StatefulSet and
// DaemonSet; the chart's ValidatingAdmissionPolicy holds it to the restart
// annotation. Installed for real here (not dry-run), with the controller's
// ClusterRole and binding, and tried as the controller's ServiceAccount.
var _ = Describe("the controller's rollout-restart rights", Ordered, func() {
	const (
		workloads  = "rollout-targets"
		annotation = "secrets-store.deckhouse.io/restartedAt"
	)
	var asController kubernetes.Interface

	BeforeAll(func(ctx SpecContext) {
		objs, err := helmchart.Render(map[string]any{}, nil)
		Expect(err).NotTo(HaveOccurred())
		for _, kn := range [][2]string{
			{"ServiceAccount", "secrets-store-integration-controller"},
			{"ClusterRole", "d8:secrets-store-integration:controller"},
			{"ClusterRoleBinding", "d8:secrets-store-integration:controller"},
			{"ValidatingAdmissionPolicy", "d8-secrets-store-integration-controller-rollout"},
			{"ValidatingAdmissionPolicyBinding", "d8-secrets-store-integration-controller-rollout"},
		} {
			obj := find(objs, kn[0], kn[1])
			Expect(obj).NotTo(BeNil(), "%s/%s rendered", kn[0], kn[1])
			_, err := env.Apply(ctx, obj)
			Expect(err).NotTo(HaveOccurred(), "%s/%s", kn[0], kn[1])
		}
		_, err = env.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: workloads}}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())

		labels := map[string]string{"app": "web"}
		tpl := corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{"team": "a"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1"}}},
		}
		sel := &metav1.LabelSelector{MatchLabels: labels}
		apps := env.Kube.AppsV1()
		_, err = apps.Deployments(workloads).Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"},
			Spec: appsv1.DeploymentSpec{Selector: sel, Template: tpl}}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		_, err = apps.StatefulSets(workloads).Create(ctx, &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "web"},
			Spec: appsv1.StatefulSetSpec{Selector: sel, Template: tpl}}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		_, err = apps.DaemonSets(workloads).Create(ctx, &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "web"},
			Spec: appsv1.DaemonSetSpec{Selector: sel, Template: tpl}}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())

		cfg := rest.CopyConfig(env.Config)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + moduleNamespace + ":secrets-store-integration-controller"}
		asController, err = kubernetes.NewForConfig(cfg)
		Expect(err).NotTo(HaveOccurred())

		// The API server loads a new policy in the background: wait until
		// it refuses what it must, before the table relies on it.
		// A new image each try: a patch that changes nothing is admitted.
		try := 0
		Eventually(func(ctx context.Context) error {
			try++
			return patch(ctx, asController, "Deployment", workloads,
				fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"registry.example/waiting:%d"}]}}}}`, try))
		}).WithContext(ctx).Should(MatchError(ContainSubstring("ValidatingAdmissionPolicy")))
	})

	DescribeTable("lets the controller change only the restart annotation",
		func(ctx SpecContext, body string, refused string) {
			for _, kind := range []string{"Deployment", "StatefulSet", "DaemonSet"} {
				err := patch(ctx, asController, kind, workloads, body)
				if refused == "" {
					Expect(err).NotTo(HaveOccurred(), kind)
					continue
				}
				Expect(err).To(HaveOccurred(), "%s: %s was admitted", kind, body)
				Expect(err.Error()).To(ContainSubstring("d8-secrets-store-integration-controller-rollout"), kind)
				Expect(err.Error()).To(ContainSubstring(refused), kind)
			}
		},
		Entry("the restart annotation, as images/controller/internal/rollout patches it",
			`{"spec":{"template":{"metadata":{"annotations":{"`+annotation+`":"2026-12-01T23:00:00Z"}}}}}`, ""),
		Entry("the restart annotation again, a later time",
			`{"spec":{"template":{"metadata":{"annotations":{"`+annotation+`":"2026-12-02T00:00:00Z"}}}}}`, ""),
		Entry("the image", `{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"evil:1"}]}}}}`, "not the pod spec"),
		Entry("a command", `{"spec":{"template":{"spec":{"containers":[{"name":"app","command":["sh"]}]}}}}`, "not the pod spec"),
		Entry("the service account", `{"spec":{"template":{"spec":{"serviceAccountName":"admin"}}}}`, "not the pod spec"),
		Entry("another pod template annotation", `{"spec":{"template":{"metadata":{"annotations":{"team":"b"}}}}}`, "not its other metadata"),
		Entry("a pod template label", `{"spec":{"template":{"metadata":{"labels":{"extra":"x"}}}}}`, "not its other metadata"),
		Entry("the revision history, beside the annotation",
			`{"spec":{"revisionHistoryLimit":1,"template":{"metadata":{"annotations":{"`+annotation+`":"2026-12-02T01:00:00Z"}}}}}`, "not the spec"),
		Entry("the object's labels", `{"metadata":{"labels":{"owner":"controller"}}}`, "not the object's labels"),
	)

	It("leaves everyone else alone", func(ctx SpecContext) {
		Expect(patch(ctx, env.Kube, "Deployment", workloads, `{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"registry.example/app:2"}]}}}}`)).To(Succeed())
	})
})

// patch sends a strategic merge patch to kind web in ns.
func patch(ctx context.Context, c kubernetes.Interface, kind, ns, body string) error {
	var err error
	switch kind {
	case "Deployment":
		_, err = c.AppsV1().Deployments(ns).Patch(ctx, "web", types.StrategicMergePatchType, []byte(body), metav1.PatchOptions{})
	case "StatefulSet":
		_, err = c.AppsV1().StatefulSets(ns).Patch(ctx, "web", types.StrategicMergePatchType, []byte(body), metav1.PatchOptions{})
	case "DaemonSet":
		_, err = c.AppsV1().DaemonSets(ns).Patch(ctx, "web", types.StrategicMergePatchType, []byte(body), metav1.PatchOptions{})
	default:
		err = fmt.Errorf("no kind %s", kind)
	}
	return err
}
