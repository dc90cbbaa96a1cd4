// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
)

// ImportCRD is the SecretsStoreImport CRD, relative to the repository root:
// what the chart installs and the hooks apply.
const ImportCRD = "crds/secrets-store-import.yaml"

// ApplyImportCRD installs the SecretsStoreImport CRD of the working tree
// (ImportCRD) and waits until it is established.
func (e *Env) ApplyImportCRD(ctx context.Context) error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	_, err = e.ApplyFile(ctx, filepath.Join(root, ImportCRD))
	return err
}

// ApplyFile server-side applies every object of a YAML file (documents
// separated by ---) as the cluster admin, and waits for applied
// CustomResourceDefinitions to be established.
func (e *Env) ApplyFile(ctx context.Context, path string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	objs, err := decodeObjects(data)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	applied := make([]*unstructured.Unstructured, 0, len(objs))
	for _, obj := range objs {
		out, err := e.Apply(ctx, obj)
		if err != nil {
			return nil, fmt.Errorf("apply %s: %w", path, err)
		}
		applied = append(applied, out)
	}
	return applied, nil
}

// Apply server-side applies one object as the cluster admin.
func (e *Env) Apply(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	res, err := e.resource(obj)
	if err != nil {
		return nil, err
	}
	body, err := obj.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode %s %s: %w", obj.GetKind(), obj.GetName(), err)
	}
	force := true
	out, err := res.Patch(ctx, obj.GetName(), types.ApplyPatchType, body,
		metav1.PatchOptions{FieldManager: "testenv", Force: &force})
	if err != nil {
		return nil, fmt.Errorf("apply %s %s: %w", obj.GetKind(), objectName(obj), err)
	}
	if obj.GetKind() == "CustomResourceDefinition" {
		if err := e.waitEstablished(ctx, res, obj.GetName()); err != nil {
			return nil, err
		}
		// The new kind is not in the cached discovery yet.
		e.mapperMu.Lock()
		e.mapper = nil
		e.mapperMu.Unlock()
	}
	return out, nil
}

// resource returns the dynamic client of obj's kind, in obj's namespace.
func (e *Env) resource(obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	e.mapperMu.Lock()
	if e.mapper == nil {
		e.mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(e.Kube.Discovery()))
	}
	mapper := e.mapper
	e.mapperMu.Unlock()
	gvk := obj.GroupVersionKind()
	mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("find resource of %s: %w", gvk, err)
	}
	client, err := dynamic.NewForConfig(e.Config)
	if err != nil {
		return nil, fmt.Errorf("make dynamic client: %w", err)
	}
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		return client.Resource(mapping.Resource).Namespace(obj.GetNamespace()), nil
	}
	return client.Resource(mapping.Resource), nil
}

func (e *Env) waitEstablished(ctx context.Context, crds dynamic.ResourceInterface, name string) error {
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		crd, err := crds.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		conditions, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		for _, c := range conditions {
			c, _ := c.(map[string]any)
			if c["type"] == "Established" && c["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("wait for CustomResourceDefinition %s to be established: %w", name, err)
	}
	return nil
}

func decodeObjects(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		obj := &unstructured.Unstructured{}
		err := dec.Decode(&obj.Object)
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(obj.Object) > 0 {
			objs = append(objs, obj)
		}
	}
}

func objectName(obj *unstructured.Unstructured) string {
	if ns := obj.GetNamespace(); ns != "" {
		return ns + "/" + obj.GetName()
	}
	return obj.GetName()
}
