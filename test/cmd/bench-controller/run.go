// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/deckhouse/secrets-store-integration/test/bench"
	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/scrape"
	"github.com/deckhouse/secrets-store-integration/test/storeproxy"
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

// slowNamespace holds the slow tenant's imports (-slow-imports).
const slowNamespace = namespace + "-slow"

func slowName(i int) string { return fmt.Sprintf("slow%03d", i) }
func slowPath(i int) string { return fmt.Sprintf("bench/slow%03d", i) }

// prepare writes one KV v2 secret per import and a role every ServiceAccount
// of the namespaces may log in as.
func prepare(ctx context.Context, env *testenv.Env, o options) error {
	var namespaces []string
	for n := range o.namespaces {
		namespaces = append(namespaces, namespaceOf(n, o.namespaces))
	}
	if o.slowImports > 0 {
		namespaces = append(namespaces, slowNamespace)
	}
	for _, ns := range namespaces {
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
	if err := writeValues(ctx, env, o.slowImports, slowPath, "v1"); err != nil {
		return err
	}
	return writeValues(ctx, env, o.imports, secretPath, "v1")
}

// writeValues writes a fresh random value, tagged with round, into the n
// store secrets named by path, 16 at a time.
func writeValues(ctx context.Context, env *testenv.Env, n int, path func(int) string, round string) error {
	kv := env.Vault.KVv2(testenv.KVMount)
	errs := make([]error, n)
	bench.Parallel(ctx, n, 16, func(i int) {
		b := make([]byte, 16)
		_, _ = rand.Read(b) // crypto/rand.Read never fails
		if _, err := kv.Put(ctx, path(i), map[string]any{"value": round + "-" + hex.EncodeToString(b)}); err != nil {
			errs[i] = fmt.Errorf("write %s: %w", path(i), err)
		}
	})
	return errors.Join(append(errs, ctx.Err())...)
}

type setup struct {
	o   options
	env *testenv.Env
	cfg components.ControllerConfig
	ctl *supervisor.Process
	// slow is the delaying proxy the slow tenant's imports name as their
	// store; nil without -slow-imports.
	slow *storeproxy.Proxy
	// t follows the Secrets and imports; importWrites is its count of
	// import changes at the end of the last phase.
	t            *tracker
	importWrites int
}

// phase is what the controller did between two scrapes.
type phase struct {
	name                              string
	wall                              time.Duration
	reconciles, reconcileErrors       float64
	logins, reads, otherStore, tokens float64
	writes, importWrites              float64
	syncs                             float64
	syncMean, syncP50, syncP99        time.Duration
	rss, heap                         float64
	// peak is the process's VmHWM: the highest RSS since it started.
	peak float64
	// latP50, latP99, latMax: per import, from its creation (first sync)
	// or its store write (a change) until its Secret showed the value,
	// as the bench saw it through its watch; the slow tenant's not counted.
	latP50, latP99, latMax time.Duration
	// slowSynced is how many of the slow tenant's Secrets had the value
	// by the end of the phase.
	slowSynced int
}

type results struct {
	phases []phase
}

// createConcurrency is how many imports the bench creates at once: enough
// that creating 10,000 takes a minute, not the API server's whole time.
const createConcurrency = 16

func (b *setup) importSpec(i int) map[string]any {
	return map[string]any{
		"type": "KubernetesSecret", "role": role, "serviceAccountName": serviceAccount(i % b.o.serviceAccounts),
		"refreshInterval": b.o.refresh.String(), "secret": map[string]any{"name": importName(i)},
		"files": []any{map[string]any{"name": "value", "source": map[string]any{"path": "secret/data/" + secretPath(i), "key": "value"}}},
	}
}

// slowSpec is an import of the slow tenant: the same, through the proxy.
func (b *setup) slowSpec(i int) map[string]any {
	return map[string]any{
		"type": "KubernetesSecret", "role": role, "serviceAccountName": serviceAccount(i % b.o.serviceAccounts),
		"address": b.slow.URL(), "caCert": string(b.slow.CAPEM()),
		"refreshInterval": b.o.refresh.String(), "secret": map[string]any{"name": slowName(i)},
		"files": []any{map[string]any{"name": "value", "source": map[string]any{"path": "secret/data/" + slowPath(i), "key": "value"}}},
	}
}

func (b *setup) measure(ctx context.Context) (results, error) {
	var res results
	dyn, err := dynamic.NewForConfig(b.env.Config)
	if err != nil {
		return res, fmt.Errorf("make dynamic client: %w", err)
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	t, err := startTracker(watchCtx, b.env.Kube, dyn)
	if err != nil {
		return res, err
	}
	b.t = t
	keys := make([]string, b.o.imports)
	for i := range keys {
		keys[i] = namespaceOf(i, b.o.namespaces) + "/" + importName(i)
	}
	slowKeys := make([]string, b.o.slowImports)
	for i := range slowKeys {
		slowKeys[i] = slowNamespace + "/" + slowName(i)
	}
	before, err := b.ctl.Scrape(ctx)
	if err != nil {
		return res, err
	}

	if b.o.slowImports > 0 {
		bench.Step(fmt.Sprintf("creating the slow tenant's %d imports (its store answers after %s)", b.o.slowImports, b.o.slowDelay))
		t.expect("v1")
		for i := range b.o.slowImports {
			if err := components.ApplyImport(ctx, b.env, slowNamespace, slowName(i), b.slowSpec(i)); err != nil {
				return res, err
			}
		}
	}
	bench.Step(fmt.Sprintf("creating %d imports (refreshInterval %s, %d at a time) and waiting for every Secret", b.o.imports, b.o.refresh, createConcurrency))
	t.expect("v1")
	began := time.Now()
	created := make([]time.Time, b.o.imports)
	errs := make([]error, b.o.imports)
	bench.Parallel(ctx, b.o.imports, createConcurrency, func(i int) {
		created[i] = time.Now()
		errs[i] = components.ApplyImport(ctx, b.env, namespaceOf(i, b.o.namespaces), importName(i), b.importSpec(i))
	})
	if err := errors.Join(append(errs, ctx.Err())...); err != nil {
		return res, err
	}
	bench.Step(fmt.Sprintf("created in %s; waiting", time.Since(began).Round(time.Millisecond)))
	if err := t.wait(ctx, keys, true, "first sync"); err != nil {
		return res, err
	}
	p, after, err := b.phase(ctx, "first sync of all imports", time.Since(began), before)
	if err != nil {
		return res, err
	}
	p.latP50, p.latP99, p.latMax = latencies(t, keys, created)
	p.slowSynced, _ = t.counts(slowKeys)
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
	t.expect("v2")
	began = time.Now()
	if err := writeValues(ctx, b.env, b.o.slowImports, slowPath, "v2"); err != nil {
		return res, err
	}
	written := make([]time.Time, b.o.imports)
	kv := b.env.Vault.KVv2(testenv.KVMount)
	errs = make([]error, b.o.imports)
	bench.Parallel(ctx, b.o.imports, 16, func(i int) {
		if _, err := kv.Put(ctx, secretPath(i), map[string]any{"value": "v2-" + importName(i)}); err != nil {
			errs[i] = fmt.Errorf("write %s: %w", secretPath(i), err)
		}
		written[i] = time.Now()
	})
	if err := errors.Join(append(errs, ctx.Err())...); err != nil {
		return res, err
	}
	if err := t.wait(ctx, keys, false, "every secret changed"); err != nil {
		return res, err
	}
	p, _, err = b.phase(ctx, "every secret changed, until all Secrets have it", time.Since(began), after)
	if err != nil {
		return res, err
	}
	p.latP50, p.latP99, p.latMax = latencies(t, keys, written)
	p.slowSynced, _ = t.counts(slowKeys)
	res.phases = append(res.phases, p)
	if b.o.restart {
		if p, err = b.restart(ctx); err != nil {
			return res, err
		}
		res.phases = append(res.phases, p)
	}
	return res, nil
}

// restart stops the controller and starts a new one with every import and
// Secret in place, as a rollout or a crash does: its caches list them all
// at once. The phase lasts until it has read every import once.
func (b *setup) restart(ctx context.Context) (phase, error) {
	bench.Step("restarting the controller with every import in place")
	if err := b.ctl.Stop(); err != nil {
		return phase{}, err
	}
	began := time.Now()
	ctl, err := components.StartController(ctx, b.cfg)
	if err != nil {
		return phase{}, err
	}
	b.ctl = ctl
	bench.Step(fmt.Sprintf("started in %s; waiting until it holds the Lease and has read every import", time.Since(began).Round(time.Millisecond)))
	for {
		m, err := ctl.Scrape(ctx)
		if err != nil {
			return phase{}, err
		}
		reads := m.Sum("secrets_store_controller_store_requests_total", map[string]string{"operation": "read"})
		if reads >= float64(b.o.imports) {
			break
		}
		if err := testenv.Sleep(ctx, time.Second); err != nil {
			return phase{}, fmt.Errorf("%.0f of %d imports read after the restart: %w", reads, b.o.imports, err)
		}
	}
	p, _, err := b.phase(ctx, "controller restarted, until every import is read again", time.Since(began), nil)
	return p, err
}

// latencies returns the p50, p99 and maximum of the time from since[i] to
// when the Secret keys[i] showed the round's value.
func latencies(t *tracker, keys []string, since []time.Time) (p50, p99, most time.Duration) {
	var lat []time.Duration
	for i, k := range keys {
		if at, ok := t.seenAt(k); ok {
			lat = append(lat, max(at.Sub(since[i]), 0))
		}
	}
	if len(lat) == 0 {
		return 0, 0, 0
	}
	slices.Sort(lat)
	return bench.Percentile(lat, .5), bench.Percentile(lat, .99), lat[len(lat)-1]
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
	if p.peak, err = peakRSS(b.ctl.PID()); err != nil {
		return phase{}, nil, err
	}
	w := b.t.writes()
	p.importWrites, b.importWrites = float64(w-b.importWrites), w
	p.otherStore = delta(ns+"store_requests_total", nil) - p.logins - p.reads
	if p.syncs > 0 {
		p.syncMean = seconds(delta(ns+"sync_duration_seconds_sum", nil) / p.syncs)
		buckets := bucketDeltas(before, after, ns+"sync_duration_seconds_bucket")
		p.syncP50, p.syncP99 = quantile(buckets, .5), quantile(buckets, .99)
	}
	fmt.Fprintf(os.Stderr, "   %s: %s, %.0f reconciles, %.0f store reads, %.0f logins, %.0f Secret writes, %.0f import writes\n",
		name, wall.Round(time.Millisecond), p.reconciles, p.reads, p.logins, p.writes, p.importWrites)
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

// peakRSS returns the VmHWM of process pid in bytes.
func peakRSS(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				return 0, fmt.Errorf("peak RSS: %q: %w", line, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("peak RSS: no VmHWM in /proc/%d/status", pid)
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func markdown(cmd *bench.Command, o options, r results) string {
	var b strings.Builder
	b.WriteString(cmd.Header("the controller's Secret sync"))
	fmt.Fprintf(&b, "%d KubernetesSecret imports (one key of its own KV v2 secret each) in %d namespace(s), %d ServiceAccounts each, refreshInterval %s, --workers %d.\n",
		o.imports, o.namespaces, o.serviceAccounts, o.refresh, o.workers)
	if o.slowImports > 0 {
		fmt.Fprintf(&b, "A slow tenant: %d more imports in namespace %s whose store answers each request after %s (the controller gives up on a request after 15 s); the latencies and the sync histogram count the others only (a failed sync is not in the histogram).\n",
			o.slowImports, slowNamespace, o.slowDelay)
	}
	b.WriteString("\n| phase | wall s | reconciles (errors) | store reads | store logins | other store requests | TokenRequests | Secret writes | import writes (finalizer, status) | syncs | sync mean ms | sync p50 / p99 ms (bucket bound) | until Secret p50 / p99 / max s | slow tenant's Secrets synced | RSS (peak) MiB | heap in use MiB |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, p := range r.phases {
		lat, slow := "", ""
		if p.latMax > 0 {
			lat = fmt.Sprintf("%.1f / %.1f / %.1f", p.latP50.Seconds(), p.latP99.Seconds(), p.latMax.Seconds())
		}
		if o.slowImports > 0 && p.latMax > 0 {
			slow = fmt.Sprintf("%d of %d", p.slowSynced, o.slowImports)
		}
		fmt.Fprintf(&b, "| %s | %.1f | %.0f (%.0f) | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %s | %s / %s | %s | %s | %s (%s) | %s |\n",
			p.name, p.wall.Seconds(), p.reconciles, p.reconcileErrors, p.reads, p.logins, p.otherStore, p.tokens,
			p.writes, p.importWrites, p.syncs, bench.Ms(p.syncMean), bench.Ms(p.syncP50), bench.Ms(p.syncP99), lat, slow, bench.MiB(p.rss), bench.MiB(p.peak), bench.MiB(p.heap))
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
	ImportWrites    float64 `json:"import_writes"`
	Syncs           float64 `json:"syncs"`
	SyncMeanMs      float64 `json:"sync_mean_ms"`
	SyncP50Ms       float64 `json:"sync_p50_ms_bucket_bound"`
	SyncP99Ms       float64 `json:"sync_p99_ms_bucket_bound"`
	RSSMiB          float64 `json:"rss_mib"`
	PeakRSSMiB      float64 `json:"peak_rss_mib"`
	HeapMiB         float64 `json:"heap_in_use_mib"`
	// Per import until its Secret showed the value (first sync and change
	// phases only), the slow tenant's not counted.
	UntilSecretP50Ms float64 `json:"until_secret_p50_ms,omitempty"`
	UntilSecretP99Ms float64 `json:"until_secret_p99_ms,omitempty"`
	UntilSecretMaxMs float64 `json:"until_secret_max_ms,omitempty"`
	SlowSynced       int     `json:"slow_tenant_synced,omitempty"`
}

// resultsJSON is what -json writes.
type resultsJSON struct {
	bench.RunInfo
	Imports         int         `json:"imports"`
	Namespaces      int         `json:"namespaces"`
	ServiceAccounts int         `json:"service_accounts_per_namespace"`
	RefreshSeconds  float64     `json:"refresh_seconds"`
	Workers         int         `json:"workers"`
	SlowImports     int         `json:"slow_imports,omitempty"`
	SlowDelayS      float64     `json:"slow_delay_seconds,omitempty"`
	Phases          []phaseJSON `json:"phases"`
}

func newResultsJSON(info bench.RunInfo, o options, r results) resultsJSON {
	ms := bench.Millis
	var phases []phaseJSON
	for _, p := range r.phases {
		phases = append(phases, phaseJSON{Phase: p.name, WallSeconds: p.wall.Seconds(), Reconciles: p.reconciles,
			ReconcileErrors: p.reconcileErrors, StoreReads: p.reads, StoreLogins: p.logins, StoreOther: p.otherStore,
			TokenRequests: p.tokens, SecretWrites: p.writes, ImportWrites: p.importWrites, Syncs: p.syncs, SyncMeanMs: ms(p.syncMean),
			SyncP50Ms: ms(p.syncP50), SyncP99Ms: ms(p.syncP99), RSSMiB: bench.Mebibytes(p.rss), PeakRSSMiB: bench.Mebibytes(p.peak), HeapMiB: bench.Mebibytes(p.heap),
			UntilSecretP50Ms: ms(p.latP50), UntilSecretP99Ms: ms(p.latP99), UntilSecretMaxMs: ms(p.latMax), SlowSynced: p.slowSynced})
	}
	return resultsJSON{RunInfo: info, Imports: o.imports, Namespaces: o.namespaces, ServiceAccounts: o.serviceAccounts,
		RefreshSeconds: o.refresh.Seconds(), Workers: o.workers, SlowImports: o.slowImports, SlowDelayS: o.slowDelay.Seconds(), Phases: phases}
}
