// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Command bench-node keeps many volumes published on one node with rotation
// on, as a full node does, and measures several rotation sweeps: the driver's
// and the provider's RSS, their CPU seconds per sweep, the provider's store
// requests per sweep against the bound of one read per identity and object,
// the time a sweep takes, and the publish latency of new pods that start
// while a sweep runs. It plays kubelet over the driver's CSI socket: a sweep
// is every published volume republished once the rotation interval has
// passed (kubelet's periodic NodePublishVolume of requiresRepublish).
//
//	go run ./cmd/bench-node -volumes 1000 -service-accounts 50 -rotation 60s -sweeps 3 -out bench.md -json bench.json
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/container-storage-interface/spec/lib/go/csi"

	"github.com/deckhouse/secrets-store-integration/test/bench"
	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/scrape"
	"github.com/deckhouse/secrets-store-integration/test/supervisor"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

const (
	namespace = "node"
	role      = "bench-node"
	pkiMount  = "bench-pki"
)

type options struct {
	volumes, serviceAccounts, sweeps, newPods, concurrency, pkiEvery int
	rotation                                                         time.Duration
}

func main() {
	var o options
	cmd := bench.NewCommand("bench-node", 40*time.Minute)
	cmd.JSON()
	flag.IntVar(&o.volumes, "volumes", 1000, "volumes kept published")
	flag.IntVar(&o.serviceAccounts, "service-accounts", 50, "identities of the pods (round robin)")
	flag.IntVar(&o.sweeps, "sweeps", 3, "rotation sweeps measured")
	flag.IntVar(&o.newPods, "new-pods", 20, "volumes of new pods published one after another during each sweep, at most (then unpublished)")
	flag.IntVar(&o.concurrency, "concurrency", 10, "NodePublishVolume calls at once, as kubelet's workers")
	flag.IntVar(&o.pkiEvery, "pki-every", 50, "every n-th volume holds a certificate and its key issued by the PKI engine (0: none)")
	flag.DurationVar(&o.rotation, "rotation", time.Minute, "the driver's --rotation-interval and the provider's --read-cache-ttl (equal, as their defaults)")
	flag.Parse()
	if o.volumes < 1 || o.serviceAccounts < 1 || o.sweeps < 1 || o.newPods < 0 || o.concurrency < 1 || o.pkiEvery < 0 {
		bench.Usage("-volumes, -service-accounts, -sweeps and -concurrency must be at least 1; -new-pods and -pki-every at least 0")
	}
	cmd.Run(func(ctx context.Context) (string, error) { return run(ctx, cmd, o) })
}

// Files per volume: three in four volumes hold one file, one in five ten,
// one in twenty a hundred; every pkiEvery-th holds a certificate instead.
func filesOf(i, pkiEvery int) (importName string, kvFiles int) {
	switch {
	case pkiEvery > 0 && i%pkiEvery == pkiEvery-1:
		return "pki", 0
	case i%20 == 19:
		return "files-100", 100
	case i%20 >= 15:
		return "files-10", 10
	}
	return "files-1", 1
}

func secretPath(i int) string { return fmt.Sprintf("node/s%03d", i) }
func account(i, n int) string { return fmt.Sprintf("sa-%02d", i%n) }

// Sweep is what one rotation sweep measured.
type Sweep struct {
	Sweep       int     `json:"sweep"`
	Volumes     int     `json:"volumes"`
	WallSeconds float64 `json:"sweep_seconds"`
	StoreReads  float64 `json:"store_reads"`
	// ReadBound is one read per identity and KV object of its volumes.
	ReadBound        int     `json:"store_read_bound"`
	StoreWrites      float64 `json:"store_writes"`
	StoreLogins      float64 `json:"store_logins"`
	StoreOther       float64 `json:"store_other_requests"`
	RotatedChanged   float64 `json:"rotated_changed"`
	RotatedUnchanged float64 `json:"rotated_unchanged"`
	RotationErrors   float64 `json:"rotation_errors"`
	DriverCPUSeconds float64 `json:"driver_cpu_seconds"`
	ProvCPUSeconds   float64 `json:"provider_cpu_seconds"`
	DriverRSSMiB     float64 `json:"driver_rss_mib_after"`
	DriverPeakMiB    float64 `json:"driver_rss_mib_peak"`
	ProvRSSMiB       float64 `json:"provider_rss_mib_after"`
	ProvPeakMiB      float64 `json:"provider_rss_mib_peak"`
	// NewPods were published while the sweep ran, one after another.
	NewPods  int     `json:"new_pods"`
	NewP50Ms float64 `json:"new_pod_publish_p50_ms"`
	NewP99Ms float64 `json:"new_pod_publish_p99_ms"`
	Errors   int     `json:"errors"`
}

// Result is what -json writes.
type Result struct {
	bench.RunInfo
	Volumes         int     `json:"volumes"`
	Files           int     `json:"files"`
	ServiceAccounts int     `json:"service_accounts"`
	RotationSeconds float64 `json:"rotation_interval_seconds"`
	// First is the publish of every volume, as a node coming up.
	FirstSeconds  float64 `json:"first_publish_seconds"`
	FirstP99Ms    float64 `json:"first_publish_p99_ms"`
	FirstDriverMB float64 `json:"first_driver_rss_mib"`
	FirstProvMB   float64 `json:"first_provider_rss_mib"`
	Sweeps        []Sweep `json:"sweeps"`
}

type node struct {
	o        options
	env      *testenv.Env
	driver   *supervisor.Process
	provider *supervisor.Process
	kubelet  *components.Kubelet
}

func run(ctx context.Context, cmd *bench.Command, o options) (report string, err error) {
	if os.Geteuid() != 0 {
		return "", errors.New("the driver mounts tmpfs: run as root")
	}
	res := Result{Volumes: o.volumes, ServiceAccounts: o.serviceAccounts, RotationSeconds: o.rotation.Seconds()}
	bb, err := bench.Start(ctx, "node")
	if err != nil {
		return "", err
	}
	defer func() { err = errors.Join(err, bb.Close()) }()
	b := &node{o: o, env: bb.Env}
	bench.Step("writing secrets, the PKI engine, service accounts and SecretsStoreImports")
	if err := b.prepare(ctx); err != nil {
		return "", err
	}
	if b.provider, err = components.StartProvider(ctx, components.ProviderConfig{
		Binary: bb.Bins.Provider, Socket: filepath.Join(bb.Work, "providers", "vault.sock"),
		VaultAddr: bb.Env.VaultAddr, VaultCAPath: bb.Env.VaultCAPath, ReadCacheTTL: o.rotation,
	}); err != nil {
		return "", err
	}
	defer func() { err = errors.Join(err, b.provider.Stop()) }()
	if b.driver, err = components.StartDriver(ctx, components.DriverConfig{
		Binary: bb.Bins.Driver, Socket: filepath.Join(bb.Work, "csi.sock"), Kubeconfig: bb.Env.Kubeconfig,
		ProviderDir: filepath.Join(bb.Work, "providers"), Provider: "vault", RotationInterval: o.rotation,
	}); err != nil {
		return "", err
	}
	defer func() { err = errors.Join(err, b.driver.Stop()) }()
	if b.kubelet, err = components.NewKubelet(bb.Env, b.driver.Socket, bb.Work); err != nil {
		return "", err
	}
	defer b.kubelet.Close()

	bench.Step(fmt.Sprintf("requesting tokens for %d volumes", o.volumes+o.newPods*o.sweeps))
	vols, reqs, err := b.volumes(ctx, "v", o.volumes)
	if err != nil {
		return "", err
	}
	newVols, newReqs, err := b.volumes(ctx, "n", o.newPods*o.sweeps)
	if err != nil {
		return "", err
	}
	defer func() {
		cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		defer cancel()
		bench.Parallel(cleanup, len(vols), o.concurrency, func(i int) { _ = b.kubelet.Unpublish(cleanup, vols[i]) })
		bench.Parallel(cleanup, len(newVols), o.concurrency, func(i int) { _ = b.kubelet.Unpublish(cleanup, newVols[i]) })
	}()
	for i := range o.volumes {
		if _, n := filesOf(i, o.pkiEvery); n > 0 {
			res.Files += n
		} else {
			res.Files += 2
		}
	}

	bench.Step(fmt.Sprintf("publishing %d volumes (%d files)", o.volumes, res.Files))
	lat, wall, errs := b.send(ctx, reqs)
	if errs > 0 {
		return "", fmt.Errorf("%d of %d first publishes failed", errs, len(reqs))
	}
	res.FirstSeconds, res.FirstP99Ms = wall.Seconds(), bench.Millis(bench.Percentile(lat, .99))
	rss, _ := b.driver.RSS()
	res.FirstDriverMB = bench.Mebibytes(rss)
	rss, _ = b.provider.RSS()
	res.FirstProvMB = bench.Mebibytes(rss)
	lastSweep := time.Now()

	bound := readBound(o)
	for s := range o.sweeps {
		// A volume rotates once its last fetch is older than the interval.
		if wait := time.Until(lastSweep.Add(o.rotation + time.Second)); wait > 0 {
			bench.Step(fmt.Sprintf("sweep %d/%d in %s", s+1, o.sweeps, wait.Round(time.Second)))
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}
		sw, err := b.sweep(ctx, s+1, reqs, newVols[s*o.newPods:(s+1)*o.newPods], newReqs[s*o.newPods:(s+1)*o.newPods])
		if err != nil {
			return "", err
		}
		// Volumes republished late in this sweep are due an interval
		// after it ended.
		lastSweep = time.Now()
		sw.ReadBound = bound
		fmt.Fprintf(os.Stderr, "   %.1f s, %.0f reads (bound %d), %.0f writes, CPU driver %.2f s provider %.2f s, RSS driver %.1f MiB provider %.1f MiB, new pods p99 %.1f ms, %d errors\n",
			sw.WallSeconds, sw.StoreReads, sw.ReadBound, sw.StoreWrites, sw.DriverCPUSeconds, sw.ProvCPUSeconds, sw.DriverPeakMiB, sw.ProvPeakMiB, sw.NewP99Ms, sw.Errors)
		res.Sweeps = append(res.Sweeps, sw)
	}
	res.RunInfo = cmd.Info()
	return markdown(cmd, res), cmd.WriteJSON(res)
}

// readBound is the most reads a sweep needs: one per identity and KV object
// its volumes hold (certificates are issued, not read).
func readBound(o options) int {
	pairs := map[string]bool{}
	for i := range o.volumes {
		_, n := filesOf(i, o.pkiEvery)
		for f := range n {
			pairs[account(i, o.serviceAccounts)+"|"+secretPath(f)] = true
		}
	}
	return len(pairs)
}

// sweep republishes every volume, as kubelet does once the interval has
// passed, while new pods' volumes are published; the new ones are
// unpublished afterwards so every sweep sees the same node.
func (b *node) sweep(ctx context.Context, n int, reqs []*csi.NodePublishVolumeRequest, newVols []components.Volume, newReqs []*csi.NodePublishVolumeRequest) (Sweep, error) {
	sw := Sweep{Sweep: n, Volumes: len(reqs)}
	pBefore, err := b.provider.Scrape(ctx)
	if err != nil {
		return sw, err
	}
	dBefore, err := b.driver.Scrape(ctx)
	if err != nil {
		return sw, err
	}
	sampler := supervisor.StartPeakRSS(50*time.Millisecond, b.driver.PID(), b.provider.PID())
	// New pods arrive one after another while the sweep runs; those that
	// start after it ended are not sent.
	var newLat []time.Duration
	var newErrs int
	sweeping := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for _, r := range newReqs {
			select {
			case <-sweeping:
				return
			default:
			}
			began := time.Now()
			if err := b.kubelet.Send(ctx, r); err != nil {
				newErrs++
			}
			newLat = append(newLat, time.Since(began))
		}
	})
	_, wall, errs := b.send(ctx, reqs)
	close(sweeping)
	wg.Wait()
	sw.NewPods = len(newLat)
	sw.WallSeconds = wall.Seconds()
	peaks := sampler.Stop()
	dPeak, pPeak := peaks[0], peaks[1]
	pAfter, err := b.provider.Scrape(ctx)
	if err != nil {
		return sw, err
	}
	dAfter, err := b.driver.Scrape(ctx)
	if err != nil {
		return sw, err
	}
	const requests = "secrets_store_vault_provider_store_requests_total"
	delta := func(after, before scrape.Metrics, name string, l map[string]string) float64 {
		return after.Sum(name, l) - before.Sum(name, l)
	}
	sw.StoreReads = delta(pAfter, pBefore, requests, map[string]string{"operation": "read"})
	sw.StoreWrites = delta(pAfter, pBefore, requests, map[string]string{"operation": "write"})
	sw.StoreLogins = delta(pAfter, pBefore, requests, map[string]string{"operation": "login"})
	sw.StoreOther = delta(pAfter, pBefore, requests, nil) - sw.StoreReads - sw.StoreWrites - sw.StoreLogins
	sw.RotatedChanged = delta(dAfter, dBefore, "secrets_store_csi_rotation_total", map[string]string{"result": "changed"})
	sw.RotatedUnchanged = delta(dAfter, dBefore, "secrets_store_csi_rotation_total", map[string]string{"result": "unchanged"})
	sw.RotationErrors = delta(dAfter, dBefore, "secrets_store_csi_rotation_errors_total", nil)
	sw.DriverCPUSeconds = delta(dAfter, dBefore, "process_cpu_seconds_total", nil)
	sw.ProvCPUSeconds = delta(pAfter, pBefore, "process_cpu_seconds_total", nil)
	drss, _ := b.driver.RSS()
	prss, _ := b.provider.RSS()
	sw.DriverRSSMiB, sw.ProvRSSMiB = bench.Mebibytes(drss), bench.Mebibytes(prss)
	sw.DriverPeakMiB, sw.ProvPeakMiB = bench.Mebibytes(max(dPeak, drss)), bench.Mebibytes(max(pPeak, prss))
	slices.Sort(newLat)
	if len(newLat) > 0 {
		sw.NewP50Ms, sw.NewP99Ms = bench.Millis(bench.Percentile(newLat, .5)), bench.Millis(bench.Percentile(newLat, .99))
	}
	sw.Errors = errs + newErrs
	bench.Parallel(ctx, len(newVols), b.o.concurrency, func(i int) { _ = b.kubelet.Unpublish(ctx, newVols[i]) })
	return sw, ctx.Err()
}

// send publishes reqs, o.concurrency at a time, and returns the sorted
// latencies, the wall time and the number of failures.
func (b *node) send(ctx context.Context, reqs []*csi.NodePublishVolumeRequest) ([]time.Duration, time.Duration, int) {
	lat := make([]time.Duration, len(reqs))
	errs := make([]error, len(reqs))
	wall := bench.Parallel(ctx, len(reqs), b.o.concurrency, func(i int) {
		began := time.Now()
		errs[i] = b.kubelet.Send(ctx, reqs[i])
		lat[i] = time.Since(began)
	})
	slices.Sort(lat)
	failed := 0
	for _, e := range errs {
		if e != nil {
			if failed == 0 {
				slog.Warn("publish failed", "error", e.Error())
			}
			failed++
		}
	}
	return lat, wall, failed
}

// volumes makes n volumes of pods named prefix-i with their requests (the
// TokenRequests kubelet makes first).
func (b *node) volumes(ctx context.Context, prefix string, n int) ([]components.Volume, []*csi.NodePublishVolumeRequest, error) {
	vols := make([]components.Volume, n)
	reqs := make([]*csi.NodePublishVolumeRequest, n)
	for i := range n {
		name := fmt.Sprintf("%s-%04d", prefix, i)
		var err error
		if vols[i], err = b.kubelet.NewVolume(name); err != nil {
			return nil, nil, err
		}
		imp, _ := filesOf(i, b.o.pkiEvery)
		pod := components.Pod{Name: name, Namespace: namespace, UID: fmt.Sprintf("00000000-0000-4000-8000-%s%011d", prefix, i),
			ServiceAccount: account(i, b.o.serviceAccounts)}
		if reqs[i], err = b.kubelet.PublishRequest(ctx, vols[i], pod, imp); err != nil {
			return nil, nil, err
		}
	}
	return vols, reqs, nil
}

// prepare writes 100 KV v2 secrets, a PKI engine with a role, the service
// accounts, one role for all of them, and the imports.
func (b *node) prepare(ctx context.Context) error {
	env := b.env
	for i := range b.o.serviceAccounts {
		if _, err := env.CreateServiceAccount(ctx, namespace, account(i, b.o.serviceAccounts)); err != nil {
			return err
		}
	}
	if err := env.WritePolicy(ctx, role, `
path "secret/data/node/*" { capabilities = ["read"] }
path "`+pkiMount+`/issue/web" { capabilities = ["update"] }
`); err != nil {
		return err
	}
	if err := env.WriteKubernetesRole(ctx, role, testenv.KubernetesRole{
		ServiceAccounts: []string{"*"}, Namespaces: []string{namespace}, Policies: []string{role}, Audience: "vault", TTL: time.Hour,
	}); err != nil {
		return err
	}
	kv := env.Vault.KVv2(testenv.KVMount)
	for i := range 100 {
		if _, err := kv.Put(ctx, secretPath(i), map[string]any{"value": fmt.Sprintf("value-%d", i)}); err != nil {
			return fmt.Errorf("write %s: %w", secretPath(i), err)
		}
	}
	if err := env.Vault.Sys().MountWithContext(ctx, pkiMount, &vaultapi.MountInput{Type: "pki", Config: vaultapi.MountConfigInput{MaxLeaseTTL: "24h"}}); err != nil {
		return err
	}
	if _, err := env.Vault.Logical().WriteWithContext(ctx, pkiMount+"/root/generate/internal",
		map[string]any{"common_name": "bench CA", "ttl": "24h", "key_type": "ec", "key_bits": 256}); err != nil {
		return err
	}
	if _, err := env.Vault.Logical().WriteWithContext(ctx, pkiMount+"/roles/web", map[string]any{
		"allowed_domains": "example.com", "allow_subdomains": true, "max_ttl": "12h", "key_type": "ec", "key_bits": 256,
	}); err != nil {
		return err
	}
	for _, n := range []int{1, 10, 100} {
		files := make([]any, n)
		for i := range files {
			files[i] = map[string]any{"name": fmt.Sprintf("f%03d", i), "source": map[string]any{
				"path": testenv.KVMount + "/data/" + secretPath(i), "key": "value"}}
		}
		if err := components.ApplyImport(ctx, env, namespace, fmt.Sprintf("files-%d", n), map[string]any{
			"type": "CSI", "role": role, "address": env.VaultAddr, "caCert": string(env.VaultCAPEM), "files": files,
		}); err != nil {
			return err
		}
	}
	issue := map[string]any{"path": pkiMount + "/issue/web", "method": "PUT", "args": map[string]any{"common_name": "web.example.com", "ttl": "1h"}}
	return components.ApplyImport(ctx, env, namespace, "pki", map[string]any{
		"type": "CSI", "role": role, "address": env.VaultAddr, "caCert": string(env.VaultCAPEM), "files": []any{
			map[string]any{"name": "tls.crt", "source": mergeKey(issue, "certificate")},
			map[string]any{"name": "tls.key", "source": mergeKey(issue, "private_key")},
		},
	})
}

func mergeKey(src map[string]any, key string) map[string]any {
	out := map[string]any{"key": key}
	for k, v := range src {
		out[k] = v
	}
	return out
}

func markdown(cmd *bench.Command, r Result) string {
	b := []byte(cmd.Header("a full node with rotation on"))
	b = fmt.Appendf(b, "%d volumes (%d files), %d service accounts, rotation interval and read cache %s.\n\n",
		r.Volumes, r.Files, r.ServiceAccounts, time.Duration(r.RotationSeconds*float64(time.Second)))
	b = fmt.Appendf(b, "First publish of every volume: %.1f s, p99 %.1f ms; RSS driver %.1f MiB, provider %.1f MiB.\n\n",
		r.FirstSeconds, r.FirstP99Ms, r.FirstDriverMB, r.FirstProvMB)
	b = append(b, "| sweep | sweep s | store reads (bound) | store writes | logins | other | rotated changed / unchanged | errors | CPU s driver / provider | RSS MiB driver after / peak | RSS MiB provider after / peak | new pods | new pod publish p50 / p99 ms |\n"...)
	b = append(b, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"...)
	for _, s := range r.Sweeps {
		b = fmt.Appendf(b, "| %d | %.1f | %.0f (%d) | %.0f | %.0f | %.0f | %.0f / %.0f | %d | %.2f / %.2f | %.1f / %.1f | %.1f / %.1f | %d | %.1f / %.1f |\n",
			s.Sweep, s.WallSeconds, s.StoreReads, s.ReadBound, s.StoreWrites, s.StoreLogins, s.StoreOther, s.RotatedChanged, s.RotatedUnchanged,
			s.Errors+int(s.RotationErrors), s.DriverCPUSeconds, s.ProvCPUSeconds, s.DriverRSSMiB, s.DriverPeakMiB, s.ProvRSSMiB, s.ProvPeakMiB,
			s.NewPods, s.NewP50Ms, s.NewP99Ms)
	}
	return string(b)
}
