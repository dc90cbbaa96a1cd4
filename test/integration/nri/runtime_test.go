// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package nri

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/deckhouse/secrets-store-integration/test/containerdenv"
)

// The harness alone: no plugin is needed to run a container and read what
// it printed.
var _ = Describe("the test runtime", func() {
	It("runs a host-network pod's container, whose output is in its CRI log", func(ctx SpecContext) {
		s, err := rt.RunPod(ctx, containerdenv.Pod{Name: "smoke", Namespace: "default", UID: "4f1b7f0e-2b1e-4e55-9d6a-0c1f6b0c9a01"})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(rt.RemovePod, s.ID)
		out, err := rt.RunContainer(ctx, s, containerdenv.Container{Name: "app", Image: rt.EnvImage, Env: []*runtimeapi.KeyValue{
			{Key: "GREETING", Value: []byte("hello from runc")},
		}})
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainElements("GREETING=hello from runc", "PATH=/"))
	})
})
