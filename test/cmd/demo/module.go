package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// installedKinds are the kinds of the rendered chart the demo applies, in
// the order it applies them: the namespace before what lives in it, roles
// before their bindings.
var installedKinds = []string{
	"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
	"ConfigMap", "Secret", "CSIDriver",
}

// installModule installs the module as Helm would, less what cannot work
// here: the SecretsStoreImport CRD from crds/, then the chart rendered for
// the demo's Vault. Its Deployments and DaemonSet would never run (no
// kubelet or scheduler: the demo runs the binaries itself), and its
// MutatingWebhookConfiguration names a Service kube-apiserver cannot reach
// without a cluster network (way 3 registers the webhook by URL instead),
// so those are left out, like the other objects that only serve them.
func installModule(ctx context.Context, env *testenv.Env) error {
	step("Installing the module's rendered chart: CRD, namespace, RBAC, configuration, CSIDriver")
	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	crds, err := env.ApplyFile(ctx, filepath.Join(root, "crds", "secrets-store-import.yaml"))
	if err != nil {
		return fmt.Errorf("install the SecretsStoreImport CRD: %w", err)
	}
	objs, err := components.RenderChart(map[string]any{
		"secretsStoreIntegration": map[string]any{
			"connectionConfiguration": "Manual",
			"connection":              map[string]any{"url": env.VaultAddr, "caCert": string(env.VaultCAPEM)},
		},
	}, nil)
	if err != nil {
		return fmt.Errorf("render the module's chart: %w", err)
	}
	installed := map[string][]string{}
	skipped := map[string]int{}
	for _, kind := range installedKinds {
		for _, obj := range objs {
			if obj.GetKind() != kind {
				continue
			}
			if _, err := env.Apply(ctx, obj); err != nil {
				return fmt.Errorf("install the module: %w", err)
			}
			installed[kind] = append(installed[kind], obj.GetName())
		}
	}
	var skippedKinds []string
	for _, obj := range objs {
		if _, ok := installed[obj.GetKind()]; !ok {
			if skipped[obj.GetKind()] == 0 {
				skippedKinds = append(skippedKinds, obj.GetKind())
			}
			skipped[obj.GetKind()]++
		}
	}
	var parts []string
	for _, crd := range crds {
		parts = append(parts, "CustomResourceDefinition "+crd.GetName())
	}
	for _, kind := range installedKinds {
		switch names := installed[kind]; len(names) {
		case 0:
		case 1:
			parts = append(parts, kind+" "+names[0])
		default:
			parts = append(parts, fmt.Sprintf("%d %s", len(names), plural(kind, len(names))))
		}
	}
	fmt.Printf("   installed: %s\n", strings.Join(parts, ", "))
	parts = parts[:0]
	for _, kind := range skippedKinds {
		parts = append(parts, fmt.Sprintf("%d %s", skipped[kind], plural(kind, skipped[kind])))
	}
	fmt.Printf("   left out (the demo runs the binaries and registers the webhook by URL): %s\n", strings.Join(parts, ", "))
	return nil
}

// plural is kind as counted n times; the module's kinds all take an s.
func plural(kind string, n int) string {
	if n == 1 {
		return kind
	}
	return kind + "s"
}
