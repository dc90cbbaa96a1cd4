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
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"

	"github.com/deckhouse/secrets-store-integration/test/badstore"
	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/containerdenv"
	"github.com/deckhouse/secrets-store-integration/test/suite"
	"github.com/deckhouse/secrets-store-integration/test/supervisor"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

const (
	ns = "nri"
	sa = "app"
	// role reads secret/data/nri/*; deniedRole logs in and reads nothing.
	role, deniedRole = "nri-app", "nri-denied"
	registration     = "secrets-store-env-injection"
	pluginName       = components.NRIPluginName
	// pluginRequestTimeout is containerd's bound of one NRI call: a hung
	// store's spec waits most of it.
	pluginRequestTimeout = 10 * time.Second
	// injectorImage is never pulled: containerd delivery adds no init container.
	injectorImage = "registry.example/secrets-store/env-injector:test"
)

var (
	env    *testenv.Env
	rt     *containerdenv.Runtime
	plugin *supervisor.Process
	// hung is a store that never answers, allowed to pods by the module's
	// settings (allowedStoreAddresses), as a store a tenant may name.
	hung *badstore.Silent
)

func TestNRI(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "NRI plugin in a real containerd against a real kube-apiserver and Vault")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	if os.Geteuid() != 0 {
		Skip(containerdenv.ErrNotRoot.Error())
	}
	// Mounts: containerd mounts the containers' snapshots in the work folder.
	s := suite.Start(ctx, suite.Options{Name: "nri", Mounts: true})
	env = s.Env
	var err error
	rt, err = containerdenv.Start(ctx, containerdenv.Options{Dir: s.Work, Log: GinkgoWriter, PluginRequestTimeout: pluginRequestTimeout})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(rt.Stop)

	_, err = env.CreateServiceAccount(ctx, ns, sa)
	Expect(err).NotTo(HaveOccurred())
	Expect(env.WritePolicy(ctx, role, `path "secret/data/nri/*" { capabilities = ["read"] }`)).To(Succeed())
	Expect(env.WritePolicy(ctx, deniedRole, `path "secret/data/elsewhere/*" { capabilities = ["read"] }`)).To(Succeed())
	for r, policy := range map[string]string{role: role, deniedRole: deniedRole} {
		Expect(env.WriteKubernetesRole(ctx, r, testenv.KubernetesRole{
			ServiceAccounts: []string{sa}, Namespaces: []string{ns}, Policies: []string{policy},
			Audience: "vault", TTL: time.Hour,
		})).To(Succeed())
	}
	for path, data := range secrets {
		_, err := env.Vault.KVv2(testenv.KVMount).Put(ctx, path, data)
		Expect(err).NotTo(HaveOccurred())
	}

	hung, err = badstore.StartSilent()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(hung.Close)
	allowHung := "--allowed-store-addresses=" + hung.URL()

	caBundle, certFile, keyFile, err := testenv.ServingCertificate(s.Work, "webhook")
	Expect(err).NotTo(HaveOccurred())
	hook, err := components.StartWebhook(ctx, components.WebhookConfig{
		Binary: s.Bins.Webhook, Kubeconfig: env.Kubeconfig, CertFile: certFile, KeyFile: keyFile,
		InjectorImage: injectorImage, StoreAddr: env.VaultAddr, StoreCAFile: env.VaultCAPath, Log: GinkgoWriter,
		Args: []string{"--containerd-delivery", allowHung},
	})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(hook.Stop)
	Expect(hook.Register(ctx, env.Kube, registration, caBundle, ns, sa)).To(Succeed())
	DeferCleanup(components.Unregister, env.Kube, registration)

	plugin, err = components.StartNRIPlugin(ctx, components.NRIPluginConfig{
		Binary: s.Bins.NRIPlugin, Socket: rt.NRISocket, KubeletRoot: rt.KubeletRoot,
		StoreAddr: env.VaultAddr, StoreCAFile: env.VaultCAPath, Log: GinkgoWriter, Args: []string{allowHung},
	})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(plugin.Stop)
	Expect(rt.WaitPluginRegistered(ctx, pluginName, 0)).To(Succeed())
	// Run at the suite's end, after every spec: the plugin logged at debug
	// level all along, across refusals, restarts and a sealed store.
	DeferCleanup(func() {
		logs := strings.Join(plugin.Logs(), "\n")
		for _, v := range values {
			Expect(logs).NotTo(ContainSubstring(v), "the plugin's log holds a secret value")
		}
	})
}, NodeTimeout(8*time.Minute))

// Secret values are unlike anything else in the logs, so that a search for
// them finds only them.
const (
	dbPassword = "nri-pw-7c1e5a93"
	dbUser     = "nri-user-51d0"
	region     = "nri-region-e4a7"
	logLevel   = "nri-loglevel-08b2"
)

// values are every secret value the suite puts into the store.
var values = []string{dbPassword, dbUser, region, logLevel}

var secrets = map[string]map[string]any{
	"nri/db":     {"user": dbUser, "password": dbPassword},
	"nri/common": {"REGION": region, "LOG_LEVEL": logLevel},
}

// annotations opt a pod in to containerd delivery with r as its role, plus
// extra annotation pairs.
func annotations(r string, extra ...string) map[string]string {
	a := map[string]string{
		"secrets-store.deckhouse.io/role":     r,
		"secrets-store.deckhouse.io/delivery": "containerd",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		a[extra[i]] = extra[i+1]
	}
	return a
}

// admit creates a pod of one container "app" (the env image) through the
// webhook and returns what the API server stored.
func admit(ctx context.Context, ann map[string]string, vars ...corev1.EnvVar) *corev1.Pod {
	GinkgoHelper()
	name := fmt.Sprintf("app-%s", strings.ToLower(string(uuid.NewUUID())[:8]))
	pod, err := env.Kube.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: ann},
		Spec: corev1.PodSpec{ServiceAccountName: sa, Containers: []corev1.Container{
			{Name: "app", Image: rt.EnvImage, Env: vars},
		}},
	}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func(ctx context.Context) error {
		return env.Kube.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{})
	})
	return pod
}

// start does kubelet's part for pod up to a running sandbox: the projected
// tokens, then RunPodSandbox. The sandbox goes when the spec ends.
func start(ctx context.Context, pod *corev1.Pod) *containerdenv.Sandbox {
	GinkgoHelper()
	Expect(rt.WriteProjectedTokens(ctx, env.Kube, pod)).To(Succeed())
	s, err := rt.RunPod(ctx, containerdenv.PodOf(pod))
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(rt.RemovePod, s.ID)
	return s
}

// container is kubelet's CreateContainer input for pod's container "app".
func container(pod *corev1.Pod) containerdenv.Container {
	GinkgoHelper()
	c, err := containerdenv.ContainerOf(pod, "app")
	Expect(err).NotTo(HaveOccurred())
	return c
}

// run admits nothing: it runs pod's container "app" to its exit and returns
// what it printed.
func run(ctx context.Context, pod *corev1.Pod) []string {
	GinkgoHelper()
	out, err := rt.RunContainer(ctx, start(ctx, pod), container(pod))
	Expect(err).NotTo(HaveOccurred())
	return out
}

func envVar(name, value string) corev1.EnvVar { return corev1.EnvVar{Name: name, Value: value} }

// restartPlugin starts the stopped plugin and returns once containerd calls
// it.
func restartPlugin(ctx context.Context) error {
	before := rt.PluginRegistrations(pluginName)
	if err := plugin.Start(ctx); err != nil {
		return err
	}
	return rt.WaitPluginRegistered(ctx, pluginName, before)
}
