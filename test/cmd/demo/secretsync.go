// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/helmchart"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

const (
	// syncImport is the KubernetesSecret import of way 4 and syncedSecret
	// the Secret it writes.
	syncImport   = "app-secret"
	syncedSecret = "app-credentials"
	// syncRefresh is the import's refreshInterval: the shortest allowed, so the demo shows
	// a change in Vault reaching the Secret.
	syncRefresh = 30 * time.Second
	// controllerNamespace holds the controller's Lease and HMAC key;
	// installModule created it.
	controllerNamespace = helmchart.ModuleNamespace
)

// syncSecret is way 4, the least safe: the controller copies the secret into
// a Kubernetes Secret (so into etcd) and keeps it fresh. It runs the
// controller from bins, creates a KubernetesSecret import of demo/app's
// secret, prints the Secret, changes the password in Vault and prints the
// Secret again once the refresh brought it.
func syncSecret(ctx context.Context, env *testenv.Env, bins components.Binaries) (err error) {
	step("Way 4, Kubernetes Secrets: starting the controller (leader election, Secret sync)")
	ctl, err := components.StartController(ctx, components.ControllerConfig{
		Binary: bins.Controller, Kubeconfig: env.Kubeconfig, Namespace: controllerNamespace,
		VaultAddr: env.VaultAddr, VaultCAPath: env.VaultCAPath,
	})
	if err != nil {
		return err
	}
	defer func() {
		step("Stopping the controller")
		err = errors.Join(err, ctl.Stop())
	}()
	fmt.Printf("   controller pid %d, metrics on %s\n", ctl.PID(), ctl.MetricsAddr())

	step(fmt.Sprintf("Creating SecretsStoreImport %s/%s of type KubernetesSecret: Secret %s, logging in as ServiceAccount %s/%s, refresh every %s",
		namespace, syncImport, syncedSecret, namespace, account, syncRefresh))
	if err := components.ApplyImport(ctx, env, namespace, syncImport, map[string]any{
		"type": "KubernetesSecret", "role": role, "serviceAccountName": account, "refreshInterval": syncRefresh.String(),
		"secret": map[string]any{"name": syncedSecret, "labels": map[string]any{"app": "demo"}},
		"files": []any{
			map[string]any{"name": "username", "source": map[string]any{"path": "secret/data/app", "key": "username"}},
			map[string]any{"name": "password", "source": map[string]any{"path": "secret/data/app", "key": "password"}},
			map[string]any{"name": "dsn", "template": "postgres://{{ .username }}:{{ .password }}@db:5432/app",
				"source": map[string]any{"path": "secret/data/app"}},
		},
	}); err != nil {
		return fmt.Errorf("create SecretsStoreImport %s/%s: %w", namespace, syncImport, err)
	}
	s, err := waitSecret(ctx, env, func(*corev1.Secret) bool { return true })
	if err != nil {
		return err
	}
	if err := showImportStatus(ctx, env); err != nil {
		return err
	}
	showSecret(s)

	want := "synced-password-" + time.Now().Format("150405")
	step("Changing the password in Vault; the controller brings it at the next refresh")
	if _, err := env.Vault.KVv2(testenv.KVMount).Patch(ctx, secretPath, map[string]any{"password": want}); err != nil {
		return fmt.Errorf("change the password in secret/%s: %w", secretPath, err)
	}
	began := time.Now()
	s, err = waitSecret(ctx, env, func(s *corev1.Secret) bool { return string(s.Data["password"]) == want })
	if err != nil {
		return err
	}
	fmt.Printf("   after %s:\n", time.Since(began).Round(100*time.Millisecond))
	showSecret(s)
	return nil
}

// waitSecret polls the synced Secret until ok accepts it, for a minute.
func waitSecret(ctx context.Context, env *testenv.Env, ok func(*corev1.Secret) bool) (*corev1.Secret, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		s, err := env.Kube.CoreV1().Secrets(namespace).Get(ctx, syncedSecret, metav1.GetOptions{})
		if err == nil && ok(s) {
			return s, nil
		}
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("get Secret %s/%s: %w", namespace, syncedSecret, err)
		}
		if err := testenv.Sleep(ctx, 200*time.Millisecond); err != nil {
			return nil, fmt.Errorf("wait for Secret %s/%s: %w", namespace, syncedSecret, err)
		}
	}
}

// showImportStatus waits for the import's Ready condition and prints its
// conditions, as `kubectl get ssi -o yaml` would show them.
func showImportStatus(ctx context.Context, env *testenv.Env) error {
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		return fmt.Errorf("make a dynamic client: %w", err)
	}
	gvr := schema.GroupVersionResource{Group: "deckhouse.io", Version: "v1alpha1", Resource: "secretsstoreimports"}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		u, err := dyn.Resource(gvr).Namespace(namespace).Get(ctx, syncImport, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("get SecretsStoreImport %s/%s: %w", namespace, syncImport, err)
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		if ready(conds) {
			for _, c := range conds {
				m, _ := c.(map[string]any)
				fmt.Printf("   condition %v=%v (%v): %v\n", m["type"], m["status"], m["reason"], m["message"])
			}
			return nil
		}
		if err := testenv.Sleep(ctx, 200*time.Millisecond); err != nil {
			return fmt.Errorf("wait for SecretsStoreImport %s/%s to be Ready: %w", namespace, syncImport, err)
		}
	}
}

func ready(conds []any) bool {
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == "Ready" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// showSecret prints the Secret's type, the controller's marks and each key
// with its value (the demo's values are fake).
func showSecret(s *corev1.Secret) {
	fmt.Printf("   Secret %s/%s, type %s, data-hmac %.16s...\n", s.Namespace, s.Name, s.Type,
		s.Annotations["secrets-store.deckhouse.io/data-hmac"])
	for _, k := range slices.Sorted(maps.Keys(s.Data)) {
		fmt.Printf("   %-9s %s\n", k, s.Data[k])
	}
}
