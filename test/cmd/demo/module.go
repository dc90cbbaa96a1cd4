// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/deckhouse/secrets-store-integration/test/addonop"
	"github.com/deckhouse/secrets-store-integration/test/helmchart"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// installModule installs the module as Deckhouse does: addon-operator
// (test/tools/build.sh addon-operator) finds it in its modules folder with
// its hooks program, reads the settings a ModuleConfig would give from its
// ConfigMap, runs the hooks and installs the Helm release. The demo prints
// what the hooks computed and what the release holds, then stops
// addon-operator and takes away the objects that cannot work here: the
// webhook configurations (mutating pods, validating imports) name the
// webhook's Service, which kube-apiserver cannot reach without a cluster
// network (way 3 registers the running webhook by URL instead). The release's Deployments and
// DaemonSet stay inert (no scheduler or kubelet): the demo runs the binaries
// itself.
func installModule(ctx context.Context, env *testenv.Env) (err error) {
	step("Installing the module through addon-operator: settings as a ModuleConfig gives them, the hooks program, Helm")
	dir, err := os.MkdirTemp("", "ssi-demo-addon-operator-*")
	if err != nil {
		return fmt.Errorf("make addon-operator's folder: %w", err)
	}
	defer os.RemoveAll(dir)
	modules := filepath.Join(dir, "modules")
	if _, err := addonop.PrepareModule(ctx, modules); err != nil {
		return err
	}
	settings := map[string]any{
		"connectionConfiguration": "Manual",
		"connection":              map[string]any{"url": env.VaultAddr, "caCert": string(env.VaultCAPEM)},
	}
	if err := addonop.SetModuleConfig(ctx, env, true, settings); err != nil {
		return err
	}
	fmt.Printf("   ConfigMap %s/%s: secretsStoreIntegrationEnabled: true, settings connectionConfiguration: Manual, connection.url: %s\n",
		addonop.Namespace, addonop.ConfigMap, env.VaultAddr)
	began := time.Now()
	op, err := addonop.Start(ctx, addonop.Config{
		Env: env, ModulesDir: modules, Dir: filepath.Join(dir, "addon-operator"),
	})
	if err != nil {
		return err
	}
	defer func() {
		if stopErr := op.Stop(); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
	}()
	rel, err := addonop.WaitModuleRelease(ctx, env, 0)
	if err != nil {
		return err
	}
	fmt.Printf("   addon-operator ran the hooks and installed release %s revision %d in %s\n",
		addonop.ModuleName, rel.Revision, time.Since(began).Round(100*time.Millisecond))
	objs, err := addonop.ReleaseManifest(ctx, env, rel.Revision)
	if err != nil {
		return err
	}
	fmt.Printf("   the release holds: %s\n", countKinds(objs))
	if err := showHookValues(ctx, env); err != nil {
		return err
	}

	if err := op.Stop(); err != nil {
		return err
	}
	for _, o := range objs {
		var derr error
		switch o.GetKind() {
		case "MutatingWebhookConfiguration":
			derr = env.Kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(ctx, o.GetName(), metav1.DeleteOptions{})
		case "ValidatingWebhookConfiguration":
			derr = env.Kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(ctx, o.GetName(), metav1.DeleteOptions{})
		default:
			continue
		}
		if derr != nil {
			return fmt.Errorf("remove %s %s: %w", o.GetKind(), o.GetName(), derr)
		}
		fmt.Printf("   stopped addon-operator and removed %s %s (its Service is unreachable without a cluster network)\n", o.GetKind(), o.GetName())
	}
	return nil
}

// showHookValues prints what the hooks computed, as the release rendered it:
// the webhook's certificate (internal.webhookCert) and the store connection
// (internal.connection).
func showHookValues(ctx context.Context, env *testenv.Env) error {
	ns := helmchart.ModuleNamespace
	s, err := env.Kube.CoreV1().Secrets(ns).Get(ctx, "secrets-store-integration-webhook-tls", metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("the webhook's TLS Secret: %w", err)
	}
	block, _ := pem.Decode(s.Data["tls.crt"])
	if block == nil {
		return fmt.Errorf("Secret %s/%s: tls.crt holds no PEM", ns, s.Name)
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return fmt.Errorf("Secret %s/%s: tls.crt: %w", ns, s.Name, err)
	}
	fmt.Printf("   hook webhook_cert: certificate for %s, issued by %q, valid until %s\n",
		strings.Join(leaf.DNSNames, ", "), leaf.Issuer.CommonName, leaf.NotAfter.UTC().Format(time.DateOnly))
	d, err := env.Kube.AppsV1().Deployments(ns).Get(ctx, "secrets-store-integration-webhook", metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("the webhook's Deployment: %w", err)
	}
	var addr string
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, a := range c.Args {
			if v, ok := strings.CutPrefix(a, "--store-addr="); ok {
				addr = v
			}
		}
	}
	cm, err := env.Kube.CoreV1().ConfigMaps(ns).Get(ctx, "secrets-store-integration-store-ca", metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("the store CA ConfigMap: %w", err)
	}
	trusted := "not the demo's Vault CA"
	if strings.TrimSpace(cm.Data["ca.crt"]) == strings.TrimSpace(string(env.VaultCAPEM)) {
		trusted = "the demo's Vault CA"
	}
	fmt.Printf("   hook connection: store %s, CA ConfigMap %s/%s holds %s\n", addr, ns, cm.Name, trusted)
	return nil
}

// countKinds is "1 Namespace, 2 Deployments, ..." in first-seen order.
func countKinds(objs []*unstructured.Unstructured) string {
	var kinds []string
	n := map[string]int{}
	for _, o := range objs {
		if n[o.GetKind()] == 0 {
			kinds = append(kinds, o.GetKind())
		}
		n[o.GetKind()]++
	}
	parts := make([]string, 0, len(kinds))
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%d %s", n[k], plural(k, n[k])))
	}
	return strings.Join(parts, ", ")
}

// plural is kind as counted n times; the module's kinds all take an s.
func plural(kind string, n int) string {
	if n == 1 {
		return kind
	}
	return kind + "s"
}
