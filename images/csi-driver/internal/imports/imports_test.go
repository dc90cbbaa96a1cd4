// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package imports

import (
	"context"
	"errors"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/fake"

	"github.com/deckhouse/secrets-store-integration/images/api/v1alpha1"
)

func object(ns, name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "deckhouse.io/v1alpha1", "kind": "SecretsStoreImport",
		"metadata": map[string]any{"namespace": ns, "name": name},
		"spec": map[string]any{
			"type": "CSI", "role": "app", "skipTLSVerify": true,
			"files": []any{map[string]any{"name": "cert", "mode": int64(0o440), "decodeBase64": true,
				"source": map[string]any{"path": "pki/issue/web", "method": "PUT", "version": int64(3),
					"args": map[string]any{"common_name": "web", "ttl": int64(60)}}}},
		},
		"status": map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": "True"}}},
	}}
}

func TestGet(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := fake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{v1alpha1.GroupVersionResource: "SecretsStoreImportList"},
		object("demo", "app"))
	l := Start(ctx, client, 0)

	ssi, err := l.Get(ctx, "demo", "app")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	f := ssi.Spec.Files[0]
	if ssi.Spec.Role != "app" || !ssi.Spec.SkipTLSVerify || *f.Mode != 0o440 || !f.DecodeBase64 ||
		f.Source.Method != "PUT" || f.Source.Version != 3 || f.Source.Args["common_name"] != "web" ||
		ssi.Status.Conditions[0].Type != "Ready" {
		t.Errorf("converted %+v", ssi)
	}
	if _, err := l.Get(ctx, "demo", "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
	if _, err := l.Get(ctx, "other", "app"); !errors.Is(err, ErrNotFound) {
		t.Errorf("other namespace: %v", err)
	}
}
