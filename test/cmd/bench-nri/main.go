// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Command bench-nri measures what containerd delivery adds to a container's
// creation: the time from kubelet's CreateContainer call to the end of its
// StartContainer call in a real containerd (test/containerdenv) with runc,
// without the NRI plugin and with it, for a pod not opted in and for
// containers with 1 and 10 references (each a secret of its own, read from
// the real Vault with the pod's own login, then the token revoked). The cases take turns
// run by run, so that all see the same machine; the case without the plugin
// runs first, before the plugin connects. It runs as root.
//
//	go run ./cmd/bench-nri -runs 50 -refs 1,10 -out bench.md -json ../docs/benchmarks/nri.json
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/deckhouse/secrets-store-integration/test/bench"
	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/containerdenv"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

const (
	namespace = "bench-nri"
	account   = "app"
	role      = "bench-nri"
	// secretPrefix holds the secrets s00, s01, ..., each with key "value".
	secretPrefix = "bench-nri"
)

func main() {
	cmd := bench.NewCommand("bench-nri", 20*time.Minute)
	cmd.JSON()
	refs := bench.Counts("refs", "1,10", "comma-separated numbers of references per container, one case each")
	runs := flag.Int("runs", 50, "timed container starts per case")
	flag.Parse()
	if *runs < 1 {
		bench.Usage("-runs must be at least 1")
	}
	cmd.Run(func(ctx context.Context) (string, error) { return run(ctx, cmd, *runs, *refs) })
}

// Row is one case.
type Row struct {
	Case       string `json:"case"`
	Plugin     bool   `json:"plugin"`
	OptedIn    bool   `json:"opted_in"`
	References int    `json:"references"`
	Runs       int    `json:"runs"`
	// Create* are CreateContainer alone (the NRI plugin answers within it),
	// Started* CreateContainer then StartContainer.
	CreateP50Ms  float64 `json:"create_p50_ms"`
	CreateP99Ms  float64 `json:"create_p99_ms"`
	StartedP50Ms float64 `json:"create_to_started_p50_ms"`
	StartedP99Ms float64 `json:"create_to_started_p99_ms"`
	StartedMaxMs float64 `json:"create_to_started_max_ms"`
}

// Result is what -json writes.
type Result struct {
	bench.RunInfo
	Containerd string `json:"containerd"`
	Runc       string `json:"runc"`
	Rows       []Row  `json:"rows"`
}

// benchCase is a pod sandbox and the container created in it, run after run.
type benchCase struct {
	row       Row
	sandbox   *containerdenv.Sandbox
	container containerdenv.Container
	create    []time.Duration
	started   []time.Duration
}

func run(ctx context.Context, cmd *bench.Command, runs int, refs []int) (report string, err error) {
	h, err := bench.Start(ctx, "nri")
	if err != nil {
		return "", err
	}
	defer func() { err = errors.Join(err, h.Close()) }()
	bench.Step("starting containerd and runc")
	rt, err := containerdenv.Start(ctx, containerdenv.Options{Dir: h.Work})
	if err != nil {
		return "", err
	}
	defer func() { err = errors.Join(err, rt.Stop()) }()
	if err := prepareStore(ctx, h.Env, slices.Max(refs)); err != nil {
		return "", err
	}

	without, err := newCase(ctx, h.Env, rt, Row{Case: "no NRI plugin"}, 0)
	if err != nil {
		return "", err
	}
	bench.Step(fmt.Sprintf("timing %d container starts without the plugin", runs))
	if err := timeRuns(ctx, rt, runs, []*benchCase{without}); err != nil {
		return "", err
	}

	bench.Step("starting the NRI plugin")
	before := rt.PluginRegistrations(components.NRIPluginName)
	plugin, err := components.StartNRIPlugin(ctx, components.NRIPluginConfig{
		Binary: h.Bins.NRIPlugin, Socket: rt.NRISocket, KubeletRoot: rt.KubeletRoot,
		StoreAddr: h.Env.VaultAddr, StoreCAFile: h.Env.VaultCAPath, Args: []string{"--log-level", "info"},
	})
	if err != nil {
		return "", err
	}
	defer func() { err = errors.Join(err, plugin.Stop()) }()
	if err := rt.WaitPluginRegistered(ctx, components.NRIPluginName, before); err != nil {
		return "", err
	}
	cases := []*benchCase{}
	c, err := newCase(ctx, h.Env, rt, Row{Case: "plugin, pod not opted in", Plugin: true}, 0)
	if err != nil {
		return "", err
	}
	cases = append(cases, c)
	for _, n := range refs {
		name := fmt.Sprintf("plugin, %d references", n)
		if n == 1 {
			name = "plugin, 1 reference"
		}
		c, err := newCase(ctx, h.Env, rt, Row{Case: name, Plugin: true, OptedIn: true}, n)
		if err != nil {
			return "", err
		}
		cases = append(cases, c)
	}
	bench.Step(fmt.Sprintf("timing %d container starts of each of %d cases with the plugin, in turns", runs, len(cases)))
	if err := timeRuns(ctx, rt, runs, cases); err != nil {
		return "", err
	}

	res := Result{Containerd: "v2.4.2", Runc: "v1.3.3"}
	for _, c := range append([]*benchCase{without}, cases...) {
		res.Rows = append(res.Rows, c.summary())
	}
	res.RunInfo = cmd.Info()
	if err := cmd.WriteJSON(res); err != nil {
		return "", err
	}
	return markdown(cmd, res), nil
}

// prepareStore writes n secrets, one per reference as in the env
// injector's benchmarks (each is one read), and a role of the bench's
// service account that reads them.
func prepareStore(ctx context.Context, env *testenv.Env, n int) error {
	if _, err := env.CreateServiceAccount(ctx, namespace, account); err != nil {
		return err
	}
	for i := range n {
		path := fmt.Sprintf("%s/s%02d", secretPrefix, i)
		if _, err := env.Vault.KVv2(testenv.KVMount).Put(ctx, path, map[string]any{"value": fmt.Sprintf("value-%d", i)}); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return env.GrantRead(ctx, testenv.ReadGrant{
		Role: role, Policy: role, Path: "secret/data/" + secretPrefix + "/*", Namespace: namespace,
		ServiceAccounts: []string{account}, TTL: time.Hour,
	})
}

// newCase creates the Pod object (opted in: with the annotations and the
// token volume the webhook gives it), writes its token as kubelet does and
// runs its sandbox.
func newCase(ctx context.Context, env *testenv.Env, rt *containerdenv.Runtime, row Row, refs int) (*benchCase, error) {
	row.References = refs
	name := strings.ToLower(strings.NewReplacer(",", "", " ", "-").Replace(row.Case))
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.PodSpec{ServiceAccountName: account, Containers: []corev1.Container{{Name: "app", Image: rt.EnvImage}}},
	}
	for i := range refs {
		pod.Spec.Containers[0].Env = append(pod.Spec.Containers[0].Env,
			corev1.EnvVar{Name: fmt.Sprintf("V%d", i), Value: fmt.Sprintf("secrets-store:secret/data/%s/s%02d#value", secretPrefix, i)})
	}
	if row.OptedIn {
		pod.Annotations = map[string]string{"secrets-store.deckhouse.io/role": role, "secrets-store.deckhouse.io/delivery": "containerd"}
		expiry := int64(3600)
		pod.Spec.Volumes = []corev1.Volume{{Name: "secrets-store-token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: "vault", ExpirationSeconds: &expiry, Path: "token"}}},
		}}}}
	}
	pod, err := env.Kube.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create pod %s: %w", name, err)
	}
	if err := rt.WriteProjectedTokens(ctx, env.Kube, pod); err != nil {
		return nil, err
	}
	s, err := rt.RunPod(ctx, containerdenv.PodOf(pod))
	if err != nil {
		return nil, err
	}
	c, err := containerdenv.ContainerOf(pod, "app")
	if err != nil {
		return nil, err
	}
	return &benchCase{row: row, sandbox: s, container: c}, nil
}

// timeRuns creates and starts each case's container, case after case, runs
// times; each container is waited for and removed untimed.
func timeRuns(ctx context.Context, rt *containerdenv.Runtime, runs int, cases []*benchCase) error {
	for i := range runs {
		for _, c := range cases {
			ctr := c.container
			// kubelet names a container's attempts apart; a new name does here.
			ctr.Name = fmt.Sprintf("app-%d", i)
			began := time.Now()
			id, err := rt.CreateContainer(ctx, c.sandbox, ctr)
			if err != nil {
				return fmt.Errorf("%s: %w", c.row.Case, err)
			}
			created := time.Since(began)
			if err := rt.StartContainer(ctx, id); err != nil {
				return fmt.Errorf("%s: %w", c.row.Case, err)
			}
			c.create, c.started = append(c.create, created), append(c.started, time.Since(began))
			if code, err := rt.WaitExited(ctx, id); err != nil || code != 0 {
				return fmt.Errorf("%s: container %s: exit %d, %v", c.row.Case, ctr.Name, code, err)
			}
			if err := checkOutput(rt, c, ctr.Name); err != nil {
				return err
			}
			if _, err := rt.Runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil {
				return fmt.Errorf("%s: remove container %s: %w", c.row.Case, ctr.Name, err)
			}
		}
	}
	return nil
}

// checkOutput makes sure the run measured what it says: an opted-in
// container got every value, another got none.
func checkOutput(rt *containerdenv.Runtime, c *benchCase, name string) error {
	out, err := rt.Output(c.sandbox, name)
	if err != nil {
		return err
	}
	for i := range c.row.References {
		want := fmt.Sprintf("V%d=value-%d", i, i)
		if c.row.OptedIn != slices.Contains(out, want) {
			return fmt.Errorf("%s: container %s: %s delivered: %t", c.row.Case, name, want, !c.row.OptedIn)
		}
	}
	return nil
}

func (c *benchCase) summary() Row {
	r := c.row
	slices.Sort(c.create)
	slices.Sort(c.started)
	r.Runs = len(c.started)
	r.CreateP50Ms, r.CreateP99Ms = bench.Millis(bench.Percentile(c.create, 0.5)), bench.Millis(bench.Percentile(c.create, 0.99))
	r.StartedP50Ms, r.StartedP99Ms = bench.Millis(bench.Percentile(c.started, 0.5)), bench.Millis(bench.Percentile(c.started, 0.99))
	r.StartedMaxMs = bench.Millis(c.started[len(c.started)-1])
	return r
}

func markdown(cmd *bench.Command, res Result) string {
	var b strings.Builder
	b.WriteString(cmd.Header(fmt.Sprintf("container creation through containerd %s and runc %s with and without the NRI plugin", res.Containerd, res.Runc)))
	b.WriteString("| case | references | runs | CreateContainer p50 ms | p99 ms | create to started p50 ms | p99 ms | max ms |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range res.Rows {
		fmt.Fprintf(&b, "| %s | %d | %d | %.1f | %.1f | %.1f | %.1f | %.1f |\n",
			r.Case, r.References, r.Runs, r.CreateP50Ms, r.CreateP99Ms, r.StartedP50Ms, r.StartedP99Ms, r.StartedMaxMs)
	}
	return b.String()
}
