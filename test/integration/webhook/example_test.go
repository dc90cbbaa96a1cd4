// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package webhook

import (
	"bufio"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// The example of docs/USAGE.md end to end: the store set up by the CSI
// example's script, docs/examples/env/pod.yaml applied through the API
// server, mutated by the webhook, and the mutated container started as
// kubelet would start it, with the injector between it and the store.
var _ = Describe("docs/examples/env", func() {
	It("mutates the example pod, whose container then prints the secrets it was given", func(ctx SpecContext) {
		root, err := testenv.RepoRoot()
		Expect(err).NotTo(HaveOccurred())
		Expect(env.RunVaultScript(ctx, filepath.Join(root, "docs", "examples", "csi", "vault-setup.sh"))).To(Succeed())
		_, err = env.CreateServiceAccount(ctx, "myapp", "myapp") // the namespace, before the file's objects
		Expect(err).NotTo(HaveOccurred())

		applied, err := env.ApplyFile(ctx, filepath.Join(root, "docs", "examples", "env", "pod.yaml"))
		Expect(err).NotTo(HaveOccurred())
		var pod corev1.Pod
		for _, u := range applied {
			if u.GetKind() == "Pod" {
				Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &pod)).To(Succeed())
			}
		}
		Expect(pod.Name).NotTo(BeEmpty(), "the example has a pod")
		stored, err := env.Kube.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(stored.Spec.InitContainers).NotTo(BeEmpty(), "the webhook mutated the pod")
		Expect(stored.Spec.Containers[0].Command[0]).To(Equal("/secrets-store/bin/env-injector"))
		for _, e := range stored.Spec.Containers[0].Env {
			Expect(e.Value).NotTo(ContainSubstring("s3cr3t"), "a value in the pod's spec")
		}

		c, err := components.PrepareContainer(ctx, env, stored, "app", binaries.Injector)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(c.Close)
		out, err := c.Start()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(c.Kill)
		line, err := bufio.NewReader(out).ReadString('\n')
		Expect(err).NotTo(HaveOccurred(), "stderr: %s", c.Stderr.String())
		// The values of docs/examples/csi/vault-setup.sh, as docs/USAGE.md
		// describes them: a key, a template with urlquery, an inline reference.
		Expect(line).To(Equal("user=myapp dsn=postgres://myapp:s3cr3t%3Ap%40ss%2Fword@db:5432/app greeting=hello myapp\n"))
	})
})
