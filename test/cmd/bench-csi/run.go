// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"

	"github.com/deckhouse/secrets-store-integration/test/bench"
	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/supervisor"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// spec is one run: N volumes of an SSI with files files, published
// concurrency at a time by pods of serviceAccounts (round robin).
type spec struct {
	files, concurrency int
	serviceAccounts    []string
}

// plan lists the runs: every (files, concurrency) with pods sharing a few
// service accounts, so shared reads show, then one where each pod has its
// own, so they cannot.
func plan(o options) []spec {
	shared := make([]string, o.sharedSAs)
	for i := range shared {
		shared[i] = fmt.Sprintf("shared-%d", i)
	}
	var runs []spec
	for _, f := range o.files {
		for _, c := range o.concurrency {
			runs = append(runs, spec{files: f, concurrency: c, serviceAccounts: shared})
		}
	}
	if o.ownSAFiles > 0 {
		own := make([]string, o.volumes)
		for i := range own {
			own[i] = fmt.Sprintf("pod-%03d", i)
		}
		runs = append(runs, spec{files: o.ownSAFiles, concurrency: slices.Max(o.concurrency), serviceAccounts: own})
	}
	return runs
}

func importName(files int) string { return fmt.Sprintf("files-%d", files) }
func secretPath(i int) string     { return fmt.Sprintf("bench/s%03d", i) }
func fileName(i int) string       { return fmt.Sprintf("f%03d", i) }
func uid(run, pod int) string     { return fmt.Sprintf("00000000-0000-4000-8000-%06d%06d", run, pod) }
func podName(run, pod int) string { return fmt.Sprintf("r%d-p%03d", run, pod) }

// prepare writes what the runs read: one KV v2 secret per file (so a volume
// of n files is n store reads unless shared), a role every service account
// of the namespace may log in as, and one SecretsStoreImport per file count.
func prepare(ctx context.Context, env *testenv.Env, o options, runs []spec) error {
	sas := map[string]bool{}
	counts := map[int]bool{}
	maxFiles := 0
	for _, r := range runs {
		for _, sa := range r.serviceAccounts {
			sas[sa] = true
		}
		counts[r.files] = true
		maxFiles = max(maxFiles, r.files)
	}
	for sa := range sas {
		if _, err := env.CreateServiceAccount(ctx, namespace, sa); err != nil {
			return err
		}
	}
	if err := env.GrantRead(ctx, testenv.ReadGrant{
		Role: role, Policy: policy, Path: "secret/data/bench/*",
		Namespace: namespace, ServiceAccounts: []string{"*"}, TTL: 30 * time.Minute,
	}); err != nil {
		return err
	}
	kv := env.Vault.KVv2(testenv.KVMount)
	for i := range maxFiles {
		value := make([]byte, 32)
		_, _ = rand.Read(value) // crypto/rand.Read never fails
		if _, err := kv.Put(ctx, secretPath(i), map[string]any{"value": hex.EncodeToString(value)}); err != nil {
			return fmt.Errorf("write %s: %w", secretPath(i), err)
		}
	}
	for n := range counts {
		files := make([]any, n)
		for i := range files {
			files[i] = map[string]any{"name": fileName(i), "source": map[string]any{
				"path": testenv.KVMount + "/data/" + secretPath(i), "key": "value",
			}}
		}
		if err := components.ApplyImport(ctx, env, namespace, importName(n), map[string]any{
			"type": "CSI", "role": role, "address": env.VaultAddr, "caCert": string(env.VaultCAPEM),
			"files": files,
		}); err != nil {
			return err
		}
	}
	return nil
}

// result is what one run measured.
type result struct {
	spec
	volumes                        int
	latencies                      []time.Duration // of publishes, sorted
	publishWall, unpublishWall     time.Duration
	logins, reads, other, hits     float64
	driverRSS, driverPeak          int64
	providerRSS, providerPeak      int64
	publishErrors, unpublishErrors int
	firstError                     error
}

func (r result) perSecond() float64 { return float64(r.volumes) / r.publishWall.Seconds() }

func (r result) summary() string {
	return fmt.Sprintf("p50 %s ms, p99 %s ms, max %s ms, %.1f volumes/s; store: %.0f logins, %.0f reads; RSS driver %s MiB (peak %s), provider %s MiB (peak %s); %d errors",
		bench.Ms(bench.Percentile(r.latencies, .5)), bench.Ms(bench.Percentile(r.latencies, .99)), bench.Ms(r.latencies[len(r.latencies)-1]),
		r.perSecond(), r.logins, r.reads, bench.MiB(r.driverRSS), bench.MiB(r.driverPeak), bench.MiB(r.providerRSS), bench.MiB(r.providerPeak),
		r.publishErrors+r.unpublishErrors)
}

// run measures one spec. Both processes start afresh, so the token cache,
// the shared reads and the counters of one run do not help the next.
func (b *setup) run(ctx context.Context, n int, s spec) (res result, err error) {
	res = result{spec: s, volumes: b.o.volumes}
	if err := b.provider.Restart(ctx); err != nil {
		return res, err
	}
	if err := b.driver.Restart(ctx); err != nil {
		return res, err
	}

	// Kubelet asks for the tokens before it calls the driver: not timed.
	vols := make([]components.Volume, b.o.volumes)
	reqs := make([]*csi.NodePublishVolumeRequest, b.o.volumes)
	for i := range vols {
		name := podName(n, i)
		if vols[i], err = b.kubelet.NewVolume(name); err != nil {
			return res, err
		}
		pod := components.Pod{Name: name, Namespace: namespace, UID: uid(n, i),
			ServiceAccount: s.serviceAccounts[i%len(s.serviceAccounts)]}
		if reqs[i], err = b.kubelet.PublishRequest(ctx, vols[i], pod, importName(s.files)); err != nil {
			return res, err
		}
	}
	// Whatever happens below, every volume of the run is unpublished.
	defer func() {
		if err == nil {
			return
		}
		cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		for _, v := range vols {
			_ = b.kubelet.Unpublish(cleanup, v)
		}
	}()

	before, err := b.provider.Scrape(ctx)
	if err != nil {
		return res, err
	}
	sampler := supervisor.StartPeakRSS(20*time.Millisecond, b.driver.PID(), b.provider.PID())

	publishErrs := make([]error, len(reqs))
	latencies := make([]time.Duration, len(reqs))
	res.publishWall = bench.Parallel(ctx, len(reqs), s.concurrency, func(i int) {
		start := time.Now()
		publishErrs[i] = b.kubelet.Send(ctx, reqs[i])
		latencies[i] = time.Since(start)
	})
	res.latencies = latencies
	slices.Sort(res.latencies)

	after, err := b.provider.Scrape(ctx)
	if err != nil {
		sampler.Stop()
		return res, err
	}
	const requests = "secrets_store_vault_provider_store_requests_total"
	delta := func(op string) float64 {
		l := map[string]string{"operation": op}
		return after.Sum(requests, l) - before.Sum(requests, l)
	}
	res.logins, res.reads = delta("login"), delta("read")
	res.other = after.Sum(requests, nil) - before.Sum(requests, nil) - res.logins - res.reads
	const hits = "secrets_store_vault_provider_shared_read_hits_total"
	res.hits = after.Sum(hits, nil) - before.Sum(hits, nil)

	// A check that the run delivered what it claims to.
	if publishErrs[0] == nil {
		if got, err := countFiles(vols[0].Target); err != nil || got != s.files {
			sampler.Stop()
			return res, fmt.Errorf("volume %s holds %d files, want %d (%v)", vols[0].Target, got, s.files, err)
		}
	}

	unpublishErrs := make([]error, len(vols))
	res.unpublishWall = bench.Parallel(ctx, len(vols), s.concurrency, func(i int) {
		unpublishErrs[i] = b.kubelet.Unpublish(ctx, vols[i])
	})
	res.driverRSS, _ = b.driver.RSS()
	res.providerRSS, _ = b.provider.RSS()
	// The reading above counts too: it may fall between two samples.
	peaks := sampler.Stop()
	res.driverPeak, res.providerPeak = max(peaks[0], res.driverRSS), max(peaks[1], res.providerRSS)

	for _, e := range publishErrs {
		if e != nil {
			res.publishErrors++
			res.firstError = cmp.Or(res.firstError, e)
		}
	}
	for _, e := range unpublishErrs {
		if e != nil {
			res.unpublishErrors++
			res.firstError = cmp.Or(res.firstError, e)
		}
	}
	if res.unpublishErrors > 0 {
		// Some targets may still be mounted: the deferred cleanup retries.
		return res, fmt.Errorf("%d unpublishes failed, first: %w", res.unpublishErrors, res.firstError)
	}
	return res, ctx.Err()
}

// countFiles counts the names a reader of the volume sees (the ..data
// bookkeeping aside).
func countFiles(dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("read volume: %w", err)
	}
	n := 0
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "..") {
			n++
		}
	}
	return n, nil
}

func firstError(results []result) error {
	for _, r := range results {
		if r.firstError != nil {
			return r.firstError
		}
	}
	return errors.New("none recorded")
}

// markdown renders the results with what is needed to compare them.
func markdown(cmd *bench.Command, o options, results []result) string {
	var b strings.Builder
	b.WriteString(cmd.Header("csi-driver + vault-provider"))
	fmt.Fprintf(&b, "%d volumes per run; latency is one NodePublishVolume call; store requests are the provider's requests to Vault during the publishes.\n\n", o.volumes)
	b.WriteString("| files/volume | concurrent | service accounts | publish p50 ms | p99 ms | max ms | volumes/s | unpublish all s | store logins | store reads | other store requests | shared-read hits | driver RSS MiB after / peak | provider RSS MiB after / peak | errors |\n")
	b.WriteString("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range results {
		sas := fmt.Sprint(len(r.serviceAccounts))
		if len(r.serviceAccounts) == r.volumes {
			sas += " (one per pod)"
		}
		fmt.Fprintf(&b, "| %d | %d | %s | %s | %s | %s | %.1f | %.2f | %.0f | %.0f | %.0f | %.0f | %s / %s | %s / %s | %d |\n",
			r.files, r.concurrency, sas,
			bench.Ms(bench.Percentile(r.latencies, .5)), bench.Ms(bench.Percentile(r.latencies, .99)), bench.Ms(r.latencies[len(r.latencies)-1]),
			r.perSecond(), r.unpublishWall.Seconds(), r.logins, r.reads, r.other, r.hits,
			bench.MiB(r.driverRSS), bench.MiB(r.driverPeak), bench.MiB(r.providerRSS), bench.MiB(r.providerPeak),
			r.publishErrors+r.unpublishErrors)
	}
	return b.String()
}
