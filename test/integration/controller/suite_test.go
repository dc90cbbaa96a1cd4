// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package controller tests the SecretsStoreImport controller as it runs in
// the cluster: the binary built from images/controller, with leader
// election, against the real kube-apiserver and Vault of testenv. No
// controller-manager runs, so nothing garbage-collects or rolls out: the
// tests check what the controller itself writes (Secrets, finalizers,
// status, events, pod template annotations).
package controller

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/deckhouse/secrets-store-integration/test/badstore"
	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/helmchart"
	"github.com/deckhouse/secrets-store-integration/test/suite"
	"github.com/deckhouse/secrets-store-integration/test/supervisor"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// controllerNamespace holds the controller's Lease and HMAC key Secret.
const controllerNamespace = "d8-secrets-store-integration"

var (
	env  *testenv.Env
	root string
	dyn  dynamic.Interface
	ctl  *supervisor.Process
	// silent is an allowed store address that never answers.
	silent *badstore.Silent
	// controllerConfig is how ctl runs; a second replica runs the same way.
	controllerConfig components.ControllerConfig
)

func TestController(t *testing.T) {
	RegisterFailHandler(Fail)
	// Eventually(ctx, ...) would otherwise poll until the spec ends.
	EnforceDefaultTimeoutsWhenUsingContexts()
	SetDefaultEventuallyTimeout(30 * time.Second)
	RunSpecs(t, "SecretsStoreImport controller against a real kube-apiserver and Vault")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	s := suite.Start(ctx, suite.Options{Name: "controller", ImportCRD: true})
	env = s.Env
	work, bins := s.Work, s.Bins
	var err error
	root, err = testenv.RepoRoot()
	Expect(err).NotTo(HaveOccurred())
	dyn, err = dynamic.NewForConfig(env.Config)
	Expect(err).NotTo(HaveOccurred())
	createNamespace(ctx, controllerNamespace)
	kubeconfig := asChartServiceAccount(ctx, work)
	// A store that accepts connections and never answers, which the
	// settings allow (bounds_test.go): an allowed store can still hang.
	silent, err = badstore.StartSilent()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(silent.Close)

	controllerConfig = components.ControllerConfig{
		Binary: bins.Controller, Kubeconfig: kubeconfig, Namespace: controllerNamespace,
		VaultAddr: env.VaultAddr, VaultCAPath: env.VaultCAPath,
		// Seconds, not minutes: the tests stop the store and wait for the
		// retry that follows its return.
		RetryMaxDelay: 2 * time.Second, CSICheckInterval: time.Minute, Log: GinkgoWriter,
		// What imports may name besides the module's store (trust_test.go).
		Args: []string{"--allowed-audiences", "vault," + otherAudience, "--allowed-store-addresses", localhostVault() + "," + silent.URL(),
			// Above the shortest refresh (30 s), below two (sync_test.go).
			"--last-sync-time-interval", "45s"},
	}
	ctl, err = components.StartController(ctx, controllerConfig)
	Expect(err).NotTo(HaveOccurred())
	// SIGTERM: the controller must stop cleanly and release its Lease.
	DeferCleanup(ctl.Stop)
}, NodeTimeout(8*time.Minute))

// Every value the tests write into Vault; no log line, event or status may
// show one.
var (
	valuesMu sync.Mutex
	values   []string
)

// value returns a fresh secret value and remembers it.
func value(what string) string {
	return remember(fmt.Sprintf("s3cr3t-%s-%d", what, time.Now().UnixNano()))
}

// remember adds v to the values no output may show, and returns it.
func remember(v string) string {
	valuesMu.Lock()
	defer valuesMu.Unlock()
	values = append(values, v)
	return v
}

var _ = AfterSuite(func(ctx SpecContext) {
	if ctl == nil {
		return
	}
	By("no secret value in the controller's log")
	valuesMu.Lock()
	defer valuesMu.Unlock()
	logs := strings.Join(ctl.Logs(), "\n")
	Expect(values).NotTo(BeEmpty())
	for _, v := range values {
		Expect(logs).NotTo(ContainSubstring(v))
	}
	By("no secret value in any event of the cluster")
	events, err := env.Kube.CoreV1().Events("").List(ctx, metav1.ListOptions{})
	Expect(err).NotTo(HaveOccurred())
	Expect(events.Items).NotTo(BeEmpty())
	for _, e := range events.Items {
		for _, v := range values {
			Expect(e.Message).NotTo(ContainSubstring(v), "event %s/%s", e.Namespace, e.Name)
		}
	}
})

var namespaceSeq struct {
	sync.Mutex
	n int
}

// newNamespace creates a namespace of its own for a spec.
func newNamespace(ctx context.Context, prefix string) string {
	GinkgoHelper()
	namespaceSeq.Lock()
	namespaceSeq.n++
	name := fmt.Sprintf("%s-%d", prefix, namespaceSeq.n)
	namespaceSeq.Unlock()
	createNamespace(ctx, name)
	return name
}

func createNamespace(ctx context.Context, name string) {
	GinkgoHelper()
	_, err := env.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		Expect(err).NotTo(HaveOccurred())
	}
}

// asChartServiceAccount installs the chart's RBAC of the controller (and the
// policy that holds its workload patches to the restart annotation) and
// returns a kubeconfig that acts as its ServiceAccount: every spec of this
// suite then runs the controller with exactly the rights it has in a
// cluster.
func asChartServiceAccount(ctx context.Context, dir string) string {
	GinkgoHelper()
	objs, err := helmchart.Render(map[string]any{}, nil)
	Expect(err).NotTo(HaveOccurred())
	const sa = "secrets-store-integration-controller"
	for _, kn := range [][2]string{
		{"ServiceAccount", sa}, {"Role", sa}, {"RoleBinding", sa},
		{"ClusterRole", "d8:secrets-store-integration:controller"},
		{"ClusterRoleBinding", "d8:secrets-store-integration:controller"},
		{"ValidatingAdmissionPolicy", "d8-secrets-store-integration-controller-rollout"},
		{"ValidatingAdmissionPolicyBinding", "d8-secrets-store-integration-controller-rollout"},
	} {
		var obj *unstructured.Unstructured
		for _, o := range objs {
			if o.GetKind() == kn[0] && o.GetName() == kn[1] {
				obj = o
			}
		}
		Expect(obj).NotTo(BeNil(), "the chart renders %s %s", kn[0], kn[1])
		_, err := env.Apply(ctx, obj)
		Expect(err).NotTo(HaveOccurred(), "%s %s", kn[0], kn[1])
	}
	cfg, err := clientcmd.LoadFromFile(env.Kubeconfig)
	Expect(err).NotTo(HaveOccurred())
	for _, user := range cfg.AuthInfos {
		user.Impersonate = "system:serviceaccount:" + controllerNamespace + ":" + sa
	}
	path := filepath.Join(dir, "controller-kubeconfig")
	Expect(clientcmd.WriteToFile(*cfg, path)).To(Succeed())
	return path
}
