// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package secretsync

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/deckhouse/secrets-store-integration/images/api/v1alpha1"
	"github.com/deckhouse/secrets-store-integration/images/controller/internal/metrics"
)

// finalize cleans up the Secret of an import being deleted, per its
// deletion policy, then lets the import go. A Secret the import does not
// manage (another's, or one it never wrote) is left alone.
func (r *Reconciler) finalize(ctx context.Context, u *unstructured.Unstructured, ssi *v1alpha1.SecretsStoreImport) (reconcile.Result, string, error) {
	if !slices.Contains(u.GetFinalizers(), Finalizer) {
		return reconcile.Result{}, metrics.ResultOK, nil
	}
	if ssi.Spec.Secret != nil && ssi.Spec.Secret.Name != "" {
		if err := r.cleanUp(ctx, u, ssi); err != nil {
			return reconcile.Result{}, metrics.ResultError, err
		}
	}
	orig := u.DeepCopy()
	u.SetFinalizers(slices.DeleteFunc(u.GetFinalizers(), func(f string) bool { return f == Finalizer }))
	if err := r.cfg.Client.Patch(ctx, u, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil && !apierrors.IsNotFound(err) {
		return reconcile.Result{}, metrics.ResultError, fmt.Errorf("remove finalizer of %s %s/%s: %w", v1alpha1.Kind, ssi.Namespace, ssi.Name, err)
	}
	r.cfg.Metrics.Managed(ssi.Namespace+"/"+ssi.Name, false)
	r.forget(types.NamespacedName{Namespace: ssi.Namespace, Name: ssi.Name})
	return reconcile.Result{}, metrics.ResultOK, nil
}

func (r *Reconciler) cleanUp(ctx context.Context, u *unstructured.Unstructured, ssi *v1alpha1.SecretsStoreImport) error {
	secret, err := r.getSecret(ctx, ssi.Namespace, ssi.Spec.Secret.Name)
	if err != nil || secret == nil || secret.Annotations[AnnotationImport] != ssi.Name {
		return err
	}
	creation, deletion := policies(ssi)
	name := secret.Namespace + "/" + secret.Name
	switch {
	case deletion == v1alpha1.DeletionDelete && creation != v1alpha1.CreationMerge:
		uid, rv := secret.UID, secret.ResourceVersion
		err := r.cfg.Client.Delete(ctx, secret, client.Preconditions{UID: &uid, ResourceVersion: &rv})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete Secret %s: %w", name, err)
		}
		r.cfg.Metrics.SecretWritten("delete")
		r.cfg.Events.Eventf(u, nil, corev1.EventTypeNormal, ReasonDeleted, "Cleanup", "deleted Secret %s (deletionPolicy Delete)", name)
	default:
		// Retain, or Merge with Delete: the Secret stays, unmanaged; Merge
		// takes back the keys it added.
		dropKeys := deletion == v1alpha1.DeletionDelete
		if err := r.cfg.Client.Update(ctx, released(secret, ssi, dropKeys)); err != nil {
			return fmt.Errorf("release Secret %s: %w", name, err)
		}
		r.cfg.Metrics.SecretWritten("release")
		note := fmt.Sprintf("Secret %s is kept and no longer managed (deletionPolicy Retain)", name)
		if dropKeys {
			note = fmt.Sprintf("removed the keys this import wrote from Secret %s; its other keys stay (creationPolicy Merge, deletionPolicy Delete)", name)
		}
		r.cfg.Events.Eventf(u, nil, corev1.EventTypeNormal, ReasonReleased, "Cleanup", "%s", note)
	}
	return nil
}
