// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package imports reads SecretsStoreImport objects through a shared
// informer, so a node's many publishes and rotations cost the API server
// one watch instead of one request each.
package imports

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"

	"github.com/deckhouse/secrets-store-integration/images/api/v1alpha1"
)

// ErrNotFound is wrapped when the object does not exist.
var ErrNotFound = fmt.Errorf("not found")

// Lister returns SecretsStoreImports from a cache kept by a watch.
type Lister struct {
	client dynamic.Interface
	lister cache.GenericLister
	synced cache.InformerSynced
}

// Start begins watching all namespaces; the watch ends with ctx.
func Start(ctx context.Context, client dynamic.Interface, resync time.Duration) *Lister {
	factory := dynamicinformer.NewDynamicSharedInformerFactory(client, resync)
	informer := factory.ForResource(v1alpha1.GroupVersionResource)
	l := &Lister{client: client, lister: informer.Lister(), synced: informer.Informer().HasSynced}
	factory.Start(ctx.Done())
	return l
}

// Get returns namespace/name. It waits for the first sync within ctx's
// deadline. On a cache miss it asks the API server once, since an object
// created just before its pod may not have reached the watch yet.
func (l *Lister) Get(ctx context.Context, namespace, name string) (*v1alpha1.SecretsStoreImport, error) {
	if !cache.WaitForCacheSync(ctx.Done(), l.synced) {
		return nil, fmt.Errorf("wait for %s cache: %w", v1alpha1.Resource, ctx.Err())
	}
	obj, err := l.lister.ByNamespace(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		obj, err = l.client.Resource(v1alpha1.GroupVersionResource).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	}
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("%s %s/%s: %w", v1alpha1.Kind, namespace, name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get %s %s/%s: %w", v1alpha1.Kind, namespace, name, err)
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil, fmt.Errorf("get %s %s/%s: unexpected %T in cache", v1alpha1.Kind, namespace, name, obj)
	}
	return v1alpha1.FromUnstructured(u)
}
