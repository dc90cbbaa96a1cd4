// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package webhook

import (
	"encoding/json"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
)

// A pod of containerd delivery: the NRI plugin resolves its references on
// the node when containerd creates each container (images/nri-plugin), so
// the webhook prepares only what the plugin needs.
var _ = Describe("a pod of containerd delivery", func() {
	It("gets only the token volume, mounted nowhere, the plugin's nodes and the required-plugins annotation; no registry lookup", func(ctx SpecContext) {
		reads := reg.ManifestReads()
		// No command, an image the registry does not have: entrypoint
		// delivery would have to read it and fail.
		c := corev1.Container{Name: "app", Image: "registry.invalid/team/absent:v1",
			Env: []corev1.EnvVar{{Name: "DB_PASSWORD", Value: "secrets-store:secret/data/db#password"}}}
		in := optedIn("nri", c, "delivery", "containerd", "env-from-path", "secret/data/common")
		in.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "linux"}
		pod := mustCreate(ctx, team, in)

		Expect(pod.Spec.InitContainers).To(BeEmpty())
		got := pod.Spec.Containers[0]
		Expect(got.Command).To(BeEmpty())
		Expect(got.Args).To(BeEmpty())
		Expect(got.Env).To(Equal(c.Env), "the references stay for the plugin; no injector settings")
		for _, m := range got.VolumeMounts {
			Expect(m.Name).NotTo(HavePrefix("secrets-store"), "no volume of the module is mounted")
		}

		tok := volume(pod, "secrets-store-token")
		Expect(tok).NotTo(BeNil())
		Expect(tok.Projected.Sources).To(HaveLen(1))
		Expect(tok.Projected.Sources[0].ServiceAccountToken.Audience).To(Equal("vault"))
		Expect(tok.Projected.Sources[0].ServiceAccountToken.Path).To(Equal("token"))
		Expect(volume(pod, "secrets-store-injector")).To(BeNil())
		Expect(pod.Spec.Volumes).To(HaveLen(2), "the token volume and the API server's kube-api-access")

		Expect(pod.Spec.NodeSelector).To(Equal(map[string]string{
			"kubernetes.io/os": "linux", "secrets-store.deckhouse.io/containerd-delivery": "enabled"}))
		var required []string
		Expect(json.Unmarshal([]byte(pod.Annotations["required-plugins.noderesource.dev/pod"]), &required)).To(Succeed())
		Expect(required).To(Equal([]string{"secrets-store"}))
		Expect(reg.ManifestReads()).To(Equal(reads), "containerd delivery reads no image")
	})

	DescribeTable("is refused, naming the annotation or variable and why",
		func(ctx SpecContext, c corev1.Container, kv []string, selector map[string]string, want ...string) {
			pod := optedIn("nri-refused", c, append([]string{"delivery", "containerd"}, kv...)...)
			pod.Spec.NodeSelector = selector
			_, err := create(ctx, team, pod)
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(HavePrefix(deniedPrefix))
			for _, w := range want {
				Expect(err.Error()).To(ContainSubstring(w))
			}
		},
		Entry("its own token file", withCommand(appImage, "/app"), []string{"service-account-token-path", "/var/run/own/token"}, nil,
			"annotation secrets-store.deckhouse.io/service-account-token-path: cannot be used with secrets-store.deckhouse.io/delivery: containerd"),
		Entry("a watch mode", withCommand(appImage, "/app"), []string{"restart-on-secret-change", "watch-for-data"}, nil,
			"annotation secrets-store.deckhouse.io/restart-on-secret-change: cannot be used with", "created again"),
		Entry("the store token handed over", corev1.Container{Name: "app", Image: appImage,
			Env: []corev1.EnvVar{{Name: "VAULT_TOKEN", Value: "secrets-store:login"}}}, nil, nil,
			`container "app", variable VAULT_TOKEN: secrets-store:login cannot be used with`),
		Entry("a store the module's settings do not allow: the plugin would send the pod's token there",
			withCommand(appImage, "/app"), []string{"addr", "https://elsewhere.example:8200"}, nil,
			`annotation secrets-store.deckhouse.io/addr "https://elsewhere.example:8200" is not allowed by the module settings`),
		Entry("a node outside the plugin's", corev1.Container{Name: "app", Image: appImage}, nil,
			map[string]string{"secrets-store.deckhouse.io/containerd-delivery": "disabled"},
			"only on nodes labelled secrets-store.deckhouse.io/containerd-delivery=enabled"),
	)
})
