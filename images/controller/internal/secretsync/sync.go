// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package secretsync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/deckhouse/secrets-store-integration/images/api/v1alpha1"
	"github.com/deckhouse/secrets-store-integration/images/controller/internal/metrics"
	"github.com/deckhouse/secrets-store-integration/images/controller/internal/rollout"
	"github.com/deckhouse/secrets-store-integration/images/controller/internal/status"
	"github.com/deckhouse/secrets-store-integration/images/internal/render"
	"github.com/deckhouse/secrets-store-integration/images/internal/secretfiles"
	"github.com/deckhouse/secrets-store-integration/images/internal/secretmodel"
)

// sync brings the Secret in line with the store. The store is read only
// when it has to be: the spec changed, the refresh is due, the last read
// failed, or the Secret is missing or was edited. Everything else is
// answered from the API and the Secret's HMAC annotation.
func (r *Reconciler) sync(ctx context.Context, u *unstructured.Unstructured, ssi *v1alpha1.SecretsStoreImport, spec syncSpec) (reconcile.Result, string, error) {
	now := r.now()
	secret, err := r.getSecret(ctx, ssi.Namespace, ssi.Spec.Secret.Name)
	if err != nil {
		return reconcile.Result{}, metrics.ResultError, err
	}
	if f, ok := r.blocked(secret, ssi, spec); ok {
		r.cfg.Events.Eventf(u, nil, corev1.EventTypeWarning, f.reason, "Sync", "%s", f.err.Error())
		err := errors.Join(f.err, r.applyStatus(ctx, ssi, f.synced(), f.ready(), ssi.Status.LastSyncTime))
		// Retried with backoff: the other Secret may go away or appear.
		return reconcile.Result{}, metrics.ResultError, err
	}
	if !r.due(ssi, secret, spec, now) {
		return r.keep(ctx, u, ssi, spec, secret, now)
	}

	began := time.Now()
	r.forget(types.NamespacedName{Namespace: ssi.Namespace, Name: ssi.Name})
	data, err := r.read(ctx, ssi, spec.params)
	if err != nil {
		err = ForeignStoreError(err, r.cfg.Defaults, spec.params)
		f := staleness(readFailure(err), ssi, secret != nil)
		r.cfg.Events.Eventf(u, nil, corev1.EventTypeWarning, f.reason, "Sync", "%s", err.Error())
		// The Secret stays as it is: a store outage must not take an
		// application's configuration away.
		err = errors.Join(err, r.applyStatus(ctx, ssi, f.synced(), f.ready(), ssi.Status.LastSyncTime))
		return reconcile.Result{}, metrics.ResultError, err
	}
	written, err := r.write(ctx, u, ssi, spec, secret, data)
	if err != nil {
		f := staleness(failure{reason: ReasonSecretWriteFailed, err: err}, ssi, secret != nil)
		err = errors.Join(err, r.applyStatus(ctx, ssi, f.synced(), f.ready(), ssi.Status.LastSyncTime))
		return reconcile.Result{}, metrics.ResultError, err
	}
	r.cfg.Metrics.Synced(time.Since(began))
	r.recordSync(ssi, now)
	lastSync := metav1.NewTime(now)
	return r.finish(ctx, u, ssi, spec, written, &lastSync, now, written != secret)
}

// blocked says why the Secret cannot be written whatever the store holds.
func (r *Reconciler) blocked(secret *corev1.Secret, ssi *v1alpha1.SecretsStoreImport, spec syncSpec) (failure, bool) {
	if msg := conflict(secret, ssi, spec.creation); msg != "" {
		return failure{reason: ReasonSecretConflict, err: errors.New(msg)}, true
	}
	if secret == nil && spec.creation == v1alpha1.CreationMerge {
		return failure{reason: ReasonSecretNotFound, err: fmt.Errorf(
			"Secret %s/%s does not exist: creationPolicy Merge writes into an existing Secret", ssi.Namespace, ssi.Spec.Secret.Name)}, true
	}
	return failure{}, false
}

// due reports whether the store has to be read.
func (r *Reconciler) due(ssi *v1alpha1.SecretsStoreImport, secret *corev1.Secret, spec syncSpec, now time.Time) bool {
	last := r.lastSync(ssi)
	switch {
	case secret == nil, last == nil:
		return true
	case spec.refresh > 0 && !now.Before(last.Add(spec.refresh)):
		return true
	case secret.Annotations[AnnotationImport] != ssi.Name:
		return true
	}
	// Edited by hand: what is there is not what was written.
	return dataHMAC(r.cfg.HMACKey, ours(secret, spec.creation)) != secret.Annotations[AnnotationDataHMAC]
}

// keep is a reconcile that needs no store read: the data is as synced, but
// the Secret's labels, annotations or owner may need repair, and a rollout
// restart may be pending.
func (r *Reconciler) keep(ctx context.Context, u *unstructured.Unstructured, ssi *v1alpha1.SecretsStoreImport, spec syncSpec, secret *corev1.Secret, now time.Time) (reconcile.Result, string, error) {
	want := desired(secret, ssi, spec.creation, ours(secret, spec.creation), secret.Annotations[AnnotationDataHMAC])
	if changed(secret, want) {
		if err := r.cfg.Client.Update(ctx, want); err != nil {
			return reconcile.Result{}, metrics.ResultError, fmt.Errorf("repair Secret %s/%s: %w", want.Namespace, want.Name, err)
		}
		r.cfg.Metrics.SecretWritten("restore")
		r.cfg.Events.Eventf(u, nil, corev1.EventTypeNormal, ReasonRestored, "Sync",
			"restored the labels, annotations or owner of Secret %s/%s", want.Namespace, want.Name)
		secret = want
	}
	return r.finish(ctx, u, ssi, spec, secret, r.lastSync(ssi), now, false)
}

// finish restarts what has to be, sets the import's status to synced and
// schedules the next refresh from lastSync. written says the Secret was
// just written.
func (r *Reconciler) finish(ctx context.Context, u *unstructured.Unstructured, ssi *v1alpha1.SecretsStoreImport, spec syncSpec, secret *corev1.Secret, lastSync *metav1.Time, now time.Time, written bool) (reconcile.Result, string, error) {
	r.cfg.Metrics.Managed(ssi.Namespace+"/"+ssi.Name, true)
	rolloutErr := r.rollout(ctx, u, ssi, secret, now)
	synced := metav1.Condition{Type: status.Synced, Status: status.True, Reason: ReasonSynced,
		Message: fmt.Sprintf("read %d key(s) from the store as ServiceAccount %s/%s (role %q)",
			len(spec.params.Objects), ssi.Namespace, spec.params.ServiceAccount, spec.params.Role)}
	ready := metav1.Condition{Type: status.Ready, Status: status.True, Reason: ReasonSecretReady,
		Message: fmt.Sprintf("Secret %s/%s is up to date", secret.Namespace, secret.Name)}
	if err := errors.Join(rolloutErr, r.applyStatus(ctx, ssi, synced, ready, r.shownSync(ssi, lastSync, written))); err != nil {
		return reconcile.Result{}, metrics.ResultError, err
	}
	if spec.refresh == 0 {
		return reconcile.Result{}, metrics.ResultOK, nil
	}
	next := lastSync.Add(spec.refresh).Sub(now)
	return reconcile.Result{RequeueAfter: max(next, time.Second)}, metrics.ResultOK, nil
}

// shownSync is the lastSyncTime the status shows for a sync at lastSync. A
// refresh that found the data unchanged leaves the status as it is while
// the time shown is less than SyncTimeUpdate old: otherwise every import
// would cost the API server a status write per refresh interval, 10,000
// imports at a 2-minute refresh 83 writes a second, with nothing changed.
// The reconciler schedules the refreshes from its own record, not from
// the status.
func (r *Reconciler) shownSync(ssi *v1alpha1.SecretsStoreImport, lastSync *metav1.Time, written bool) *metav1.Time {
	shown := ssi.Status.LastSyncTime
	switch {
	case written, lastSync == nil, shown == nil, shown.After(lastSync.Time):
		return lastSync
	case ssi.Status.ObservedGeneration != ssi.Generation:
		return lastSync
	case lastSync.Sub(shown.Time) >= r.cfg.SyncTimeUpdate:
		return lastSync
	}
	if c := meta.FindStatusCondition(ssi.Status.Conditions, status.Synced); c == nil || c.Status != status.True || c.ObservedGeneration != ssi.Generation {
		return lastSync
	}
	return shown
}

// read logs in as the import's ServiceAccount and returns the Secret's data:
// each file read and rendered by the same pipeline as the CSI provider's.
func (r *Reconciler) read(ctx context.Context, ssi *v1alpha1.SecretsStoreImport, p secretmodel.Parameters) (map[string][]byte, error) {
	jwt, err := r.cfg.Tokens.Token(ctx, ssi.Namespace, p.ServiceAccount, p.Audience)
	if err != nil {
		return nil, &tokenError{err: err}
	}
	groups, err := secretfiles.Read(ctx, r.cfg.Store, secretfiles.Request{
		Params: p, Defaults: r.cfg.Defaults, JWT: jwt,
		FileBytes: render.SecretBytes, TotalBytes: render.SecretBytes,
	})
	if err != nil {
		return nil, err
	}
	data := make(map[string][]byte, len(p.Objects))
	for _, g := range groups {
		for i, o := range g.Objects {
			data[o.ObjectName] = g.Contents[i]
		}
	}
	return data, nil
}

// write makes the Secret hold data, writing only what differs, and returns
// the Secret as written.
func (r *Reconciler) write(ctx context.Context, u *unstructured.Unstructured, ssi *v1alpha1.SecretsStoreImport, spec syncSpec, secret *corev1.Secret, data map[string][]byte) (*corev1.Secret, error) {
	mac := dataHMAC(r.cfg.HMACKey, data)
	want := desired(secret, ssi, spec.creation, data, mac)
	var prevMAC string
	if secret != nil {
		prevMAC = secret.Annotations[AnnotationDataHMAC]
	}
	// The store's data changed (not a repair): the pods must read it anew.
	if secret != nil && prevMAC != "" && prevMAC != mac && len(ssi.Spec.RolloutRestart) > 0 {
		want.Annotations[AnnotationRolloutPending] = "true"
	}
	name := ssi.Namespace + "/" + ssi.Spec.Secret.Name
	var op, note string
	switch {
	case secret == nil:
		op, note = "create", fmt.Sprintf("created Secret %s with %d key(s)", name, len(data))
		if ssi.Status.LastSyncTime != nil {
			op, note = "restore", fmt.Sprintf("Secret %s was deleted; created it again with %d key(s)", name, len(data))
		}
		if err := r.cfg.Client.Create(ctx, want); err != nil {
			return nil, fmt.Errorf("create Secret %s: %w", name, err)
		}
	case secret.Type != want.Type:
		// The type of a Secret cannot change: replace it.
		op, note = "update", fmt.Sprintf("replaced Secret %s: type %s instead of %s", name, want.Type, secret.Type)
		if err := r.replace(ctx, secret, want); err != nil {
			return nil, err
		}
	case !changed(secret, want):
		return secret, nil
	default:
		op, note = "update", fmt.Sprintf("the store's data changed: updated Secret %s (%d key(s))", name, len(data))
		switch {
		case prevMAC == mac && !apiequality.Semantic.DeepEqual(ours(secret, spec.creation), data):
			op, note = "restore", fmt.Sprintf("Secret %s was changed outside the controller: restored its %d key(s)", name, len(data))
		case prevMAC == mac:
			note = fmt.Sprintf("updated the labels, annotations or owner of Secret %s", name)
		}
		if err := r.cfg.Client.Update(ctx, want); err != nil {
			return nil, fmt.Errorf("update Secret %s: %w", name, err)
		}
	}
	r.cfg.Metrics.SecretWritten(op)
	reason := map[string]string{"create": ReasonCreated, "update": ReasonUpdated, "restore": ReasonRestored}[op]
	// The action is part of the key the event recorder groups events into
	// series by (the note is not): a Secret recreated after its deletion
	// must not be counted as one more repair of an edit.
	action := "Update"
	if secret == nil {
		action = "Create"
	}
	r.cfg.Events.Eventf(u, nil, corev1.EventTypeNormal, reason, action, "%s", note)
	r.cfg.Log.Info("secret written", "import", ssi.Namespace+"/"+ssi.Name, "secret", name, "operation", op, "keys", len(data))
	return want, nil
}

// replace deletes have and creates want in its place.
func (r *Reconciler) replace(ctx context.Context, have, want *corev1.Secret) error {
	uid, rv := have.UID, have.ResourceVersion
	if err := r.cfg.Client.Delete(ctx, have, client.Preconditions{UID: &uid, ResourceVersion: &rv}); err != nil {
		return fmt.Errorf("delete Secret %s/%s to change its type: %w", have.Namespace, have.Name, err)
	}
	want.ResourceVersion, want.UID, want.CreationTimestamp = "", "", metav1.Time{}
	if err := r.cfg.Client.Create(ctx, want); err != nil {
		return fmt.Errorf("create Secret %s/%s with type %s: %w", want.Namespace, want.Name, want.Type, err)
	}
	return nil
}

// rollout restarts the import's workloads if a data change left a restart
// pending, then clears the mark. A failure keeps the mark, so the restart is
// retried.
func (r *Reconciler) rollout(ctx context.Context, u *unstructured.Unstructured, ssi *v1alpha1.SecretsStoreImport, secret *corev1.Secret, now time.Time) error {
	if secret.Annotations[AnnotationRolloutPending] != "true" {
		return nil
	}
	res, err := rollout.Restart(ctx, r.cfg.Client, ssi.Namespace, ssi.Spec.RolloutRestart, now)
	for _, t := range res.Restarted {
		r.cfg.Events.Eventf(u, nil, corev1.EventTypeNormal, ReasonRolloutRestarted, "RolloutRestart",
			"restarted %s: the data of Secret %s changed", t, secret.Name)
	}
	for _, t := range res.Missing {
		r.cfg.Events.Eventf(u, nil, corev1.EventTypeWarning, ReasonRolloutMissing, "RolloutRestart",
			"%s not found in namespace %s: not restarted", t, ssi.Namespace)
	}
	if err != nil {
		r.cfg.Events.Eventf(u, nil, corev1.EventTypeWarning, ReasonRolloutFailed, "RolloutRestart", "%s", err.Error())
		return err
	}
	cleared := secret.DeepCopy()
	cleared.Annotations = maps.Clone(secret.Annotations)
	delete(cleared.Annotations, AnnotationRolloutPending)
	if err := r.cfg.Client.Patch(ctx, cleared, client.MergeFromWithOptions(secret, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("clear %s of Secret %s/%s: %w", AnnotationRolloutPending, secret.Namespace, secret.Name, err)
	}
	return nil
}
