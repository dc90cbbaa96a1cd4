// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package controller

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/deckhouse/secrets-store-integration/test/components"
)

var _ = Describe("the CRD's rules for type KubernetesSecret", func() {
	file := map[string]any{"name": "password", "source": map[string]any{"path": "secret/data/x", "key": "password"}}
	valid := func() map[string]any {
		return map[string]any{"type": "KubernetesSecret", "role": "r", "serviceAccountName": "app",
			"secret": map[string]any{"name": "db"}, "files": []any{file}}
	}
	DescribeTable("the API server refuses a spec that breaks one, with the rule's message",
		func(ctx SpecContext, edit func(map[string]any), message string) {
			ns := newNamespace(ctx, "cel")
			spec := valid()
			edit(spec)
			err := components.ApplyImport(ctx, env, ns, "x", spec)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "error %v", err)
			Expect(err.Error()).To(ContainSubstring(message))
		},
		Entry("no secret", func(s map[string]any) { delete(s, "secret") }, "secret is required with type KubernetesSecret"),
		Entry("no service account", func(s map[string]any) { delete(s, "serviceAccountName") }, "serviceAccountName is required with type KubernetesSecret"),
		Entry("sync fields on a CSI import", func(s map[string]any) { s["type"] = "CSI" }, "are for type KubernetesSecret only"),
		Entry("a key that is a path", func(s map[string]any) {
			s["files"] = []any{map[string]any{"name": "db/password", "source": map[string]any{"path": "p"}}}
		}, "file names are Secret keys"),
		Entry("a file mode", func(s map[string]any) {
			s["files"] = []any{map[string]any{"name": "password", "mode": 256, "source": map[string]any{"path": "p"}}}
		}, "mode is for files of a CSI volume"),
		Entry("a bad refresh interval", func(s map[string]any) { s["refreshInterval"] = "hourly" }, "spec.refreshInterval"),
		Entry("a refresh interval under the minimum", func(s map[string]any) { s["refreshInterval"] = "2s" }, "refreshInterval: at least 30s (or 0 to read once)"),
		Entry("an unknown creation policy", func(s map[string]any) { s["creationPolicy"] = "Adopt" }, "spec.creationPolicy"),
		Entry("our annotations", func(s map[string]any) {
			s["secret"] = map[string]any{"name": "db", "annotations": map[string]any{"secrets-store.deckhouse.io/import": "x"}}
		}, "the secrets-store.deckhouse.io/ annotations are the controller's"),
	)

	DescribeTable("the API server refuses a change of what cannot change",
		func(ctx SpecContext, edit func(map[string]any), message string) {
			ns := newNamespace(ctx, "immutable")
			spec := valid()
			// The store is not set up: the object only has to exist.
			Expect(components.ApplyImport(ctx, env, ns, "x", spec)).To(Succeed())
			DeferCleanup(func(ctx SpecContext) { deleteImport(ctx, ns, "x"); importGone(ctx, ns, "x") })
			edit(spec)
			err := components.ApplyImport(ctx, env, ns, "x", spec)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "error %v", err)
			Expect(err.Error()).To(ContainSubstring(message))
		},
		Entry("the type", func(s map[string]any) {
			for _, k := range []string{"secret", "serviceAccountName"} {
				delete(s, k)
			}
			s["type"] = "CSI"
		}, "type is immutable"),
		Entry("the Secret's name", func(s map[string]any) { s["secret"] = map[string]any{"name": "other"} }, "secret.name is immutable"),
	)
})
