// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package components

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/deckhouse/secrets-store-integration/test/supervisor"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// WebhookConfig is how the mutating webhook runs.
type WebhookConfig struct {
	// Binary is the webhook executable (Binaries.Webhook).
	Binary string
	// Kubeconfig is its access to the API (testenv's admin): it reads
	// service accounts and pull secrets.
	Kubeconfig string
	// CertFile and KeyFile are its serving certificate for 127.0.0.1.
	CertFile, KeyFile string
	// InjectorImage is the image its init container runs.
	InjectorImage string
	// StoreAddr and StoreCAFile are the module's default store.
	StoreAddr, StoreCAFile string
	// RegistryCAFile is trusted for registries besides the system roots.
	RegistryCAFile string
	// ListenHost is the address it listens on; empty: 127.0.0.1. A test
	// that has kube-apiserver reach it through a Service's EndpointSlice
	// needs an address such a slice may hold (not a loopback one).
	ListenHost string
	// Args are more flags, such as --image-cache-size.
	Args []string
	// Log receives a copy of each log line; nil drops the copy.
	Log io.Writer
}

// Webhook is a running webhook.
type Webhook struct {
	*supervisor.Process
	// URL is where the API server sends reviews: https://127.0.0.1:PORT/mutate.
	URL string
	// ImportURL is where it sends reviews of SecretsStoreImports:
	// https://127.0.0.1:PORT/validate-secretsstoreimport.
	ImportURL string
}

// StartWebhook runs the webhook on a free loopback port, its metrics on
// another, and returns once it is ready (/readyz: its certificate loaded).
func StartWebhook(ctx context.Context, c WebhookConfig) (*Webhook, error) {
	// A fixed port across restarts: the registration names it.
	addr, err := supervisor.FreeAddr()
	if err != nil {
		return nil, err
	}
	if c.ListenHost != "" {
		addr = net.JoinHostPort(c.ListenHost, addr[strings.LastIndex(addr, ":")+1:])
	}
	args := []string{
		"--listen", addr, "--metrics-listen", "127.0.0.1:0", "--kubeconfig", c.Kubeconfig,
		"--tls-cert-file", c.CertFile, "--tls-key-file", c.KeyFile, "--injector-image", c.InjectorImage,
		"--store-addr", c.StoreAddr, "--log-level", "debug",
	}
	if c.StoreCAFile != "" {
		args = append(args, "--store-ca-file", c.StoreCAFile)
	}
	if c.RegistryCAFile != "" {
		args = append(args, "--registry-ca-file", c.RegistryCAFile)
	}
	args = append(args, c.Args...)
	p := &supervisor.Process{Name: "webhook", Bin: c.Binary, Args: args, Out: c.Log}
	p.Ready = func(ctx context.Context, r *supervisor.Run) error {
		if err := r.WaitMetrics(ctx); err != nil {
			return err
		}
		if _, err := r.WaitLog(ctx, "serving webhook"); err != nil {
			return err
		}
		return r.WaitHTTP(ctx, "/readyz")
	}
	if err := p.Start(ctx); err != nil {
		return nil, err
	}
	return &Webhook{Process: p, URL: fmt.Sprintf("https://%s/mutate", addr), ImportURL: fmt.Sprintf("https://%s%s", addr, ImportPath)}, nil
}

// Register makes the API server call the webhook for pods, as
// WebhookConfiguration name describes, and returns once it does (see
// WaitCalled). Delete the registration with Unregister.
func (w *Webhook) Register(ctx context.Context, kube kubernetes.Interface, name string, caBundle []byte, ns, sa string) error {
	hooks := kube.AdmissionregistrationV1().MutatingWebhookConfigurations()
	if _, err := hooks.Create(ctx, WebhookConfiguration(name, w.URL, caBundle), metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("register webhook %s: %w", name, err)
	}
	if err := WaitCalled(ctx, kube, ns, sa, true); err != nil {
		return fmt.Errorf("webhook %s registered: %w", name, err)
	}
	return nil
}

// WaitCalled returns once the API server calls the webhook for opted-in
// pods of service account ns/sa (called) or no longer does (!called): it
// picks registrations up, and drops them, asynchronously. It dry-runs an
// opted-in pod until the pod comes back mutated, or not.
func WaitCalled(ctx context.Context, kube kubernetes.Interface, ns, sa string, called bool) error {
	probe := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "registration-probe", Annotations: map[string]string{OptInAnnotation: "probe"}},
		Spec: corev1.PodSpec{ServiceAccountName: sa, Containers: []corev1.Container{
			{Name: "probe", Image: "registry.example/probe:v1", Command: []string{"/probe"}},
		}},
	}
	want := "calls the webhook"
	if !called {
		want = "stops calling the webhook"
	}
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		p, err := kube.CoreV1().Pods(ns).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		last = err
		return err == nil && (len(p.Spec.InitContainers) > 0) == called, nil
	})
	if err != nil {
		return fmt.Errorf("wait until the API server %s: %w (last create: %v)", want, err, last)
	}
	return nil
}

// Unregister deletes registration name.
func Unregister(ctx context.Context, kube kubernetes.Interface, name string) error {
	if err := kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		return fmt.Errorf("unregister webhook %s: %w", name, err)
	}
	return nil
}

// OptInAnnotation is the annotation that opts a pod in to env injection.
const OptInAnnotation = "secrets-store.deckhouse.io/role"

// SystemNamespaces are never sent to the webhook: a failing webhook must
// not stop the cluster's own pods, nor the module's.
var SystemNamespaces = []string{"kube-system", "kube-public", "kube-node-lease", "d8-system", "d8-secrets-store-integration"}

// WebhookConfiguration registers the webhook at url with the CA caBundle,
// as the module's chart ships it (templates/webhook).
//
//   - matchConditions: only pods with the opt-in annotation reach the
//     webhook, so failurePolicy Fail can lock no one else out; Deckhouse's
//     d8-* namespaces are excluded there too, since a label selector has no
//     prefix match.
//   - reinvocationPolicy Never: the webhook rewrites the containers the
//     pod's author wrote. Containers that webhooks after it add (a mesh
//     sidecar) carry no references and must not wait on the store to
//     start; and a pod it mutated is left alone anyway.
//   - sideEffects None: it only reads, so dry runs may call it.
func WebhookConfiguration(name, url string, caBundle []byte) *admissionregistrationv1.MutatingWebhookConfiguration {
	fail := admissionregistrationv1.Fail
	none := admissionregistrationv1.SideEffectClassNone
	never := admissionregistrationv1.NeverReinvocationPolicy
	equivalent := admissionregistrationv1.Equivalent
	all := admissionregistrationv1.NamespacedScope
	timeout := int32(10)
	return &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:         "env-injection.secrets-store.deckhouse.io",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: caBundle},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule: admissionregistrationv1.Rule{
					APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}, Scope: &all,
				},
			}},
			NamespaceSelector: &metav1.LabelSelector{
				MatchExpressions: []metav1.LabelSelectorRequirement{{
					Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: SystemNamespaces,
				}, {
					// Namespaces Deckhouse itself manages.
					Key: "heritage", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"deckhouse"},
				}},
			},
			MatchConditions: []admissionregistrationv1.MatchCondition{{
				Name:       "opted-in",
				Expression: "has(object.metadata.annotations) && '" + OptInAnnotation + "' in object.metadata.annotations",
			}, {
				Name:       "not-a-deckhouse-namespace",
				Expression: "!request.namespace.startsWith('d8-')",
			}},
			MatchPolicy:             &equivalent,
			FailurePolicy:           &fail,
			SideEffects:             &none,
			ReinvocationPolicy:      &never,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
}

// ImportPath is the webhook's path of SecretsStoreImport reviews.
const ImportPath = "/validate-secretsstoreimport"

// RegisterImports makes the API server send SecretsStoreImport writes to
// the webhook, as ImportValidation name describes, and returns once it does:
// a dry-run import in namespace ns naming an address no setting allows comes
// back refused by the webhook. Delete it with UnregisterImports.
func (w *Webhook) RegisterImports(ctx context.Context, kube kubernetes.Interface, dyn dynamic.Interface, name string, caBundle []byte, ns string) error {
	hooks := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	if _, err := hooks.Create(ctx, ImportValidation(name, w.ImportURL, caBundle), metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("register webhook %s: %w", name, err)
	}
	probe := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "deckhouse.io/v1alpha1", "kind": "SecretsStoreImport",
		"metadata": map[string]any{"name": "registration-probe", "namespace": ns},
		"spec": map[string]any{"type": "CSI", "role": "probe", "address": "https://registration-probe.invalid",
			"files": []any{map[string]any{"name": "f", "source": map[string]any{"path": "secret/data/probe"}}}},
	}}
	gvr := schema.GroupVersionResource{Group: "deckhouse.io", Version: "v1alpha1", Resource: "secretsstoreimports"}
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := dyn.Resource(gvr).Namespace(ns).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		last = err
		return err != nil && strings.Contains(err.Error(), "secrets-store: "), nil
	})
	if err != nil {
		return fmt.Errorf("wait until the API server calls webhook %s: %w (last create: %v)", name, err, last)
	}
	return nil
}

// UnregisterImports deletes registration name.
func UnregisterImports(ctx context.Context, kube kubernetes.Interface, name string) error {
	if err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		return fmt.Errorf("unregister webhook %s: %w", name, err)
	}
	return nil
}

// ImportValidation registers the webhook at url with the CA caBundle for
// SecretsStoreImport creates and updates, as the module's chart ships it
// (templates/webhook/mutatingwebhook.yaml): failurePolicy Fail, since only
// imports reach it and an import admitted unchecked could give its writer
// a ServiceAccount's identity.
func ImportValidation(name, url string, caBundle []byte) *admissionregistrationv1.ValidatingWebhookConfiguration {
	fail := admissionregistrationv1.Fail
	none := admissionregistrationv1.SideEffectClassNone
	equivalent := admissionregistrationv1.Equivalent
	scope := admissionregistrationv1.NamespacedScope
	timeout := int32(10)
	return &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:         "imports.secrets-store.deckhouse.io",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: caBundle},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
				Rule: admissionregistrationv1.Rule{
					APIGroups: []string{"deckhouse.io"}, APIVersions: []string{"v1alpha1"}, Resources: []string{"secretsstoreimports"}, Scope: &scope,
				},
			}},
			MatchPolicy:             &equivalent,
			FailurePolicy:           &fail,
			SideEffects:             &none,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
}
