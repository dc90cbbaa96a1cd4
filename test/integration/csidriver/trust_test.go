// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package csidriver

import (
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/deckhouse/secrets-store-integration/test/badstore"
	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// otherAudience is allowed besides "vault" by the provider's flags.
const otherAudience = "other-store"

var _ = Describe("What an import may ask for on the CSI path", Ordered, func() {
	const trustNS = "trust"
	pod := components.Pod{Name: "web-0", Namespace: trustNS, UID: "6f2c1d0e-0003", ServiceAccount: appSA}
	files := []any{map[string]any{"name": "password", "source": map[string]any{"path": "secret/data/trust", "key": "password"}}}

	BeforeAll(func(ctx SpecContext) {
		_, err := env.CreateServiceAccount(ctx, trustNS, appSA)
		Expect(err).NotTo(HaveOccurred())
		_, err = env.Vault.KVv2(testenv.KVMount).Put(ctx, "trust", map[string]any{"password": "from-the-second-audience"})
		Expect(err).NotTo(HaveOccurred())
		Expect(env.WritePolicy(ctx, "trust-read", `path "secret/data/trust" { capabilities = ["read"] }`)).To(Succeed())
		// Bound to the second audience only: a token for "vault" cannot log in.
		Expect(env.WriteKubernetesRole(ctx, "trust-other", testenv.KubernetesRole{
			ServiceAccounts: []string{appSA}, Namespaces: []string{trustNS}, Policies: []string{"trust-read"},
			Audience: otherAudience, TTL: 10 * time.Minute,
		})).To(Succeed())
	})

	It("refuses a store address the settings do not allow, and no token reaches it", func(ctx SpecContext) {
		trap := badstore.NewTrap()
		DeferCleanup(trap.Close)
		// The trap's certificate is trusted: only the refusal keeps the
		// pod's token away from it.
		Expect(components.ApplyImport(ctx, env, trustNS, "elsewhere", map[string]any{
			"type": "CSI", "role": "trust-other", "address": trap.URL, "caCert": trap.CAPEM, "files": files,
		})).To(Succeed())
		v := newVolume("trust-elsewhere")
		err := kubelet.Publish(ctx, v, pod, "elsewhere")
		Expect(status.Code(err)).To(Equal(codes.PermissionDenied), "%v", err)
		Expect(status.Convert(err).Message()).To(HavePrefix(`SecretsStoreImport trust/elsewhere: spec.address "` + trap.URL + `" is not allowed`))
		Expect(trap.Connections()).To(BeZero(), "connections to the refused address")
		Expect(trap.Requests()).To(BeZero())
		Expect(mountType(v.Target)).To(BeEmpty(), "nothing left mounted")
	})

	It("mounts with a token of an allowed second audience, picked from kubelet's tokens", func(ctx SpecContext) {
		// The CSIDriver requests a token per allowed audience: kubelet sends them all.
		kl, err := components.NewKubelet(env, driver.Socket, filepath.Join(work, "audiences"))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(kl.Close)
		kl.Audiences = []string{components.Audience, otherAudience}
		Expect(components.ApplyImport(ctx, env, trustNS, "audience", map[string]any{
			"type": "CSI", "role": "trust-other", "audience": otherAudience, "files": files,
		})).To(Succeed())
		v, err := kl.NewVolume("trust-audience")
		Expect(err).NotTo(HaveOccurred())
		Expect(kl.Publish(ctx, v, pod, "audience")).To(Succeed())
		DeferCleanup(kl.Unpublish, v)
		Expect(read(filepath.Join(v.Target, "password"))).To(Equal("from-the-second-audience"))
	})
})
