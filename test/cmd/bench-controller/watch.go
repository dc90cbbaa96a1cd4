// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// tracker follows the managed Secrets and the imports through watches, so
// that waiting for 10,000 of them costs the API server one watch each and
// not a list of every object a few times a second (which, at that size, was
// a large part of what the API server on 2 cores had to do). It notes when
// each Secret first shows a round's value and when each import is Ready.
type tracker struct {
	mu sync.Mutex
	// round is the value prefix being waited for; seen holds when each
	// Secret ("namespace/name") first showed it.
	round string
	seen  map[string]time.Time
	ready map[string]bool
	// importWrites counts the changes of the imports the watch saw
	// (finalizers, statuses): the controller's API writes besides Secrets.
	importWrites int

	secrets cache.SharedIndexInformer
}

// startTracker starts the two informers and returns once both listed.
func startTracker(ctx context.Context, kube kubernetes.Interface, dyn dynamic.Interface) (*tracker, error) {
	t := &tracker{seen: map[string]time.Time{}, ready: map[string]bool{}}
	secrets := informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.LabelSelector = "secrets-store.deckhouse.io/managed=true"
	})).Core().V1().Secrets().Informer()
	if _, err := secrets.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    t.secret,
		UpdateFunc: func(_, obj any) { t.secret(obj) },
	}); err != nil {
		return nil, fmt.Errorf("watch Secrets: %w", err)
	}
	imports := dynamicinformer.NewDynamicSharedInformerFactory(dyn, 0).ForResource(ssiResource).Informer()
	if _, err := imports.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: t.ssi,
		UpdateFunc: func(_, obj any) {
			t.mu.Lock()
			t.importWrites++
			t.mu.Unlock()
			t.ssi(obj)
		},
	}); err != nil {
		return nil, fmt.Errorf("watch imports: %w", err)
	}
	t.secrets = secrets
	go secrets.RunWithContext(ctx)
	go imports.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), secrets.HasSynced, imports.HasSynced) {
		return nil, fmt.Errorf("watch Secrets and imports: %w", ctx.Err())
	}
	return t, nil
}

func (t *tracker) secret(obj any) {
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return
	}
	key := s.Namespace + "/" + s.Name
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, done := t.seen[key]; !done && t.round != "" && strings.HasPrefix(string(s.Data["value"]), t.round+"-") {
		t.seen[key] = now
	}
}

func (t *tracker) ssi(obj any) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return
	}
	ready := false
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == "Ready" && m["status"] == "True" {
			ready = true
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ready[u.GetNamespace()+"/"+u.GetName()] = ready
}

// expect starts waiting for the values of round. A Secret that already has
// it counts from now.
func (t *tracker) expect(round string) {
	t.mu.Lock()
	t.round, t.seen = round, map[string]time.Time{}
	t.mu.Unlock()
	for _, obj := range t.secrets.GetStore().List() {
		t.secret(obj)
	}
}

// counts returns how many of keys have the round's value and how many are
// Ready.
func (t *tracker) counts(keys []string) (synced, ready int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		if _, ok := t.seen[k]; ok {
			synced++
		}
		if t.ready[k] {
			ready++
		}
	}
	return synced, ready
}

// writes returns how many import changes the watch saw so far.
func (t *tracker) writes() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.importWrites
}

// seenAt returns when the Secret key showed the round's value.
func (t *tracker) seenAt(key string) (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	at, ok := t.seen[key]
	return at, ok
}

// wait returns once every one of keys has the round's value and, with
// needReady, is Ready; it tells progress every 30 s.
func (t *tracker) wait(ctx context.Context, keys []string, needReady bool, what string) error {
	last := time.Now()
	for {
		synced, ready := t.counts(keys)
		if synced == len(keys) && (!needReady || ready == len(keys)) {
			return nil
		}
		if time.Since(last) > 30*time.Second {
			fmt.Fprintf(os.Stderr, "   %s: %d of %d Secrets synced, %d Ready\n", what, synced, len(keys), ready)
			last = time.Now()
		}
		if err := testenv.Sleep(ctx, 250*time.Millisecond); err != nil {
			return fmt.Errorf("%s: %d of %d Secrets synced, %d Ready: %w", what, synced, len(keys), ready, err)
		}
	}
}
