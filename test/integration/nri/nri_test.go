// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package nri

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/deckhouse/secrets-store-integration/test/containerdenv"
)

var _ = Describe("containerd delivery", func() {
	It("admits a pod with only the projected token volume, mounted into no container", func(ctx SpecContext) {
		pod := admit(ctx, annotations(role), envVar("DB_PASSWORD", "secrets-store:secret/data/nri/db#password"))
		Expect(pod.Spec.InitContainers).To(BeEmpty())
		Expect(pod.Spec.Volumes).To(ContainElement(HaveField("Name", "secrets-store-token")))
		var ours []string
		for _, v := range pod.Spec.Volumes {
			if strings.HasPrefix(v.Name, "secrets-store") {
				ours = append(ours, v.Name)
			}
		}
		Expect(ours).To(ConsistOf("secrets-store-token"))
		app := pod.Spec.Containers[0]
		Expect(app.Command).To(BeEmpty())
		Expect(app.VolumeMounts).NotTo(ContainElement(HaveField("Name", "secrets-store-token")))
	})

	It("gives the container's process one referenced secret in its environment", func(ctx SpecContext) {
		pod := admit(ctx, annotations(role),
			envVar("DB_PASSWORD", "secrets-store:secret/data/nri/db#password"), envVar("PLAIN", "kept"))
		Expect(run(ctx, pod)).To(ContainElements("DB_PASSWORD="+dbPassword, "PLAIN=kept"))
	})

	It("gives several references, templates and env-from-path, env-from-path winning over the container's own variables as with the env injector", func(ctx SpecContext) {
		pod := admit(ctx, annotations(role, "secrets-store.deckhouse.io/env-from-path", "secret/data/nri/common"),
			envVar("DB_USER", "secrets-store:secret/data/nri/db#user"),
			envVar("DB_PASSWORD", "secrets-store:secret/data/nri/db#password"),
			envVar("DSN", "secrets-store:secret/data/nri/db#postgres://${ .user }:${ .password }@db/app"),
			envVar("LOG_LEVEL", "secrets-store:secret/data/nri/db#user"),
		)
		out := run(ctx, pod)
		Expect(out).To(ContainElements(
			"DB_USER="+dbUser, "DB_PASSWORD="+dbPassword,
			"DSN=postgres://"+dbUser+":"+dbPassword+"@db/app",
			"REGION="+region,
			"LOG_LEVEL="+logLevel,
		))
		Expect(strings.Join(out, "\n")).NotTo(ContainSubstring("secrets-store:"))
	})

	It("refuses the container of a role that may not read the reference, naming pod, container and reference, and leaves no container", func(ctx SpecContext) {
		pod := admit(ctx, annotations(deniedRole), envVar("DB_PASSWORD", "secrets-store:secret/data/nri/db#password"))
		s := start(ctx, pod)
		_, err := rt.CreateContainer(ctx, s, container(pod))
		Expect(err).To(HaveOccurred())
		msg := err.Error()
		Expect(msg).To(ContainSubstring("pod " + ns + "/" + pod.Name))
		Expect(msg).To(ContainSubstring(`container "app"`))
		Expect(msg).To(ContainSubstring("secret/data/nri/db"))
		Expect(msg).NotTo(ContainSubstring(dbPassword))
		Expect(rt.Containers(ctx, s)).To(BeEmpty(), "nothing half-applied: no container")
	})

	It("leaves a pod without the annotation untouched: its references stay literal", func(ctx SpecContext) {
		pod := admit(ctx, nil, envVar("DB_PASSWORD", "secrets-store:secret/data/nri/db#password"))
		Expect(pod.Spec.Volumes).NotTo(ContainElement(HaveField("Name", "secrets-store-token")))
		Expect(run(ctx, pod)).To(ContainElement("DB_PASSWORD=secrets-store:secret/data/nri/db#password"))
		Expect(untouchedLogged(pod)).To(BeTrue(), "the plugin was called and changed nothing")
	})

	It("never writes a secret value to its log, at debug level", func(ctx SpecContext) {
		// The specs before this one in this container ran first, and
		// whatever other containers Ginkgo ran before; the suite's end
		// checks the whole log again (suite_test.go).
		pod := admit(ctx, annotations(role, "secrets-store.deckhouse.io/env-from-path", "secret/data/nri/common"),
			envVar("DB_PASSWORD", "secrets-store:secret/data/nri/db#password"))
		Expect(run(ctx, pod)).To(ContainElement("DB_PASSWORD=" + dbPassword))
		logs := strings.Join(plugin.Logs(), "\n")
		Expect(logs).To(ContainSubstring(`"level":"DEBUG"`), "the plugin logs at debug level")
		Expect(logs).To(ContainSubstring("container environment resolved"))
		for _, v := range values {
			Expect(logs).NotTo(ContainSubstring(v))
		}
	})
})

// untouchedLogged reports whether the plugin logged that it left pod's
// container as it was.
func untouchedLogged(pod *corev1.Pod) bool {
	for _, l := range plugin.Logs() {
		if strings.Contains(l, "container untouched") && strings.Contains(l, pod.Name) {
			return true
		}
	}
	return false
}

var _ = Describe("the plugin down", func() {
	// stopPlugin stops the plugin until the spec ends.
	stopPlugin := func() {
		GinkgoHelper()
		Expect(plugin.Stop()).To(Succeed())
		DeferCleanup(func(ctx SpecContext) error {
			if exited, _ := plugin.Exited(); exited {
				return restartPlugin(ctx)
			}
			return nil
		})
	}

	It("fails an opted-in container's creation (required-plugins), and kubelet's next attempt succeeds once the plugin is back", func(ctx SpecContext) {
		pod := admit(ctx, annotations(role), envVar("DB_PASSWORD", "secrets-store:secret/data/nri/db#password"))
		Expect(pod.Annotations).To(HaveKey(HavePrefix("required-plugins.noderesource.dev")))
		stopPlugin()
		// The pod's RunPodSandbox is an NRI request: at its end containerd
		// drops the plugin whose connection closed.
		s := start(ctx, pod)
		c := container(pod)
		_, err := rt.CreateContainer(ctx, s, c)
		Expect(err).To(MatchError(ContainSubstring(`required plugin "secrets-store"`)))
		Expect(rt.Containers(ctx, s)).To(BeEmpty(), "no container with the literal references")

		Expect(restartPlugin(ctx)).To(Succeed())
		out, err := rt.RunContainer(ctx, s, c)
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainElement("DB_PASSWORD=" + dbPassword))
	})

	// A limit of the runtime, pinned so that the docs can state it and an
	// NRI upgrade that closes it shows here: NRI v0.12.3 keeps a plugin
	// whose connection closed in its list until the end of the next NRI
	// request; a CreateContainer that is that request finds it closed, goes
	// on without it, and counts it as present for required-plugins. The
	// container of an existing sandbox (a restart) then starts with its
	// references as literal text: no secret leaks, but the app gets none.
	It("NRI v0.12.3: the first CreateContainer after the plugin went away, with no NRI request between, goes on without it", func(ctx SpecContext) {
		pod := admit(ctx, annotations(role), envVar("DB_PASSWORD", "secrets-store:secret/data/nri/db#password"))
		s := start(ctx, pod)
		stopPlugin()
		out, err := rt.RunContainer(ctx, s, container(pod))
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainElement("DB_PASSWORD=secrets-store:secret/data/nri/db#password"))
		_, err = rt.CreateContainer(ctx, s, containerdenv.Container{Name: "again", Image: rt.EnvImage})
		Expect(err).To(MatchError(ContainSubstring(`required plugin "secrets-store"`)), "the next one fails closed")
	})
})
