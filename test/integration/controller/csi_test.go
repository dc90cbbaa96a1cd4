// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package controller

import (
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

var _ = Describe("SecretsStoreImport of type CSI", func() {
	DescribeTable("gets Ready from its spec and from the store's answer about its role, and Synced Unknown",
		func(ctx SpecContext, edit func(spec map[string]any), reason, message string) {
			ns := newNamespace(ctx, "csi")
			id := newIdentity(ctx, ns, ns+"/db")
			spec := map[string]any{"type": "CSI", "role": id.role,
				"files": []any{map[string]any{"name": "db/password", "source": map[string]any{"path": testenv.KVMount + "/data/" + ns + "/db", "key": "password"}}}}
			edit(spec)
			probes := metric(ctx, "secrets_store_controller_store_requests_total", map[string]string{"operation": "probe"})
			applyImport(ctx, ns, "files", spec)

			status := "True"
			if reason != "RoleFound" {
				status = "False"
			}
			ready := waitCondition(ctx, ns, "files", "Ready", status, reason)
			Expect(ready.Message).To(ContainSubstring(message))
			synced := waitCondition(ctx, ns, "files", "Synced", "Unknown", "ReadAtMount")
			Expect(synced.Message).To(ContainSubstring("the CSI driver reads the files when a pod mounts the volume"))
			if reason != "InvalidSpec" {
				// The store was asked with the probe, which cannot log in.
				Expect(metric(ctx, "secrets_store_controller_store_requests_total", map[string]string{"operation": "probe"})).
					To(BeNumerically(">", probes))
			}
			Expect(getImport(ctx, ns, "files").GetFinalizers()).To(BeEmpty(), "a CSI import needs no cleanup")
		},
		Entry("a role that exists", func(map[string]any) {}, "RoleFound", "exists at auth/kubernetes of https://127.0.0.1:"),
		Entry("a role that does not exist", func(s map[string]any) { s["role"] = "no-such-role" },
			"RoleNotFound", `role "no-such-role" does not exist at auth/kubernetes`),
		Entry("an auth path with no auth method", func(s map[string]any) { s["authPath"] = "no-such-auth" },
			"AuthMethodNotFound", "no auth method at auth/no-such-auth"),
		Entry("a source path the driver refuses", func(s map[string]any) {
			s["files"] = []any{map[string]any{"name": "x", "source": map[string]any{"path": "secret/../sys/raw"}}}
		}, "InvalidSpec", `files[0].source.path: "secret/../sys/raw": must be relative, without '..'`),
	)

	It("keeps accepting the CSI example of the documentation unchanged", func(ctx SpecContext) {
		createNamespace(ctx, "myapp")
		applied, err := env.ApplyFile(ctx, filepath.Join(root, "docs", "examples", "csi", "secretsstoreimport.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(applied).To(HaveLen(1))
		// Whether role myapp exists depends on the example specs that ran
		// before; either way the object gets its conditions.
		Eventually(ctx, func() condition { return conditionOf(getImport(ctx, "myapp", applied[0].GetName()), "Ready") }).
			WithTimeout(30 * time.Second).Should(HaveField("Reason", BeElementOf("RoleFound", "RoleNotFound")))
		Expect(conditionOf(getImport(ctx, "myapp", applied[0].GetName()), "Synced").Reason).To(Equal("ReadAtMount"))
	})
})
