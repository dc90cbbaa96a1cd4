// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package webhook

import (
	"context"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/deckhouse/secrets-store-integration/test/components"
)

const (
	// importRegistration is the suite's registration of the import webhook.
	importRegistration = "secrets-store-imports"
	// otherAudience and allowedAddress are allowed by the webhook's flags
	// besides the defaults.
	otherAudience  = "other-store"
	allowedAddress = "https://allowed-store.example:8200"
	// importsNS is where alice writes imports: she may write them, have
	// tokens of ServiceAccount "app" only, and update Secret "mine" only.
	importsNS = "imports"
	alice     = "alice"
)

var ssiResource = schema.GroupVersionResource{Group: "deckhouse.io", Version: "v1alpha1", Resource: "secretsstoreimports"}

// Writing a SecretsStoreImport must not give more than the writer has: the
// API server sends each write to the webhook with the real user's identity
// (impersonated here), and the webhook asks the API server's RBAC.
var _ = Describe("SecretsStoreImport admission", Ordered, func() {
	// asAlice writes as alice (group devs) through impersonation, so the
	// API server puts her into the review's userInfo; asAdmin as the suite's
	// cluster admin.
	var asAlice, asAdmin dynamic.Interface

	BeforeAll(func(ctx SpecContext) {
		err := env.ApplyImportCRD(ctx)
		Expect(err).NotTo(HaveOccurred())
		for _, name := range []string{"app", "admin"} {
			_, err = env.CreateServiceAccount(ctx, importsNS, name)
			Expect(err).NotTo(HaveOccurred())
		}
		for _, name := range []string{"mine", "theirs"} {
			_, err = env.Kube.CoreV1().Secrets(importsNS).Create(ctx, &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: name}, StringData: map[string]string{"other": "value"}}, metav1.CreateOptions{})
			Expect(err).NotTo(HaveOccurred())
		}
		_, err = env.Kube.RbacV1().Roles(importsNS).Create(ctx, &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: "import-writer"},
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{"deckhouse.io"}, Resources: []string{"secretsstoreimports"}, Verbs: []string{"get", "list", "create", "update", "patch", "delete"}},
				{APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}, ResourceNames: []string{"app"}, Verbs: []string{"create"}},
				{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"mine"}, Verbs: []string{"update"}},
			},
		}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		_, err = env.Kube.RbacV1().RoleBindings(importsNS).Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "import-writer"},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "import-writer"},
			Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: alice}},
		}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())

		asAdmin, err = dynamic.NewForConfig(env.Config)
		Expect(err).NotTo(HaveOccurred())
		cfg := rest.CopyConfig(env.Config)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: alice, Groups: []string{"devs", "system:authenticated"},
			Extra: map[string][]string{"team": {"a"}}}
		asAlice, err = dynamic.NewForConfig(cfg)
		Expect(err).NotTo(HaveOccurred())

		Expect(hook.RegisterImports(ctx, env.Kube, asAdmin, importRegistration, caBundle, importsNS)).To(Succeed())
		DeferCleanup(components.UnregisterImports, env.Kube, importRegistration)
	})

	create := func(ctx context.Context, client dynamic.Interface, name string, spec map[string]any) error {
		_, err := client.Resource(ssiResource).Namespace(importsNS).Create(ctx, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "deckhouse.io/v1alpha1", "kind": "SecretsStoreImport",
			"metadata": map[string]any{"name": name}, "spec": spec,
		}}, metav1.CreateOptions{})
		return err
	}
	files := []any{map[string]any{"name": "password", "source": map[string]any{"path": "secret/data/app", "key": "password"}}}
	syncTo := func(sa, secret string, extra map[string]any) map[string]any {
		spec := map[string]any{"type": "KubernetesSecret", "role": "app", "serviceAccountName": sa,
			"secret": map[string]any{"name": secret}, "files": files}
		for k, v := range extra {
			spec[k] = v
		}
		return spec
	}
	csi := func(extra map[string]any) map[string]any {
		spec := map[string]any{"type": "CSI", "role": "app", "files": files}
		for k, v := range extra {
			spec[k] = v
		}
		return spec
	}
	seq := 0
	name := func() string {
		seq++
		return fmt.Sprintf("import-%d", seq)
	}

	DescribeTable("refuses what the writer could not do herself, naming the field",
		func(ctx SpecContext, spec map[string]any, want []string) {
			err := create(ctx, asAlice, name(), spec)
			Expect(err).To(HaveOccurred())
			for _, w := range want {
				Expect(err.Error()).To(ContainSubstring(w))
			}
		},
		Entry("a ServiceAccount she may not have tokens of", syncTo("admin", "new-1", nil),
			[]string{`spec.serviceAccountName "admin"`, `user "alice" may not create serviceaccounts/token for ServiceAccount imports/admin`}),
		Entry("Merge into a Secret she may not update", syncTo("app", "theirs", map[string]any{"creationPolicy": "Merge"}),
			[]string{`spec.secret.name "theirs": creationPolicy Merge writes into that Secret, and user "alice" may not update Secret imports/theirs`}),
		Entry("taking over a Secret she may not update", syncTo("app", "theirs", nil),
			[]string{`spec.secret.name "theirs": the Secret exists and the controller would take it over`}),
		Entry("a service-account-token Secret", syncTo("app", "new-2", map[string]any{"secret": map[string]any{"name": "new-2", "type": "kubernetes.io/service-account-token"}}),
			[]string{"kubernetes.io/service-account-token is not allowed"}),
		Entry("another store", csi(map[string]any{"address": "https://evil.example:8200"}),
			[]string{`spec.address "https://evil.example:8200" is not allowed`, "allowedStoreAddresses"}),
		Entry("another store for a Secret", syncTo("app", "new-3", map[string]any{"address": "https://evil.example:8200"}),
			[]string{`spec.address "https://evil.example:8200" is not allowed`}),
		Entry("skipping TLS verification", csi(map[string]any{"skipTLSVerify": true}),
			[]string{`spec.skipTLSVerify "true" is not allowed`, "allowSkipTLSVerify"}),
		Entry("an audience not allowed", syncTo("app", "new-4", map[string]any{"audience": "kubernetes"}),
			[]string{`spec.audience "kubernetes" is not allowed`, "allowedAudiences is vault, " + otherAudience}),
	)

	DescribeTable("admits what the writer may do herself",
		func(ctx SpecContext, spec map[string]any) {
			Expect(create(ctx, asAlice, name(), spec)).To(Succeed())
		},
		Entry("her ServiceAccount, a new Secret", syncTo("app", "new-5", nil)),
		Entry("Merge into a Secret she may update", syncTo("app", "mine", map[string]any{"creationPolicy": "Merge"})),
		Entry("an allowed store and audience", csi(map[string]any{"address": allowedAddress, "audience": otherAudience})),
	)

	It("admits the module's own store named in spec.address", func(ctx SpecContext) {
		Expect(create(ctx, asAlice, name(), csi(map[string]any{"address": env.VaultAddr + "/"}))).To(Succeed())
	})

	It("refuses her edit of an import of a ServiceAccount she may not have, and lets metadata edits through", func(ctx SpecContext) {
		Expect(create(ctx, asAdmin, "admin-import", syncTo("admin", "admin-secret", nil))).To(Succeed())
		ssi, err := asAlice.Resource(ssiResource).Namespace(importsNS).Get(ctx, "admin-import", metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())

		edited := ssi.DeepCopy()
		list, _, _ := unstructured.NestedSlice(edited.Object, "spec", "files")
		list[0].(map[string]any)["source"].(map[string]any)["path"] = "secret/data/admin"
		Expect(unstructured.SetNestedSlice(edited.Object, list, "spec", "files")).To(Succeed())
		_, err = asAlice.Resource(ssiResource).Namespace(importsNS).Update(ctx, edited, metav1.UpdateOptions{})
		Expect(err).To(MatchError(ContainSubstring(`spec.serviceAccountName "admin": user "alice" may not create serviceaccounts/token`)))

		labelled := ssi.DeepCopy()
		labelled.SetLabels(map[string]string{"owner": "alice"})
		_, err = asAlice.Resource(ssiResource).Namespace(importsNS).Update(ctx, labelled, metav1.UpdateOptions{})
		Expect(err).NotTo(HaveOccurred(), "a metadata edit changes nothing the controller reads or writes")
	})
})
