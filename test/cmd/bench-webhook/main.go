// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Command bench-webhook measures the admission latency the env-injection
// webhook adds to pod creates: the webhook built from this repository runs
// as a process, registered with testenv's real kube-apiserver, with images
// in a private OCI registry served in this process. For each kind of pod
// and each concurrency it creates N pods through the API and prints the
// create latency (p50/p99) as a client sees it, the webhook's own time per
// review and its registry lookups.
//
// Kinds of pods:
//   - plain: no opt-in annotation; never reaches the webhook (the baseline)
//   - command: opted in, with a command: mutated without a registry lookup
//   - image-cached: opted in, no command; the image's config is in the cache
//   - image-uncached: opted in, no command, every pod another tag: a
//     registry lookup each (pull secrets read from the API, manifest, config)
//
// Run it from the test module:
//
//	go run ./cmd/bench-webhook -pods 200 -concurrency 1,50 -out bench.md
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/deckhouse/secrets-store-integration/test/bench"
	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/ociregistry"
	"github.com/deckhouse/secrets-store-integration/test/scrape"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

const (
	namespace      = "bench"
	serviceAccount = "bench"
	pullSecret     = "regcred"
	registration   = "secrets-store-env-injection"
)

var kinds = []string{"plain", "command", "image-cached", "image-uncached"}

type options struct {
	pods        int
	concurrency []int
}

func main() {
	var o options
	cmd := bench.NewCommand("bench-webhook", 15*time.Minute)
	concurrency := bench.Counts("concurrency", "1,50", "comma-separated numbers of concurrent creates, one run each")
	flag.IntVar(&o.pods, "pods", 200, "pods created in each run")
	flag.Parse()
	o.concurrency = *concurrency
	if o.pods < 1 {
		bench.Usage("-pods must be at least 1")
	}
	cmd.Run(func(ctx context.Context) (string, error) { return run(ctx, cmd, o) })
}

// setup is what the runs share.
type setup struct {
	o     options
	env   *testenv.Env
	hook  *components.Webhook
	reg   *ociregistry.Registry
	image string // the cached image
	// uncached are tags of one image, one per pod of every uncached run.
	uncached []string
}

func run(ctx context.Context, cmd *bench.Command, o options) (report string, err error) {
	h, err := bench.Start(ctx, "webhook")
	if err != nil {
		return "", err
	}
	defer func() { err = errors.Join(err, h.Close()) }()
	env, work := h.Env, h.Work
	b := &setup{o: o, env: env}
	if b.reg, err = ociregistry.Start(work); err != nil {
		return "", err
	}
	defer b.reg.Close()
	bench.Step("pushing images, creating the service account and pull secret")
	if err := b.prepare(ctx); err != nil {
		return "", err
	}
	caBundle, certFile, keyFile, err := testenv.ServingCertificate(work, "webhook")
	if err != nil {
		return "", err
	}
	b.hook, err = components.StartWebhook(ctx, components.WebhookConfig{
		Binary: h.Bins.Webhook, Kubeconfig: env.Kubeconfig, CertFile: certFile, KeyFile: keyFile,
		InjectorImage: "registry.example/env-injector:bench", StoreAddr: env.VaultAddr, StoreCAFile: env.VaultCAPath,
		RegistryCAFile: b.reg.CAFile,
		// Info, not the harness's debug: a line per review is the
		// production setting.
		Args: []string{"--log-level", "info"},
	})
	if err != nil {
		return "", err
	}
	defer func() { err = errors.Join(err, b.hook.Stop()) }()
	if err := b.hook.Register(ctx, env.Kube, registration, caBundle, namespace, serviceAccount); err != nil {
		return "", err
	}
	// The cache holds the image before the cached runs.
	if _, err := b.create(ctx, "image-cached", 0, 0); err != nil {
		return "", fmt.Errorf("warm the image cache: %w", err)
	}

	var results []result
	uncachedRun := 0
	for _, c := range o.concurrency {
		for _, kind := range kinds {
			bench.Step(fmt.Sprintf("%d %s pods, %d concurrent", o.pods, kind, c))
			res, err := b.measure(ctx, kind, c, uncachedRun)
			if err != nil {
				return "", fmt.Errorf("run %s at %d: %w", kind, c, err)
			}
			if kind == "image-uncached" {
				uncachedRun++
			}
			fmt.Fprintf(os.Stderr, "   %s\n", res.summary())
			results = append(results, res)
		}
	}
	report = markdown(cmd, o, results)
	for _, r := range results {
		if r.errors > 0 {
			return report, fmt.Errorf("%d creates failed in a %s run; first: %w", r.errors, r.kind, r.firstError)
		}
	}
	return report, nil
}

func (b *setup) prepare(ctx context.Context) error {
	if _, err := b.env.CreateServiceAccount(ctx, namespace, serviceAccount); err != nil {
		return err
	}
	if _, err := b.env.Kube.CoreV1().Secrets(namespace).Create(ctx, b.reg.PullSecret(namespace, pullSecret), metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create pull secret: %w", err)
	}
	cfg := v1.Config{Entrypoint: []string{"/app"}, Cmd: []string{"serve"}}
	var err error
	if b.image, err = b.reg.Push("bench/app:cached", cfg); err != nil {
		return err
	}
	for i := range b.o.pods * len(b.o.concurrency) {
		tag, err := b.reg.Push(fmt.Sprintf("bench/app:t%05d", i), cfg)
		if err != nil {
			return err
		}
		b.uncached = append(b.uncached, tag)
	}
	return nil
}

// pod is pod i of a run of kind.
func (b *setup) pod(kind string, i, uncachedRun int) *corev1.Pod {
	c := corev1.Container{Name: "app", Image: b.image,
		Env: []corev1.EnvVar{{Name: "DB_PASSWORD", Value: "secrets-store:secret/data/db#password"}}}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: kind + "-", Annotations: map[string]string{components.OptInAnnotation: "app"}},
		Spec: corev1.PodSpec{ServiceAccountName: serviceAccount, Containers: []corev1.Container{c},
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: pullSecret}}},
	}
	switch kind {
	case "plain":
		p.Annotations = nil
		p.Spec.Containers[0].Command = []string{"/app"}
	case "command":
		p.Spec.Containers[0].Command = []string{"/app"}
	case "image-uncached":
		p.Spec.Containers[0].Image = b.uncached[uncachedRun*b.o.pods+i]
	}
	return p
}

// create makes one pod and checks the webhook did (or did not) mutate it.
func (b *setup) create(ctx context.Context, kind string, i, uncachedRun int) (time.Duration, error) {
	start := time.Now()
	got, err := b.env.Kube.CoreV1().Pods(namespace).Create(ctx, b.pod(kind, i, uncachedRun), metav1.CreateOptions{})
	took := time.Since(start)
	if err != nil {
		return took, err
	}
	if mutated := len(got.Spec.InitContainers) > 0; mutated != (kind != "plain") {
		return took, fmt.Errorf("pod %s of kind %s: mutated %v", got.Name, kind, mutated)
	}
	return took, nil
}

// result is what one run measured.
type result struct {
	kind        string
	concurrency int
	latencies   []time.Duration // sorted
	wall        time.Duration
	errors      int
	firstError  error
	// Deltas of the webhook's metrics over the run.
	reviews, reviewSeconds float64
	lookups, lookupSeconds float64
	cacheHits              float64
	calls, callSeconds     float64
}

func (r result) summary() string {
	return fmt.Sprintf("create p50 %s ms, p99 %s ms, max %s ms, %.0f pods/s; API server's webhook calls mean %s ms; webhook: %.0f reviews, mean %s ms; %.0f registry lookups, mean %s ms; %.0f cache hits; %d errors",
		bench.Ms(bench.Percentile(r.latencies, .5)), bench.Ms(bench.Percentile(r.latencies, .99)),
		bench.Ms(r.latencies[len(r.latencies)-1]), float64(len(r.latencies))/r.wall.Seconds(), meanMs(r.callSeconds, r.calls),
		r.reviews, meanMs(r.reviewSeconds, r.reviews), r.lookups, meanMs(r.lookupSeconds, r.lookups), r.cacheHits, r.errors)
}

func meanMs(seconds, n float64) string {
	if n == 0 {
		return "-"
	}
	return bench.Ms(time.Duration(seconds / n * float64(time.Second)))
}

func (b *setup) measure(ctx context.Context, kind string, concurrency, uncachedRun int) (result, error) {
	res := result{kind: kind, concurrency: concurrency}
	before, err := b.snapshot(ctx)
	if err != nil {
		return res, err
	}
	latencies := make([]time.Duration, b.o.pods)
	errs := make([]error, b.o.pods)
	res.wall = bench.Parallel(ctx, b.o.pods, concurrency, func(i int) {
		latencies[i], errs[i] = b.create(ctx, kind, i, uncachedRun)
	})
	after, err := b.snapshot(ctx)
	if err != nil {
		return res, err
	}
	// The API server's own measure of its calls to the webhook: connection,
	// encoding and the webhook's answer.
	const call = "apiserver_admission_webhook_admission_duration_seconds"
	res.callSeconds = after.api.Sum(call+"_sum", nil) - before.api.Sum(call+"_sum", nil)
	res.calls = after.api.Sum(call+"_count", nil) - before.api.Sum(call+"_count", nil)
	delta := func(name string, match map[string]string) float64 {
		return after.hook.Sum(name, match) - before.hook.Sum(name, match)
	}
	res.reviews = delta("secrets_store_webhook_admission_duration_seconds_count", nil)
	res.reviewSeconds = delta("secrets_store_webhook_admission_duration_seconds_sum", nil)
	res.lookups = delta("secrets_store_webhook_registry_lookup_duration_seconds_count", nil)
	res.lookupSeconds = delta("secrets_store_webhook_registry_lookup_duration_seconds_sum", nil)
	res.cacheHits = delta("secrets_store_webhook_image_cache_requests_total", map[string]string{"result": "hit"})
	for _, e := range errs {
		if e != nil {
			res.errors++
			res.firstError = cmp.Or(res.firstError, e)
		}
	}
	res.latencies = latencies
	slices.Sort(res.latencies)
	return res, ctx.Err()
}

// snapshot is the webhook's and kube-apiserver's metrics at one time.
type snapshot struct{ hook, api scrape.Metrics }

func (b *setup) snapshot(ctx context.Context) (snapshot, error) {
	hook, err := b.hook.Scrape(ctx)
	if err != nil {
		return snapshot{}, err
	}
	body, err := b.env.Kube.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return snapshot{}, fmt.Errorf("scrape kube-apiserver: %w", err)
	}
	api, err := scrape.Parse(string(body))
	return snapshot{hook: hook, api: api}, err
}

func markdown(cmd *bench.Command, o options, results []result) string {
	var b strings.Builder
	b.WriteString(cmd.Header("the env-injection webhook"))
	fmt.Fprintf(&b, "%d pods per run, created through kube-apiserver; latency is one create as the client sees it. "+
		"The API server's call time is its own measure of calling the webhook (apiserver_admission_webhook_admission_duration_seconds); "+
		"webhook review and registry lookup times are means from the webhook's histograms.\n\n", o.pods)
	b.WriteString("| pods | concurrent | create p50 ms | p99 ms | max ms | pods/s | API server call mean ms | webhook reviews | review mean ms | registry lookups | lookup mean ms | cache hits | errors |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %.0f | %s | %.0f | %s | %.0f | %s | %.0f | %d |\n",
			r.kind, r.concurrency,
			bench.Ms(bench.Percentile(r.latencies, .5)), bench.Ms(bench.Percentile(r.latencies, .99)),
			bench.Ms(r.latencies[len(r.latencies)-1]), float64(len(r.latencies))/r.wall.Seconds(), meanMs(r.callSeconds, r.calls),
			r.reviews, meanMs(r.reviewSeconds, r.reviews), r.lookups, meanMs(r.lookupSeconds, r.lookups), r.cacheHits, r.errors)
	}
	return b.String()
}
