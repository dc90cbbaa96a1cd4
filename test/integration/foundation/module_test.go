// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package foundation

import (
	"fmt"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/deckhouse/secrets-store-integration/images/testsupport/validationtable"
	"github.com/deckhouse/secrets-store-integration/test/helmchart"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// The module's CRD and CSIDriver are installed into the real API server, and
// the API server enforces the CRD's validation.
var _ = Describe("The module's API objects", Ordered, func() {
	var root string

	BeforeAll(func(ctx SpecContext) {
		var err error
		root, err = testenv.RepoRoot()
		Expect(err).NotTo(HaveOccurred())
		err = env.ApplyImportCRD(ctx)
		Expect(err).NotTo(HaveOccurred())
		// The CSIDriver is a template (its tokenRequests follow the
		// allowedAudiences setting): rendered with the defaults.
		objs, err := helmchart.Render(map[string]any{}, nil)
		Expect(err).NotTo(HaveOccurred())
		var applied bool
		for _, o := range objs {
			if o.GetKind() == "CSIDriver" {
				_, err := env.Apply(ctx, o)
				Expect(err).NotTo(HaveOccurred())
				applied = true
			}
		}
		Expect(applied).To(BeTrue(), "the chart renders no CSIDriver")
		_, err = env.CreateServiceAccount(ctx, "ssi-users", "app")
		Expect(err).NotTo(HaveOccurred())
	})

	It("serves the CSIDriver the kubelet needs", func(ctx SpecContext) {
		d, err := env.Kube.StorageV1().CSIDrivers().Get(ctx, "secrets-store.csi.deckhouse.io", getOpts)
		Expect(err).NotTo(HaveOccurred())
		Expect(*d.Spec.PodInfoOnMount).To(BeTrue())
		Expect(*d.Spec.RequiresRepublish).To(BeTrue())
		Expect(d.Spec.TokenRequests).To(HaveLen(1))
		Expect(d.Spec.TokenRequests[0].Audience).To(Equal("vault"))
	})

	It("accepts an existing user's SecretsStoreImport as it was written for the Deckhouse module", func(ctx SpecContext) {
		out, err := env.Apply(ctx, ssi("myapp-ssi", "db-password", "db-password-2"))
		Expect(err).NotTo(HaveOccurred())
		skip, found, _ := unstructured.NestedBool(out.Object, "spec", "skipTLSVerify")
		Expect(found).To(BeTrue(), "defaults are applied")
		Expect(skip).To(BeFalse())
	})

	DescribeTable("refuses bad file names with a message naming the field",
		func(ctx SpecContext, names []string, field, message string) {
			_, err := env.Apply(ctx, ssi("bad", names...))
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring("SecretsStoreImport ssi-users/bad"))
			Expect(err.Error()).To(ContainSubstring(field))
			Expect(err.Error()).To(ContainSubstring(message))
		},
		Entry("a parent reference", []string{"../etc/passwd"}, "spec.files[0].name", "must not contain '..'"),
		Entry("an absolute path", []string{"ok", "/etc/passwd"}, "spec.files[1].name", "must be a relative path"),
		Entry("a repeated name", []string{"a", "a"}, "spec.files", "file names must be unique"),
	)

	// The same table as the code's validators (images/internal/params
	// TestValidationTable): the API server must reach the same verdict.
	It("reaches the code's verdict on every file name, authPath, audience and path query of the shared table", func(ctx SpecContext) {
		cases, err := validationtable.Read(filepath.Join(root, validationtable.Path))
		Expect(err).NotTo(HaveOccurred())
		fields := map[string]string{
			"file": "spec.files[0].name", "authPath": "spec.authPath", "audience": "spec.audience", "path": "spec.files[0].source.path",
		}
		for n, c := range cases {
			obj := ssi(fmt.Sprintf("table-%d", n), "ok")
			switch c.Field {
			case "file":
				obj = ssi(fmt.Sprintf("table-%d", n), c.Value)
			case "path":
				files, _, _ := unstructured.NestedSlice(obj.Object, "spec", "files")
				Expect(unstructured.SetNestedField(files[0].(map[string]any), c.Value, "source", "path")).To(Succeed())
				Expect(unstructured.SetNestedSlice(obj.Object, files, "spec", "files")).To(Succeed())
			default:
				Expect(unstructured.SetNestedField(obj.Object, c.Value, "spec", c.Field)).To(Succeed())
			}
			_, err := env.Apply(ctx, obj)
			if c.OK {
				Expect(err).NotTo(HaveOccurred(), "%s %q", c.Field, c.Value)
				continue
			}
			Expect(err).To(HaveOccurred(), "%s %q was admitted; the code refuses it", c.Field, c.Value)
			Expect(err.Error()).To(ContainSubstring(fields[c.Field]), "%s %q", c.Field, c.Value)
		}
	})
})

func ssi(name string, files ...string) *unstructured.Unstructured {
	list := make([]any, 0, len(files))
	for _, f := range files {
		list = append(list, map[string]any{
			"name":   f,
			"source": map[string]any{"path": "secret/data/myapp", "key": "DB_PASS"},
		})
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "deckhouse.io/v1alpha1",
		"kind":       "SecretsStoreImport",
		"metadata":   map[string]any{"name": name, "namespace": "ssi-users"},
		"spec":       map[string]any{"type": "CSI", "role": "myapp", "files": list},
	}}
}
