// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package chart

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// dryRunApply server-side applies obj with dryRun=All: the API server runs
// decoding, defaulting, validation and admission as for a real install and
// stores nothing.
func dryRunApply(ctx context.Context, env *testenv.Env, obj *unstructured.Unstructured) error {
	// A fresh mapper each call: the optional CRDs are installed during the
	// suite, and the cost is small next to the API calls.
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(env.Kube.Discovery()))
	gvk := obj.GroupVersionKind()
	mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("find resource of %s: %w", key(obj), err)
	}
	client, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		return fmt.Errorf("make dynamic client: %w", err)
	}
	var res dynamic.ResourceInterface = client.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		res = client.Resource(mapping.Resource).Namespace(obj.GetNamespace())
	}
	body, err := obj.MarshalJSON()
	if err != nil {
		return fmt.Errorf("encode %s: %w", key(obj), err)
	}
	force := true
	_, err = res.Patch(ctx, obj.GetName(), types.ApplyPatchType, body, metav1.PatchOptions{
		FieldManager: "chart-test", Force: &force, DryRun: []string{metav1.DryRunAll},
	})
	if err != nil {
		return fmt.Errorf("dry-run apply %s: %w", key(obj), err)
	}
	return nil
}
