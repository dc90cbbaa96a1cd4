// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

var ssiResource = schema.GroupVersionResource{Group: "deckhouse.io", Version: "v1alpha1", Resource: "secretsstoreimports"}

// Marks the controller writes on a synced Secret (images/controller/internal/secretsync).
const (
	labelManaged       = "secrets-store.deckhouse.io/managed"
	annotationImport   = "secrets-store.deckhouse.io/import"
	annotationDataHMAC = "secrets-store.deckhouse.io/data-hmac"
	annotationKeys     = "secrets-store.deckhouse.io/keys"
	finalizer          = "secrets-store.deckhouse.io/secret-sync"
)

// identity is what a platform team sets up for an application: a
// ServiceAccount, a policy that reads paths and a role binding the two, all
// named after the namespace.
type identity struct{ namespace, serviceAccount, role string }

// newIdentity creates ServiceAccount ns/app and role <ns> with read access
// to the KV v2 paths given relative to the mount (e.g. "<ns>/db").
func newIdentity(ctx context.Context, ns string, paths ...string) identity {
	GinkgoHelper()
	id := identity{namespace: ns, serviceAccount: "app", role: ns}
	_, err := env.CreateServiceAccount(ctx, ns, id.serviceAccount)
	Expect(err).NotTo(HaveOccurred())
	var policy strings.Builder
	for _, p := range paths {
		fmt.Fprintf(&policy, "path %q { capabilities = [\"read\"] }\n", testenv.KVMount+"/data/"+p)
	}
	Expect(env.WritePolicy(ctx, ns, policy.String())).To(Succeed())
	Expect(env.WriteKubernetesRole(ctx, id.role, testenv.KubernetesRole{
		ServiceAccounts: []string{id.serviceAccount}, Namespaces: []string{ns},
		Policies: []string{ns}, Audience: components.Audience, TTL: 10 * time.Minute,
	})).To(Succeed())
	return id
}

// putSecret writes a KV v2 secret at path (relative to the mount).
func putSecret(ctx context.Context, path string, data map[string]any) {
	GinkgoHelper()
	_, err := env.Vault.KVv2(testenv.KVMount).Put(ctx, path, data)
	Expect(err).NotTo(HaveOccurred())
}

// syncSpec is the spec of a KubernetesSecret import of id writing Secret
// name, with the files given.
func syncSpec(id identity, name string, files ...map[string]any) map[string]any {
	list := make([]any, len(files))
	for i, f := range files {
		list[i] = f
	}
	return map[string]any{
		"type": "KubernetesSecret", "role": id.role, "serviceAccountName": id.serviceAccount,
		"secret": map[string]any{"name": name}, "files": list,
	}
}

// keyFile is a file (a Secret key) taking key of the secret at path.
func keyFile(name, path, key string) map[string]any {
	return map[string]any{"name": name, "source": map[string]any{"path": testenv.KVMount + "/data/" + path, "key": key}}
}

func applyImport(ctx context.Context, ns, name string, spec map[string]any) {
	GinkgoHelper()
	Expect(components.ApplyImport(ctx, env, ns, name, spec)).To(Succeed())
}

func getImport(ctx context.Context, ns, name string) *unstructured.Unstructured {
	GinkgoHelper()
	u, err := dyn.Resource(ssiResource).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred())
	return u
}

func deleteImport(ctx context.Context, ns, name string) {
	GinkgoHelper()
	Expect(dyn.Resource(ssiResource).Namespace(ns).Delete(ctx, name, metav1.DeleteOptions{})).To(Succeed())
}

// importGone waits until the import is deleted (its finalizer removed).
func importGone(ctx context.Context, ns, name string) {
	GinkgoHelper()
	Eventually(ctx, func() bool {
		_, err := dyn.Resource(ssiResource).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}).WithTimeout(30*time.Second).Should(BeTrue(), "SecretsStoreImport %s/%s still exists", ns, name)
}

// condition is one status condition as the API returns it.
type condition struct{ Type, Status, Reason, Message string }

func conditionOf(u *unstructured.Unstructured, t string) condition {
	list, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, item := range list {
		m, _ := item.(map[string]any)
		if m["type"] == t {
			s := func(k string) string { v, _ := m[k].(string); return v }
			return condition{Type: t, Status: s("status"), Reason: s("reason"), Message: s("message")}
		}
	}
	return condition{Type: t}
}

// waitCondition waits until condition t of the import has status and
// reason, and returns it.
func waitCondition(ctx context.Context, ns, name, t, status, reason string) condition {
	GinkgoHelper()
	var c condition
	Eventually(ctx, func() condition {
		c = conditionOf(getImport(ctx, ns, name), t)
		return c
	}).WithTimeout(45*time.Second).Should(And(
		HaveField("Status", status), HaveField("Reason", reason)), "condition %s of %s/%s", t, ns, name)
	return c
}

func getSecret(ctx context.Context, ns, name string) (*corev1.Secret, error) {
	return env.Kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
}

// secretData waits for Secret ns/name and returns its data as strings.
func secretData(ctx context.Context, ns, name string) map[string]string {
	GinkgoHelper()
	var s *corev1.Secret
	Eventually(ctx, func() error {
		var err error
		s, err = getSecret(ctx, ns, name)
		return err
	}).WithTimeout(45*time.Second).Should(Succeed(), "Secret %s/%s", ns, name)
	return stringData(s)
}

func stringData(s *corev1.Secret) map[string]string {
	out := map[string]string{}
	for k, v := range s.Data {
		out[k] = string(v)
	}
	return out
}

// events returns a poll of the events about the import, by reason: the
// controller sends them in the background, a moment after what they say.
func events(ns, name string) func(context.Context) (map[string][]string, error) {
	return func(ctx context.Context) (map[string][]string, error) { return eventsOf(ctx, ns, name) }
}

func eventsOf(ctx context.Context, ns, name string) (map[string][]string, error) {
	list, err := env.Kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, e := range list.Items {
		if e.InvolvedObject.Kind == "SecretsStoreImport" && e.InvolvedObject.Name == name {
			out[e.Reason] = append(out[e.Reason], e.Message)
		}
	}
	return out, nil
}

// metric returns the controller's sum of name over series matching labels.
func metric(ctx context.Context, name string, labels map[string]string) float64 {
	GinkgoHelper()
	m, err := ctl.Scrape(ctx)
	Expect(err).NotTo(HaveOccurred())
	return m.Sum(name, labels)
}

// lastSyncTime is when the controller last read the store for the import.
func lastSyncTime(ctx context.Context, ns, name string) time.Time {
	GinkgoHelper()
	v, _, _ := unstructured.NestedString(getImport(ctx, ns, name).Object, "status", "lastSyncTime")
	Expect(v).NotTo(BeEmpty(), "status.lastSyncTime of %s/%s", ns, name)
	t, err := time.Parse(time.RFC3339, v)
	Expect(err).NotTo(HaveOccurred())
	return t
}
