// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/deckhouse/secrets-store-integration/test/bench"
	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/scrape"
	"github.com/deckhouse/secrets-store-integration/test/supervisor"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

var ssiResource = schema.GroupVersionResource{Group: "deckhouse.io", Version: "v1alpha1", Resource: "secretsstoreimports"}

func importName(i int) string     { return fmt.Sprintf("s%03d", i) }
func secretPath(i int) string     { return fmt.Sprintf("bench/s%03d", i) }
func serviceAccount(i int) string { return fmt.Sprintf("sa-%d", i) }

// namespaceOf spreads the imports over n namespaces, round robin.
func namespaceOf(i, n int) string {
	if n == 1 {
		return namespace
	}
	return fmt.Sprintf("%s-%03d", namespace, i%n)
}

// prepare writes one KV v2 secret per import and a role every ServiceAccount
// of the namespaces may log in as.
func prepare(ctx context.Context, env *testenv.Env, o options) error {
	var namespaces []string
	for n := range o.namespaces {
		ns := namespaceOf(n, o.namespaces)
		namespaces = append(namespaces, ns)
		for i := range o.serviceAccounts {
			if _, err := env.CreateServiceAccount(ctx, ns, serviceAccount(i)); err != nil {
				return err
			}
		}
	}
	if err := env.GrantRead(ctx, testenv.ReadGrant{
		Role: role, Policy: policy, Path: "secret/data/bench/*",
		Namespaces: namespaces, ServiceAccounts: []string{"*"}, TTL: 30 * time.Minute,
	}); err != nil {
		return err
	}
	return writeValues(ctx, env, o.imports, "v1")
}

// writeValues writes a fresh random value, tagged with round, into every
// store secret.
func writeValues(ctx context.Context, env *testenv.Env, n int, round string) error {
	kv := env.Vault.KVv2(testenv.KVMount)
	for i := range n {
		b := make([]byte, 16)
		_, _ = rand.Read(b) // crypto/rand.Read never fails
		if _, err := kv.Put(ctx, secretPath(i), map[string]any{"value": round + "-" + hex.EncodeToString(b)}); err != nil {
			return fmt.Errorf("write %s: %w", secretPath(i), err)
		}
	}
	return nil
}

type setup struct {
	o   options
	env *testenv.Env
	ctl *supervisor.Process
}

// phase is what the controller did between two scrapes.
type phase struct {
	name                              string
	wall                              time.Duration
	reconciles, reconcileErrors       float64
	logins, reads, otherStore, tokens float64
	writes                            float64
	syncs                             float64
	syncMean, syncP50, syncP99        time.Duration
	rss, heap                         float64
}

type results struct {
	phases []phase
}

func (b *setup) measure(ctx context.Context) (results, error) {
	var res results
	dyn, err := dynamic.NewForConfig(b.env.Config)
	if err != nil {
		return res, fmt.Errorf("make dynamic client: %w", err)
	}
	before, err := b.ctl.Scrape(ctx)
	if err != nil {
		return res, err
	}

	bench.Step(fmt.Sprintf("creating %d imports (refreshInterval %s) and waiting for every Secret", b.o.imports, b.o.refresh))
	began := time.Now()
	for i := range b.o.imports {
		if err := components.ApplyImport(ctx, b.env, namespaceOf(i, b.o.namespaces), importName(i), map[string]any{
			"type": "KubernetesSecret", "role": role, "serviceAccountName": serviceAccount(i % b.o.serviceAccounts),
			"refreshInterval": b.o.refresh.String(), "secret": map[string]any{"name": importName(i)},
			"files": []any{map[string]any{"name": "value", "source": map[string]any{"path": "secret/data/" + secretPath(i), "key": "value"}}},
		}); err != nil {
			return res, err
		}
	}
	if err := b.waitValues(ctx, "v1"); err != nil {
		return res, err
	}
	if err := b.waitReady(ctx, dyn); err != nil {
		return res, err
	}
	p, after, err := b.phase(ctx, "first sync of all imports", time.Since(began), before)
	if err != nil {
		return res, err
	}
	res.phases = append(res.phases, p)

	for i := range b.o.intervals {
		bench.Step(fmt.Sprintf("refresh interval %d/%d, nothing changed in the store", i+1, b.o.intervals))
		began := time.Now()
		if err := testenv.Sleep(ctx, b.o.refresh); err != nil {
			return res, err
		}
		p, after, err = b.phase(ctx, fmt.Sprintf("refresh interval %d, no change", i+1), time.Since(began), after)
		if err != nil {
			return res, err
		}
		res.phases = append(res.phases, p)
	}

	bench.Step("changing every secret in the store and waiting for every Secret")
	began = time.Now()
	if err := writeValues(ctx, b.env, b.o.imports, "v2"); err != nil {
		return res, err
	}
	if err := b.waitValues(ctx, "v2"); err != nil {
		return res, err
	}
	p, _, err = b.phase(ctx, "every secret changed, until all Secrets have it", time.Since(began), after)
	if err != nil {
		return res, err
	}
	res.phases = append(res.phases, p)
	return res, nil
}

// waitValues polls the Secrets until each value starts with round.
func (b *setup) waitValues(ctx context.Context, round string) error {
	for {
		list, err := b.env.Kube.CoreV1().Secrets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: "secrets-store.deckhouse.io/managed=true"})
		if err != nil {
			return fmt.Errorf("list Secrets: %w", err)
		}
		done := 0
		for _, s := range list.Items {
			if strings.HasPrefix(string(s.Data["value"]), round+"-") {
				done++
			}
		}
		if done == b.o.imports {
			return nil
		}
		if err := testenv.Sleep(ctx, 200*time.Millisecond); err != nil {
			return fmt.Errorf("%d of %d Secrets have the %s values: %w", done, b.o.imports, round, err)
		}
	}
}

// waitReady polls the imports until each is Ready.
func (b *setup) waitReady(ctx context.Context, dyn dynamic.Interface) error {
	for {
		list, err := dyn.Resource(ssiResource).Namespace(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("list imports: %w", err)
		}
		ready := 0
		for _, u := range list.Items {
			conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
			for _, c := range conds {
				if m, ok := c.(map[string]any); ok && m["type"] == "Ready" && m["status"] == "True" {
					ready++
				}
			}
		}
		if ready == b.o.imports {
			return nil
		}
		if err := testenv.Sleep(ctx, 200*time.Millisecond); err != nil {
			return fmt.Errorf("%d of %d imports Ready: %w", ready, b.o.imports, err)
		}
	}
}

// phase scrapes the controller and returns what changed since before.
func (b *setup) phase(ctx context.Context, name string, wall time.Duration, before scrape.Metrics) (phase, scrape.Metrics, error) {
	after, err := b.ctl.Scrape(ctx)
	if err != nil {
		return phase{}, nil, err
	}
	rss, err := b.ctl.RSS()
	if err != nil {
		return phase{}, nil, err
	}
	delta := func(name string, labels map[string]string) float64 {
		return after.Sum(name, labels) - before.Sum(name, labels)
	}
	const ns = "secrets_store_controller_"
	store := func(op string) float64 { return delta(ns+"store_requests_total", map[string]string{"operation": op}) }
	p := phase{
		name: name, wall: wall,
		reconciles:      delta(ns+"reconciles_total", map[string]string{"controller": "secret-sync"}),
		reconcileErrors: delta(ns+"reconciles_total", map[string]string{"controller": "secret-sync", "result": "error"}),
		logins:          store("login"), reads: store("read"),
		tokens: delta(ns+"serviceaccount_token_requests_total", nil),
		writes: delta(ns+"secret_writes_total", nil),
		syncs:  delta(ns+"sync_duration_seconds_count", nil),
		rss:    float64(rss), heap: after.Sum("go_memstats_heap_inuse_bytes", nil),
	}
	p.otherStore = delta(ns+"store_requests_total", nil) - p.logins - p.reads
	if p.syncs > 0 {
		p.syncMean = seconds(delta(ns+"sync_duration_seconds_sum", nil) / p.syncs)
		buckets := bucketDeltas(before, after, ns+"sync_duration_seconds_bucket")
		p.syncP50, p.syncP99 = quantile(buckets, .5), quantile(buckets, .99)
	}
	fmt.Fprintf(os.Stderr, "   %s: %s, %.0f reconciles, %.0f store reads, %.0f logins, %.0f Secret writes\n",
		name, wall.Round(time.Millisecond), p.reconciles, p.reads, p.logins, p.writes)
	return p, after, nil
}

// bucket is a histogram bucket: the count of observations at or below le.
type bucket struct {
	le    float64
	count float64
}

func bucketDeltas(before, after scrape.Metrics, name string) []bucket {
	var out []bucket
	for _, s := range after {
		if s.Name != name {
			continue
		}
		le, err := strconv.ParseFloat(s.Labels["le"], 64)
		if err != nil {
			continue
		}
		out = append(out, bucket{le: le, count: s.Value - before.Sum(name, map[string]string{"le": s.Labels["le"]})})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].le < out[j].le })
	return out
}

// quantile is the upper bound of the bucket holding quantile q: what the
// histogram can tell, an upper estimate.
func quantile(buckets []bucket, q float64) time.Duration {
	if len(buckets) == 0 || buckets[len(buckets)-1].count == 0 {
		return 0
	}
	total := buckets[len(buckets)-1].count
	for _, b := range buckets {
		if b.count >= q*total {
			if math.IsInf(b.le, 1) {
				return time.Duration(math.MaxInt64)
			}
			return seconds(b.le)
		}
	}
	return 0
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func markdown(cmd *bench.Command, o options, r results) string {
	var b strings.Builder
	b.WriteString(cmd.Header("the controller's Secret sync"))
	fmt.Fprintf(&b, "%d KubernetesSecret imports (one key of its own KV v2 secret each) in %d namespace(s), %d ServiceAccounts each, refreshInterval %s, --workers %d.\n\n",
		o.imports, o.namespaces, o.serviceAccounts, o.refresh, o.workers)
	b.WriteString("| phase | wall s | reconciles (errors) | store reads | store logins | other store requests | TokenRequests | Secret writes | syncs | sync mean ms | sync p50 / p99 ms (bucket bound) | RSS MiB | heap in use MiB |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, p := range r.phases {
		fmt.Fprintf(&b, "| %s | %.1f | %.0f (%.0f) | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %s | %s / %s | %s | %s |\n",
			p.name, p.wall.Seconds(), p.reconciles, p.reconcileErrors, p.reads, p.logins, p.otherStore, p.tokens,
			p.writes, p.syncs, bench.Ms(p.syncMean), bench.Ms(p.syncP50), bench.Ms(p.syncP99), bench.MiB(p.rss), bench.MiB(p.heap))
	}
	return b.String()
}

// phaseJSON is a phase as -json writes it, for the charts.
type phaseJSON struct {
	Phase           string  `json:"phase"`
	WallSeconds     float64 `json:"wall_seconds"`
	Reconciles      float64 `json:"reconciles"`
	ReconcileErrors float64 `json:"reconcile_errors"`
	StoreReads      float64 `json:"store_reads"`
	StoreLogins     float64 `json:"store_logins"`
	StoreOther      float64 `json:"store_other_requests"`
	TokenRequests   float64 `json:"token_requests"`
	SecretWrites    float64 `json:"secret_writes"`
	Syncs           float64 `json:"syncs"`
	SyncMeanMs      float64 `json:"sync_mean_ms"`
	SyncP50Ms       float64 `json:"sync_p50_ms_bucket_bound"`
	SyncP99Ms       float64 `json:"sync_p99_ms_bucket_bound"`
	RSSMiB          float64 `json:"rss_mib"`
	HeapMiB         float64 `json:"heap_in_use_mib"`
}

// resultsJSON is what -json writes.
type resultsJSON struct {
	bench.RunInfo
	Imports         int         `json:"imports"`
	Namespaces      int         `json:"namespaces"`
	ServiceAccounts int         `json:"service_accounts_per_namespace"`
	RefreshSeconds  float64     `json:"refresh_seconds"`
	Workers         int         `json:"workers"`
	Phases          []phaseJSON `json:"phases"`
}

func newResultsJSON(info bench.RunInfo, o options, r results) resultsJSON {
	ms := bench.Millis
	var phases []phaseJSON
	for _, p := range r.phases {
		phases = append(phases, phaseJSON{Phase: p.name, WallSeconds: p.wall.Seconds(), Reconciles: p.reconciles,
			ReconcileErrors: p.reconcileErrors, StoreReads: p.reads, StoreLogins: p.logins, StoreOther: p.otherStore,
			TokenRequests: p.tokens, SecretWrites: p.writes, Syncs: p.syncs, SyncMeanMs: ms(p.syncMean),
			SyncP50Ms: ms(p.syncP50), SyncP99Ms: ms(p.syncP99), RSSMiB: bench.Mebibytes(p.rss), HeapMiB: bench.Mebibytes(p.heap)})
	}
	return resultsJSON{RunInfo: info, Imports: o.imports, Namespaces: o.namespaces, ServiceAccounts: o.serviceAccounts,
		RefreshSeconds: o.refresh.Seconds(), Workers: o.workers, Phases: phases}
}
