// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"context"
	"strings"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// applyPod creates the Pod object podName of ServiceAccount sa on the
// driver's node (no kubelet runs it).
func applyPod(ctx context.Context, podName, sa string) (components.Pod, error) {
	created, err := env.Apply(ctx, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"namespace": ns, "name": podName},
		"spec": map[string]any{
			"nodeName":           nodeID,
			"serviceAccountName": sa,
			"containers":         []any{map[string]any{"name": "app", "image": "registry.invalid/app:1"}},
		},
	}})
	if err != nil {
		return components.Pod{}, err
	}
	return components.Pod{Name: podName, Namespace: ns, UID: string(created.GetUID()), ServiceAccount: sa}, nil
}

// applyPodAndClass creates the Pod object podName of ServiceAccount sa
// (applyPod) and SecretProviderClass spc with vault-csi-provider
// parameters: role and objects, the test Vault.
func applyPodAndClass(ctx context.Context, podName, sa, spc, role, objects string) (components.Pod, error) {
	pod, err := applyPod(ctx, podName, sa)
	if err != nil {
		return pod, err
	}
	_, err = env.Apply(ctx, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass",
		"metadata": map[string]any{"namespace": ns, "name": spc},
		"spec": map[string]any{
			"provider": "vault",
			"parameters": map[string]any{
				"roleName":        role,
				"vaultAddress":    env.VaultAddr,
				"vaultCACertPath": env.VaultCAPath,
				"objects":         objects,
			},
		},
	}})
	return pod, err
}

// publishRequest is kubelet's NodePublishVolume for vol of pod, a volume
// of SecretProviderClass spc, with fresh tokens for audiences (the
// CSIDriver's tokenRequests; none: components.Audience).
func publishRequest(ctx context.Context, pod components.Pod, vol components.Volume, spc string, readonly bool, audiences ...string) (*csi.NodePublishVolumeRequest, error) {
	attrs, err := components.VolumeContext(ctx, env, pod, audiences...)
	if err != nil {
		return nil, err
	}
	attrs["secretProviderClass"] = spc
	return components.NodePublishRequest(vol, pod, readonly, attrs), nil
}

// sendAsKubelet sends req and, as kubelet retries a failed mount, sends it
// again while the upstream driver's informer has not yet seen the
// SecretProviderClass the test has just created ("not found"), for a few
// seconds; any other answer is returned at once.
func sendAsKubelet(ctx context.Context, req *csi.NodePublishVolumeRequest) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := kubelet.Send(ctx, req)
		if err == nil || !strings.Contains(err.Error(), "failed to get secretproviderclass") || time.Now().After(deadline) {
			return err
		}
		if err := testenv.Sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}
