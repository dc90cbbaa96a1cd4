// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package controller

import (
	"net/url"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The example of the "Kubernetes Secrets" section of docs/USAGE.md, applied
// exactly as a user would: the store is set up by the commands of
// docs/examples/csi/vault-setup.sh (the secret, the policy, role myapp), then
// the two files of docs/examples/secret-sync are applied.
var _ = Describe("docs/examples/secret-sync", func() {
	It("syncs the documented keys into the documented Secret and restarts the Deployment on a change", func(ctx SpecContext) {
		const ns = "myapp"
		createNamespace(ctx, ns)
		if _, err := env.Kube.CoreV1().ServiceAccounts(ns).Get(ctx, "myapp", metav1.GetOptions{}); apierrors.IsNotFound(err) {
			_, err = env.CreateServiceAccount(ctx, ns, "myapp")
			Expect(err).NotTo(HaveOccurred())
		}
		Expect(env.RunVaultScript(ctx, filepath.Join(root, "docs", "examples", "csi", "vault-setup.sh"))).To(Succeed())
		password := remember("s3cr3t:p@ss/word") // what the script writes

		dir := filepath.Join(root, "docs", "examples", "secret-sync")
		_, err := env.ApplyFile(ctx, filepath.Join(dir, "deployment.yaml"))
		Expect(err).NotTo(HaveOccurred())
		applied, err := env.ApplyFile(ctx, filepath.Join(dir, "secretsstoreimport.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(applied).To(HaveLen(1))
		Expect(applied[0].GetNamespace()).To(Equal(ns))

		Expect(secretData(ctx, ns, "myapp-db")).To(Equal(map[string]string{
			"username": "myapp", "password": password,
			"dsn": "postgresql://myapp:" + url.QueryEscape(password) + "@postgres.myapp.svc:5432/myapp",
		}))
		s, err := getSecret(ctx, ns, "myapp-db")
		Expect(err).NotTo(HaveOccurred())
		Expect(s.Type).To(Equal(corev1.SecretTypeBasicAuth))
		Expect(s.Labels).To(HaveKeyWithValue("app.kubernetes.io/name", "myapp"))
		waitCondition(ctx, ns, applied[0].GetName(), "Ready", "True", "SecretReady")
		Expect(templateAnnotations(ctx, ns, "myapp")).NotTo(HaveKey("secrets-store.deckhouse.io/restartedAt"))

		By("a new password in the store: the refresh is 10m, so the spec is touched to sync now")
		rotated := value("rotated")
		putSecret(ctx, "myapp", map[string]any{"username": "myapp", "password": rotated})
		touch := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": applied[0].GetAPIVersion(), "kind": applied[0].GetKind(),
			"metadata": map[string]any{"namespace": ns, "name": applied[0].GetName()},
			"spec":     applied[0].Object["spec"],
		}}
		Expect(unstructured.SetNestedField(touch.Object, "1m", "spec", "refreshInterval")).To(Succeed())
		_, err = env.Apply(ctx, touch)
		Expect(err).NotTo(HaveOccurred())
		Eventually(ctx, func() map[string]string { return secretData(ctx, ns, "myapp-db") }).
			WithTimeout(30 * time.Second).Should(HaveKeyWithValue("password", rotated))
		Eventually(ctx, func() map[string]string { return templateAnnotations(ctx, ns, "myapp") }).
			WithTimeout(30 * time.Second).Should(HaveKey("secrets-store.deckhouse.io/restartedAt"))
	})
})
