// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package nri tests environment delivery through containerd's NRI: a real
// containerd and runc (test/containerdenv) with the module's NRI plugin
// connected, the webhook admitting pods into a real kube-apiserver, a real
// Vault, and this suite playing kubelet over the CRI API: it creates the Pod
// through the webhook, writes its projected token where kubelet would, runs
// a host-network sandbox with the Pod's identity and annotations and creates
// and starts the container, whose process prints its environment to the log
// containerd keeps.
package nri

import (
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/deckhouse/secrets-store-integration/test/containerdenv"
	"github.com/deckhouse/secrets-store-integration/test/suite"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

var (
	env *testenv.Env
	rt  *containerdenv.Runtime
)

func TestNRI(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "NRI plugin in a real containerd against a real kube-apiserver and Vault")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	s := suite.Start(ctx, suite.Options{Name: "nri", Mounts: true})
	env = s.Env
	var err error
	rt, err = containerdenv.Start(ctx, containerdenv.Options{Dir: s.Work, Log: GinkgoWriter})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(rt.Stop)
}, NodeTimeout(8*time.Minute))
