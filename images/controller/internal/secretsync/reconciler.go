// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package secretsync is way 4 of the module: it keeps a Kubernetes Secret
// in sync with the store for each SecretsStoreImport of type
// KubernetesSecret. It logs in as the import's ServiceAccount (a token from
// the TokenRequest API), reads what spec.files names, renders it as the CSI
// provider renders files, and writes the Secret only when its content
// differs. It restores a Secret edited or deleted by hand, restarts the
// named workloads when the data changes, and cleans up per the deletion
// policy through a finalizer.
package secretsync

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/deckhouse/secrets-store-integration/images/api/v1alpha1"
	"github.com/deckhouse/secrets-store-integration/images/controller/internal/metrics"
	"github.com/deckhouse/secrets-store-integration/images/controller/internal/satoken"
	"github.com/deckhouse/secrets-store-integration/images/controller/internal/status"
	"github.com/deckhouse/secrets-store-integration/images/internal/params"
	"github.com/deckhouse/secrets-store-integration/images/internal/store"
	"github.com/deckhouse/secrets-store-integration/images/internal/storepolicy"
)

// Name of the controller, in metrics and logs.
const Name = "secret-sync"

// Finalizer holds a KubernetesSecret import until its Secret is cleaned up
// per spec.deletionPolicy; it works without a garbage collector.
const Finalizer = "secrets-store.deckhouse.io/secret-sync"

// Config of a Reconciler.
type Config struct {
	// Client reads through the manager's cache (imports, managed Secrets)
	// and writes to the API.
	Client client.Client
	// APIReader reads Secrets that are not in the cache: those the
	// controller does not manage yet (a Merge target, a conflicting one).
	APIReader client.Reader
	Store     *store.Store
	Tokens    *satoken.Cache
	Defaults  params.Defaults
	// Policy is what the module settings allow an import to name.
	Policy storepolicy.Policy
	// HMACKey keys the digest of the data kept in each Secret's annotation.
	HMACKey []byte
	// SyncTimeout bounds one sync: token, login, reads and writes.
	SyncTimeout time.Duration
	Events      events.EventRecorder
	Metrics     *metrics.Metrics
	Log         *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// SyncTimeUpdate is how old status.lastSyncTime may grow while the
	// refreshes find the data unchanged (0: every refresh writes it).
	SyncTimeUpdate time.Duration
	// PerNamespace bounds the imports of one namespace synced at once
	// (0: 1). With more workers than that, a namespace whose store is slow
	// cannot hold every worker: the others sync other namespaces.
	PerNamespace int
}

// Reconciler syncs KubernetesSecret imports.
type Reconciler struct {
	cfg Config

	inFlight *nsLimiter

	mu sync.Mutex
	// synced is when each import's store was last read, for the generation
	// read. The cache shows the status written after a sync a moment
	// later; the watch event of the Secret just written must not read the
	// store again because of that.
	synced map[types.NamespacedName]syncRecord
}

type syncRecord struct {
	generation int64
	at         time.Time
}

// New returns a Reconciler.
func New(cfg Config) *Reconciler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SyncTimeout <= 0 {
		cfg.SyncTimeout = time.Minute
	}
	return &Reconciler{cfg: cfg, synced: map[types.NamespacedName]syncRecord{}, inFlight: newNSLimiter(cfg.PerNamespace)}
}

// nsLimiter counts the reconciles under way per namespace.
type nsLimiter struct {
	max int
	mu  sync.Mutex
	n   map[string]int
}

func newNSLimiter(limit int) *nsLimiter { return &nsLimiter{max: max(limit, 1), n: map[string]int{}} }

// acquire takes a slot of ns, or reports that its imports hold all of theirs.
func (l *nsLimiter) acquire(ns string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[ns] >= l.max {
		return false
	}
	l.n[ns]++
	return true
}

func (l *nsLimiter) release(ns string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[ns]--; l.n[ns] <= 0 {
		delete(l.n, ns)
	}
}

// deferDelay is how long an import waits when its namespace has all its
// slots taken; the jitter spreads the retries of many imports.
func deferDelay() time.Duration { return time.Second + rand.N(time.Second) }

// SetupWithManager registers the controller: it watches KubernetesSecret
// imports (new ones, spec changes, deletions) and the Secrets it manages
// (the manager's cache holds only those), so an edit or a deletion by hand
// is seen at once.
func (r *Reconciler) SetupWithManager(mgr manager.Manager, opts controller.Options) error {
	ssi := &unstructured.Unstructured{}
	ssi.SetGroupVersionKind(v1alpha1.GroupVersionKind)
	return builder.ControllerManagedBy(mgr).
		Named(Name).
		For(ssi, builder.WithPredicates(OfType(v1alpha1.TypeKubernetesSecret),
			predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, deleting{}))).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(importOfSecret)).
		WithOptions(opts).
		Complete(r)
}

// OfType passes imports of spec.type t.
func OfType(t string) predicate.Predicate {
	return predicate.NewPredicateFuncs(func(obj client.Object) bool {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return false
		}
		got, _, _ := unstructured.NestedString(u.Object, "spec", "type")
		return got == t
	})
}

// deleting passes updates that mark an object for deletion.
type deleting struct{ predicate.Funcs }

func (deleting) Update(e event.UpdateEvent) bool {
	return e.ObjectNew != nil && e.ObjectNew.GetDeletionTimestamp() != nil
}

// importOfSecret maps a managed Secret to the import that writes it.
func importOfSecret(_ context.Context, obj client.Object) []reconcile.Request {
	name := obj.GetAnnotations()[AnnotationImport]
	if name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: name}}}
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	if !r.inFlight.acquire(req.Namespace) {
		// Not a failure: the import waits its turn without a worker.
		r.cfg.Log.Debug("namespace at its limit of syncs at once; import deferred", "import", req.String())
		return reconcile.Result{RequeueAfter: deferDelay()}, nil
	}
	defer r.inFlight.release(req.Namespace)
	ctx, cancel := context.WithTimeout(ctx, r.cfg.SyncTimeout)
	defer cancel()
	res, result, err := r.reconcile(ctx, req.NamespacedName)
	r.cfg.Metrics.Reconciled(Name, result)
	return res, err
}

func (r *Reconciler) reconcile(ctx context.Context, key types.NamespacedName) (reconcile.Result, string, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(v1alpha1.GroupVersionKind)
	if err := r.cfg.Client.Get(ctx, key, u); err != nil {
		if apierrors.IsNotFound(err) {
			r.cfg.Metrics.Managed(key.String(), false)
			r.forget(key)
			return reconcile.Result{}, metrics.ResultOK, nil
		}
		return reconcile.Result{}, metrics.ResultError, fmt.Errorf("get %s %s: %w", v1alpha1.Kind, key, err)
	}
	ssi, err := v1alpha1.FromUnstructured(u)
	if err != nil {
		// The API server validated it; a retry would read the same.
		r.cfg.Log.Error("undecodable import", "import", key.String(), "error", err.Error())
		return reconcile.Result{}, metrics.ResultInvalid, nil
	}
	if ssi.Spec.Type != v1alpha1.TypeKubernetesSecret {
		return reconcile.Result{}, metrics.ResultOK, nil
	}
	if ssi.DeletionTimestamp != nil {
		return r.finalize(ctx, u, ssi)
	}
	spec, err := parseSpec(ssi, r.cfg.Policy)
	if err != nil {
		f := specFailure(err)
		r.cfg.Events.Eventf(u, nil, corev1.EventTypeWarning, f.reason, "Validate", "%s", err.Error())
		return reconcile.Result{}, metrics.ResultInvalid, r.applyStatus(ctx, ssi, f.synced(), f.ready(), ssi.Status.LastSyncTime)
	}
	if err := r.addFinalizer(ctx, u); err != nil {
		return reconcile.Result{}, metrics.ResultError, err
	}
	return r.sync(ctx, u, ssi, spec)
}

// addFinalizer makes sure the import is not deleted before its Secret is
// cleaned up.
func (r *Reconciler) addFinalizer(ctx context.Context, u *unstructured.Unstructured) error {
	if slices.Contains(u.GetFinalizers(), Finalizer) {
		return nil
	}
	orig := u.DeepCopy()
	u.SetFinalizers(append(u.GetFinalizers(), Finalizer))
	if err := r.cfg.Client.Patch(ctx, u, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("add finalizer to %s %s/%s: %w", v1alpha1.Kind, u.GetNamespace(), u.GetName(), err)
	}
	return nil
}

// getSecret returns the import's Secret, nil if there is none: from the
// cache when the controller manages it, else from the API.
func (r *Reconciler) getSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	key := types.NamespacedName{Namespace: namespace, Name: name}
	s := &corev1.Secret{}
	err := r.cfg.Client.Get(ctx, key, s)
	if apierrors.IsNotFound(err) {
		err = r.cfg.APIReader.Get(ctx, key, s)
	}
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get Secret %s: %w", key, err)
	}
	return s, nil
}

// lastSync returns when the store was last read successfully for the
// import's current generation, nil if it was not: the later of the status
// and the reconciler's own record.
func (r *Reconciler) lastSync(ssi *v1alpha1.SecretsStoreImport) *metav1.Time {
	var last *metav1.Time
	if c := meta.FindStatusCondition(ssi.Status.Conditions, status.Synced); c != nil && c.Status == status.True && c.ObservedGeneration == ssi.Generation {
		last = ssi.Status.LastSyncTime
	}
	r.mu.Lock()
	rec, ok := r.synced[types.NamespacedName{Namespace: ssi.Namespace, Name: ssi.Name}]
	r.mu.Unlock()
	if ok && rec.generation == ssi.Generation && (last == nil || rec.at.After(last.Time)) {
		at := metav1.NewTime(rec.at)
		last = &at
	}
	return last
}

// recordSync notes a successful read of the store.
func (r *Reconciler) recordSync(ssi *v1alpha1.SecretsStoreImport, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.synced[types.NamespacedName{Namespace: ssi.Namespace, Name: ssi.Name}] = syncRecord{generation: ssi.Generation, at: at}
}

// forget drops the record of an import: a read is starting (a failure must
// not leave the previous success standing), or the import is gone.
func (r *Reconciler) forget(key types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.synced, key)
}

// now returns the clock, to the second as the API stores times.
func (r *Reconciler) now() time.Time { return r.cfg.Now().UTC().Truncate(time.Second) }
