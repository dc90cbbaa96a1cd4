// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package status writes the status of SecretsStoreImports: the conditions
// Ready and Synced that every object gets, with a reason and a message that
// never hold a secret value. It applies the status server-side as the
// controller's field manager, and only when something changed, so that a
// reconcile that finds everything in order costs the API server nothing.
package status

import (
	"context"
	"fmt"
	"slices"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/deckhouse/secrets-store-integration/images/api/v1alpha1"
)

// FieldManager names the controller in managedFields.
const FieldManager = "secrets-store-controller"

// Condition types.
const (
	// Ready: what the import delivers can be used (the Secret is up to
	// date; for CSI, the spec is valid and the role exists).
	Ready = "Ready"
	// Synced: the last read of the store succeeded (KubernetesSecret); for
	// CSI the driver reads at mount time and Synced is Unknown.
	Synced = "Synced"
)

// Condition statuses.
const (
	True    = metav1.ConditionTrue
	False   = metav1.ConditionFalse
	Unknown = metav1.ConditionUnknown
)

// maxMessage bounds a condition message: store errors can list many
// reasons, and a status is no log.
const maxMessage = 1024

// Set returns conds with c in place of the condition of its type. The
// transition time stays when the status does not change.
func Set(conds []metav1.Condition, c metav1.Condition, now time.Time) []metav1.Condition {
	if len(c.Message) > maxMessage {
		c.Message = c.Message[:maxMessage-3] + "..."
	}
	c.LastTransitionTime = metav1.NewTime(now.UTC().Truncate(time.Second))
	out := slices.Clone(conds) // SetStatusCondition changes the slice it is given
	meta.SetStatusCondition(&out, c)
	return out
}

// Update sets conds, for the object's generation, in ssi's status with
// lastSync, and applies it.
func Update(ctx context.Context, c client.Client, ssi *v1alpha1.SecretsStoreImport, now time.Time, lastSync *metav1.Time, conds ...metav1.Condition) error {
	st := v1alpha1.Status{ObservedGeneration: ssi.Generation, Conditions: ssi.Status.Conditions, LastSyncTime: lastSync}
	for _, cond := range conds {
		cond.ObservedGeneration = ssi.Generation
		st.Conditions = Set(st.Conditions, cond, now)
	}
	return Apply(ctx, c, ssi, st)
}

// Apply makes ssi's status st, unless it already is.
func Apply(ctx context.Context, c client.Client, ssi *v1alpha1.SecretsStoreImport, st v1alpha1.Status) error {
	if apiequality.Semantic.DeepEqual(ssi.Status, st) {
		return nil
	}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&st)
	if err != nil {
		return fmt.Errorf("encode status of %s %s/%s: %w", v1alpha1.Kind, ssi.Namespace, ssi.Name, err)
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": v1alpha1.Group + "/" + v1alpha1.Version,
		"kind":       v1alpha1.Kind,
		"metadata":   map[string]any{"name": ssi.Name, "namespace": ssi.Namespace},
		"status":     content,
	}}
	err = c.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldManager), client.ForceOwnership)
	if err != nil {
		return fmt.Errorf("apply status of %s %s/%s: %w", v1alpha1.Kind, ssi.Namespace, ssi.Name, err)
	}
	ssi.Status = st
	return nil
}
