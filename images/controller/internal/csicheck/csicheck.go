// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package csicheck gives SecretsStoreImports of type CSI a status. The CSI
// driver reads their files when a pod mounts the volume, with the pod's
// identity, so the controller cannot read anything itself; it checks what it
// can without an identity: the spec as the driver will take it, and whether
// the store knows the role (a login attempt with a token that cannot be
// valid, see store.CheckRole). Results are shared by imports that name the
// same store and role, for the check interval.
package csicheck

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/deckhouse/secrets-store-integration/images/api/v1alpha1"
	"github.com/deckhouse/secrets-store-integration/images/controller/internal/metrics"
	"github.com/deckhouse/secrets-store-integration/images/controller/internal/secretsync"
	"github.com/deckhouse/secrets-store-integration/images/controller/internal/status"
	"github.com/deckhouse/secrets-store-integration/images/internal/attributes"
	"github.com/deckhouse/secrets-store-integration/images/internal/params"
	"github.com/deckhouse/secrets-store-integration/images/internal/secretmodel"
	"github.com/deckhouse/secrets-store-integration/images/internal/store"
	"github.com/deckhouse/secrets-store-integration/images/internal/storepolicy"
)

// Name of the controller, in metrics and logs.
const Name = "csi-check"

// Condition reasons.
const (
	ReasonInvalidSpec        = "InvalidSpec"
	ReasonNotAllowed         = "NotAllowed"
	ReasonSpecValid          = "SpecValid"
	ReasonRoleFound          = "RoleFound"
	ReasonRoleNotFound       = "RoleNotFound"
	ReasonAuthMethodNotFound = "AuthMethodNotFound"
	ReasonStoreUnreachable   = "StoreUnreachable"
	// ReasonMountedByDriver is Synced's reason: the driver reads at mount.
	ReasonMountedByDriver = "ReadAtMount"
)

// Checker asks the store whether a role exists; *store.Store is one.
type Checker interface {
	CheckRole(ctx context.Context, cfg store.Config, authMount, role string) error
}

// Config of a Reconciler.
type Config struct {
	Client   client.Client
	Checker  Checker
	Defaults params.Defaults
	// Policy is what the module settings allow an import to name; the
	// role probe sends nothing to an address they do not allow.
	Policy storepolicy.Policy
	// Interval is how often the role is checked again; 0 turns the store
	// check off (spec validation only).
	Interval time.Duration
	Events   events.EventRecorder
	Metrics  *metrics.Metrics
	Now      func() time.Time
}

// Reconciler checks CSI imports.
type Reconciler struct {
	cfg Config

	mu      sync.Mutex
	results map[string]checked // by store, namespace, TLS, mount and role
}

type checked struct {
	err   error
	until time.Time
}

// New returns a Reconciler.
func New(cfg Config) *Reconciler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Reconciler{cfg: cfg, results: map[string]checked{}}
}

// SetupWithManager registers the controller for CSI imports: new ones and
// spec changes; the check interval requeues each.
func (r *Reconciler) SetupWithManager(mgr manager.Manager, opts controller.Options) error {
	ssi := &unstructured.Unstructured{}
	ssi.SetGroupVersionKind(v1alpha1.GroupVersionKind)
	return builder.ControllerManagedBy(mgr).
		Named(Name).
		For(ssi, builder.WithPredicates(secretsync.OfType(v1alpha1.TypeCSI), predicate.GenerationChangedPredicate{})).
		WithOptions(opts).
		Complete(r)
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	res, result, err := r.reconcile(ctx, req)
	r.cfg.Metrics.Reconciled(Name, result)
	return res, err
}

func (r *Reconciler) reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, string, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(v1alpha1.GroupVersionKind)
	if err := r.cfg.Client.Get(ctx, req.NamespacedName, u); err != nil {
		if apierrors.IsNotFound(err) {
			return reconcile.Result{}, metrics.ResultOK, nil
		}
		return reconcile.Result{}, metrics.ResultError, fmt.Errorf("get %s %s: %w", v1alpha1.Kind, req.NamespacedName, err)
	}
	ssi, err := v1alpha1.FromUnstructured(u)
	if err != nil || ssi.Spec.Type != v1alpha1.TypeCSI || ssi.DeletionTimestamp != nil {
		return reconcile.Result{}, metrics.ResultOK, nil
	}
	synced := metav1.Condition{Type: status.Synced, Status: status.Unknown, Reason: ReasonMountedByDriver,
		Message: "the CSI driver reads the files when a pod mounts the volume, as the pod's ServiceAccount; mount errors are in the pod's events"}
	p, err := csiParameters(ssi)
	if err == nil {
		err = r.cfg.Policy.CheckParameters(p)
	}
	if err != nil {
		reason := ReasonInvalidSpec
		if storepolicy.IsRefusal(err) {
			reason = ReasonNotAllowed
		}
		r.cfg.Events.Eventf(u, nil, corev1.EventTypeWarning, reason, "Validate", "%s", err.Error())
		ready := metav1.Condition{Type: status.Ready, Status: status.False, Reason: reason, Message: err.Error()}
		return reconcile.Result{}, metrics.ResultInvalid, r.apply(ctx, ssi, synced, ready)
	}
	if r.cfg.Interval <= 0 {
		ready := metav1.Condition{Type: status.Ready, Status: status.True, Reason: ReasonSpecValid,
			Message: "the spec is valid; the store is not checked (role check off)"}
		return reconcile.Result{}, metrics.ResultOK, r.apply(ctx, ssi, synced, ready)
	}
	cfg, login := r.cfg.Defaults.Connection(p)
	ready, checkErr := r.checkRole(ctx, cfg, login.AuthMount, p)
	if err := r.apply(ctx, ssi, synced, ready); err != nil {
		return reconcile.Result{}, metrics.ResultError, err
	}
	if checkErr != nil {
		// The store's health: retried with backoff.
		return reconcile.Result{}, metrics.ResultError, checkErr
	}
	return reconcile.Result{RequeueAfter: r.cfg.Interval}, metrics.ResultOK, nil
}

// csiParameters validates the spec exactly as the CSI driver will when a
// pod mounts the volume.
func csiParameters(ssi *v1alpha1.SecretsStoreImport) (secretmodel.Parameters, error) {
	attrs, err := attributes.FromImport(ssi, nil)
	if err != nil {
		return secretmodel.Parameters{}, err
	}
	return params.FromMap(attrs)
}

// checkRole returns the Ready condition for the role, and the error to
// retry on when the store could not answer.
func (r *Reconciler) checkRole(ctx context.Context, cfg store.Config, mount string, p secretmodel.Parameters) (metav1.Condition, error) {
	role := p.Role
	err, cached := r.cachedCheck(ctx, cfg, mount, role)
	where := fmt.Sprintf("auth/%s of %s", mount, cfg.Address)
	if cfg.Namespace != "" {
		where += " (namespace " + cfg.Namespace + ")"
	}
	result, cond := "found", metav1.Condition{Type: status.Ready, Status: status.True, Reason: ReasonRoleFound,
		Message: fmt.Sprintf("the spec is valid and role %q exists at %s", role, where)}
	switch {
	case errors.Is(err, store.ErrRoleNotFound):
		result, cond = "not_found", metav1.Condition{Type: status.Ready, Status: status.False, Reason: ReasonRoleNotFound,
			Message: fmt.Sprintf("role %q does not exist at %s: pods using this import cannot log in", role, where)}
		err = nil
	case errors.Is(err, store.ErrAuthMountNotFound):
		result, cond = "not_found", metav1.Condition{Type: status.Ready, Status: status.False, Reason: ReasonAuthMethodNotFound,
			Message: fmt.Sprintf("no auth method at %s (spec.authPath): pods using this import cannot log in", where)}
		err = nil
	case err != nil:
		result, cond = "error", metav1.Condition{Type: status.Ready, Status: status.False, Reason: ReasonStoreUnreachable,
			Message: fmt.Sprintf("could not check role %q at %s: %v", role, where, secretsync.ForeignStoreError(err, r.cfg.Defaults, p))}
	}
	if cached {
		result = "cached"
	}
	r.cfg.Metrics.RoleChecked(result)
	return cond, err
}

// cachedCheck asks the store, or reuses an answer about the same role that
// is younger than the interval. Store failures are not kept.
func (r *Reconciler) cachedCheck(ctx context.Context, cfg store.Config, mount, role string) (error, bool) {
	key := fmt.Sprintf("%q", []string{cfg.Address, cfg.Namespace, cfg.TLS.Key(), mount, role})
	now := r.cfg.Now()
	r.mu.Lock()
	c, ok := r.results[key]
	r.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.err, true
	}
	err := r.cfg.Checker.CheckRole(ctx, cfg, mount, role)
	if err == nil || errors.Is(err, store.ErrRoleNotFound) || errors.Is(err, store.ErrAuthMountNotFound) {
		r.mu.Lock()
		for k, old := range r.results {
			if !now.Before(old.until) {
				delete(r.results, k)
			}
		}
		r.results[key] = checked{err: err, until: now.Add(r.cfg.Interval)}
		r.mu.Unlock()
	}
	return err, false
}

func (r *Reconciler) apply(ctx context.Context, ssi *v1alpha1.SecretsStoreImport, synced, ready metav1.Condition) error {
	return status.Update(ctx, r.cfg.Client, ssi, r.cfg.Now().UTC().Truncate(time.Second), nil, synced, ready)
}
