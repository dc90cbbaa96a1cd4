package upstream

import (
	"context"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/deckhouse/secrets-store-integration/test/components"
)

// applyPodAndClass creates the Pod object podName of ServiceAccount sa on
// the driver's node (no kubelet runs it) and SecretProviderClass spc with
// vault-csi-provider parameters: role and objects, the test Vault.
func applyPodAndClass(ctx context.Context, podName, sa, spc, role, objects string) (components.Pod, error) {
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
	return components.Pod{Name: podName, Namespace: ns, UID: string(created.GetUID()), ServiceAccount: sa}, err
}

// publishRequest is kubelet's NodePublishVolume for vol of pod, a volume
// of SecretProviderClass spc, with fresh tokens.
func publishRequest(ctx context.Context, pod components.Pod, vol components.Volume, spc string, readonly bool) (*csi.NodePublishVolumeRequest, error) {
	attrs, err := components.VolumeContext(ctx, env, pod)
	if err != nil {
		return nil, err
	}
	attrs["secretProviderClass"] = spc
	return components.NodePublishRequest(vol, pod, readonly, attrs), nil
}
