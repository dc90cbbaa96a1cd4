// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package controller

import (
	"context"
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// What one namespace may not do to the controller all namespaces share:
// leak store tokens by retrying a denied import, make it render without
// bound, read a huge answer, or hold its workers on a store that never
// answers.
var _ = Describe("bounds of one tenant", Serial, func() {
	It("does not leave a store token behind for each retry of a denied import", func(ctx SpecContext) {
		const (
			retries = 100
			// maxTokenGrowth: the one login of the identity, and one more
			// should its token be replaced.
			maxTokenGrowth = 2
		)
		ns := newNamespace(ctx, "denied")
		id := newIdentity(ctx, ns, ns+"/allowed")
		putSecret(ctx, ns+"/forbidden", map[string]any{"password": value("forbidden")})
		before, err := env.LiveTokens(ctx, id.role)
		Expect(err).NotTo(HaveOccurred())
		spec := syncSpec(id, "db", keyFile("password", ns+"/forbidden", "password"))
		spec["refreshInterval"] = "30s"
		applyImport(ctx, ns, "db", spec)
		synced := waitCondition(ctx, ns, "db", "Synced", "False", "PermissionDenied")
		Expect(synced.Message).To(ContainSubstring("read secret/data/" + ns + "/forbidden: permission denied"))

		for i := range retries {
			readNow(ctx, ns, "db", spec)
			generation := getImport(ctx, ns, "db").GetGeneration()
			// Each generation is read once: the retry happened.
			Eventually(ctx, func() int64 { return syncedGeneration(ctx, ns, "db") }).
				Should(Equal(generation), "retry %d", i)
		}
		after, err := env.LiveTokens(ctx, id.role)
		Expect(err).NotTo(HaveOccurred())
		Expect(after-before).To(BeNumerically("<=", maxTokenGrowth),
			"%d retries of a denied import left %d live store tokens of role %s", retries, after-before, id.role)
	})

	It("refuses a template that would allocate without bound, and a store answer over the limit", func(ctx SpecContext) {
		ns := newNamespace(ctx, "hostile")
		id := newIdentity(ctx, ns, ns+"/small", ns+"/huge")
		putSecret(ctx, ns+"/small", map[string]any{"k": value("small")})
		putSecret(ctx, ns+"/huge", map[string]any{"k": strings.Repeat("h", 5<<20)})

		tmpl := syncSpec(id, "tmpl", map[string]any{"name": "k", "template": "{{ repeat 1000000000 .k }}",
			"source": map[string]any{"path": "secret/data/" + ns + "/small"}})
		applyImport(ctx, ns, "tmpl", tmpl)
		c := waitCondition(ctx, ns, "tmpl", "Synced", "False", "RenderFailed")
		Expect(c.Message).To(ContainSubstring(`function "repeat" is not allowed: it allocates as much as its argument asks`))

		loop := syncSpec(id, "loop", map[string]any{"name": "k",
			"template": "{{ range 100000000 }}" + strings.Repeat("{{ $.k }}", 24) + "{{ end }}",
			"source":   map[string]any{"path": "secret/data/" + ns + "/small"}})
		applyImport(ctx, ns, "loop", loop)
		c = waitCondition(ctx, ns, "loop", "Synced", "False", "RenderFailed")
		Expect(c.Message).To(ContainSubstring("files[0]: template output exceeds 1048576 bytes"))

		applyImport(ctx, ns, "huge", syncSpec(id, "huge", keyFile("k", ns+"/huge", "k")))
		c = waitCondition(ctx, ns, "huge", "Synced", "False", "StoreError")
		Expect(c.Message).To(ContainSubstring("store answer for secret/data/" + ns + "/huge exceeds 4194304 bytes"))
	})

	It("syncs another namespace's import while three namespaces' imports wait on a store that never answers", func(ctx SpecContext) {
		// Three imports in each of three namespaces: six syncs at once (two
		// per namespace, --per-namespace-workers), more than the 4 workers
		// the controller once had, fewer than its 16.
		const namespaces, perNamespace = 3, 3
		for n := range namespaces {
			slow := newNamespace(ctx, fmt.Sprintf("slow-%d", n))
			slowID := newIdentity(ctx, slow, slow+"/db")
			for i := range perNamespace {
				spec := syncSpec(slowID, fmt.Sprintf("db-%d", i), keyFile("password", slow+"/db", "password"))
				spec["address"] = silent.URL()
				applyImport(ctx, slow, fmt.Sprintf("db-%d", i), spec)
			}
			DeferCleanup(func(ctx SpecContext) {
				for i := range perNamespace {
					deleteImport(ctx, slow, fmt.Sprintf("db-%d", i))
				}
			})
		}
		// The syncs of one namespace share its identity's login: one
		// connection per namespace whose syncs hold workers. With 4 workers
		// only two namespaces would get theirs.
		Eventually(ctx, func() int { open, _ := silent.Counts(); return open }).Should(BeNumerically(">=", namespaces),
			"namespaces whose syncs wait on the store that never answers")

		other := newNamespace(ctx, "busy-neighbour")
		id := newIdentity(ctx, other, other+"/db")
		password := value("neighbour")
		putSecret(ctx, other+"/db", map[string]any{"password": password})
		applyImport(ctx, other, "db", syncSpec(id, "db", keyFile("password", other+"/db", "password")))
		Expect(secretData(ctx, other, "db")).To(Equal(map[string]string{"password": password}))
		_, closed := silent.Counts()
		Expect(closed).To(BeZero(), "the other namespace's import waited for a worker that a hung store let go")
	})
})

// syncedGeneration is the observedGeneration of the import's Synced
// condition: the generation the controller last tried to read.
func syncedGeneration(ctx context.Context, ns, name string) int64 {
	list, _, _ := unstructured.NestedSlice(getImport(ctx, ns, name).Object, "status", "conditions")
	for _, item := range list {
		m, _ := item.(map[string]any)
		if m["type"] == "Synced" {
			g, _ := m["observedGeneration"].(int64)
			return g
		}
	}
	return 0
}
