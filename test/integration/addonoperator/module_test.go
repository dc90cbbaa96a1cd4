// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package addonoperator

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apiextensionsv1client "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset/typed/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/deckhouse/secrets-store-integration/hooks/webhookcert"
	"github.com/deckhouse/secrets-store-integration/test/addonop"
	"github.com/deckhouse/secrets-store-integration/test/helmchart"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// The specs share one addon-operator and one release: each converge builds
// on the state the one before left, as in a cluster.
var _ = Describe("the module under addon-operator", Ordered, func() {
	var first webhookTLS

	It("runs the hooks and installs every object of the chart when enabled", func(ctx SpecContext) {
		rel := currentRelease(ctx)
		objs := releaseManifest(ctx, rel.Revision)
		Expect(objs).NotTo(BeEmpty())
		for _, obj := range objs {
			_, err := live(ctx, obj)
			Expect(err).NotTo(HaveOccurred(), "%s %s/%s of the release", obj.GetKind(), obj.GetNamespace(), obj.GetName())
		}
		for _, want := range []string{"Namespace", "DaemonSet", "Deployment", "Service", "MutatingWebhookConfiguration", "CSIDriver", "Secret"} {
			Expect(objs).To(ContainElement(HaveField("Object", HaveKeyWithValue("kind", want))), "the release has no %s", want)
		}

		By("serving the webhook a certificate the hook made for the Service's names")
		first = readWebhookTLS(ctx)
		leaf := parseCert(first.Crt)
		roots := x509.NewCertPool()
		Expect(roots.AppendCertsFromPEM(first.CA)).To(BeTrue())
		for _, name := range []string{
			"secrets-store-integration-webhook.d8-secrets-store-integration.svc",
			"secrets-store-integration-webhook.d8-secrets-store-integration.svc.cluster.local",
		} {
			_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: name, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
			Expect(err).NotTo(HaveOccurred(), "certificate for %s", name)
		}

		By("registering the webhook with that certificate's CA as caBundle")
		mwc := webhookConfiguration(ctx, objs)
		Expect(mwc.Webhooks).NotTo(BeEmpty())
		for _, w := range mwc.Webhooks {
			Expect(bytes.TrimSpace(w.ClientConfig.CABundle)).To(Equal(bytes.TrimSpace(first.CA)), "caBundle of webhook %s", w.Name)
		}
	})

	It("keeps the certificate through a second converge and an addon-operator restart", func(ctx SpecContext) {
		converge(ctx, "logLevel Debug", map[string]any{"logLevel": "Debug"})
		Expect(readWebhookTLS(ctx)).To(Equal(first), "a converge changed the webhook certificate")

		By("restarting addon-operator: its values are gone, only the Secret is left to reuse")
		Expect(operator.Restart(ctx)).To(Succeed())
		Expect(readWebhookTLS(ctx)).To(Equal(first), "the restart's converge changed the webhook certificate")
		converge(ctx, "logLevel Info after the restart", map[string]any{"logLevel": "Info"})
		Expect(readWebhookTLS(ctx)).To(Equal(first), "a converge after the restart changed the webhook certificate")
	})

	It("renews a certificate that expires within the renewal margin", func(ctx SpecContext) {
		names := webhookcert.DNSNames("")
		// Issued as if a year minus ten days ago: it expires in ten days,
		// inside the 30-day margin.
		old, err := webhookcert.Generate(names, time.Now().Add(-webhookcert.Lifetime+10*24*time.Hour))
		Expect(err).NotTo(HaveOccurred())
		secrets := env.Kube.CoreV1().Secrets(helmchart.ModuleNamespace)
		s, err := secrets.Get(ctx, webhookcert.SecretName, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		s.Data = map[string][]byte{"ca.crt": []byte(old.CA), "tls.crt": []byte(old.Crt), "tls.key": []byte(old.Key)}
		_, err = secrets.Update(ctx, s, metav1.UpdateOptions{})
		Expect(err).NotTo(HaveOccurred())

		By("restarting addon-operator, so that the Secret is all the hook has")
		before := currentRelease(ctx)
		Expect(operator.Restart(ctx)).To(Succeed())
		waitRelease(ctx, before.Revision)
		renewed := readWebhookTLS(ctx)
		Expect(renewed.Crt).NotTo(Equal([]byte(old.Crt)))
		Expect(renewed.Crt).NotTo(Equal(first.Crt))
		Expect(parseCert(renewed.Crt).NotAfter).To(BeTemporally(">", time.Now().Add(webhookcert.RenewBefore)))
		for _, w := range webhookConfiguration(ctx, releaseManifest(ctx, currentRelease(ctx).Revision)).Webhooks {
			Expect(bytes.TrimSpace(w.ClientConfig.CABundle)).To(Equal(bytes.TrimSpace(renewed.CA)), "caBundle of webhook %s", w.Name)
		}
	})

	It("renders the local Stronghold's CA with DiscoverLocalStronghold", func(ctx SpecContext) {
		Expect(storeCA(ctx)).To(Equal(strings.TrimSpace(strongholdCA)))
		Expect(webhookArgs(ctx)).To(ContainElement("--store-addr=https://stronghold.d8-stronghold:8300"))

		By("exporting the hooks' metrics through addon-operator")
		m := hookMetrics(ctx)
		Expect(m.Sum("d8_secrets_store_integration_local_stronghold_discovered", map[string]string{"module": addonop.ModuleName})).To(Equal(1.0))
		notAfter := parseCert(readWebhookTLS(ctx).Crt).NotAfter
		Expect(m.Sum("d8_secrets_store_integration_webhook_cert_expiry_timestamp_seconds", nil)).To(Equal(float64(notAfter.Unix())))
	})

	It("follows the Stronghold Secret going away: no CA, the clear error and the metric at 0", func(ctx SpecContext) {
		before := currentRelease(ctx)
		from := len(operator.Logs())
		Expect(env.Kube.CoreV1().Secrets("d8-stronghold").Delete(ctx, "stronghold-tls", metav1.DeleteOptions{})).To(Succeed())
		// The hook's binding fires on the deletion: no settings change.
		waitRelease(ctx, before.Revision)
		_, err := env.Kube.CoreV1().ConfigMaps(helmchart.ModuleNamespace).Get(ctx, "secrets-store-integration-store-ca", metav1.GetOptions{})
		Expect(isNotFound(err)).To(BeTrue(), "the store CA ConfigMap outlived the Stronghold Secret: %v", err)
		Expect(operator.Logs()[from:]).To(ContainElement(ContainSubstring("local Stronghold not found: Secret d8-stronghold/stronghold-tls does not exist")))
		m := hookMetrics(ctx)
		Expect(m).To(ContainElement(HaveField("Name", "d8_secrets_store_integration_local_stronghold_discovered")))
		Expect(m.Sum("d8_secrets_store_integration_local_stronghold_discovered", nil)).To(Equal(0.0))
	})

	manualCA := ""
	It("renders the given URL and CA with Manual", func(ctx SpecContext) {
		caPEM, _, _, err := testenv.ServingCertificate(GinkgoT().TempDir(), "manual-store")
		Expect(err).NotTo(HaveOccurred())
		manualCA = string(caPEM)
		converge(ctx, "Manual", map[string]any{
			"connectionConfiguration": "Manual",
			"connection":              map[string]any{"url": "https://vault.example.com:8200", "caCert": manualCA},
		})
		Expect(storeCA(ctx)).To(Equal(strings.TrimSpace(manualCA)))
		Expect(webhookArgs(ctx)).To(ContainElement("--store-addr=https://vault.example.com:8200"))
	})

	It("refuses invalid settings with the schema's message and leaves the release alone", func(ctx SpecContext) {
		before := currentRelease(ctx)
		from := len(operator.Logs())
		Expect(addonop.SetModuleConfig(ctx, env, true, map[string]any{
			"connectionConfiguration": "Manual",
			"connection":              map[string]any{"url": "http://vault.example.com:8200"},
		})).To(Succeed())
		Eventually(ctx, func() []string { return operator.Logs()[from:] }).WithPolling(100 * time.Millisecond).
			Should(ContainElement(ContainSubstring("connection.url should match '^https://")))
		Expect(currentRelease(ctx)).To(Equal(before))
		Expect(storeCA(ctx)).To(Equal(strings.TrimSpace(manualCA)))

		By("taking the next valid settings as the next revision")
		rel := converge(ctx, "valid again", map[string]any{
			"connectionConfiguration": "Manual",
			"connection":              map[string]any{"url": "https://vault.example.com:8201", "caCert": manualCA},
		})
		Expect(rel.Revision).To(Equal(before.Revision + 1))
		Expect(webhookArgs(ctx)).To(ContainElement("--store-addr=https://vault.example.com:8201"))
	})

	// addon-operator v1.9.1 applies crds/ itself only when it starts (its
	// ModuleEnsureCRDs task); this converge is a settings change without a
	// restart, so only the ensure_crds hook can bring the change.
	It("applies a changed CRD from crds/ on the next converge", func(ctx SpecContext) {
		path := filepath.Join(moduleDir, testenv.ImportCRD)
		const was = "The store's Kubernetes auth role the pod logs in with."
		const now = "The store's Kubernetes auth role the pod logs in with (changed by the test)."
		crd := mustRead(path)
		Expect(string(crd)).To(ContainSubstring(was))
		Expect(os.WriteFile(path, []byte(strings.Replace(string(crd), was, now, 1)), 0o644)).To(Succeed())

		converge(ctx, "CRD changed", map[string]any{
			"connectionConfiguration": "Manual",
			"connection":              map[string]any{"url": "https://vault.example.com:8202", "caCert": manualCA},
		})
		live, err := apiextensions(ctx).Get(ctx, "secretsstoreimports.deckhouse.io", metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		role := live.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["role"]
		Expect(role.Description).To(Equal(now))
	})

	It("sends an opted-in pod to the webhook started with the hook's certificate, through the registration addon-operator installed", func(ctx SpecContext) {
		webhookMutatesThroughRelease(ctx)
	})

	It("lets namespace users read and editors write SecretsStoreImports through the user-authz roles", func(ctx SpecContext) {
		Expect(createNamespace(ctx, "team-a")).To(Succeed())
		// user-authz binds each access level's aggregate of the annotated
		// ClusterRoles; here each role is bound directly, in one namespace.
		for user, role := range map[string]string{
			"alice": "d8:user-authz:secrets-store-integration:user",
			"bob":   "d8:user-authz:secrets-store-integration:editor",
		} {
			cr, err := env.Kube.RbacV1().ClusterRoles().Get(ctx, role, metav1.GetOptions{})
			Expect(err).NotTo(HaveOccurred(), "ClusterRole %s of the release", role)
			Expect(cr.Annotations).To(HaveKey("user-authz.deckhouse.io/access-level"))
			_, err = env.Kube.RbacV1().RoleBindings("team-a").Create(ctx, &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: user},
				RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role},
				Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: user}},
			}, metav1.CreateOptions{})
			Expect(err).NotTo(HaveOccurred())
		}
		Eventually(ctx, func() bool { return allowed(ctx, "alice", "list", "team-a") }).WithPolling(100 * time.Millisecond).Should(BeTrue())
		Expect(allowed(ctx, "alice", "create", "team-a")).To(BeFalse(), "a User may write imports")
		Expect(allowed(ctx, "bob", "create", "team-a")).To(BeTrue(), "an Editor may not write imports")
		Expect(allowed(ctx, "bob", "create", "default")).To(BeFalse(), "an Editor of team-a may write imports elsewhere")
	})

	It("removes the release when disabled and keeps the CRD and users' objects", func(ctx SpecContext) {
		// The release validates imports through its webhook (failurePolicy
		// Fail): the user's import is admitted by the running webhook.
		serveWebhookThroughRelease(ctx)
		ssi := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "deckhouse.io/v1alpha1", "kind": "SecretsStoreImport",
			"metadata": map[string]any{"name": "app", "namespace": "team-a"},
			"spec": map[string]any{"type": "CSI", "role": "app", "files": []any{
				map[string]any{"name": "password", "source": map[string]any{"path": "secret/data/app", "key": "password"}},
			}},
		}}
		_, err := env.Apply(ctx, ssi)
		Expect(err).NotTo(HaveOccurred())

		Expect(addonop.SetModuleConfig(ctx, env, false, nil)).To(Succeed())
		Eventually(ctx, func(g Gomega) {
			_, ok, err := addonop.ModuleRelease(ctx, env)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(ok).To(BeFalse(), "the release is still there")
		}).WithPolling(200 * time.Millisecond).Should(Succeed())
		_, err = env.Kube.AppsV1().Deployments(helmchart.ModuleNamespace).Get(ctx, "secrets-store-integration-webhook", metav1.GetOptions{})
		Expect(isNotFound(err)).To(BeTrue(), "the webhook Deployment is left: %v", err)
		_, err = env.Kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, "d8-secrets-store-integration-env-injection", metav1.GetOptions{})
		Expect(isNotFound(err)).To(BeTrue(), "the webhook registration is left: %v", err)

		_, err = apiextensions(ctx).Get(ctx, "secretsstoreimports.deckhouse.io", metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred(), "the CRD went with the release")
		_, err = live(ctx, ssi)
		Expect(err).NotTo(HaveOccurred(), "the user's SecretsStoreImport went with the release")
	})
})

// webhookConfiguration is the live MutatingWebhookConfiguration of the release.
func webhookConfiguration(ctx SpecContext, objs []*unstructured.Unstructured) *admissionregistrationv1.MutatingWebhookConfiguration {
	GinkgoHelper()
	var name string
	for _, o := range objs {
		if o.GetKind() == "MutatingWebhookConfiguration" {
			Expect(name).To(BeEmpty(), "one MutatingWebhookConfiguration in the release")
			name = o.GetName()
		}
	}
	Expect(name).NotTo(BeEmpty(), "no MutatingWebhookConfiguration in the release")
	mwc, err := env.Kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred())
	return mwc
}

// storeCA is the store CA ConfigMap's ca.crt, trimmed.
func storeCA(ctx SpecContext) string {
	GinkgoHelper()
	cm, err := env.Kube.CoreV1().ConfigMaps(helmchart.ModuleNamespace).Get(ctx, "secrets-store-integration-store-ca", metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred())
	return strings.TrimSpace(cm.Data["ca.crt"])
}

// webhookArgs are the live webhook Deployment's container arguments.
func webhookArgs(ctx SpecContext) []string {
	GinkgoHelper()
	d, err := env.Kube.AppsV1().Deployments(helmchart.ModuleNamespace).Get(ctx, "secrets-store-integration-webhook", metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred())
	var args []string
	for _, c := range d.Spec.Template.Spec.Containers {
		args = append(args, c.Args...)
	}
	return args
}

func apiextensions(ctx SpecContext) apiextensionsv1client.CustomResourceDefinitionInterface {
	GinkgoHelper()
	c, err := apiextensionsclient.NewForConfig(env.Config)
	Expect(err).NotTo(HaveOccurred())
	return c.ApiextensionsV1().CustomResourceDefinitions()
}

// allowed asks the API server whether user may verb SecretsStoreImports in ns.
func allowed(ctx SpecContext, user, verb, ns string) bool {
	GinkgoHelper()
	r, err := env.Kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user,
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: ns, Verb: verb, Group: "deckhouse.io", Resource: "secretsstoreimports",
			},
		},
	}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	return r.Status.Allowed
}
