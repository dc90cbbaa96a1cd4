// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package injector

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/deckhouse/secrets-store-integration/test/storeproxy"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// Each start's round trips to the store, counted by a proxy in front of the
// real Vault: a count, unlike a time, does not depend on the machine's load.
var _ = Describe("env-injector store requests per start", Ordered, func() {
	var proxy *storeproxy.Proxy

	BeforeAll(func(ctx SpecContext) {
		putKV(ctx, "inj/db", map[string]any{"user": "app", "password": "first-pass"})
		putKV(ctx, "inj/db", map[string]any{"user": "app", "password": "s3cr3t-pass", "port": 5432})
		Expect(env.Vault.KVv1(testenv.KVv1Mount).Put(ctx, "inj/api", map[string]any{"token": "kv1-token"})).To(Succeed())
		var err error
		proxy, err = storeproxy.Start(env.VaultAddr, env.VaultCAPEM)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(proxy.Close)
	})

	const (
		login  = "PUT /v1/auth/kubernetes/login"
		revoke = "PUT /v1/auth/token/revoke-self"
		mounts = "GET /v1/sys/internal/ui/mounts/"
	)
	DescribeTable("logs in, reads each secret once, revokes its token, over one connection",
		func(ctx SpecContext, vars []string, want []string) {
			r := start(ctx, pod{
				settings: map[string]string{"VAULT_ADDR": proxy.URL(), "VAULT_CACERT_PEM": string(proxy.CAPEM())},
				vars:     vars, command: []string{"true"},
			})
			proxy.Take()
			Expect(r.wait()).To(Equal(0), r.stderr.String())
			requests, conns := proxy.Take()
			Expect(requests).To(Equal(want))
			Expect(conns).To(Equal(1), "every request of a start shares one TLS connection")
		},
		Entry("an API path of KV v2: read as written, no mount lookup",
			[]string{"USER=secrets-store:secret/data/inj/db#user"},
			[]string{login, "GET /v1/secret/data/inj/db", revoke}),
		Entry("three references to one secret: one read",
			[]string{"USER=secrets-store:secret/data/inj/db#user", "PASSWORD=secrets-store:secret/data/inj/db#password",
				"DSN=secrets-store:secret/data/inj/db#${ .user }:${ .password }"},
			[]string{login, "GET /v1/secret/data/inj/db", revoke}),
		Entry("a KV v2 path without data/: the mount says where to read",
			[]string{"PORT=secrets-store:secret/inj/db#port"},
			[]string{login, mounts + "secret/inj/db", "GET /v1/secret/data/inj/db", revoke}),
		Entry("a pinned version: the mount must be KV v2",
			[]string{"OLD=secrets-store:secret/data/inj/db#password#1"},
			[]string{login, mounts + "secret/data/inj/db", "GET /v1/secret/data/inj/db?version=1", revoke}),
		Entry("KV v1: the mount says it is not KV v2",
			[]string{"API=secrets-store:kv1/inj/api#token"},
			[]string{login, mounts + "kv1/inj/api", "GET /v1/kv1/inj/api", revoke}),
	)
})
