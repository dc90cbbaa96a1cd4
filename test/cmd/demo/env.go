// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// envPod is the pod of way 3: annotated for injection, its variables refer
// to the store, its command prints what it got.
var envPod = &corev1.Pod{
	ObjectMeta: metav1.ObjectMeta{Name: "app-env", Namespace: namespace, Annotations: map[string]string{
		"secrets-store.deckhouse.io/role": role,
	}},
	Spec: corev1.PodSpec{ServiceAccountName: account, Containers: []corev1.Container{{
		Name: "app", Image: "registry.example/app:1.0",
		Command: []string{"/bin/sh", "-c", `echo "DB_USER=$DB_USER DB_PASSWORD=$DB_PASSWORD DSN=$DSN"; echo "VAULT_* variables the app sees: $(env | grep -c '^VAULT_')"`},
		Env: []corev1.EnvVar{
			{Name: "DB_USER", Value: "secrets-store:secret/data/app#username"},
			{Name: "DB_PASSWORD", Value: "secrets-store:secret/data/app#password"},
			{Name: "DSN", Value: "secrets-store:secret/data/app#postgres://${ .username }:${ .password }@db:5432/app"},
		},
	}}},
}

// injectEnv is way 3: the webhook mutates an annotated pod created through
// the API server, and the mutated container, started as kubelet would,
// gets the secrets as environment variables from the injector.
func injectEnv(ctx context.Context, env *testenv.Env, bins components.Binaries) (err error) {
	step("Way 3, environment variables: starting the mutating webhook and registering it with kube-apiserver")
	work, err := os.MkdirTemp("", "ssi-demo-webhook-*")
	if err != nil {
		return fmt.Errorf("make the webhook's work folder: %w", err)
	}
	defer func() { err = errors.Join(err, os.RemoveAll(work)) }()
	stop, err := serveWebhook(ctx, env, bins, work, "secrets-store-env-injection")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, stop()) }()

	step(fmt.Sprintf("Creating pod %s/%s with annotation secrets-store.deckhouse.io/role=%s", envPod.Namespace, envPod.Name, role))
	for _, e := range envPod.Spec.Containers[0].Env {
		fmt.Printf("   env %s = %s\n", e.Name, e.Value)
	}
	created, err := env.Kube.CoreV1().Pods(namespace).Create(ctx, envPod, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create pod %s/%s: %w", namespace, envPod.Name, err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		err = errors.Join(err, env.Kube.CoreV1().Pods(namespace).Delete(cctx, envPod.Name, metav1.DeleteOptions{}))
	}()
	showMutation(created)

	step("Starting the mutated container as kubelet would: init container's copy, projected token, rewritten command")
	c, err := components.PrepareContainer(ctx, env, created, "app", bins.Injector)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, c.Close()) }()
	began := time.Now()
	out, err := c.Start()
	if err != nil {
		return err
	}
	scanner := bufio.NewScanner(out)
	for scanner.Scan() {
		fmt.Printf("   app: %s\n", scanner.Text())
	}
	if err := c.Cmd.Wait(); err != nil {
		return fmt.Errorf("the container failed: %w: %s", err, c.Stderr.String())
	}
	fmt.Printf("   the injector logged in, read, revoked its token and exec'd the app in %s\n", time.Since(began).Round(time.Millisecond))
	return nil
}

// showMutation prints what the webhook changed; the pod's spec holds
// references and settings, never a value.
func showMutation(p *corev1.Pod) {
	for _, ic := range p.Spec.InitContainers {
		fmt.Printf("   init container %s: %s\n", ic.Name, strings.Join(ic.Command, " "))
	}
	ctr := p.Spec.Containers[0]
	fmt.Printf("   container %s command: %s %q\n", ctr.Name, strings.Join(ctr.Command, " "), ctr.Args)
	var settings []string
	for _, e := range ctr.Env {
		if strings.HasPrefix(e.Name, "VAULT_") {
			settings = append(settings, e.Name)
		}
	}
	fmt.Printf("   injector settings: %s\n", strings.Join(settings, ", "))
	for _, v := range p.Spec.Volumes {
		switch {
		case v.EmptyDir != nil:
			fmt.Printf("   volume %s: emptyDir medium %s\n", v.Name, v.EmptyDir.Medium)
		case v.Projected != nil && len(v.Projected.Sources) > 0 && v.Projected.Sources[0].ServiceAccountToken != nil:
			aud := v.Projected.Sources[0].ServiceAccountToken.Audience
			if aud == "" {
				aud = "the API server's"
			}
			fmt.Printf("   volume %s: service-account token, audience %s\n", v.Name, aud)
		}
	}
}

// serveWebhook starts the module's webhook with args and registers it with
// kube-apiserver as registration; stop unregisters and stops it.
func serveWebhook(ctx context.Context, env *testenv.Env, bins components.Binaries, work, registration string, args ...string) (stop func() error, err error) {
	caBundle, certFile, keyFile, err := testenv.ServingCertificate(work, "webhook")
	if err != nil {
		return nil, err
	}
	hook, err := components.StartWebhook(ctx, components.WebhookConfig{
		Binary: bins.Webhook, Kubeconfig: env.Kubeconfig, CertFile: certFile, KeyFile: keyFile,
		InjectorImage: "registry.example/secrets-store/env-injector:demo", StoreAddr: env.VaultAddr, StoreCAFile: env.VaultCAPath,
		Args: args,
	})
	if err != nil {
		return nil, err
	}
	if err := hook.Register(ctx, env.Kube, registration, caBundle, namespace, account); err != nil {
		return nil, errors.Join(err, hook.Stop())
	}
	return func() error {
		cctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		return errors.Join(components.Unregister(cctx, env.Kube, registration), hook.Stop())
	}, nil
}
