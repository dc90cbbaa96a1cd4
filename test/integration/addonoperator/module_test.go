package addonoperator

import (
	"bytes"
	"crypto/x509"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
