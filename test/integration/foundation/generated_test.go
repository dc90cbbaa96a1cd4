// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package foundation

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/yaml"

	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// The CRD and the deepcopy functions are generated from the Go types in
// images/api/v1alpha1 (make generate); what is committed must be what the
// generator writes, and the Russian descriptions must still name its fields.
var _ = Describe("The SecretsStoreImport CRD", Ordered, ContinueOnFailure, func() {
	var root, out string

	BeforeAll(func(ctx SpecContext) {
		var err error
		root, err = testenv.RepoRoot()
		Expect(err).NotTo(HaveOccurred())
		out = GinkgoT().TempDir()
		// The first run builds controller-gen (about a minute on two cores).
		cmd := exec.CommandContext(ctx, filepath.Join(root, "test/tools/controller-gen/generate.sh"), out)
		cmd.Env = append(os.Environ(), "GOWORK=off")
		b, err := cmd.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "generate.sh: %s", b)
	}, NodeTimeout(10*time.Minute))

	DescribeTable("is what controller-gen generates from images/api/v1alpha1",
		func(generated, committed string) {
			want, err := os.ReadFile(filepath.Join(out, generated))
			Expect(err).NotTo(HaveOccurred())
			got, err := os.ReadFile(filepath.Join(root, committed))
			Expect(err).NotTo(HaveOccurred())
			Expect(bytes.Equal(got, want)).To(BeTrue(),
				"%s is not what the generator writes from the Go types: run make generate", committed)
		},
		Entry("the CRD", "secrets-store-import.yaml", "crds/secrets-store-import.yaml"),
		Entry("the deepcopy functions", "zz_generated.deepcopy.go", "images/api/v1alpha1/zz_generated.deepcopy.go"),
	)

	It("has a field for every Russian description in crds/doc-ru-secrets-store-import.yaml", func() {
		var en, ru map[string]any
		for file, into := range map[string]*map[string]any{"crds/secrets-store-import.yaml": &en, "crds/doc-ru-secrets-store-import.yaml": &ru} {
			b, err := os.ReadFile(filepath.Join(root, file))
			Expect(err).NotTo(HaveOccurred())
			Expect(yaml.Unmarshal(b, into)).To(Succeed(), file)
		}
		Expect(missingFields(ru, en, "")).To(BeEmpty())
		Expect(fmt.Sprint(ru)).To(ContainSubstring("description"), "the Russian file holds no description")
	})
})

// missingFields lists the paths of ru (a doc-ru file: the CRD's tree with
// descriptions only) that en does not have. Lists are matched by the items'
// name, as the versions of a CRD are.
func missingFields(ru, en any, path string) []string {
	switch r := ru.(type) {
	case map[string]any:
		e, ok := en.(map[string]any)
		if !ok {
			return []string{path}
		}
		var missing []string
		for k, v := range r {
			if k == "description" {
				if _, ok := e[k]; !ok {
					missing = append(missing, path+".description (no English one)")
				}
				continue
			}
			ev, ok := e[k]
			if !ok {
				missing = append(missing, path+"."+k)
				continue
			}
			missing = append(missing, missingFields(v, ev, path+"."+k)...)
		}
		return missing
	case []any:
		e, ok := en.([]any)
		if !ok {
			return []string{path}
		}
		var missing []string
		for _, item := range r {
			m, _ := item.(map[string]any)
			name := m["name"]
			var match any
			for _, cand := range e {
				if m, ok := cand.(map[string]any); ok && m["name"] == name {
					match = cand
				}
			}
			if match == nil {
				missing = append(missing, fmt.Sprintf("%s[name=%v]", path, name))
				continue
			}
			missing = append(missing, missingFields(item, match, fmt.Sprintf("%s[name=%v]", path, name))...)
		}
		return missing
	}
	return nil
}
