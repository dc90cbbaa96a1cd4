// Package secretbinding builds the Kubernetes binding by which a hook
// watches one named Secret, and reads the Secrets such a binding delivers.
package secretbinding

import (
	"fmt"

	"github.com/flant/addon-operator/pkg/module_manager/go_hook"
	"github.com/flant/addon-operator/sdk"
	"github.com/flant/shell-operator/pkg/kube_events_manager/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Named watches the Secret namespace/name under the snapshot name binding;
// filter keeps what the hook needs of it.
func Named(binding, namespace, name string, filter go_hook.FilterFunc) go_hook.KubernetesConfig {
	return go_hook.KubernetesConfig{
		Name:              binding,
		ApiVersion:        "v1",
		Kind:              "Secret",
		NameSelector:      &types.NameSelector{MatchNames: []string{name}},
		NamespaceSelector: &types.NamespaceSelector{NameSelector: &types.NameSelector{MatchNames: []string{namespace}}},
		FilterFunc:        filter,
	}
}

// Data returns the decoded data of the Secret in obj.
func Data(obj *unstructured.Unstructured) (map[string][]byte, error) {
	var secret corev1.Secret
	if err := sdk.FromUnstructured(obj, &secret); err != nil {
		return nil, fmt.Errorf("reading Secret %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	return secret.Data, nil
}
