// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/containerdenv"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// nriPod is the pod of containerd delivery: the same references as way 3's
// pod, in an image without a shell whose entrypoint prints its environment.
func nriPod(image string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "app-containerd", Namespace: namespace, Annotations: map[string]string{
			"secrets-store.deckhouse.io/role":     role,
			"secrets-store.deckhouse.io/delivery": "containerd",
		}},
		Spec: corev1.PodSpec{ServiceAccountName: account, Containers: []corev1.Container{{
			Name: "app", Image: image,
			Env: []corev1.EnvVar{
				{Name: "DB_USER", Value: "secrets-store:secret/data/app#username"},
				{Name: "DB_PASSWORD", Value: "secrets-store:secret/data/app#password"},
			},
		}}},
	}
}

// deliverThroughContainerd is way 3's second stage: a real containerd with
// the module's NRI plugin gives the container its secrets when it creates
// it; no init container, no changed command. It needs root (containerd and
// runc), and says so and skips without it.
func deliverThroughContainerd(ctx context.Context, env *testenv.Env, bins components.Binaries) (err error) {
	if os.Geteuid() != 0 {
		step("Way 3 through containerd (NRI): skipped, containerd and runc run containers as root only")
		return nil
	}
	step("Way 3 through containerd (NRI): starting containerd v2.4.2 with NRI on and runc, images built here")
	work, err := os.MkdirTemp("", "ssi-demo-containerd-*")
	if err != nil {
		return fmt.Errorf("make containerd's work folder: %w", err)
	}
	defer func() { err = errors.Join(err, os.RemoveAll(work)) }()
	rt, err := containerdenv.Start(ctx, containerdenv.Options{Dir: work})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, rt.Stop()) }()
	before := rt.PluginRegistrations(components.NRIPluginName)
	plugin, err := components.StartNRIPlugin(ctx, components.NRIPluginConfig{
		Binary: bins.NRIPlugin, Socket: rt.NRISocket, KubeletRoot: rt.KubeletRoot,
		StoreAddr: env.VaultAddr, StoreCAFile: env.VaultCAPath, Args: []string{"--log-level", "info"},
	})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, plugin.Stop()) }()
	if err := rt.WaitPluginRegistered(ctx, components.NRIPluginName, before); err != nil {
		return err
	}
	fmt.Println("   the NRI plugin is connected to containerd")

	stop, err := serveWebhook(ctx, env, bins, work, "secrets-store-env-injection-containerd", "--containerd-delivery")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, stop()) }()

	p := nriPod(rt.EnvImage)
	step(fmt.Sprintf("Creating pod %s/%s with secrets-store.deckhouse.io/delivery=containerd", p.Namespace, p.Name))
	created, err := env.Kube.CoreV1().Pods(namespace).Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create pod %s/%s: %w", namespace, p.Name, err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		err = errors.Join(err, env.Kube.CoreV1().Pods(namespace).Delete(cctx, p.Name, metav1.DeleteOptions{}))
	}()
	fmt.Printf("   init containers: %d, container command: %q (the image's entrypoint runs)\n", len(created.Spec.InitContainers), created.Spec.Containers[0].Command)
	for _, v := range created.Spec.Volumes {
		if v.Name == "secrets-store-token" && v.Projected != nil && len(v.Projected.Sources) > 0 && v.Projected.Sources[0].ServiceAccountToken != nil {
			fmt.Printf("   volume %s: service-account token, audience %s, mounted into no container: the plugin reads it on the node\n",
				v.Name, v.Projected.Sources[0].ServiceAccountToken.Audience)
		}
	}
	for k, v := range created.Annotations {
		if strings.HasPrefix(k, "required-plugins.") {
			fmt.Printf("   annotation %s: %s (containerd refuses the container while the plugin is away)\n", k, v)
		}
	}

	step("Playing kubelet over CRI: projected token on the node, host-network sandbox, CreateContainer, StartContainer")
	if err := rt.WriteProjectedTokens(ctx, env.Kube, created); err != nil {
		return err
	}
	sandbox, err := rt.RunPod(ctx, containerdenv.PodOf(created))
	if err != nil {
		return err
	}
	c, err := containerdenv.ContainerOf(created, "app")
	if err != nil {
		return err
	}
	out, err := rt.RunContainer(ctx, sandbox, c)
	if err != nil {
		return err
	}
	for _, line := range out {
		if strings.HasPrefix(line, "DB_") {
			fmt.Printf("   app: %s\n", line)
		}
	}
	return showWhereValuesLive(ctx, rt, sandbox)
}

// showWhereValuesLive prints the trade-off: the runtime keeps the values in
// the container's spec, which an administrator of the node reads with
// `crictl inspect` (ContainerStatus, verbose).
func showWhereValuesLive(ctx context.Context, rt *containerdenv.Runtime, s *containerdenv.Sandbox) error {
	ctrs, err := rt.Containers(ctx, s)
	if err != nil {
		return err
	}
	if len(ctrs) != 1 {
		return fmt.Errorf("sandbox %s has %d containers, want 1", s.ID, len(ctrs))
	}
	st, err := rt.Runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: ctrs[0].Id, Verbose: true})
	if err != nil {
		return fmt.Errorf("container status: %w", err)
	}
	inSpec := strings.Contains(st.Info["info"], "DB_PASSWORD=")
	fmt.Printf("   the container's spec in containerd holds DB_PASSWORD (what `crictl inspect` shows a node administrator): %t\n", inSpec)
	return nil
}
